package autoconfig

import (
	"bytes"
	"crypto/sha1"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
)

// An Apple configuration profile (.mobileconfig) for iPhone, iPad and macOS
// Mail: an IMAP account with SMTP submission, the CardDAV address book and
// the LDAP one. It is unsigned (the device says "Not Verified" and installs
// it after the user confirms) and carries no password: the device asks for
// it once. Payload UUIDs are derived from the host and the address, so
// downloading the profile again replaces it instead of adding a copy.

// plistValue is one value of a property list: string, int, bool, []plistDict or plistDict.
type plistDict []plistEntry

type plistEntry struct {
	Key   string
	Value any
}

func (h *Handler) mobileconfig(w http.ResponseWriter, r *http.Request) {
	address := cleanAddress(r.URL.Query().Get("emailaddress"))
	if address == "" {
		http.Redirect(w, r, "/setup/#apple", http.StatusSeeOther)
		return
	}
	address = h.current(r, address)
	domain, ok := h.domainFor(r, address)
	if !ok {
		http.Error(w, "Địa chỉ không thuộc hệ thống thư này / this address is not served here", http.StatusNotFound)
		return
	}
	s := h.settings(domain, address)
	profile := appleProfile(s)
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	buf.WriteString(`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n")
	buf.WriteString(`<plist version="1.0">` + "\n")
	writePlist(&buf, profile, 0)
	buf.WriteString("</plist>\n")
	securityHeaders(w)
	w.Header().Set("Content-Type", "application/x-apple-aspen-config")
	w.Header().Set("Content-Disposition", `attachment; filename="congvu-`+domain+`.mobileconfig"`)
	w.Write(buf.Bytes())
}

func appleProfile(s settings) plistDict {
	id := "vn.gov.congvu." + s.Domain
	desc := "Thư công vụ " + s.Address
	var content []plistDict
	incomingPort, incomingSSL := s.IMAPS, true
	if incomingPort == 0 {
		incomingPort, incomingSSL = s.IMAP, false
	}
	outgoingPort, outgoingSSL := s.Submissions, true
	if outgoingPort == 0 {
		outgoingPort, outgoingSSL = s.Submission, false
	}
	if incomingPort != 0 && outgoingPort != 0 {
		content = append(content, plistDict{
			{"EmailAccountDescription", desc},
			{"EmailAccountName", s.Address},
			{"EmailAccountType", "EmailTypeIMAP"},
			{"EmailAddress", s.Address},
			{"IncomingMailServerAuthentication", "EmailAuthPassword"},
			{"IncomingMailServerHostName", s.Hostname},
			{"IncomingMailServerPortNumber", incomingPort},
			{"IncomingMailServerUseSSL", incomingSSL},
			{"IncomingMailServerUsername", s.Address},
			{"OutgoingMailServerAuthentication", "EmailAuthPassword"},
			{"OutgoingMailServerHostName", s.Hostname},
			{"OutgoingMailServerPortNumber", outgoingPort},
			{"OutgoingMailServerUseSSL", outgoingSSL},
			{"OutgoingMailServerUsername", s.Address},
			{"OutgoingPasswordSameAsIncomingPassword", true},
			{"PayloadDescription", "Tài khoản thư / mail account"},
			{"PayloadDisplayName", desc},
			{"PayloadIdentifier", id + ".mail"},
			{"PayloadType", "com.apple.mail.managed"},
			{"PayloadUUID", nameUUID(s.Hostname, s.Address, "mail")},
			{"PayloadVersion", 1},
			{"SMIMEEnabled", false},
		})
	}
	if s.CardDAVURL != "" {
		content = append(content, plistDict{
			{"CardDAVAccountDescription", "Danh bạ công vụ " + s.Domain},
			{"CardDAVHostName", s.Hostname},
			{"CardDAVPort", s.HTTPS},
			{"CardDAVPrincipalURL", "/.well-known/carddav"},
			{"CardDAVUseSSL", true},
			{"CardDAVUsername", s.Address},
			{"PayloadDisplayName", "Danh bạ (CardDAV)"},
			{"PayloadIdentifier", id + ".carddav"},
			{"PayloadType", "com.apple.carddav.account"},
			{"PayloadUUID", nameUUID(s.Hostname, s.Address, "carddav")},
			{"PayloadVersion", 1},
		})
	}
	// The LDAP payload has no port field: it is offered only on the
	// standard port of its kind.
	if ldapHost, ssl, ok := appleLDAP(s); ok && s.BaseDN != "" {
		content = append(content, plistDict{
			{"LDAPAccountDescription", "Danh bạ công vụ (LDAP) " + s.Domain},
			{"LDAPAccountHostName", ldapHost},
			{"LDAPAccountUseSSL", ssl},
			{"LDAPSearchSettings", []plistDict{{
				{"LDAPSearchSettingDescription", "Danh bạ " + s.Domain},
				{"LDAPSearchSettingScope", "LDAPSearchSettingScopeSubtree"},
				{"LDAPSearchSettingSearchBase", s.BaseDN},
			}}},
			{"PayloadDisplayName", "Danh bạ (LDAP)"},
			{"PayloadIdentifier", id + ".ldap"},
			{"PayloadType", "com.apple.ldap.account"},
			{"PayloadUUID", nameUUID(s.Hostname, s.Address, "ldap")},
			{"PayloadVersion", 1},
		})
	}
	return plistDict{
		{"PayloadContent", content},
		{"PayloadDescription", "Cài đặt thư điện tử công vụ cho " + s.Address + " / Official e-mail settings"},
		{"PayloadDisplayName", "Thư điện tử công vụ " + s.Domain},
		{"PayloadIdentifier", id},
		{"PayloadOrganization", s.Domain},
		{"PayloadRemovalDisallowed", false},
		{"PayloadType", "Configuration"},
		{"PayloadUUID", nameUUID(s.Hostname, s.Address, "profile")},
		{"PayloadVersion", 1},
	}
}

func appleLDAP(s settings) (host string, ssl, ok bool) {
	switch {
	case s.LDAPS == 636:
		return s.Hostname, true, true
	case s.LDAP == 389:
		return s.Hostname, false, true
	}
	return "", false, false
}

// nameUUID is a name-based UUID (RFC 9562 5.5, SHA-1) of the parts.
func nameUUID(parts ...string) string {
	h := sha1.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%X-%X-%X-%X-%X", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func writePlist(buf *bytes.Buffer, v any, depth int) {
	indent := func() {
		for range depth {
			buf.WriteByte('\t')
		}
	}
	switch v := v.(type) {
	case plistDict:
		indent()
		buf.WriteString("<dict>\n")
		for _, e := range v {
			for range depth + 1 {
				buf.WriteByte('\t')
			}
			buf.WriteString("<key>")
			xml.EscapeText(buf, []byte(e.Key))
			buf.WriteString("</key>\n")
			writePlist(buf, e.Value, depth+1)
		}
		indent()
		buf.WriteString("</dict>\n")
	case []plistDict:
		indent()
		buf.WriteString("<array>\n")
		for _, d := range v {
			writePlist(buf, d, depth+1)
		}
		indent()
		buf.WriteString("</array>\n")
	case string:
		indent()
		buf.WriteString("<string>")
		xml.EscapeText(buf, []byte(v))
		buf.WriteString("</string>\n")
	case int:
		indent()
		buf.WriteString("<integer>" + strconv.Itoa(v) + "</integer>\n")
	case bool:
		indent()
		if v {
			buf.WriteString("<true/>\n")
		} else {
			buf.WriteString("<false/>\n")
		}
	}
}
