// Package imapd is congvu's IMAP server: IMAP4rev2 (RFC 9051) and
// IMAP4rev1 (RFC 3501) with the extensions listed in capabilities.
//
// The protocol layer is the project's own: imapd/wire reads and parses
// commands with limits on every size and depth and encodes responses;
// this package runs one goroutine per connection, dispatches commands by
// connection state, and maps them onto the narrow storage.Mailbox and
// directory.Directory interfaces. Each selected folder keeps a
// per-session snapshot of the UID list so sequence numbers stay stable
// for the client while other sessions, POP3 and SMTP delivery change the
// folder (RFC 9051 §2.3.1.2, §7.5.1).
package imapd

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"congvu/directory"
	"congvu/internal/authcache"
	"congvu/internal/frontend"
	"congvu/internal/metrics"
	"congvu/policy"
	"congvu/sharing"
	"congvu/storage"
)

const (
	// DefaultMaxLiteralSize is the APPEND limit when Config leaves it zero;
	// it matches the default SMTP message size limit.
	DefaultMaxLiteralSize = 30 << 20
	// DefaultIdleTimeout is the IDLE limit; RFC 9051 §5.4 requires at
	// least 30 minutes of inactivity before a server may log a client out.
	DefaultIdleTimeout = 30 * time.Minute

	// authTimeout is the inactivity limit before login.
	authTimeout = 2 * time.Minute
	// writeTimeout bounds how long one response may take to leave.
	writeTimeout = 5 * time.Minute
	// shutdownGrace bounds how long Close waits for sessions to finish the
	// command they are running.
	shutdownGrace = 5 * time.Second
	// defaultAuthFailDelay slows down password guessing on one connection.
	defaultAuthFailDelay = time.Second
	// defaultCredentialTTL is how long a verified password is
	// remembered; a password change or a lock ends it at once
	// (internal/authcache).
	defaultCredentialTTL = 5 * time.Minute
	// maxCachedCredentials bounds the remembered logins.
	maxCachedCredentials = 100_000
)

// Config configures the IMAP server.
type Config struct {
	// TLS is required for STARTTLS (Serve) and implicit TLS (ServeTLS).
	// Its MinVersion is raised to TLS 1.2 if lower.
	TLS *tls.Config
	// MaxLiteralSize is the APPEND limit in bytes (default 30 MiB). The
	// advertised APPENDLIMIT adds 5% headroom so that a message accepted by
	// SMTP at the limit can still be appended after servers added trace
	// headers or a client re-encoded it.
	MaxLiteralSize int64
	// IdleTimeout ends an IDLE command, and a session without any command
	// for that long, with BYE (default 30 minutes, RFC 9051 §5.4).
	IdleTimeout time.Duration
	// Hostname is used in the greeting and logs.
	Hostname string
	// AuthservID is the authserv-id our Authentication-Results fields
	// carry (default Hostname): APPEND removes fields naming it from the
	// messages it stores (RFC 8601 §5).
	AuthservID string
	// CredentialCacheTTL is how long a verified password is remembered
	// (internal/authcache; default 5 minutes, negative: never). Leave it
	// off for directories whose passwords or account states change
	// elsewhere without congvu seeing it (LDAP, Active Directory).
	CredentialCacheTTL time.Duration
}

// Deps are the services the IMAP server uses.
type Deps struct {
	Store   storage.Store
	Dir     directory.Directory
	Logger  *slog.Logger
	Metrics *metrics.Metrics
	// Policy is the policy engine's hooks; nil accepts everything.
	Policy policy.Hooks
	// Sharing gives officials their units' shared mailboxes under
	// "Shared/" (RFC 2342, RFC 4314); nil: no shared namespace.
	Sharing *sharing.Service
	// Audit records ACL changes (SETACL, DELETEACL); nil only logs them.
	Audit func(ctx context.Context, e policy.AuditEntry) error
	// CredentialCacheable tells whether a verified password of the
	// account may be remembered (Config.CredentialCacheTTL): it must
	// answer false where more than Dir decides whether a password is good
	// (two-factor sign-in and its app passwords). nil: always.
	CredentialCacheable func(ctx context.Context, address string) (bool, error)
}

// Server is a running IMAP service; one Server can serve several listeners.
type Server struct {
	cfg    Config
	deps   Deps
	log    *slog.Logger
	tls    *tls.Config
	policy policy.Hooks

	appendLimit   uint32
	authFailDelay time.Duration
	// pollInterval is a fallback re-check of the selected folder while
	// idling, for changes made by other processes that Watch cannot see.
	pollInterval time.Duration

	readers sync.Pool // *bufio.Reader
	writers sync.Pool // *bufio.Writer
	// creds remembers verified passwords for a few minutes (keyed hash),
	// so reconnecting clients skip the password KDF; nil: off.
	creds *authcache.Cache

	mu        sync.Mutex
	closing   bool
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	sessions  sync.WaitGroup
	closeOnce sync.Once
}

// New creates an IMAP server.
func New(cfg Config, deps Deps) *Server {
	if cfg.MaxLiteralSize <= 0 {
		cfg.MaxLiteralSize = DefaultMaxLiteralSize
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if cfg.AuthservID == "" {
		cfg.AuthservID = cfg.Hostname
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:           cfg,
		deps:          deps,
		log:           deps.Logger,
		policy:        policy.OrNop(deps.Policy),
		authFailDelay: defaultAuthFailDelay,
		pollInterval:  30 * time.Second,
		listeners:     map[net.Listener]struct{}{},
		conns:         map[*conn]struct{}{},
	}
	limit := cfg.MaxLiteralSize + cfg.MaxLiteralSize/20
	if limit > int64(^uint32(0)) || limit <= 0 {
		limit = int64(^uint32(0))
	}
	s.appendLimit = uint32(limit)
	switch ttl := cfg.CredentialCacheTTL; {
	case ttl == 0:
		s.creds = authcache.New(defaultCredentialTTL, maxCachedCredentials)
	case ttl > 0:
		s.creds = authcache.New(ttl, maxCachedCredentials)
	}
	if s.creds != nil {
		s.creds.Allow = deps.CredentialCacheable
	}
	if cfg.TLS != nil {
		s.tls = cfg.TLS.Clone()
		if s.tls.MinVersion < tls.VersionTLS12 {
			s.tls.MinVersion = tls.VersionTLS12
		}
	}
	s.readers.New = func() any { return bufio.NewReaderSize(nil, 4096) }
	s.writers.New = func() any { return bufio.NewWriterSize(nil, 8192) }
	return s
}

// capabilities lists what sessions offer after login (RFC 9051 §7.2.2).
// IMAP4rev2 includes NAMESPACE, UIDPLUS, ESEARCH, SEARCHRES,
// LIST-EXTENDED, LIST-STATUS, MOVE, STATUS=SIZE, CHILDREN, UNSELECT, IDLE,
// ENABLE, SASL-IR and LITERAL-; they are listed so IMAP4rev1 clients see
// them too.
func (s *Server) capabilities() []string {
	return []string{
		"IMAP4rev1",          // RFC 3501
		"IMAP4rev2",          // RFC 9051
		"LITERAL+",           // RFC 7888
		"MULTIAPPEND",        // RFC 3502
		"SASL-IR",            // RFC 4959
		"ENABLE",             // RFC 5161
		"IDLE",               // RFC 2177
		"NAMESPACE",          // RFC 2342
		"UNSELECT",           // RFC 3691
		"UIDPLUS",            // RFC 4315
		"MOVE",               // RFC 6851
		"CHILDREN",           // RFC 3348
		"LIST-EXTENDED",      // RFC 5258
		"LIST-STATUS",        // RFC 5819
		"SPECIAL-USE",        // RFC 6154
		"CREATE-SPECIAL-USE", // RFC 6154
		"ESEARCH",            // RFC 4731
		"SEARCHRES",          // RFC 5182
		"BINARY",             // RFC 3516
		"STATUS=SIZE",        // RFC 8438
		"UTF8=ACCEPT",        // RFC 6855
		"ID",                 // RFC 2971
		"COMPRESS=DEFLATE",   // RFC 4978
		"CONDSTORE",          // RFC 7162
		"QRESYNC",            // RFC 7162
		"QUOTA",              // RFC 9208
		"QUOTA=RES-STORAGE",
		"QUOTA=RES-MESSAGE",
		"ACL", // RFC 4314
		"RIGHTS=texk",
		"SORT",              // RFC 5256
		"SORT=DISPLAY",      // RFC 5957
		"ESORT",             // RFC 5267
		"THREAD=REFERENCES", // RFC 5256
		"THREAD=ORDEREDSUBJECT",
		fmt.Sprintf("APPENDLIMIT=%d", s.appendLimit), // RFC 7889
	}
}

// Serve accepts plain connections (port 143 semantics): STARTTLS is offered
// and LOGIN/AUTHENTICATE are refused until TLS is active (LOGINDISABLED).
func (s *Server) Serve(l net.Listener) error {
	return s.serve(l, plainEntry)
}

// ServeTLS accepts implicit-TLS connections (port 993); it wraps l itself.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.tls == nil {
		l.Close()
		return errors.New("imapd: ServeTLS needs Config.TLS")
	}
	return s.serve(l, tlsEntry)
}

// ServeProxied accepts connections from nginx's mail proxy through
// frontend.Listen (listen.imap_proxy): the client's TLS ended at the
// proxy, so a connection that says so (frontend.SecuredByProxy) is served
// as under TLS — LOGIN accepted, no STARTTLS — without a TLS layer of its
// own; any other stays plain text (LOGINDISABLED).
func (s *Server) ServeProxied(l net.Listener) error {
	return s.serve(l, proxiedEntry)
}

// entry is how a listener's connections arrive.
type entry int

const (
	plainEntry   entry = iota // port 143: STARTTLS offered
	tlsEntry                  // port 993: implicit TLS
	proxiedEntry              // from nginx, TLS ended there
)

func (s *Server) serve(l net.Listener, how entry) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		l.Close()
		return fmt.Errorf("imapd: %w", net.ErrClosed)
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	var tempDelay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return fmt.Errorf("imapd: %w", net.ErrClosed)
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				tempDelay = min(max(2*tempDelay, 5*time.Millisecond), time.Second)
				time.Sleep(tempDelay)
				continue
			}
			return err
		}
		tempDelay = 0
		c := s.newConn(nc, how == tlsEntry)
		if how == proxiedEntry && frontend.SecuredByProxy(nc) {
			c.tlsOn = true
		}
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.sessions.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.sessions.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
			c.serve()
		}()
	}
}

// Close stops the listeners, tells every session BYE and waits briefly
// for them to finish the command they are running.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		for l := range s.listeners {
			l.Close()
		}
		conns := make([]*conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		for _, c := range conns {
			c.shutdown("Server shutting down")
		}
		done := make(chan struct{})
		go func() {
			s.sessions.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(shutdownGrace):
			s.log.Warn("imap sessions still running after shutdown grace period")
			s.mu.Lock()
			for c := range s.conns {
				c.nc.Close()
			}
			s.mu.Unlock()
		}
	})
	return nil
}

// count updates metrics when they are configured.
func (s *Server) count(f func(m *metrics.Metrics)) {
	if s.deps.Metrics != nil {
		f(s.deps.Metrics)
	}
}

// baseContext is the context of a connection: cancelled when it ends.
func baseContext() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
