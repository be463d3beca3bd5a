// Package dnstest is a small authoritative-and-recursive-looking DNS server
// for tests: it answers from records given in zone-file syntax, on UDP and
// TCP of one loopback address, and sets the DNSSEC AD bit for the names the
// test declares secure. Tests point resolve.New (and, for programs that
// read /etc/resolv.conf, a private mount namespace) at it, so no test ever
// asks the real internet.
package dnstest

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// Server is a running test DNS server.
type Server struct {
	// Addr is host:port, the same for UDP and TCP.
	Addr string

	udp, tcp *dns.Server

	mu       sync.Mutex
	records  map[string][]dns.RR // by lower-case FQDN
	secure   []string            // suffixes answered with AD=1
	failing  map[string]bool     // names answered with SERVFAIL
	queries  map[string]int      // "name TYPE" → count, for assertions
	children map[string]bool     // names that have records below them
}

// Start serves on addr ("127.0.0.1:0" for a free port; a fixed port such as
// 127.x.y.z:53 for programs that cannot be told another port).
func Start(addr string) (*Server, error) {
	s := &Server{records: map[string][]dns.RR{}, failing: map[string]bool{}, queries: map[string]int{}, children: map[string]bool{}}
	var lastErr error
	for range 10 {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, err
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			// The UDP port is free but TCP's is taken: try another.
			pc.Close()
			lastErr = err
			continue
		}
		s.Addr = pc.LocalAddr().String()
		s.udp = &dns.Server{PacketConn: pc, Handler: s}
		s.tcp = &dns.Server{Listener: l, Handler: s}
		started := make(chan struct{}, 2)
		s.udp.NotifyStartedFunc = func() { started <- struct{}{} }
		s.tcp.NotifyStartedFunc = func() { started <- struct{}{} }
		go s.udp.ActivateAndServe()
		go s.tcp.ActivateAndServe()
		<-started
		<-started
		return s, nil
	}
	return nil, fmt.Errorf("dnstest: no port free for both UDP and TCP: %w", lastErr)
}

// Close stops the server.
func (s *Server) Close() error {
	return errors.Join(s.udp.Shutdown(), s.tcp.Shutdown())
}

// Add adds records in zone-file syntax, one per string, e.g.
// `angiang.gov.vn. MX 10 mx.angiang.gov.vn.` (TTL and class optional).
// Long TXT values may be given as one quoted string: it is split into
// 255-byte strings as RFC 1035 3.3.14 requires.
func (s *Server) Add(records ...string) error {
	for _, text := range records {
		rr, err := dns.NewRR(text)
		if err != nil {
			return fmt.Errorf("dnstest: %q: %w", text, err)
		}
		if rr == nil {
			continue
		}
		if txt, ok := rr.(*dns.TXT); ok {
			txt.Txt = splitTXT(strings.Join(txt.Txt, ""))
		}
		name := strings.ToLower(rr.Header().Name)
		s.mu.Lock()
		s.records[name] = append(s.records[name], rr)
		labels := dns.SplitDomainName(name)
		for i := 1; i < len(labels); i++ {
			s.children[dns.Fqdn(strings.Join(labels[i:], "."))] = true
		}
		s.mu.Unlock()
	}
	return nil
}

// Remove deletes every record of name with type rtype (e.g. "TXT").
func (s *Server) Remove(name, rtype string) {
	name = strings.ToLower(dns.Fqdn(name))
	t := dns.StringToType[strings.ToUpper(rtype)]
	s.mu.Lock()
	defer s.mu.Unlock()
	var keep []dns.RR
	for _, rr := range s.records[name] {
		if rr.Header().Rrtype != t {
			keep = append(keep, rr)
		}
	}
	s.records[name] = keep
}

// Secure makes answers for suffix and every name below it carry the AD bit,
// as a validating resolver does for a signed zone.
func (s *Server) Secure(suffix string) {
	s.mu.Lock()
	s.secure = append(s.secure, strings.ToLower(dns.Fqdn(suffix)))
	s.mu.Unlock()
}

// Fail makes queries for name answer SERVFAIL (a temporary DNS failure).
func (s *Server) Fail(name string) {
	s.mu.Lock()
	s.failing[strings.ToLower(dns.Fqdn(name))] = true
	s.mu.Unlock()
}

// Queries returns how many queries for name of type rtype were answered.
func (s *Server) Queries(name, rtype string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries[strings.ToLower(dns.Fqdn(name))+" "+strings.ToUpper(rtype)]
}

// ServeDNS implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.RecursionAvailable = true
	if len(req.Question) != 1 {
		resp.Rcode = dns.RcodeFormatError
		w.WriteMsg(resp)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	s.mu.Lock()
	s.queries[name+" "+dns.TypeToString[q.Qtype]]++
	failing := s.failing[name]
	rrs := s.records[name]
	exists := len(rrs) > 0 || s.children[name]
	secure := false
	for _, suf := range s.secure {
		if dns.IsSubDomain(suf, name) {
			secure = true
		}
	}
	for _, rr := range rrs {
		if rr.Header().Rrtype == q.Qtype || rr.Header().Rrtype == dns.TypeCNAME && q.Qtype != dns.TypeCNAME {
			c := dns.Copy(rr)
			c.Header().Name = q.Name
			if c.Header().Ttl == 0 {
				c.Header().Ttl = 300
			}
			resp.Answer = append(resp.Answer, c)
		}
	}
	s.mu.Unlock()
	switch {
	case failing:
		resp.Answer = nil
		resp.Rcode = dns.RcodeServerFailure
	case !exists:
		resp.Rcode = dns.RcodeNameError
	}
	resp.AuthenticatedData = secure && !failing
	if opt := req.IsEdns0(); opt != nil {
		resp.SetEdns0(opt.UDPSize(), opt.Do())
	}
	if _, isUDP := w.RemoteAddr().(*net.UDPAddr); isUDP {
		size := 512
		if opt := req.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		resp.Truncate(size) // sets TC, so the client retries over TCP
	}
	w.WriteMsg(resp)
}

func splitTXT(s string) []string {
	var out []string
	for len(s) > 255 {
		out = append(out, s[:255])
		s = s[255:]
	}
	return append(out, s)
}
