// Package imapd is congvu's IMAP server (RFC 9051 IMAP4rev2 and RFC 3501
// IMAP4rev1) built on github.com/emersion/go-imap/v2/imapserver.
//
// The library parses the protocol and keeps the connection state machine;
// this package maps every command onto the narrow storage.Mailbox and
// directory.Directory interfaces. Each selected folder keeps a per-session
// snapshot of the UID list so sequence numbers stay stable for the client
// while other sessions, POP3 and SMTP delivery change the folder
// (RFC 9051 2.3.1.2 and 7.5.1).
package imapd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/internal/metrics"
	"congvu/policy"
	"congvu/storage"
)

const (
	// DefaultMaxLiteralSize is the APPEND limit when Config leaves it zero;
	// it matches the default SMTP message size limit.
	DefaultMaxLiteralSize = 30 << 20
	// DefaultIdleTimeout is the IDLE limit; RFC 9051 5.4 requires at least
	// 30 minutes of inactivity before a server may log a client out.
	DefaultIdleTimeout = 30 * time.Minute

	// shutdownGrace bounds how long Close waits for sessions to finish the
	// command they are running.
	shutdownGrace = 5 * time.Second
	// defaultAuthFailDelay slows down password guessing on one connection.
	defaultAuthFailDelay = time.Second
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
	// IdleTimeout ends an IDLE command with BYE (default 30 minutes,
	// RFC 9051 5.4). The library itself logs out clients after 35 minutes
	// without any command.
	IdleTimeout time.Duration
	// Hostname is used in the greeting and logs.
	Hostname string
}

// Deps are the services the IMAP server uses.
type Deps struct {
	Store   storage.Store
	Dir     directory.Directory
	Logger  *slog.Logger
	Metrics *metrics.Metrics
	// Policy is the policy engine's hooks; nil accepts everything.
	Policy policy.Hooks
}

// Server is a running IMAP service; one Server can serve several listeners.
type Server struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	tls     *tls.Config
	imap    *imapserver.Server
	policy  policy.Hooks
	baseCtx context.Context
	stop    context.CancelFunc

	appendLimit   uint32
	authFailDelay time.Duration
	// pollInterval is a fallback re-check of the selected folder while
	// idling, for changes made by other processes that Watch cannot see.
	pollInterval time.Duration

	// mu orders session registration against Close, so sessions.Add never
	// races with sessions.Wait.
	mu        sync.Mutex
	closing   bool
	sessions  sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// New creates an IMAP server.
func New(cfg Config, deps Deps) *Server {
	if cfg.MaxLiteralSize <= 0 {
		cfg.MaxLiteralSize = DefaultMaxLiteralSize
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
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
	}
	limit := cfg.MaxLiteralSize + cfg.MaxLiteralSize/20
	if limit > int64(^uint32(0)) || limit <= 0 {
		limit = int64(^uint32(0))
	}
	s.appendLimit = uint32(limit)
	if cfg.TLS != nil {
		s.tls = cfg.TLS.Clone()
		if s.tls.MinVersion < tls.VersionTLS12 {
			s.tls.MinVersion = tls.VersionTLS12
		}
	}
	s.baseCtx, s.stop = context.WithCancel(context.Background())
	s.imap = imapserver.New(&imapserver.Options{
		NewSession: s.newSession,
		Caps:       capabilities(),
		Logger:     libLogger{s.log},
		TLSConfig:  s.tls,
		// RFC 9051 11.1: no cleartext passwords; LOGINDISABLED before TLS.
		InsecureAuth: false,
	})
	return s
}

// capabilities lists what the sessions implement. IMAP4rev2 implies
// NAMESPACE, UIDPLUS, ESEARCH, SEARCHRES, LIST-EXTENDED, LIST-STATUS, MOVE,
// STATUS=SIZE, CHILDREN, UNSELECT, IDLE, ENABLE, SASL-IR and LITERAL-; they are
// listed so IMAP4rev1 clients see them too. APPENDLIMIT=n is added by the
// library from session.AppendLimit. LITERAL+ is deliberately absent: with it
// a client could push an oversized non-synchronizing literal the library
// would not consume.
func capabilities() imap.CapSet {
	return imap.CapSet{
		imap.CapIMAP4rev1:    {},
		imap.CapIMAP4rev2:    {},
		imap.CapNamespace:    {},
		imap.CapUIDPlus:      {},
		imap.CapESearch:      {},
		imap.CapSearchRes:    {},
		imap.CapListExtended: {},
		imap.CapListStatus:   {},
		imap.CapMove:         {},
		imap.CapStatusSize:   {},
		imap.CapChildren:     {},
		imap.CapSpecialUse:   {},
		imap.CapBinary:       {},
	}
}

// Serve accepts plain connections (port 143 semantics): STARTTLS is offered
// and LOGIN/AUTHENTICATE are refused until TLS is active (LOGINDISABLED).
func (s *Server) Serve(l net.Listener) error {
	return s.serve(l)
}

// ServeTLS accepts implicit-TLS connections (port 993); it wraps l itself.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.tls == nil {
		l.Close()
		return errors.New("imapd: ServeTLS needs Config.TLS")
	}
	return s.serve(tls.NewListener(l, s.tls))
}

func (s *Server) serve(l net.Listener) error {
	err := s.imap.Serve(l)
	if err != nil && s.baseCtx.Err() != nil {
		// Serve after Close: report it like a closed listener.
		return fmt.Errorf("imapd: %w", net.ErrClosed)
	}
	return err
}

// Close stops the listeners, closes every connection and waits briefly for
// sessions to finish the command they are running.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		s.stop()
		err := s.imap.Close()
		if err != nil && !errors.Is(err, net.ErrClosed) {
			s.closeErr = err
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
		}
	})
	return s.closeErr
}

// newSession is called by the library for each accepted connection.
func (s *Server) newSession(conn *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	s.mu.Lock()
	closing := s.closing
	if !closing {
		s.sessions.Add(1) // Done in session.Close
	}
	s.mu.Unlock()
	if closing {
		return nil, nil, &imap.Error{Type: imap.StatusResponseTypeBye, Text: "Server shutting down"}
	}
	s.count(func(m *metrics.Metrics) { m.Connections.WithLabelValues("imap").Inc() })
	sess := newSession(s, conn)
	if d := s.policy.Connect(sess.ctx, policy.Conn{Protocol: policy.IMAP, IP: remoteIP(sess)}); d.Refused() {
		sess.Close()
		// RFC 9051 7.1.5: BYE as the greeting refuses the connection.
		return nil, nil, &imap.Error{Type: imap.StatusResponseTypeBye, Text: mailerr.Classify(d.Err()).Message}
	}
	return sess, nil, nil
}

// count updates metrics when they are configured.
func (s *Server) count(f func(m *metrics.Metrics)) {
	if s.deps.Metrics != nil {
		f(s.deps.Metrics)
	}
}

// libLogger routes the library's Printf logging into slog. The library logs
// client read errors (timeouts, resets) and, as a last resort, recovered
// panics with their stack.
type libLogger struct{ log *slog.Logger }

func (l libLogger) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	switch {
	case strings.HasPrefix(msg, "panic"):
		l.log.Error("imap connection panic", "detail", msg)
	case strings.HasPrefix(msg, "failed to read command"):
		l.log.Debug("imap connection ended", "detail", msg)
	default:
		l.log.Warn("imap library", "detail", msg)
	}
}
