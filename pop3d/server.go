// Package pop3d is congvu's POP3 server (RFC 1939) with the extensions mail
// clients of state agencies rely on: CAPA and RESP-CODES (RFC 2449, RFC 3206),
// STLS and implicit TLS (RFC 2595, RFC 8314), and AUTH PLAIN (RFC 5034).
//
// POP3 is mandatory for state mail servers (Circular 39/2017). The maildrop
// is the INBOX of the authenticated account; the server takes a snapshot at
// login and only changes the store in the UPDATE state, after QUIT.
package pop3d

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"congvu/directory"
	"congvu/internal/frontend"
	"congvu/internal/mailerr"
	"congvu/internal/metrics"
	"congvu/policy"
	"congvu/storage"
)

// Config configures a Server.
type Config struct {
	// TLS is used for STLS and implicit TLS; MinVersion is raised to
	// TLS 1.2 when lower. Without it the server offers no STLS and, since
	// passwords never travel in clear, nobody can log in on plain ports.
	TLS      *tls.Config
	Hostname string
	// IdleTimeout closes a connection without a complete command for that
	// long. Default 10 minutes, the minimum of RFC 1939 section 3.
	IdleTimeout time.Duration
}

// Deps are the components the server uses.
type Deps struct {
	Store   storage.Store
	Dir     directory.Directory
	Logger  *slog.Logger
	Metrics *metrics.Metrics
	// Policy is the policy engine's hooks; nil accepts everything.
	Policy policy.Hooks
	// NoUnitLogin refuses logins as a unit's shared mailbox: it has no
	// password of its own, its clerks open it over IMAP from their own
	// accounts (as imapd does when it offers the shared namespace).
	NoUnitLogin bool
}

const (
	defaultIdleTimeout = 10 * time.Minute
	// handshakeTimeout bounds a TLS handshake (STLS or implicit).
	handshakeTimeout = 30 * time.Second
	// updateTimeout bounds the UPDATE state (RFC 1939 section 6) and other
	// store writes that must not be cut short by Close.
	updateTimeout = time.Minute
	// authFailDelay slows down password guessing; tests shorten it.
	authFailDelay = time.Second
)

// Server is a POP3 server. Create it with New.
type Server struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	tlsConf *tls.Config
	policy  policy.Hooks

	// ctx is cancelled by Close; sessions use it for directory and store
	// reads so that a shutdown does not wait for slow back ends.
	ctx    context.Context
	cancel context.CancelFunc

	failDelay time.Duration

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	// locked holds the maildrops (primary addresses) in TRANSACTION state:
	// RFC 1939 section 8 requires an exclusive-access lock on the maildrop.
	locked   map[string]struct{}
	sessions sync.WaitGroup
}

// New creates a server. It does not listen; call Serve or ServeTLS.
func New(cfg Config, deps Deps) *Server {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = defaultIdleTimeout
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var tc *tls.Config
	if cfg.TLS != nil {
		tc = cfg.TLS.Clone()
		if tc.MinVersion < tls.VersionTLS12 {
			tc.MinVersion = tls.VersionTLS12 // Circular 39/2017
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg: cfg, deps: deps, log: log, tlsConf: tc, policy: policy.OrNop(deps.Policy),
		ctx: ctx, cancel: cancel,
		failDelay: authFailDelay,
		listeners: map[net.Listener]struct{}{},
		conns:     map[net.Conn]struct{}{},
		locked:    map[string]struct{}{},
	}
}

// Serve accepts plain connections (port 110) that may upgrade with STLS
// (RFC 2595 section 4). It returns when l fails or the server is closed; the
// error then wraps net.ErrClosed.
func (s *Server) Serve(l net.Listener) error {
	return s.serve(l, plainEntry)
}

// ServeTLS accepts implicit-TLS connections (port 995, RFC 8314 section 3.3).
func (s *Server) ServeTLS(l net.Listener) error {
	if s.tlsConf == nil {
		l.Close()
		return errors.New("pop3d: ServeTLS needs Config.TLS")
	}
	return s.serve(l, tlsEntry)
}

// ServeProxied accepts connections from nginx's mail proxy through
// frontend.Listen (listen.pop3_proxy): the client's TLS ended at the
// proxy, so a connection that says so (frontend.SecuredByProxy) is served
// as under TLS — logins accepted, no STLS — without a TLS layer of its
// own; any other stays plain text and refuses logins.
func (s *Server) ServeProxied(l net.Listener) error {
	return s.serve(l, proxiedEntry)
}

// entry is how a listener's connections arrive.
type entry int

const (
	plainEntry   entry = iota // port 110: STLS offered
	tlsEntry                  // port 995: implicit TLS
	proxiedEntry              // from nginx, TLS ended there
)

func (s *Server) serve(l net.Listener, how entry) error {
	if !s.track(l) {
		l.Close()
		return fmt.Errorf("pop3d: %w", net.ErrClosed)
	}
	defer s.untrack(l)
	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if s.isClosed() || errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("pop3d: %w", net.ErrClosed)
			}
			// Transient failures (EMFILE, aborted handshakes) must not stop
			// the listener; back off like net/http does.
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("pop3: accept failed, retrying", "err", err, "delay", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		if !s.addConn(c) {
			c.Close()
			return fmt.Errorf("pop3d: %w", net.ErrClosed)
		}
		if m := s.deps.Metrics; m != nil {
			m.Connections.WithLabelValues("pop3").Inc()
		}
		go func() {
			defer s.sessions.Done()
			s.handle(c, how == tlsEntry, how == proxiedEntry && frontend.SecuredByProxy(c))
		}()
	}
}

// handle runs one connection; implicitTLS wraps it in TLS first, and
// securedByProxy says the client's TLS ended at the trusted proxy. The raw
// connection stays in s.conns so Close can cut it without a TLS alert.
func (s *Server) handle(c net.Conn, implicitTLS, securedByProxy bool) {
	sess := newSession(s, c)
	sess.tls = securedByProxy
	defer sess.close()
	if err := sess.policyConnect(); err != nil {
		// RFC 1939 4: a negative greeting refuses the connection.
		sess.fail(mailerr.Classify(err))
		sess.w.Flush()
		return
	}
	if implicitTLS && !sess.startTLS() {
		return
	}
	sess.run()
}

// Close stops all listeners, closes live connections and waits for their
// sessions to end. Sessions cut off this way delete nothing (RFC 1939 6).
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.cancel()
	var errs []error
	for l := range s.listeners {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	for c := range s.conns {
		c.Close() // raw TCP: immediate, never blocks on a TLS alert
	}
	s.mu.Unlock()
	s.sessions.Wait()
	return errors.Join(errs...)
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) track(l net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.listeners[l] = struct{}{}
	return true
}

func (s *Server) untrack(l net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.listeners, l)
}

// addConn registers a connection and its session; false after Close.
func (s *Server) addConn(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.sessions.Add(1)
	return true
}

func (s *Server) removeConn(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	c.Close()
}

// lockMaildrop takes the exclusive maildrop lock for user (RFC 1939 section
// 8: "the POP3 server then acquires an exclusive-access lock on the
// maildrop"). It reports false when another session holds it.
func (s *Server) lockMaildrop(user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, held := s.locked[user]; held {
		return false
	}
	s.locked[user] = struct{}{}
	return true
}

func (s *Server) unlockMaildrop(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.locked, user)
}

// countLogin records one authentication attempt (metrics.Logins).
func (s *Server) countLogin(result string) {
	if m := s.deps.Metrics; m != nil {
		m.Logins.WithLabelValues("pop3", result).Inc()
	}
}
