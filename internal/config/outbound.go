package config

import (
	"fmt"
	"net"
	"strings"
	"time"

	"congvu/internal/netguard"
)

// Outbound configures the outbound queue and delivery to other servers;
// it is used when smtp.outbound = true.
type Outbound struct {
	QueuePath string `toml:"queue_path"` // relative to DataDir
	// RetryIntervals are the waits after the 1st, 2nd… failed attempt;
	// the last repeats.
	RetryIntervals []time.Duration `toml:"retry_intervals"`
	MaxAge         time.Duration   `toml:"max_age"`      // then bounce
	DelayNotice    time.Duration   `toml:"delay_notice"` // 0 = never
	MaxConnections int             `toml:"max_connections"`
	MaxPerDomain   int             `toml:"max_connections_per_domain"`
	// ConnectionReuse keeps a connection open this long for the next
	// message to the same destination (0 = close at once).
	ConnectionReuse time.Duration `toml:"connection_reuse"`
	EHLOHostname    string        `toml:"ehlo_hostname"` // "" = server.hostname
	TLSCAFile       string        `toml:"tls_ca_file"`   // "" = system roots
	MTASTS          bool          `toml:"mta_sts"`
	DANE            bool          `toml:"dane"`
	Smarthost       string        `toml:"smarthost"` // "host:port", "" = MX delivery
	SmarthostTLS    string        `toml:"smarthost_tls"`
	SmarthostUser   string        `toml:"smarthost_username"`
	// SmarthostPasswordFile keeps the secret out of this file.
	SmarthostPasswordFile string `toml:"smarthost_password_file"`
	// AllowInternalNetworks are CIDR prefixes (or addresses) of internal
	// relays that MX delivery may reach. Everything else that is not a
	// global unicast address (loopback, RFC 1918, link-local, ULA…) is
	// refused, so recipient addresses cannot aim delivery at the internal
	// network. The smarthost is always allowed.
	AllowInternalNetworks []string `toml:"allow_internal_networks"`
}

// DKIM configures signing of outgoing mail.
type DKIM struct {
	Sign bool `toml:"sign"`
	// KeysPath holds <domain>/<selector>.pem made by `congvu dkim keygen`.
	KeysPath string `toml:"keys_path"`
}

// Inbound configures the judging of mail arriving on the MX listener.
type Inbound struct {
	// Authenticate runs SPF, DKIM and DMARC (needs working DNS).
	Authenticate bool   `toml:"authenticate"`
	AuthservID   string `toml:"authserv_id"` // "" = server.hostname
	// DMARCPolicy: "honour" (p=reject → 550 5.7.1, p=quarantine → Junk),
	// "junk" (both → Junk) or "report" (header only).
	DMARCPolicy string `toml:"dmarc_policy"`
	// DMARCExemptDomains: From domains whose DMARC failures are only
	// reported (the local override of RFC 7489 6.7).
	DMARCExemptDomains []string `toml:"dmarc_exempt_domains"`
	// SpoofAction for mail from the internet whose From is one of our
	// domains, or a lookalike of a protected one: "reject" or "junk".
	SpoofAction string `toml:"spoof_action"`
	// ProtectedDomains are guarded against lookalikes besides
	// server.local_domains (e.g. other *.gov.vn domains).
	ProtectedDomains []string `toml:"protected_domains"`
}

// DNS configures the resolver of mail between servers.
type DNS struct {
	// Servers are recursive resolvers "host:port"; empty = /etc/resolv.conf.
	// DANE needs a DNSSEC-validating resolver on a trusted path.
	Servers        []string `toml:"servers"`
	TimeoutSeconds int      `toml:"timeout_seconds"`
}

func defaultOutbound() Outbound {
	return Outbound{
		QueuePath:      "queue",
		RetryIntervals: []time.Duration{5 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour},
		MaxAge:         120 * time.Hour,
		DelayNotice:    4 * time.Hour,
		MaxConnections: 20, MaxPerDomain: 4,
		ConnectionReuse: 30 * time.Second,
		MTASTS:          true, DANE: true,
		SmarthostTLS:          "starttls",
		AllowInternalNetworks: []string{},
	}
}

func defaultDKIM() DKIM { return DKIM{Sign: true, KeysPath: "dkim"} }
func defaultInbound() Inbound {
	return Inbound{Authenticate: true, DMARCPolicy: "honour", SpoofAction: "reject",
		DMARCExemptDomains: []string{}, ProtectedDomains: []string{}}
}
func defaultDNS() DNS { return DNS{Servers: []string{}, TimeoutSeconds: 5} }

// validateMail checks the sections of mail between servers.
func (c *Config) validateMail() error {
	o := c.Outbound
	if len(o.RetryIntervals) == 0 || o.MaxAge <= 0 || o.DelayNotice < 0 || o.ConnectionReuse < 0 {
		return fmt.Errorf("outbound: retry_intervals must be set, max_age positive, delay_notice and connection_reuse not negative")
	}
	for _, iv := range o.RetryIntervals {
		if iv <= 0 {
			return fmt.Errorf("outbound.retry_intervals: %v is not positive", iv)
		}
	}
	if o.MaxConnections <= 0 || o.MaxPerDomain <= 0 {
		return fmt.Errorf("outbound.max_connections and max_connections_per_domain must be positive")
	}
	if o.Smarthost != "" {
		if _, _, err := net.SplitHostPort(o.Smarthost); err != nil {
			return fmt.Errorf("outbound.smarthost: %w", err)
		}
	}
	if _, err := netguard.New(o.AllowInternalNetworks); err != nil {
		return fmt.Errorf("outbound.allow_internal_networks: %w", err)
	}
	switch o.SmarthostTLS {
	case "starttls", "tls":
	default:
		return fmt.Errorf("outbound.smarthost_tls must be starttls or tls, not %q", o.SmarthostTLS)
	}
	if (o.SmarthostUser == "") != (o.SmarthostPasswordFile == "") {
		return fmt.Errorf("outbound.smarthost_username and smarthost_password_file must be set together")
	}
	switch c.Inbound.DMARCPolicy {
	case "honour", "junk", "report":
	default:
		return fmt.Errorf("inbound.dmarc_policy must be honour, junk or report, not %q", c.Inbound.DMARCPolicy)
	}
	switch c.Inbound.SpoofAction {
	case "reject", "junk":
	default:
		return fmt.Errorf("inbound.spoof_action must be reject or junk, not %q", c.Inbound.SpoofAction)
	}
	for i, d := range c.Inbound.ProtectedDomains {
		c.Inbound.ProtectedDomains[i] = strings.ToLower(strings.TrimSpace(d))
	}
	for _, s := range c.DNS.Servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return fmt.Errorf("dns.servers: %q: %w", s, err)
		}
	}
	if c.DNS.TimeoutSeconds <= 0 {
		return fmt.Errorf("dns.timeout_seconds must be positive")
	}
	return nil
}
