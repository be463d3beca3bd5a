// Package smtpd is congvu's SMTP server, built on github.com/emersion/go-smtp.
// One Server answers three listeners:
//
//   - MX (port 25, RFC 5321): mail from other servers for our own domains,
//     no AUTH, STARTTLS offered (RFC 3207).
//   - Submission (port 587, RFC 6409): officials' mail clients; STARTTLS,
//     then AUTH PLAIN/LOGIN (RFC 4954), then MAIL with one of the
//     account's own addresses.
//   - Submissions (port 465, RFC 8314): the same over implicit TLS.
//
// Local recipients are delivered straight into the store. On submission,
// recipients of other domains go to the outbound queue (Deps.Outbound),
// DKIM-signed (Deps.Signer); without a queue they get
// mailerr.ErrOutboundDisabled. On MX, mail is judged by SPF, DKIM and DMARC
// and checked for spoofing of our own domains (Deps.Inbound).
//
// Every refusal is a *mailerr.Error turned into an SMTP reply in exactly one
// place (reply in errors.go).
package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"congvu/directory"
	"congvu/internal/authcache"
	"congvu/internal/bufsize"
	"congvu/internal/metrics"
	"congvu/policy"
	"congvu/storage"
)

// Config configures a Server. Zero values get the documented defaults.
type Config struct {
	// Hostname is announced in the greeting and written in Received
	// header fields. Default: os.Hostname().
	Hostname string
	// LocalDomains are the domains we accept mail for, compared
	// case-insensitively. Everything else is relaying.
	LocalDomains []string
	// MaxMessageBytes limits a message as sent by the client (SIZE,
	// RFC 1870). Default 42 MiB: a 30 MiB attachment after base64.
	MaxMessageBytes int64
	// MaxAttachmentBytes limits each part of a message after its transfer
	// encoding is decoded (attachments.go); 0 means no separate limit.
	MaxAttachmentBytes int64
	// MaxRecipients limits RCPT commands per transaction. Default 100.
	MaxRecipients int
	// ReadTimeout and WriteTimeout bound each network read and write (an
	// idle timeout, as RFC 5321 4.5.3.2 times each data block rather than
	// the whole message, so a 30 MiB message on a slow link still gets
	// through). Default 5 minutes each.
	ReadTimeout, WriteTimeout time.Duration
	// TLS is used for STARTTLS and for the implicit-TLS listener. Its
	// MinVersion is raised to TLS 1.2 if lower. Nil disables STARTTLS (and
	// so the submission listeners refuse to start).
	TLS *tls.Config
	// SpoolDir holds messages larger than a small in-memory buffer while
	// they are received. Default os.TempDir(). Files are removed as soon
	// as the transaction ends.
	SpoolDir string
}

// Deps are the services a Server uses.
type Deps struct {
	Store storage.Store
	Dir   directory.Directory
	// Outbound, Signer and Inbound are optional (nil: outbound delivery
	// disabled, no DKIM signing, no inbound authentication).
	Outbound Outbound
	Signer   Signer
	Inbound  InboundChecker
	// Scanner asks the content scanners (clamd, rspamd) about every
	// message before the 250; nil scans nothing.
	Scanner ContentScanner
	Logger  *slog.Logger
	Metrics *metrics.Metrics
	// Policy is the policy engine's hooks; nil accepts everything.
	Policy policy.Hooks
	// Rules applies recipients' delivery rules (Sieve); nil stores every
	// message in its default folder (rules.go).
	Rules Rules

	// Documents checks official documents on both listeners (signatures,
	// the state-secret guard, centralised signing); nil skips it.
	Documents DocumentChecker
	// SendAs lets an account send as a unit's shared mailbox it works for
	// (the văn thư); nil: officials send only as themselves.
	SendAs SendAs
	// Groups expands distribution lists at RCPT (package groups); nil:
	// there are none.
	Groups Groups
	// Credentials remembers verified passwords for a few minutes
	// (internal/authcache, as the IMAP server and auth_http do): a mail
	// client opens a session, and logs in, for each message it sends, and
	// each login would otherwise cost a full argon2id hash. Nil checks
	// every AUTH with the directory.
	Credentials *authcache.Cache
}

// Groups resolves a group address to its members' mailboxes, applying
// the group's sending rule to the envelope sender (a refusal is a
// *mailerr.Error); isGroup is false when address is not a group.
type Groups interface {
	ExpandGroup(ctx context.Context, address, sender string) (members []*directory.Account, isGroup bool, err error)
}

// SendAs says whether account may write as address, an address that is
// not its own.
type SendAs interface {
	MaySendAs(ctx context.Context, account *directory.Account, address string) bool
}

// Defaults.
const (
	DefaultMaxMessageBytes = 42 << 20
	DefaultMaxRecipients   = 100
	DefaultTimeout         = 5 * time.Minute
)

// maxLineLength bounds a line, command or message text. RFC 5321
// 4.5.3.1.6 sets 1000 octets but asks receivers to be liberal; messages
// with long unwrapped lines (generated HTML, sloppy scripts) are common
// enough that go-smtp's default of 2000 would bounce real mail. go-smtp
// buffers a whole line only for commands, so this is also the most a
// session can make us hold for one command line.
const maxLineLength = 64 << 10

// listener modes; the label doubles as the metrics "listener" label.
type mode int

const (
	modeMX mode = iota
	modeSubmission
)

func (m mode) String() string {
	if m == modeMX {
		return "mx"
	}
	return "submission"
}

// Server is the SMTP server. Create it with New.
type Server struct {
	cfg     Config
	store   storage.Store
	dir     directory.Directory
	mail    mailDeps
	log     *slog.Logger
	metrics *metrics.Metrics
	tls     *tls.Config
	domains map[string]bool
	policy  policy.Hooks
	rules   Rules

	// documents is the official-document checker (documents.go).
	documents DocumentChecker
	// sendAs lets clerks write as their unit's mailbox (session.go).
	sendAs SendAs
	// groups expands distribution lists (groups.go).
	groups Groups
	// creds remembers verified passwords (auth.go).
	creds *authcache.Cache
	// readers are lent to the parses of a received message.
	readers *bufsize.Pool

	mx, submission *smtp.Server
	// submissionProxied serves nginx's connections (ServeSubmissionsProxied):
	// no STARTTLS there, the client's TLS ended at nginx.
	submissionProxied *smtp.Server

	mu        sync.Mutex
	closed    bool
	listeners []net.Listener
	// conns are the open connections. go-smtp tracks its own, but only
	// once their goroutine has started, so a connection accepted just as
	// Close runs would otherwise live on until its idle timeout.
	conns map[*idleConn]struct{}
	// deliveries counts Store.Deliver calls in progress, so Close can wait
	// for them before the caller closes the store.
	deliveries sync.WaitGroup
}

// New returns a Server; it serves nothing until one of the Serve methods is
// called.
func New(cfg Config, deps Deps) *Server {
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
		if cfg.Hostname == "" {
			cfg.Hostname = "localhost"
		}
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if cfg.MaxRecipients <= 0 {
		cfg.MaxRecipients = DefaultMaxRecipients
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultTimeout
	}
	if cfg.SpoolDir == "" {
		cfg.SpoolDir = os.TempDir()
	}
	s := &Server{
		cfg:     cfg,
		store:   deps.Store,
		dir:     deps.Dir,
		mail:    mailDeps{outbound: deps.Outbound, signer: deps.Signer, inbound: deps.Inbound, scanner: deps.Scanner},
		log:     deps.Logger,
		metrics: deps.Metrics,
		policy:  policy.OrNop(deps.Policy),
		rules:   deps.Rules,
		domains: make(map[string]bool, len(cfg.LocalDomains)),
		conns:   make(map[*idleConn]struct{}),
		readers: bufsize.NewPool(16 << 10),
	}
	s.documents = deps.Documents
	s.sendAs = deps.SendAs
	s.groups = deps.Groups
	s.creds = deps.Credentials
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.metrics == nil {
		s.metrics = metrics.New() // private registry: nothing global
	}
	for _, d := range cfg.LocalDomains {
		if d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), "."); d != "" {
			s.domains[d] = true
		}
	}
	if cfg.TLS != nil {
		s.tls = cfg.TLS.Clone()
		if s.tls.MinVersion < tls.VersionTLS12 {
			s.tls.MinVersion = tls.VersionTLS12
		}
	}
	s.mx = s.newSMTPServer(modeMX)
	s.submission = s.newSMTPServer(modeSubmission)
	s.submissionProxied = s.newSMTPServer(modeSubmission)
	s.submissionProxied.TLSConfig = nil
	return s
}

func (s *Server) newSMTPServer(m mode) *smtp.Server {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		sess := s.newSession(c, m)
		if err := checkCommand("EHLO", c.Hostname()); err != nil {
			return nil, sess.reply(phaseConnect, err)
		}
		if err := sess.policyConnect(); err != nil {
			return nil, sess.reply(phaseConnect, err)
		}
		return sess, nil
	}))
	srv.Domain = s.cfg.Hostname
	srv.MaxMessageBytes = s.cfg.MaxMessageBytes // SIZE at MAIL and the DATA limit: 552 5.3.4
	srv.MaxRecipients = s.cfg.MaxRecipients     // 452 4.5.3 beyond (RFC 5321 4.5.3.1.10)
	srv.MaxLineLength = maxLineLength
	srv.TLSConfig = s.tls
	srv.EnableSMTPUTF8 = true // RFC 6531: addresses and headers pass through as UTF-8
	// The library would answer AUTH before TLS with 523; we want RFC 4954's
	// 538 5.7.11, so we let AUTH through and gate it in the session, which
	// also never advertises mechanisms on a plaintext connection.
	srv.AllowInsecureAuth = true
	// Timeouts are applied per read/write by idleConn; the library's own
	// deadline would cover a whole DATA transfer.
	srv.ReadTimeout, srv.WriteTimeout = 0, 0
	srv.ErrorLog = libLogger{s.log.With("listener", m.String())}
	return srv
}

// ServeMX serves port 25: mail for the local domains from anyone, no AUTH.
func (s *Server) ServeMX(l net.Listener) error {
	return s.serve(s.mx, l, "smtp", false)
}

// ServeSubmission serves port 587: STARTTLS, then AUTH, then mail from the
// authenticated account (RFC 6409).
func (s *Server) ServeSubmission(l net.Listener) error {
	if s.tls == nil {
		l.Close()
		return errors.New("smtpd: submission needs a TLS configuration")
	}
	return s.serve(s.submission, l, "submission", false)
}

// ServeSubmissions serves port 465: submission over implicit TLS (RFC 8314
// 3.3). It wraps l itself.
func (s *Server) ServeSubmissions(l net.Listener) error {
	if s.tls == nil {
		l.Close()
		return errors.New("smtpd: submissions needs a TLS configuration")
	}
	return s.serve(s.submission, l, "submission", true)
}

// ServeSubmissionsProxied serves submission from nginx's mail proxy
// through frontend.Listen (listen.submission_proxy): the client's TLS
// ended at the proxy, so a connection that says so
// (frontend.SecuredByProxy) may AUTH as under TLS, without a TLS layer of
// its own; any other is refused AUTH (538), as plain text.
func (s *Server) ServeSubmissionsProxied(l net.Listener) error {
	if s.tls == nil {
		l.Close()
		return errors.New("smtpd: submissions needs a TLS configuration")
	}
	return s.serve(s.submissionProxied, l, "submission", false)
}

func (s *Server) serve(srv *smtp.Server, l net.Listener, proto string, implicitTLS bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return fmt.Errorf("smtpd: %w", net.ErrClosed)
	}
	s.listeners = append(s.listeners, l)
	s.mu.Unlock()

	var wrapped net.Listener = &idleListener{Listener: l, srv: s, proto: proto}
	if implicitTLS {
		// TLS sits on top of idleConn so the handshake is timed too, and
		// the library sees a *tls.Conn (it handshakes and reports it).
		wrapped = tls.NewListener(wrapped, s.tls)
	}
	err := srv.Serve(wrapped)
	if s.isClosed() {
		return nil // the listener was closed by Close
	}
	return err
}

// Close stops accepting connections, lets deliveries already handed to the
// store finish (so their clients get the 250 rather than retrying a
// message that was stored), then cuts every connection. Transactions that
// had not reached the store get nothing or 421 and are retried by their
// clients. The caller may close the store once Close returns.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true // from now on beginDelivery refuses
	listeners := s.listeners
	s.mu.Unlock()

	for _, l := range listeners {
		l.Close() // Serve returns nil: it checks s.closed
	}
	s.deliveries.Wait()

	var errs []error
	for _, srv := range []*smtp.Server{s.mx, s.submission, s.submissionProxied} {
		if err := srv.Close(); err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	s.mu.Lock()
	conns := make([]*idleConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	return errors.Join(errs...)
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// beginDelivery registers a store delivery; false once the server closes.
func (s *Server) beginDelivery() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.deliveries.Add(1)
	return true
}

func (s *Server) endDelivery() { s.deliveries.Done() }

// isLocalDomain reports whether mail for domain is ours.
func (s *Server) isLocalDomain(domain string) bool {
	return s.domains[strings.TrimSuffix(strings.ToLower(domain), ".")]
}

// idleListener counts accepted connections, tracks them for Close and
// wraps them in idleConn.
type idleListener struct {
	net.Listener
	srv   *Server
	proto string
}

func (l *idleListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.srv.metrics.Connections.WithLabelValues(l.proto).Inc()
		ic := &idleConn{Conn: c, srv: l.srv, read: l.srv.cfg.ReadTimeout, write: l.srv.cfg.WriteTimeout}
		l.srv.mu.Lock()
		closed := l.srv.closed
		if !closed {
			l.srv.conns[ic] = struct{}{}
		}
		l.srv.mu.Unlock()
		if !closed {
			return ic, nil
		}
		c.Close() // accepted while closing: go-smtp returns at the next Accept
	}
}

// idleConn renews its deadline before every read and write: a client may
// take as long as it needs in total, but may not stall (RFC 5321 4.5.3.2).
//
// It also holds replies back until the session needs more input: go-smtp
// writes every reply line at once, so a client that pipelines MAIL, RCPT
// and DATA (RFC 2920) got three segments where one does. RFC 2920 §3.2
// lets a server send replies in groups as long as it flushes them before
// it waits for input; the session's reader reads from the connection only
// when its buffer is empty, so flushing at every Read is exactly that.
// Close flushes too (the 221 to QUIT, a 421).
type idleConn struct {
	net.Conn
	srv         *Server
	read, write time.Duration

	mu      sync.Mutex // pending: the server's Close may run beside the session
	pending []byte
}

// maxPendingReply bounds the replies held back: a client pipelining a
// thousand RCPTs gets its replies in pieces of this size.
const maxPendingReply = 4 << 10

func (c *idleConn) Read(p []byte) (int, error) {
	if err := c.flush(); err != nil {
		return 0, err
	}
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.read)); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.pending = append(c.pending, p...)
	full := len(c.pending) >= maxPendingReply
	c.mu.Unlock()
	if full {
		if err := c.flush(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// flush writes the replies held back.
func (c *idleConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flushLocked()
}

func (c *idleConn) flushLocked() error {
	if len(c.pending) == 0 {
		return nil
	}
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.write)); err != nil {
		return err
	}
	_, err := c.Conn.Write(c.pending)
	if cap(c.pending) > maxPendingReply*2 {
		c.pending = nil
	} else {
		c.pending = c.pending[:0]
	}
	return err
}

// Unwrap gives the connection underneath (frontend.SecuredByProxy looks
// through it).
func (c *idleConn) Unwrap() net.Conn { return c.Conn }

func (c *idleConn) Close() error {
	// The server's Close runs beside the session: when the session is
	// stuck writing to a client that does not read, closing is what
	// unblocks it, so do not wait for it.
	if c.mu.TryLock() {
		c.flushLocked()
		c.mu.Unlock()
	}
	c.srv.mu.Lock()
	delete(c.srv.conns, c)
	c.srv.mu.Unlock()
	return c.Conn.Close()
}

// libLogger sends go-smtp's internal error log (accept errors, recovered
// panics, broken connections) to slog.
type libLogger struct{ log *slog.Logger }

func (l libLogger) Printf(format string, v ...any) {
	l.log.Warn("smtp: " + strings.TrimSpace(fmt.Sprintf(format, v...)))
}

func (l libLogger) Println(v ...any) {
	l.log.Warn("smtp: " + strings.TrimSpace(fmt.Sprintln(v...)))
}

// opContext bounds one directory or store call; sessions are not tied to a
// context of their own in go-smtp.
func opContext(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
