package msgauth

import (
	"strings"
	"unicode"

	"github.com/mtibben/confusables"
	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// lookalikes recognises domains made to be mistaken for a protected one:
// khanhhoa-gov.vn, khanhhoagov.vn, khanhh0a.gov.vn, khánhhòa.gov.vn,
// Cyrillic or Greek letters (xn--…), or khanhhoa.gov.vn.evil.example.
// Domains are compared by their Unicode TR39 confusable skeleton with
// diacritics and separators removed.
type lookalikes struct {
	protected []protectedDomain
}

type protectedDomain struct {
	name, skeleton string
}

func newLookalikes(domains []string) *lookalikes {
	l := &lookalikes{}
	for _, d := range domains {
		d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
		if d != "" {
			l.protected = append(l.protected, protectedDomain{name: d, skeleton: skeleton(d)})
		}
	}
	return l
}

// match returns the protected domain that domain imitates, or "".
// A protected domain itself and its subdomains are not lookalikes.
func (l *lookalikes) match(domain string) string {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	for _, p := range l.protected {
		if domain == p.name || strings.HasSuffix(domain, "."+p.name) {
			return ""
		}
	}
	sk := skeleton(domain)
	for _, p := range l.protected {
		if sk == p.skeleton || strings.HasPrefix(sk, p.skeleton) {
			return p.name
		}
	}
	return ""
}

// skeleton maps a domain to what it looks like: Unicode labels (from
// punycode), lower case, TR39 confusables, no combining marks, no dots,
// hyphens or underscores.
func skeleton(domain string) string {
	if u, err := idna.ToUnicode(domain); err == nil {
		domain = u
	}
	s := strings.ToLower(confusables.Skeleton(strings.ToLower(domain)))
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r), r == '.', r == '-', r == '_', unicode.IsSpace(r):
		case r == 'đ':
			b.WriteRune('d') // Vietnamese đ has no decomposition
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
