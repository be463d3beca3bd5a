package autoconfig

import (
	"encoding/xml"
	"net/http"
	"strings"
)

// Thunderbird's autoconfig file, version 1.1 (the format specified on
// wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat and used
// by Thunderbird, Evolution, KMail and K-9/Thunderbird for Android).

type tbConfig struct {
	XMLName       xml.Name        `xml:"clientConfig"`
	Version       string          `xml:"version,attr"`
	EmailProvider tbProvider      `xml:"emailProvider"`
	AddressBook   []tbAddressBook `xml:"addressBook,omitempty"`
	WebMail       *tbWebMail      `xml:"webMail,omitempty"`
}

type tbProvider struct {
	ID               string     `xml:"id,attr"`
	Domain           []string   `xml:"domain"`
	DisplayName      string     `xml:"displayName"`
	DisplayShortName string     `xml:"displayShortName"`
	Incoming         []tbServer `xml:"incomingServer"`
	Outgoing         []tbServer `xml:"outgoingServer"`
	Documentation    *tbDoc     `xml:"documentation,omitempty"`
}

type tbServer struct {
	Type           string `xml:"type,attr"`
	Hostname       string `xml:"hostname"`
	Port           int    `xml:"port"`
	SocketType     string `xml:"socketType"`
	Authentication string `xml:"authentication"`
	Username       string `xml:"username"`
}

type tbDoc struct {
	URL   string    `xml:"url,attr"`
	Descr []tbDescr `xml:"descr"`
}

type tbDescr struct {
	Lang string `xml:"lang,attr"`
	Text string `xml:",chardata"`
}

type tbAddressBook struct {
	Type           string  `xml:"type,attr"`
	Username       string  `xml:"username"`
	Authentication tbAuthn `xml:"authentication"`
	ServerURL      string  `xml:"serverURL"`
}

type tbAuthn struct {
	System string `xml:"system,attr"`
	Method string `xml:",chardata"`
}

type tbWebMail struct {
	LoginPage tbURL `xml:"loginPage"`
}

type tbURL struct {
	URL string `xml:"url,attr"`
}

// thunderbird answers GET config-v1.1.xml?emailaddress=… . The user name
// is %EMAILADDRESS% (the client substitutes the address typed), so the
// document does not depend on who asks and may be cached.
func (h *Handler) thunderbird(w http.ResponseWriter, r *http.Request) {
	address := r.URL.Query().Get("emailaddress")
	clean := cleanAddress(address)
	if address != "" && clean == "" {
		http.Error(w, "emailaddress is not an e-mail address / địa chỉ thư không hợp lệ", http.StatusBadRequest)
		return
	}
	login := h.current(r, clean)
	domain, ok := h.domainFor(r, login)
	if !ok {
		// Not a domain of ours: the client goes on to its next method.
		http.NotFound(w, r)
		return
	}
	s := h.settings(domain, login)
	user := "%EMAILADDRESS%"
	if login != clean {
		// An old address (a merged province's domain, a transfer): the
		// client logs in, and is configured, with the new one.
		user = login
	}
	server := func(typ string, port int, socket string) tbServer {
		return tbServer{Type: typ, Hostname: s.Hostname, Port: port, SocketType: socket,
			Authentication: "password-cleartext", Username: user}
	}
	served := []string{domain}
	if at := strings.LastIndexByte(clean, '@'); at > 0 && clean[at+1:] != domain {
		served = append(served, clean[at+1:]) // the old domain asked about
	}
	p := tbProvider{ID: domain, Domain: served,
		DisplayName:      "Thư điện tử công vụ " + domain,
		DisplayShortName: domain,
	}
	// Implicit TLS first (RFC 8314 4.1 prefers it); clients take the first
	// server of a type that works.
	if s.IMAPS != 0 {
		p.Incoming = append(p.Incoming, server("imap", s.IMAPS, "SSL"))
	}
	if s.IMAP != 0 {
		p.Incoming = append(p.Incoming, server("imap", s.IMAP, "STARTTLS"))
	}
	if s.POP3S != 0 {
		p.Incoming = append(p.Incoming, server("pop3", s.POP3S, "SSL"))
	}
	if s.POP3 != 0 {
		p.Incoming = append(p.Incoming, server("pop3", s.POP3, "STARTTLS"))
	}
	if s.Submissions != 0 {
		p.Outgoing = append(p.Outgoing, server("smtp", s.Submissions, "SSL"))
	}
	if s.Submission != 0 {
		p.Outgoing = append(p.Outgoing, server("smtp", s.Submission, "STARTTLS"))
	}
	cfg := tbConfig{Version: "1.1", EmailProvider: p}
	if s.WebURL != "" {
		cfg.EmailProvider.Documentation = &tbDoc{URL: s.WebURL + "setup/", Descr: []tbDescr{
			{Lang: "vi", Text: "Hướng dẫn cài đặt phần mềm thư, danh bạ và trả lời tự động"},
			{Lang: "en", Text: "Setting up mail clients, the address book and vacation replies"},
		}}
		cfg.WebMail = &tbWebMail{LoginPage: tbURL{URL: s.WebURL + "login"}}
	}
	if s.CardDAVURL != "" {
		cfg.AddressBook = append(cfg.AddressBook, tbAddressBook{Type: "carddav", Username: user,
			Authentication: tbAuthn{System: "http", Method: "basic"}, ServerURL: s.CardDAVURL})
	}
	writeXML(w, "application/xml; charset=utf-8", cfg)
}

// writeXML writes v with the XML declaration.
func writeXML(w http.ResponseWriter, contentType string, v any) {
	securityHeaders(w)
	w.Header().Set("Content-Type", contentType)
	b, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Write([]byte(xml.Header))
	w.Write(b)
	w.Write([]byte("\n"))
}
