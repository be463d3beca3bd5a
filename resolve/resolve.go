// Package resolve is congvu's DNS resolver: the one role every mail-between-
// servers component (outbound MX lookup, MTA-STS, DANE, SPF, DKIM, DMARC)
// asks. It speaks DNS itself (github.com/miekg/dns) rather than using the
// system resolver so that
//
//   - answers carry the DNSSEC "authenticated data" bit (RFC 4035 3.2.3,
//     RFC 6840 5.7), which DANE (RFC 7672 2.1) needs, and TLSA records can
//     be asked for at all;
//   - tests point it at a local server (resolve/dnstest) on 127.0.0.1 and
//     never touch the real internet.
//
// Errors are *net.DNSError, as the standard library returns them, because
// the SPF, DKIM and DMARC libraries tell "no such record" from "try again"
// by inspecting exactly that type (IsNotFound, Temporary).
package resolve

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Resolver answers the lookups mail needs. The first four methods have the
// signatures of *net.Resolver, so a Resolver can be handed to libraries
// that expect one (blitiri.com.ar/go/spf's DNSResolver).
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)

	// LookupMXSecure is LookupMX that also says whether the answer was
	// DNSSEC-validated (AD bit from a validating resolver).
	LookupMXSecure(ctx context.Context, name string) (mx []*net.MX, secure bool, err error)
	// LookupIPSecure is LookupIPAddr with the AD bit of both answers
	// (secure only when every answer that exists is).
	LookupIPSecure(ctx context.Context, host string) (ips []net.IP, secure bool, err error)
	// LookupTLSA returns the TLSA records of name (e.g. _25._tcp.mx.example.)
	// for DANE (RFC 6698, RFC 7672 2.2).
	LookupTLSA(ctx context.Context, name string) (records []TLSA, secure bool, err error)
}

// TLSA is one TLSA record (RFC 6698 2.1).
type TLSA struct {
	Usage, Selector, MatchingType uint8
	Data                          []byte
}

// Config configures a DNS resolver.
type Config struct {
	// Servers are recursive resolvers as host:port. Empty means the
	// nameservers of /etc/resolv.conf. For DANE they must validate DNSSEC
	// and be reached over a trusted path (normally a resolver on the same
	// machine, RFC 7672 2.1.1).
	Servers []string
	// Timeout bounds one query to one server. Default 5 s.
	Timeout time.Duration
}

// DNS is the Resolver that queries recursive resolvers over UDP, retrying
// over TCP when an answer is truncated.
type DNS struct {
	servers []string
	timeout time.Duration
}

// New returns a resolver for cfg.
func New(cfg Config) (*DNS, error) {
	servers := cfg.Servers
	if len(servers) == 0 {
		cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return nil, fmt.Errorf("resolve: reading /etc/resolv.conf: %w", err)
		}
		for _, s := range cc.Servers {
			servers = append(servers, net.JoinHostPort(s, cc.Port))
		}
	}
	if len(servers) == 0 {
		return nil, errors.New("resolve: no DNS servers configured")
	}
	for _, s := range servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return nil, fmt.Errorf("resolve: server %q: %w", s, err)
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	return &DNS{servers: servers, timeout: cfg.Timeout}, nil
}

// query asks each server in turn for name/qtype and returns the answer
// records of that type (following CNAMEs inside the answer), and the AD bit.
// NXDOMAIN and an empty answer are *net.DNSError with IsNotFound.
func (r *DNS) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, bool, error) {
	fqdn := dns.Fqdn(name)
	if _, ok := dns.IsDomainName(fqdn); !ok {
		return nil, false, &net.DNSError{Err: "invalid domain name", Name: name}
	}
	m := new(dns.Msg)
	m.SetQuestion(fqdn, qtype)
	m.Id = randomID()
	m.RecursionDesired = true
	// RFC 6840 5.7: ask for the AD bit; DO (RFC 3225) too, as some
	// resolvers only report validation to clients that set it.
	m.AuthenticatedData = true
	m.SetEdns0(1232, true)

	var lastErr error
	for _, server := range r.servers {
		resp, err := r.exchange(ctx, m, server)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		switch resp.Rcode {
		case dns.RcodeSuccess:
		case dns.RcodeNameError:
			return nil, resp.AuthenticatedData, &net.DNSError{Err: "no such host", Name: name, Server: server, IsNotFound: true}
		default:
			// SERVFAIL (also what a validating resolver answers for a
			// bogus DNSSEC chain), REFUSED…: another server may do better.
			lastErr = &net.DNSError{Err: "server answered " + dns.RcodeToString[resp.Rcode], Name: name, Server: server, IsTemporary: true}
			continue
		}
		var out []dns.RR
		for _, rr := range resp.Answer {
			if rr.Header().Rrtype == qtype {
				out = append(out, rr)
			}
		}
		if len(out) == 0 {
			return nil, resp.AuthenticatedData, &net.DNSError{Err: "no such record", Name: name, Server: server, IsNotFound: true}
		}
		return out, resp.AuthenticatedData, nil
	}
	if lastErr == nil {
		lastErr = errors.New("no server answered")
	}
	var de *net.DNSError
	if errors.As(lastErr, &de) {
		return nil, false, de
	}
	return nil, false, &net.DNSError{Err: lastErr.Error(), Name: name, IsTemporary: true, IsTimeout: isTimeout(lastErr)}
}

func (r *DNS) exchange(ctx context.Context, m *dns.Msg, server string) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	c := &dns.Client{Net: "udp", Timeout: r.timeout, UDPSize: 1232}
	resp, _, err := c.ExchangeContext(ctx, m, server)
	if err == nil && resp.Truncated {
		// RFC 7766 5: a truncated answer is retried over TCP.
		c.Net = "tcp"
		resp, _, err = c.ExchangeContext(ctx, m, server)
	}
	if err == nil && resp.Id != m.Id {
		err = errors.New("answer id mismatch")
	}
	return resp, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func randomID() uint16 {
	var b [2]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint16(b[:])
}

// LookupTXT returns the TXT records of name, each record's strings joined
// (RFC 7208 3.3, RFC 6376 3.6.2.2).
func (r *DNS) LookupTXT(ctx context.Context, name string) ([]string, error) {
	rrs, _, err := r.query(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out, nil
}

// LookupMX implements Resolver.
func (r *DNS) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	mx, _, err := r.LookupMXSecure(ctx, name)
	return mx, err
}

// LookupMXSecure implements Resolver.
func (r *DNS) LookupMXSecure(ctx context.Context, name string) ([]*net.MX, bool, error) {
	rrs, ad, err := r.query(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, ad, err
	}
	out := make([]*net.MX, 0, len(rrs))
	for _, rr := range rrs {
		mx := rr.(*dns.MX)
		out = append(out, &net.MX{Host: mx.Mx, Pref: mx.Preference})
	}
	return out, ad, nil
}

// LookupIPAddr implements Resolver.
func (r *DNS) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	ips, _, err := r.LookupIPSecure(ctx, host)
	if err != nil {
		return nil, err
	}
	out := make([]net.IPAddr, len(ips))
	for i, ip := range ips {
		out[i] = net.IPAddr{IP: ip}
	}
	return out, nil
}

// LookupIPSecure implements Resolver: AAAA and A records, IPv6 first as
// RFC 6724 would prefer when both are reachable.
func (r *DNS) LookupIPSecure(ctx context.Context, host string) ([]net.IP, bool, error) {
	if ip := net.ParseIP(host); ip != nil {
		return []net.IP{ip}, false, nil
	}
	var ips []net.IP
	secure := true
	var firstErr error
	for _, qtype := range []uint16{dns.TypeAAAA, dns.TypeA} {
		rrs, ad, err := r.query(ctx, host, qtype)
		if err != nil {
			var de *net.DNSError
			if !(errors.As(err, &de) && de.IsNotFound) && firstErr == nil {
				firstErr = err
			}
			if !ad {
				secure = false
			}
			continue
		}
		secure = secure && ad
		for _, rr := range rrs {
			switch v := rr.(type) {
			case *dns.AAAA:
				ips = append(ips, v.AAAA)
			case *dns.A:
				ips = append(ips, v.A)
			}
		}
	}
	if len(ips) == 0 {
		if firstErr != nil {
			return nil, false, firstErr
		}
		return nil, false, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return ips, secure, nil
}

// LookupAddr implements Resolver (PTR, for SPF's ptr mechanism and trace).
func (r *DNS) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	arpa, err := dns.ReverseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: err.Error(), Name: addr}
	}
	rrs, _, err := r.query(ctx, arpa, dns.TypePTR)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, rr.(*dns.PTR).Ptr)
	}
	return out, nil
}

// LookupTLSA implements Resolver.
func (r *DNS) LookupTLSA(ctx context.Context, name string) ([]TLSA, bool, error) {
	rrs, ad, err := r.query(ctx, name, dns.TypeTLSA)
	if err != nil {
		return nil, ad, err
	}
	out := make([]TLSA, 0, len(rrs))
	for _, rr := range rrs {
		t := rr.(*dns.TLSA)
		data, err := hex.DecodeString(t.Certificate)
		if err != nil {
			continue // RFC 7672 2.2: unusable records are ignored
		}
		out = append(out, TLSA{Usage: t.Usage, Selector: t.Selector, MatchingType: t.MatchingType, Data: data})
	}
	return out, ad, nil
}

// IsNotFound reports whether err says the name or record does not exist
// (as opposed to a failure to find out).
func IsNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// LookupSRV returns the SRV records of name (e.g. _imaps._tcp.example.),
// for `congvu dns check`; it is not part of Resolver.
func (r *DNS) LookupSRV(ctx context.Context, name string) ([]*net.SRV, error) {
	rrs, _, err := r.query(ctx, name, dns.TypeSRV)
	if err != nil {
		return nil, err
	}
	out := make([]*net.SRV, 0, len(rrs))
	for _, rr := range rrs {
		s := rr.(*dns.SRV)
		out = append(out, &net.SRV{Target: s.Target, Port: s.Port, Priority: s.Priority, Weight: s.Weight})
	}
	return out, nil
}
