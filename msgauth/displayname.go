package msgauth

import (
	"regexp"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// addrInName finds address-like text in a display name once it is
// NFKC-normalised (so a full-width "＠" or compatibility letters cannot
// hide the address).
var addrInName = regexp.MustCompile(`[^\s<>"'(),;:\[\]@]+@[^\s<>"'(),;:\[\]@]+\.[^\s<>"'(),;:\[\]@]*[^\s<>"'(),;:\[\]@.]`)

// NameAddresses returns the e-mail addresses written inside a display name
// ("quantri@khanhhoa.gov.vn" <x@y> → quantri@khanhhoa.gov.vn), lower case.
// Mail readers often show only the name, so an address there is what the
// reader takes for the sender.
func NameAddresses(name string) []string {
	n := norm.NFKC.String(name)
	var out []string
	for _, m := range addrInName.FindAllString(n, -1) {
		out = append(out, strings.ToLower(strings.Trim(m, ".")))
	}
	return out
}

// NameSpoofs returns the addresses in name other than address itself: a
// display name that claims to be someone else (issue 15 §3).
func NameSpoofs(name, address string) []string {
	var out []string
	for _, a := range NameAddresses(name) {
		if !strings.EqualFold(a, address) {
			out = append(out, a)
		}
	}
	return out
}
