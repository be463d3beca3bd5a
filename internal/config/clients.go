package config

import (
	"fmt"
	"net"
	"slices"
	"strings"
)

// ServerDomain overrides server-wide settings for one local domain.
type ServerDomain struct {
	// Hostname is the mail host name this domain's clients are told
	// (autoconfig, autodiscover, the set-up page, `congvu dns`); "" keeps
	// server.hostname. A province that absorbed another keeps the old
	// domain's host name for its officials' existing clients.
	Hostname string `toml:"hostname"`
}

// ClientHostname is the host name mail clients of domain are told to
// connect to: the domain's override, else server.hostname.
func (s Server) ClientHostname(domain string) string {
	if d, ok := s.Domains[strings.ToLower(domain)]; ok && d.Hostname != "" {
		return d.Hostname
	}
	return s.Hostname
}

// ClientHostnames lists every distinct host name clients are told, the
// server's first (for the self-signed certificate's names).
func (s Server) ClientHostnames() []string {
	out := []string{s.Hostname}
	for _, d := range s.LocalDomains {
		if h := s.ClientHostname(d); !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// Publish is what `congvu dns` prints for operators to publish and the
// MTA-STS policy congvu serves at mta-sts.<domain>.
type Publish struct {
	// IPv4 and IPv6 are the public addresses of server.hostname (A and
	// AAAA records); empty prints a placeholder to fill in.
	IPv4 []string `toml:"ipv4"`
	IPv6 []string `toml:"ipv6"`
	// MTASTSMode is the RFC 8461 policy mode: "testing" (report only),
	// "enforce" or "none".
	MTASTSMode       string `toml:"mta_sts_mode"`
	MTASTSMaxAgeDays int    `toml:"mta_sts_max_age_days"`
	// DMARCPolicy is the p= of the DMARC record printed: none, quarantine
	// or reject.
	DMARCPolicy string `toml:"dmarc_policy"`
	// ReportAddress receives DMARC aggregate and TLS-RPT reports; ""
	// means postmaster@<domain>.
	ReportAddress string `toml:"report_address"`
}

func defaultPublish() Publish {
	return Publish{IPv4: []string{}, IPv6: []string{}, MTASTSMode: "testing", MTASTSMaxAgeDays: 7, DMARCPolicy: "quarantine"}
}

// Sieve configures per-user delivery rules (RFC 5228), vacation replies
// (RFC 5230) and ManageSieve (RFC 5804, listen.managesieve).
type Sieve struct {
	// Path holds each user's scripts and vacation records (relative to
	// server.data_dir).
	Path           string `toml:"path"`
	MaxScriptBytes int    `toml:"max_script_bytes"`
	MaxScripts     int    `toml:"max_scripts"`
	// MaxRedirects bounds redirect actions per message (RFC 5228 4.2).
	MaxRedirects int `toml:"max_redirects"`
	// VacationMinDays and VacationDefaultDays bound :days (RFC 5230 4.1).
	VacationMinDays     int `toml:"vacation_min_days"`
	VacationDefaultDays int `toml:"vacation_default_days"`
}

func defaultSieve() Sieve {
	return Sieve{Path: "sieve", MaxScriptBytes: 64 << 10, MaxScripts: 20, MaxRedirects: 4,
		VacationMinDays: 1, VacationDefaultDays: 7}
}

// AddressBook configures the danh bạ as mail clients see it: the LDAP
// endpoint (listen.ldap, listen.ldaps) and CardDAV (on listen.https).
type AddressBook struct {
	// LDAPBaseDN is the search base clients configure; "" means
	// dc=… of the first local domain (dc=khanhhoa,dc=gov,dc=vn).
	LDAPBaseDN string `toml:"ldap_base_dn"`
	// LDAPAnonymous lets clients search without binding (the danh bạ is
	// public anyway); false requires a bind as an official, over TLS.
	LDAPAnonymous bool `toml:"ldap_anonymous"`
	// SizeLimit bounds the entries one LDAP search or CardDAV query
	// returns (a client may ask for fewer).
	SizeLimit int `toml:"size_limit"`
	// CardDAV serves /.well-known/carddav and the books on listen.https.
	CardDAV bool `toml:"carddav"`
	// PersonalPath holds each official's personal address book (relative
	// to server.data_dir).
	PersonalPath        string `toml:"personal_path"`
	MaxPersonalContacts int    `toml:"max_personal_contacts"`
}

func defaultAddressBook() AddressBook {
	return AddressBook{LDAPAnonymous: true, SizeLimit: 500, CardDAV: true, PersonalPath: "contacts",
		MaxPersonalContacts: 5000}
}

// BaseDN is the LDAP search base: the configured one or dc=… of domain.
func (a AddressBook) BaseDN(domain string) string {
	if a.LDAPBaseDN != "" {
		return a.LDAPBaseDN
	}
	parts := strings.Split(strings.ToLower(domain), ".")
	for i, p := range parts {
		parts[i] = "dc=" + p
	}
	return strings.Join(parts, ",")
}

func (c *Config) validateClients() error {
	for d, sd := range c.Server.Domains {
		if !slices.Contains(c.Server.LocalDomains, strings.ToLower(d)) {
			return fmt.Errorf("server.domains.%q: not one of server.local_domains", d)
		}
		if strings.ContainsAny(sd.Hostname, " /@:") {
			return fmt.Errorf("server.domains.%q.hostname %q is not a host name", d, sd.Hostname)
		}
	}
	p := c.Publish
	switch p.MTASTSMode {
	case "testing", "enforce", "none":
	default:
		return fmt.Errorf("publish.mta_sts_mode must be testing, enforce or none, not %q", p.MTASTSMode)
	}
	switch p.DMARCPolicy {
	case "none", "quarantine", "reject":
	default:
		return fmt.Errorf("publish.dmarc_policy must be none, quarantine or reject, not %q", p.DMARCPolicy)
	}
	if p.MTASTSMaxAgeDays < 1 || p.MTASTSMaxAgeDays > 365 {
		return fmt.Errorf("publish.mta_sts_max_age_days must be 1–365 (RFC 8461 3.2)")
	}
	for _, ip := range append(slices.Clone(p.IPv4), p.IPv6...) {
		if net.ParseIP(ip) == nil {
			return fmt.Errorf("publish: %q is not an IP address", ip)
		}
	}
	if p.ReportAddress != "" && !strings.Contains(p.ReportAddress, "@") {
		return fmt.Errorf("publish.report_address %q is not an address", p.ReportAddress)
	}
	s := c.Sieve
	if s.MaxScriptBytes < 1024 || s.MaxScripts < 1 || s.MaxRedirects < 0 {
		return fmt.Errorf("sieve.max_script_bytes must be at least 1024, max_scripts at least 1, max_redirects not negative")
	}
	if s.VacationMinDays < 1 || s.VacationDefaultDays < s.VacationMinDays {
		return fmt.Errorf("sieve.vacation_min_days must be at least 1 and vacation_default_days at least that")
	}
	a := c.AddressBook
	if a.SizeLimit < 1 || a.MaxPersonalContacts < 1 {
		return fmt.Errorf("addressbook.size_limit and max_personal_contacts must be positive")
	}
	return nil
}
