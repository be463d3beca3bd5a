package outbound

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// stsPolicy is a parsed MTA-STS policy (RFC 8461 3.2).
type stsPolicy struct {
	ID      string
	Mode    string // enforce, testing, none
	MX      []string
	MaxAge  time.Duration
	expires time.Time
}

// matches reports whether an MX host name is allowed by the policy:
// exact, or "*.example.gov.vn" matching exactly one more label
// (RFC 8461 4.1).
func (p *stsPolicy) matches(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, pat := range p.MX {
		pat = strings.ToLower(strings.TrimSuffix(pat, "."))
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			if i := strings.IndexByte(host, '.'); i > 0 && host[i+1:] == rest {
				return true
			}
		} else if host == pat {
			return true
		}
	}
	return false
}

// stsCache fetches and caches policies. The cache lives in memory: after a
// restart policies are fetched again (RFC 8461 5.1 asks for a cache to
// resist downgrade; a persistent one is a possible improvement).
type stsCache struct {
	c      *Client
	http   *http.Client
	mu     sync.Mutex
	byName map[string]*stsPolicy
}

// Limits from RFC 8461 3.3 and 3.2.
const (
	stsFetchTimeout = 60 * time.Second
	stsMaxBody      = 64 << 10
	stsMaxAge       = 31557600 * time.Second
)

func newSTSCache(c *Client) *stsCache {
	dialer := c.cfg.Guard.Dialer(net.Dialer{Timeout: c.cfg.ConnectTimeout})
	tr := &http.Transport{
		// The policy host is resolved with our resolver, so tests (and
		// operators) control where it goes.
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			ips, _, err := c.res.LookupIPSecure(ctx, host)
			if err != nil {
				return nil, err
			}
			var lastErr error
			for _, ip := range ips {
				conn, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(ip.String(), strconv.Itoa(c.cfg.MTASTSPort)))
				if err == nil {
					return conn, nil
				}
				lastErr = err
			}
			return nil, lastErr
		},
		TLSClientConfig:   &tls.Config{RootCAs: c.cfg.RootCAs, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: true,
		Proxy:             nil,
	}
	return &stsCache{c: c, byName: map[string]*stsPolicy{}, http: &http.Client{
		Transport: tr,
		Timeout:   stsFetchTimeout,
		// RFC 8461 3.3: "HTTP 3xx redirects MUST NOT be followed".
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// policy returns the domain's policy, or nil when it has none (or none
// could be had, RFC 8461 5.1: deliver as without MTA-STS).
func (s *stsCache) policy(ctx context.Context, domain string) *stsPolicy {
	now := time.Now()
	s.mu.Lock()
	cached := s.byName[domain]
	s.mu.Unlock()
	if cached != nil && now.After(cached.expires) {
		cached = nil
	}
	id, err := s.lookupID(ctx, domain)
	if err != nil || id == "" {
		// No (valid) record: a cached policy still applies (RFC 8461 5.1).
		return cached
	}
	if cached != nil && cached.ID == id {
		return cached
	}
	p, err := s.fetch(ctx, domain)
	if err != nil {
		s.c.log.Warn("outbound: MTA-STS policy fetch failed", "domain", domain, "err", err)
		return cached
	}
	p.ID = id
	p.expires = now.Add(p.MaxAge)
	s.mu.Lock()
	s.byName[domain] = p
	s.mu.Unlock()
	return p
}

// lookupID returns the id of the _mta-sts TXT record (RFC 8461 3.1).
func (s *stsCache) lookupID(ctx context.Context, domain string) (string, error) {
	txts, err := s.c.res.LookupTXT(ctx, "_mta-sts."+domain)
	if err != nil {
		return "", err
	}
	var id string
	n := 0
	for _, t := range txts {
		if !strings.HasPrefix(t, "v=STSv1") {
			continue
		}
		n++
		for _, field := range strings.Split(t, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(field), "=")
			if k == "id" {
				id = v
			}
		}
	}
	if n != 1 || id == "" {
		return "", errors.New("no single valid STSv1 record") // RFC 8461 3.1
	}
	return id, nil
}

func (s *stsCache) fetch(ctx context.Context, domain string) (*stsPolicy, error) {
	url := "https://mta-sts." + domain + "/.well-known/mta-sts.txt"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/plain" {
		return nil, fmt.Errorf("%s: content type %q, want text/plain", url, mt) // RFC 8461 3.2
	}
	return parseSTSPolicy(io.LimitReader(resp.Body, stsMaxBody))
}

// parseSTSPolicy parses the policy body (RFC 8461 3.2).
func parseSTSPolicy(r io.Reader) (*stsPolicy, error) {
	p := &stsPolicy{}
	version := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "version":
			version = v
		case "mode":
			p.Mode = v
		case "mx":
			p.MX = append(p.MX, v)
		case "max_age":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("bad max_age %q", v)
			}
			p.MaxAge = min(time.Duration(n)*time.Second, stsMaxAge)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if version != "STSv1" {
		return nil, fmt.Errorf("version %q, want STSv1", version)
	}
	switch p.Mode {
	case "enforce", "testing":
		if len(p.MX) == 0 {
			return nil, errors.New("policy lists no mx")
		}
	case "none":
	default:
		return nil, fmt.Errorf("bad mode %q", p.Mode)
	}
	if p.MaxAge == 0 {
		return nil, errors.New("no max_age")
	}
	return p, nil
}
