package ldapd

import (
	"strings"

	"congvu/addressbook"
	"congvu/smime"
)

// The directory information tree clients see:
//
//	dc=khanhhoa,dc=gov,dc=vn                 organization (the base DN)
//	  ou=people                              organizationalUnit
//	    uid=<address>,ou=people,…            inetOrgPerson, one per mailbox
//
// Only the danh bạ's public attributes are there (RFC 2798 names).

type attr struct {
	name   string // as returned: "telephoneNumber"
	values []string
	folded []string
}

type entry struct {
	dn    string
	attrs []attr
}

func newEntry(dn string, pairs ...any) *entry {
	e := &entry{dn: dn}
	for i := 0; i+1 < len(pairs); i += 2 {
		name := pairs[i].(string)
		var vals []string
		switch v := pairs[i+1].(type) {
		case string:
			if v != "" {
				vals = []string{v}
			}
		case []string:
			vals = v
		}
		if len(vals) == 0 {
			continue
		}
		a := attr{name: name, values: vals}
		for _, v := range vals {
			a.folded = append(a.folded, addressbook.Fold(v))
		}
		e.attrs = append(e.attrs, a)
	}
	return e
}

func (e *entry) find(name string) *attr {
	for i := range e.attrs {
		if strings.EqualFold(e.attrs[i].name, name) {
			return &e.attrs[i]
		}
	}
	// Common aliases clients use (RFC 4519 short and long names).
	if alias, ok := aliases[strings.ToLower(name)]; ok {
		return e.find(alias)
	}
	return nil
}

var aliases = map[string]string{
	"commonname": "cn", "surname": "sn", "gn": "givenName", "organizationalunitname": "ou",
	"rfc822mailbox": "mail", "userid": "uid", "telephone": "telephoneNumber", "organizationname": "o",
	"email": "mail", "emailaddress": "mail", "usercertificate": "userCertificate;binary",
}

func (e *entry) values(name string) []string {
	if a := e.find(name); a != nil {
		return a.values
	}
	return nil
}

func (e *entry) folded(name string) []string {
	if a := e.find(name); a != nil {
		return a.folded
	}
	return nil
}

// personDN is the DN of a mailbox's entry.
func personDN(address, base string) string {
	return "uid=" + escapeDNValue(address) + ",ou=people," + base
}

// escapeDNValue escapes an RDN value (RFC 4514 2.4).
func escapeDNValue(v string) string {
	var b strings.Builder
	for i, r := range v {
		switch {
		case strings.ContainsRune(`,+"\<>;=`, r), r == '#' && i == 0, r == ' ' && (i == 0 || i == len(v)-1):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func personEntry(p addressbook.Entry, base string) *entry {
	if p.IsGroup {
		return groupEntry(p, base)
	}
	sn := p.Surname
	if sn == "" {
		sn = p.Name // person requires sn (RFC 4519 3.12)
	}
	e := newEntry(personDN(p.Address, base),
		"objectClass", []string{"top", "person", "organizationalPerson", "inetOrgPerson"},
		"cn", p.Name,
		"displayName", p.Name,
		"sn", sn,
		"givenName", p.GivenName,
		"mail", p.Address,
		"uid", p.Address,
		"title", p.Title,
		"ou", p.Unit,
		"telephoneNumber", p.Phone,
	)
	if p.Certificate != nil {
		// Where Thunderbird and Outlook look for a colleague's encryption
		// certificate: userCertificate;binary (RFC 4523 §2.1) and
		// userSMIMECertificate (RFC 2798 §2.8, a PKCS #7 certs-only).
		e.attrs = append(e.attrs, attr{name: "userCertificate;binary", values: []string{string(p.Certificate)}})
		if p7, err := smime.CertsOnly(p.Certificate); err == nil {
			e.attrs = append(e.attrs, attr{name: "userSMIMECertificate", values: []string{string(p7)}})
		}
	}
	return e
}

// normalizeDN lower-cases a DN and removes spaces around its separators,
// for comparison.
func normalizeDN(dn string) string {
	parts := strings.Split(dn, ",")
	for i, p := range parts {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok {
			p = strings.TrimSpace(k) + "=" + strings.TrimSpace(v)
		}
		parts[i] = strings.ToLower(p)
	}
	return strings.Join(parts, ",")
}

// groupEntry is a distribution list: a groupOfNames (RFC 4519 3.5) with
// the address mail clients send to; a custom group lists its members.
func groupEntry(p addressbook.Entry, base string) *entry {
	members := make([]string, len(p.Members))
	for i, m := range p.Members {
		members[i] = personDN(m, base)
	}
	return newEntry(personDN(p.Address, base),
		"objectClass", []string{"top", "groupOfNames"},
		"cn", p.Name,
		"displayName", p.Name,
		"mail", p.Address,
		"uid", p.Address,
		"ou", p.Unit,
		"description", p.Title,
		"member", members,
	)
}
