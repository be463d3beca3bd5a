package autoconfig

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Outlook's Autodiscover, in the two forms clients that are not tied to
// Exchange use:
//
//   - POX (MS-OXDSCLI): POST /autodiscover/autodiscover.xml with the
//     outlook request schema; the answer is an "email" account with IMAP,
//     POP3 and SMTP settings (the same document Outlook builds when the
//     user types them by hand), never EXCH/EXPR settings;
//   - Autodiscover V2: GET /autodiscover/autodiscover.json/v1.0/{address}
//     ?Protocol=AutodiscoverV1 answers where the POX service is; IMAP,
//     POP3 and SMTP answer their server; Exchange's own protocols
//     (ActiveSync, EWS, REST) are refused as Exchange refuses unknown ones.

const (
	nsResponse        = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
	nsOutlookResponse = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
	nsMobileResponse  = "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"
)

// poxRequest is the outlook request schema (requestschema/2006); element
// names are matched whatever their namespace.
type poxRequest struct {
	XMLName xml.Name `xml:"Autodiscover"`
	Request struct {
		EMailAddress             string `xml:"EMailAddress"`
		LegacyDN                 string `xml:"LegacyDN"`
		AcceptableResponseSchema string `xml:"AcceptableResponseSchema"`
	} `xml:"Request"`
}

type poxResponse struct {
	XMLName  xml.Name   `xml:"Autodiscover"`
	XMLNS    string     `xml:"xmlns,attr"`
	Response poxOutlook `xml:"Response"`
}

type poxOutlook struct {
	XMLNS   string      `xml:"xmlns,attr"`
	User    *poxUser    `xml:"User,omitempty"`
	Account *poxAccount `xml:"Account,omitempty"`
	Error   *poxError   `xml:"Error,omitempty"`
}

type poxUser struct {
	DisplayName string `xml:"DisplayName,omitempty"`
	EMailAddr   string `xml:"AutoDiscoverSMTPAddress"`
}

type poxAccount struct {
	AccountType string        `xml:"AccountType"`
	Action      string        `xml:"Action"`
	Protocol    []poxProtocol `xml:"Protocol"`
}

// poxProtocol lists its elements in the order of the schema (Type, TTL,
// Server, Port, LoginName, DomainRequired, SPA, SSL, Encryption,
// AuthRequired, UsePOPAuth, SMTPLast).
type poxProtocol struct {
	Type           string `xml:"Type"`
	TTL            int    `xml:"TTL"`
	Server         string `xml:"Server"`
	Port           int    `xml:"Port"`
	LoginName      string `xml:"LoginName"`
	DomainRequired string `xml:"DomainRequired"`
	SPA            string `xml:"SPA"`
	SSL            string `xml:"SSL"`
	Encryption     string `xml:"Encryption"`
	AuthRequired   string `xml:"AuthRequired"`
	UsePOPAuth     string `xml:"UsePOPAuth,omitempty"`
	SMTPLast       string `xml:"SMTPLast,omitempty"`
}

type poxError struct {
	Time      string `xml:"Time,attr"`
	ID        string `xml:"Id,attr"`
	ErrorCode int    `xml:"ErrorCode"`
	Message   string `xml:"Message"`
	DebugData string `xml:"DebugData"`
}

// outlookPOX answers the POX Autodiscover request.
func (h *Handler) outlookPOX(w http.ResponseWriter, r *http.Request) {
	if !h.opts.HTTPS {
		// MS-OXDSCLI 3.1.5.2: on plain HTTP only a redirect to the HTTPS
		// service is given; the client then POSTs there.
		target := "https://" + hostPort(h.opts.Hostname(h.defaultDomain(r)), h.opts.Ports.HTTPS, 443) + "/autodiscover/autodiscover.xml"
		if h.opts.Ports.HTTPS == 0 {
			http.NotFound(w, r)
			return
		}
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	if r.Method != http.MethodPost {
		// Exchange answers a GET with error 600 (there is no request).
		h.poxError(w, 600, "Invalid Request")
		return
	}
	var req poxRequest
	dec := xml.NewDecoder(io.LimitReader(r.Body, maxRequestBody))
	if err := dec.Decode(&req); err != nil {
		h.poxError(w, 600, "Invalid Request")
		return
	}
	schema := strings.TrimSpace(req.Request.AcceptableResponseSchema)
	if schema != nsOutlookResponse {
		// ActiveSync (mobilesync) or anything else: there is no such
		// service here; the client falls back to IMAP/POP3 settings.
		h.poxError(w, 601, "Provider is not available / Không có dịch vụ Exchange ActiveSync; hãy dùng IMAP")
		return
	}
	address := cleanAddress(req.Request.EMailAddress)
	if address == "" {
		h.poxError(w, 600, "Invalid Request")
		return
	}
	// An old address is set up as the new one (login and SMTP address).
	address = h.current(r, address)
	domain, ok := h.domainFor(r, address)
	if !ok {
		h.poxError(w, 500, "The e-mail address cannot be found. / Không tìm thấy địa chỉ thư.")
		return
	}
	s := h.settings(domain, address)
	proto := func(typ string, port int, implicitTLS bool) poxProtocol {
		p := poxProtocol{Type: typ, TTL: 24, Server: s.Hostname, Port: port, LoginName: address,
			DomainRequired: "off", SPA: "off", SSL: "on", Encryption: "TLS", AuthRequired: "on"}
		if implicitTLS {
			p.Encryption = "SSL"
		}
		if typ == "SMTP" {
			p.UsePOPAuth, p.SMTPLast = "on", "off"
		}
		return p
	}
	acct := &poxAccount{AccountType: "email", Action: "settings"}
	// One entry per type: Outlook uses the first of each.
	switch {
	case s.IMAPS != 0:
		acct.Protocol = append(acct.Protocol, proto("IMAP", s.IMAPS, true))
	case s.IMAP != 0:
		acct.Protocol = append(acct.Protocol, proto("IMAP", s.IMAP, false))
	}
	switch {
	case s.POP3S != 0:
		acct.Protocol = append(acct.Protocol, proto("POP3", s.POP3S, true))
	case s.POP3 != 0:
		acct.Protocol = append(acct.Protocol, proto("POP3", s.POP3, false))
	}
	switch {
	case s.Submissions != 0:
		acct.Protocol = append(acct.Protocol, proto("SMTP", s.Submissions, true))
	case s.Submission != 0:
		acct.Protocol = append(acct.Protocol, proto("SMTP", s.Submission, false))
	}
	writeXML(w, "text/xml; charset=utf-8", poxResponse{XMLNS: nsResponse, Response: poxOutlook{
		XMLNS: nsOutlookResponse, User: &poxUser{EMailAddr: address}, Account: acct}})
}

func (h *Handler) poxError(w http.ResponseWriter, code int, msg string) {
	writeXML(w, "text/xml; charset=utf-8", poxResponse{XMLNS: nsResponse, Response: poxOutlook{XMLNS: nsOutlookResponse,
		Error: &poxError{Time: time.Now().UTC().Format("15:04:05.0000000"), ID: "0", ErrorCode: code, Message: msg}}})
}

// defaultDomain is the domain of the request's host name, or the first.
func (h *Handler) defaultDomain(r *http.Request) string {
	d, _ := h.domainFor(r, "")
	return d
}

type v2Answer struct {
	Protocol   string `json:"Protocol"`
	URL        string `json:"Url"`
	Hostname   string `json:"Hostname,omitempty"`
	Port       int    `json:"Port,omitempty"`
	Encryption string `json:"Encryption,omitempty"`
}

type v2Error struct {
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

// errNoAddress marks a v2 request without a usable address.
var errNoAddress = errors.New("no address")

// outlookJSON answers Autodiscover V2:
// /autodiscover/autodiscover.json/v1.0/{address}?Protocol=P and
// /autodiscover/autodiscover.json?Email={address}&Protocol=P.
func (h *Handler) outlookJSON(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	address, err := v2Address(r.URL, q)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, v2Error{"InvalidUser", "The e-mail address is missing or invalid / Địa chỉ thư không hợp lệ"})
		return
	}
	address = h.current(r, address)
	domain, ok := h.domainFor(r, address)
	if !ok {
		writeJSON(w, http.StatusNotFound, v2Error{"UserNotFound", "The e-mail address is not served here / Địa chỉ thư không thuộc hệ thống này"})
		return
	}
	s := h.settings(domain, address)
	protocol := q.Get("Protocol")
	if protocol == "" {
		protocol = q.Get("protocol")
	}
	tls := func(p, scheme string, implicit, starttls int) {
		if implicit != 0 {
			writeJSON(w, http.StatusOK, v2Answer{Protocol: p, URL: scheme + "s://" + hostPort(s.Hostname, implicit, 0),
				Hostname: s.Hostname, Port: implicit, Encryption: "SSL"})
			return
		}
		if starttls != 0 {
			writeJSON(w, http.StatusOK, v2Answer{Protocol: p, URL: scheme + "://" + hostPort(s.Hostname, starttls, 0),
				Hostname: s.Hostname, Port: starttls, Encryption: "TLS"})
			return
		}
		writeJSON(w, http.StatusNotFound, v2Error{"ProtocolNotAvailable", p + " is not offered / không cung cấp " + p})
	}
	switch strings.ToLower(protocol) {
	case "autodiscoverv1":
		if s.WebURL == "" {
			writeJSON(w, http.StatusNotFound, v2Error{"ProtocolNotAvailable", "HTTPS is not offered"})
			return
		}
		writeJSON(w, http.StatusOK, v2Answer{Protocol: "AutodiscoverV1", URL: s.WebURL + "autodiscover/autodiscover.xml"})
	case "imap":
		tls("IMAP", "imap", s.IMAPS, s.IMAP)
	case "pop3":
		tls("POP3", "pop", s.POP3S, s.POP3)
	case "smtp":
		tls("SMTP", "submission", s.Submissions, s.Submission)
	default:
		writeJSON(w, http.StatusBadRequest, v2Error{"InvalidProtocol",
			"The given protocol value is invalid. Supported values are 'AutodiscoverV1, IMAP, POP3, SMTP'."})
	}
}

// v2Address finds the address in either form of the v2 request.
func v2Address(u *url.URL, q url.Values) (string, error) {
	raw := q.Get("Email")
	if raw == "" {
		raw = q.Get("email")
	}
	if raw == "" {
		// …/autodiscover.json/v1.0/{address}
		p := u.EscapedPath()
		i := strings.Index(strings.ToLower(p), "/autodiscover.json/v1.0/")
		if i < 0 {
			return "", errNoAddress
		}
		seg, err := url.PathUnescape(p[i+len("/autodiscover.json/v1.0/"):])
		if err != nil {
			return "", errNoAddress
		}
		raw = seg
	}
	if a := cleanAddress(raw); a != "" {
		return a, nil
	}
	return "", errNoAddress
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	securityHeaders(w)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
