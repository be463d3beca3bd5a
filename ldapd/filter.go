package ldapd

import (
	"errors"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"congvu/addressbook"
)

// Search filters (RFC 4511 4.5.1.7), compiled with go-ldap and evaluated
// against our entries. Every value is compared folded (lower case, no
// diacritics) so "nguyen van" finds "Nguyễn Văn An", which is what an
// official typing into Thunderbird's or Outlook's address book expects.

// maxFilterNodes bounds the work one filter can ask for.
const maxFilterNodes = 256

var errFilter = errors.New("filter too complex")

// filter is a compiled filter.
type filter struct {
	op       int // ldap.Filter* tag
	children []*filter
	attr     string // lower case
	value    string // folded
	initial  string
	any      []string
	final    string
}

// compileFilter parses the string form gldap hands over.
func compileFilter(s string) (*filter, error) {
	if len(s) > 8192 {
		return nil, errFilter
	}
	p, err := ldap.CompileFilter(s)
	if err != nil {
		return nil, err
	}
	n := 0
	return fromPacket(p, &n, 0)
}

func fromPacket(p *ber.Packet, n *int, depth int) (*filter, error) {
	*n++
	if *n > maxFilterNodes || depth > 32 {
		return nil, errFilter
	}
	f := &filter{op: int(p.Tag)}
	switch f.op {
	case ldap.FilterAnd, ldap.FilterOr:
		for _, c := range p.Children {
			cf, err := fromPacket(c, n, depth+1)
			if err != nil {
				return nil, err
			}
			f.children = append(f.children, cf)
		}
	case ldap.FilterNot:
		if len(p.Children) != 1 {
			return nil, errors.New("bad not filter")
		}
		cf, err := fromPacket(p.Children[0], n, depth+1)
		if err != nil {
			return nil, err
		}
		f.children = []*filter{cf}
	case ldap.FilterEqualityMatch, ldap.FilterGreaterOrEqual, ldap.FilterLessOrEqual, ldap.FilterApproxMatch:
		if len(p.Children) != 2 {
			return nil, errors.New("bad assertion")
		}
		f.attr = strings.ToLower(packetString(p.Children[0]))
		f.value = addressbook.Fold(packetString(p.Children[1]))
	case ldap.FilterPresent:
		f.attr = strings.ToLower(string(p.Data.Bytes()))
	case ldap.FilterSubstrings:
		if len(p.Children) != 2 {
			return nil, errors.New("bad substrings filter")
		}
		f.attr = strings.ToLower(packetString(p.Children[0]))
		for _, c := range p.Children[1].Children {
			v := addressbook.Fold(packetString(c))
			switch int(c.Tag) {
			case ldap.FilterSubstringsInitial:
				f.initial = v
			case ldap.FilterSubstringsAny:
				f.any = append(f.any, v)
			case ldap.FilterSubstringsFinal:
				f.final = v
			}
		}
	case ldap.FilterExtensibleMatch:
		// Not supported: evaluates to false (Undefined, RFC 4511 4.5.1.7).
	default:
		return nil, errors.New("unknown filter")
	}
	return f, nil
}

func packetString(p *ber.Packet) string {
	if s, ok := p.Value.(string); ok {
		return s
	}
	return string(p.Data.Bytes())
}

// match evaluates the filter on an entry.
func (f *filter) match(e *entry) bool {
	switch f.op {
	case ldap.FilterAnd:
		for _, c := range f.children {
			if !c.match(e) {
				return false
			}
		}
		return true
	case ldap.FilterOr:
		for _, c := range f.children {
			if c.match(e) {
				return true
			}
		}
		return false
	case ldap.FilterNot:
		return !f.children[0].match(e)
	case ldap.FilterPresent:
		if f.attr == "objectclass" {
			return true
		}
		return len(e.values(f.attr)) > 0
	}
	for _, v := range e.folded(f.attr) {
		switch f.op {
		case ldap.FilterEqualityMatch:
			if v == f.value {
				return true
			}
		case ldap.FilterApproxMatch:
			if strings.Contains(v, f.value) {
				return true
			}
		case ldap.FilterGreaterOrEqual:
			if v >= f.value {
				return true
			}
		case ldap.FilterLessOrEqual:
			if v <= f.value {
				return true
			}
		case ldap.FilterSubstrings:
			if substringMatch(v, f.initial, f.any, f.final) {
				return true
			}
		}
	}
	return false
}

// substringMatch: initial, then each any in order, then final (RFC 4517
// 4.2.6, on folded values).
func substringMatch(v, initial string, any []string, final string) bool {
	if !strings.HasPrefix(v, initial) {
		return false
	}
	v = v[len(initial):]
	for _, a := range any {
		i := strings.Index(v, a)
		if i < 0 {
			return false
		}
		v = v[i+len(a):]
	}
	return strings.HasSuffix(v, final)
}
