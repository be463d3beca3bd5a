package directory

import (
	"fmt"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// NormalizeAddress returns the canonical form of an e-mail address as the
// directory stores and compares it: surrounding space trimmed, NFC, and both
// the local part and the domain in lower case. RFC 5321 2.4 lets a server
// treat local parts case-sensitively; congvu deliberately does not, because
// officials type their addresses by hand and addresses are generated in lower
// case (QĐ 162/2025).
func NormalizeAddress(s string) string {
	return strings.ToLower(norm.NFC.String(strings.TrimSpace(s)))
}

// CheckAddress reports whether a (normalised) address is one the directory
// can hold: "local@domain" with an ASCII dot-atom local part of at most 64
// octets (RFC 5321 4.5.3.1.1) and a domain name of LDH labels with at least
// one dot (RFC 1035 2.3.1). Quoted local parts and address literals are not
// accepted: official addresses never need them.
func CheckAddress(s string) error {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return fmt.Errorf("directory: address %q is not local@domain", s)
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 {
		return fmt.Errorf("directory: local part of %q longer than 64 octets", s)
	}
	if len(s) > 254 {
		return fmt.Errorf("directory: address %q longer than 254 octets", s)
	}
	if !dotAtom(local) {
		return fmt.Errorf("directory: local part of %q is not a dot-atom", s)
	}
	if !hostname(domain) {
		return fmt.Errorf("directory: domain of %q is not a host name", s)
	}
	return nil
}

// Domain returns the domain of an address ("" when it has no '@').
func Domain(address string) string {
	at := strings.LastIndexByte(address, '@')
	if at < 0 {
		return ""
	}
	return address[at+1:]
}

// dotAtom checks RFC 5322 3.2.3 dot-atom-text.
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.':
		case strings.IndexByte("!#$%&'*+/=?^_`{|}~-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func hostname(s string) bool {
	if len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
