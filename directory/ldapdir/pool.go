package ldapdir

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// errClosed is returned after Close.
var errClosed = errors.New("ldapdir: directory closed")

// pool holds up to size connections: slots counts the open ones (idle or
// borrowed), idle holds the idle ones. Connections are borrowed for one
// operation and returned; a broken one is closed and its slot freed, so the
// pool heals by dialing afresh when the server comes back.
type pool struct {
	cfg     Config
	servers *servers
	service bool // bind as the service account after dialing
	slots   chan struct{}
	idle    chan *pooled

	mu     sync.Mutex
	closed bool
}

type pooled struct {
	conn   *ldap.Conn
	used   time.Time // when it was last returned healthy
	server int       // index of its URL in servers
}

func newPool(cfg Config, service bool, servers *servers) *pool {
	return &pool{cfg: cfg, service: service, servers: servers,
		slots: make(chan struct{}, cfg.PoolSize), idle: make(chan *pooled, cfg.PoolSize)}
}

// get borrows a connection: an idle one (checked if it idled long), else a
// new one while below the bound, else it waits. reused tells the caller that
// the connection may have died unnoticed since its last use.
func (p *pool) get(ctx context.Context) (pc *pooled, reused bool, err error) {
	for {
		if p.isClosed() {
			return nil, false, errClosed
		}
		select {
		case pc := <-p.idle:
			if p.usable(pc) {
				return pc, true, nil
			}
			continue
		default:
		}
		select {
		case pc := <-p.idle:
			if p.usable(pc) {
				return pc, true, nil
			}
		case p.slots <- struct{}{}:
			pc, err := p.dial()
			if err != nil {
				<-p.slots
				return nil, false, err
			}
			return pc, false, nil
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
}

// usable checks an idle connection, closing it (and freeing its slot) when
// it is broken.
func (p *pool) usable(pc *pooled) bool {
	if p.servers.failedSince(pc.server, pc.used) {
		p.discard(pc) // its server failed a request since: do not wait on it again
		return false
	}
	if !pc.conn.IsClosing() && (time.Since(pc.used) < p.cfg.HealthCheckAfter || ping(pc.conn) == nil) {
		return true
	}
	p.discard(pc)
	return false
}

// ping reads the root DSE: every server answers it, to anyone.
func ping(c *ldap.Conn) error {
	_, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"1.1"}, nil))
	return err
}

// dial connects to the first server that answers, starting with the one
// that answered last: with replicated providers a dead one costs at most
// failoverTimeout before the next is tried.
func (p *pool) dial() (*pooled, error) {
	urls, first := p.servers.order()
	timeout := p.cfg.Timeout
	if len(urls) > 1 {
		timeout = min(timeout, failoverTimeout)
	}
	var errs []error
	for i := range urls {
		k := (first + i) % len(urls)
		pc, err := p.dialOne(urls[k], timeout)
		if err == nil {
			p.servers.good(k)
			pc.server = k
			return pc, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", urls[k], err))
	}
	return nil, errors.Join(errs...)
}

func (p *pool) dialOne(u string, timeout time.Duration) (*pooled, error) {
	tlsCfg := p.cfg.TLS
	if tlsCfg.ServerName == "" {
		tlsCfg = tlsCfg.Clone()
		if pu, err := url.Parse(u); err == nil {
			tlsCfg.ServerName = pu.Hostname()
		}
	}
	dialer := &net.Dialer{Timeout: timeout}
	c, err := ldap.DialURL(u, ldap.DialWithDialer(dialer), ldap.DialWithTLSConfig(tlsCfg))
	if err != nil {
		return nil, err
	}
	// A server that accepts connections but does not answer (stopped,
	// overloaded) is as dead as one that refuses them: StartTLS and the
	// service bind get the dial's bound too.
	c.SetTimeout(timeout)
	if p.cfg.StartTLS {
		if err := c.StartTLS(tlsCfg); err != nil {
			c.Close()
			return nil, err
		}
	}
	if p.service && p.cfg.BindDN != "" {
		if err := c.Bind(p.cfg.BindDN, p.cfg.BindPassword); err != nil {
			c.Close()
			return nil, err
		}
	}
	c.SetTimeout(p.cfg.Timeout)
	return &pooled{conn: c}, nil
}

// put returns a borrowed connection; broken ones are closed.
func (p *pool) put(pc *pooled, broken bool) {
	if broken || pc.conn.IsClosing() || p.isClosed() {
		p.discard(pc)
		return
	}
	pc.used = time.Now()
	// Never blocks: at most cap(idle) connections exist.
	p.idle <- pc
	if p.isClosed() { // Close ran meanwhile and may have missed it
		p.drain()
	}
}

func (p *pool) discard(pc *pooled) {
	pc.conn.Close()
	<-p.slots
}

func (p *pool) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.drain()
}

func (p *pool) drain() {
	for {
		select {
		case pc := <-p.idle:
			p.discard(pc)
		default:
			return
		}
	}
}

// do runs fn on a borrowed connection. When a connection taken from the
// idle list turns out to be dead (the server restarted since), fn is retried
// once on a fresh connection, so a recovered server is used at once. Errors
// from the connection layer are returned as they are; callers classify.
func (p *pool) do(ctx context.Context, fn func(*ldap.Conn) error) error {
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		pc, reused, err := p.get(ctx)
		if err != nil {
			return err
		}
		err = fn(pc.conn)
		broken := brokenConn(err)
		if broken {
			p.servers.bad(pc.server) // the retry and later dials start with the next
		}
		p.put(pc, broken)
		if broken && reused && attempt == 0 {
			continue
		}
		return err
	}
}

// failoverTimeout bounds the connection attempt to one of several
// servers, so a dead provider is passed over within a second.
const failoverTimeout = 700 * time.Millisecond

// servers are the directory's URLs and the one that answered last.
type servers struct {
	urls   []string
	mu     sync.Mutex
	last   int
	failed map[int]time.Time // when a request to each last failed
}

func (s *servers) order() ([]string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.urls, s.last
}

func (s *servers) good(i int) {
	s.mu.Lock()
	s.last = i
	s.mu.Unlock()
}

// bad passes over server i (a request on a connection to it failed): dials
// start with the next one, unless another connection has already moved on.
func (s *servers) bad(i int) {
	s.mu.Lock()
	if s.last == i && len(s.urls) > 1 {
		s.last = (i + 1) % len(s.urls)
	}
	if s.failed == nil {
		s.failed = map[int]time.Time{}
	}
	s.failed[i] = time.Now()
	s.mu.Unlock()
}

// failedSince reports whether a request to server i failed after t: idle
// connections to it from before (in either pool) are dropped rather than
// each waiting out its own timeout.
func (s *servers) failedSince(i int, t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.failed[i]
	return ok && f.After(t)
}

// SplitURLs splits a URL setting that lists several servers (spaces or
// commas between them).
func SplitURLs(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' })
}
