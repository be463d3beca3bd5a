// Package outbound delivers queued mail to other servers (the
// queue.Transport): MX lookup with fallback to the domain's own address
// (RFC 5321 5.1), STARTTLS whenever offered (RFC 3207) with the
// certificate check recorded, TLS required and verified where the
// destination publishes DANE TLSA records (RFC 7672) or an MTA-STS policy in
// enforce mode (RFC 8461), connection reuse per destination, and an
// optional smarthost that takes all mail instead.
package outbound

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"time"

	"congvu/internal/mailerr"
	"congvu/internal/metrics"
	"congvu/internal/netguard"
	"congvu/queue"
	"congvu/resolve"
)

// Config configures a Client. Zero values get the documented defaults.
type Config struct {
	// Hostname is sent in EHLO. Required.
	Hostname string
	// Port is the destination SMTP port: 25 (RFC 5321 4.5.4.2) except in
	// tests.
	Port int
	// RootCAs verify destination certificates; nil = system roots.
	RootCAs *x509.CertPool
	// MTASTS and DANE enable those policies.
	MTASTS, DANE bool
	// Smarthost ("host:port") receives all mail instead of the MX hosts,
	// over TLS that must verify: implicit TLS when SmarthostImplicitTLS,
	// STARTTLS otherwise; AUTH PLAIN when SmarthostUsername is set.
	Smarthost                            string
	SmarthostImplicitTLS                 bool
	SmarthostUsername, SmarthostPassword string
	ConnectTimeout, CommandTimeout       time.Duration // default 30 s, 5 min
	IdleTimeout                          time.Duration // reuse window; default 30 s, negative disables
	MaxHosts                             int           // MX hosts tried per attempt; default 5
	MTASTSPort                           int           // HTTPS port of policy hosts: 443 except in tests
	// Guard decides which internal addresses MX delivery and MTA-STS
	// fetches may reach; nil allows none (the smarthost is always allowed:
	// the operator chose it).
	Guard *netguard.Guard
}

// Deps are the services a Client uses.
type Deps struct {
	Resolver resolve.Resolver
	Logger   *slog.Logger
	Metrics  *metrics.Metrics
}

// Client delivers mail to other servers. It is safe for concurrent use.
type Client struct {
	cfg     Config
	res     resolve.Resolver
	log     *slog.Logger
	metrics *metrics.Metrics
	pool    *pool
	sts     *stsCache
}

// New returns a Client.
func New(cfg Config, deps Deps) (*Client, error) {
	if cfg.Hostname == "" {
		return nil, errors.New("outbound: hostname required")
	}
	if deps.Resolver == nil {
		return nil, errors.New("outbound: resolver required")
	}
	if cfg.Port == 0 {
		cfg.Port = 25
	}
	if cfg.MTASTSPort == 0 {
		cfg.MTASTSPort = 443
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 30 * time.Second
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = 5 * time.Minute
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 30 * time.Second
	}
	if cfg.MaxHosts <= 0 {
		cfg.MaxHosts = 5
	}
	if cfg.Smarthost != "" {
		if _, _, err := net.SplitHostPort(cfg.Smarthost); err != nil {
			return nil, fmt.Errorf("outbound: smarthost: %w", err)
		}
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Metrics == nil {
		deps.Metrics = metrics.New()
	}
	c := &Client{cfg: cfg, res: deps.Resolver, log: deps.Logger, metrics: deps.Metrics, pool: newPool(cfg.IdleTimeout)}
	c.sts = newSTSCache(c)
	return c, nil
}

// Close closes idle connections.
func (c *Client) Close() error {
	c.pool.closeAll()
	return nil
}

// Errors of delivery as the queue records them (RFC 3463 codes).
var (
	errNoSuchDomain = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 1, 2},
		Message: "Recipient domain does not exist", MessageVI: "Tên miền người nhận không tồn tại"}
	errNullMX = &mailerr.Error{SMTPCode: 556, Enhanced: [3]int{5, 1, 10},
		Message: "Recipient domain does not accept mail (null MX)", MessageVI: "Tên miền người nhận không nhận thư"}
	errDNS = &mailerr.Error{SMTPCode: 451, Enhanced: [3]int{4, 4, 3}, Temporary: true,
		Message: "DNS lookup failed", MessageVI: "Không tra cứu được DNS của tên miền người nhận"}
	errNoAnswer = &mailerr.Error{SMTPCode: 451, Enhanced: [3]int{4, 4, 1}, Temporary: true,
		Message: "No answer from the destination server", MessageVI: "Máy chủ người nhận không trả lời"}
	errConnLost = &mailerr.Error{SMTPCode: 451, Enhanced: [3]int{4, 4, 2}, Temporary: true,
		Message: "Connection to the destination server lost", MessageVI: "Mất kết nối tới máy chủ người nhận"}
	errTLSRequired = &mailerr.Error{SMTPCode: 451, Enhanced: [3]int{4, 7, 5}, Temporary: true,
		Message: "Secure connection required but not possible", MessageVI: "Không thiết lập được kết nối bảo mật bắt buộc"}
	errUTF8 = &mailerr.Error{SMTPCode: 553, Enhanced: [3]int{5, 6, 7},
		Message: "Destination does not accept internationalized addresses (SMTPUTF8)", MessageVI: "Máy chủ người nhận không hỗ trợ địa chỉ tiếng Việt có dấu"}
)

// Deliver implements queue.Transport.
func (c *Client) Deliver(ctx context.Context, d *queue.Delivery) []queue.Result {
	key := d.Domain
	if c.cfg.Smarthost != "" {
		key = "smarthost"
	}
	// A connection left open by an earlier delivery to the same place.
	for {
		sess := c.pool.get(key)
		if sess == nil {
			break
		}
		if res, ok := sess.transaction(ctx, d); ok {
			c.release(key, sess, res)
			return res
		}
		sess.close() // went stale while idle: not an attempt, dial anew
	}
	hosts, rerr := c.route(ctx, d.Domain)
	if rerr != nil {
		return fill(len(d.Rcpts), queue.Result{Err: rerr})
	}
	last := errNoAnswer
	lastHost := ""
	for _, h := range hosts {
		sess, err := c.connect(ctx, h)
		if err != nil {
			last, lastHost = asMailErr(err, errNoAnswer), h.name
			c.log.Info("outbound: host unusable", "domain", d.Domain, "host", h.name, "err", err)
			continue
		}
		res, ok := sess.transaction(ctx, d)
		if !ok {
			// The server gave up before any recipient was answered
			// (4xx at MAIL, connection dropped): RFC 5321 5.1 says try
			// the next host.
			last, lastHost = res[0].Err, h.name
			sess.close()
			continue
		}
		c.release(key, sess, res)
		return res
	}
	if lastHost != "" {
		last = last.WithMessage(last.Message+" ("+lastHost+")", "")
	}
	return fill(len(d.Rcpts), queue.Result{Err: last, RemoteMTA: lastHost})
}

// release keeps a session for reuse after a completed transaction.
func (c *Client) release(key string, s *session, res []queue.Result) {
	if s.broken || c.cfg.IdleTimeout < 0 {
		s.close()
		return
	}
	if err := s.client.Reset(); err != nil {
		s.close()
		return
	}
	c.pool.put(key, s)
}

func fill(n int, r queue.Result) []queue.Result {
	out := make([]queue.Result, n)
	for i := range out {
		out[i] = r
	}
	return out
}

// host is one server to try, with the TLS it requires.
type host struct {
	name     string // MX host name, without the final dot
	port     int
	implicit bool // the domain itself, as it has no MX (RFC 5321 5.1)
	policy   tlsPolicy
}

// route returns the servers to try for domain, best first.
func (c *Client) route(ctx context.Context, domain string) ([]host, *mailerr.Error) {
	if c.cfg.Smarthost != "" {
		h, p, _ := net.SplitHostPort(c.cfg.Smarthost)
		port := 0
		fmt.Sscanf(p, "%d", &port)
		return []host{{name: h, port: port, policy: tlsPolicy{mode: tlsRequired, source: "smarthost", implicit: c.cfg.SmarthostImplicitTLS}}}, nil
	}
	mxs, secure, err := c.res.LookupMXSecure(ctx, domain)
	var names []string
	implicit := false
	switch {
	case err == nil:
		if len(mxs) == 1 && strings.TrimSuffix(mxs[0].Host, ".") == "" {
			return nil, errNullMX.With(fmt.Errorf("%s publishes a null MX (RFC 7505)", domain))
		}
		sortMX(mxs)
		for _, mx := range mxs {
			if n := strings.TrimSuffix(strings.ToLower(mx.Host), "."); n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	case resolve.IsNotFound(err):
		// RFC 5321 5.1: no MX records, the domain itself is the host
		// (and if it has no address either, it does not exist).
		names, secure, implicit = []string{domain}, false, true
	default:
		return nil, errDNS.With(err)
	}
	if len(names) > c.cfg.MaxHosts {
		names = names[:c.cfg.MaxHosts]
	}

	// DANE first: RFC 8461 2 lets DANE take precedence over MTA-STS.
	var sts *stsPolicy
	if c.cfg.MTASTS {
		sts = c.sts.policy(ctx, domain)
	}
	var hosts []host
	var skipped []string
	for _, n := range names {
		h := host{name: n, port: c.cfg.Port, implicit: implicit, policy: tlsPolicy{mode: tlsOpportunistic}}
		if c.cfg.DANE && secure {
			pol, err := c.danePolicy(ctx, n)
			if err != nil {
				skipped = append(skipped, n+": "+err.Error())
				continue
			}
			h.policy = pol
		}
		if h.policy.mode == tlsOpportunistic && sts != nil && sts.Mode != "none" {
			if !sts.matches(n) {
				if sts.Mode == "enforce" {
					// RFC 8461 4.1: an MX not in the policy is not a
					// candidate.
					skipped = append(skipped, n+": not listed in the MTA-STS policy")
					continue
				}
				c.log.Warn("outbound: MTA-STS (testing): MX not listed in policy", "domain", domain, "mx", n)
			} else if sts.Mode == "enforce" {
				h.policy = tlsPolicy{mode: tlsRequired, source: "mta-sts"}
			} else {
				h.policy.reportOnly = "mta-sts"
			}
		}
		hosts = append(hosts, h)
	}
	if len(hosts) == 0 {
		return nil, errTLSRequired.With(fmt.Errorf("%s: no usable MX host: %s", domain, strings.Join(skipped, "; ")))
	}
	return hosts, nil
}

// sortMX orders by preference, shuffling equal preferences (RFC 5321 5.1).
func sortMX(mxs []*net.MX) {
	rand.Shuffle(len(mxs), func(i, j int) { mxs[i], mxs[j] = mxs[j], mxs[i] })
	slices.SortStableFunc(mxs, func(a, b *net.MX) int { return int(a.Pref) - int(b.Pref) })
}

func asMailErr(err error, fallback *mailerr.Error) *mailerr.Error {
	if me := mailerr.As(err); me != nil {
		return me
	}
	return fallback.With(err)
}
