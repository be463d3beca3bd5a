// Package cluster lets several congvu nodes share one directory: every
// mailbox lives on the node its account names (congvuMailHost), and mail
// arriving anywhere for a mailbox of another node is relayed to that node.
//
// Between nodes mail travels over SMTP with implicit TLS on each node's
// relay listener, authenticated with a secret every node shares (AUTH
// PLAIN), one recipient per transaction, through the outbound queue of
// the sending node: when the home node is down the message waits in the
// queue and is retried, and the sender gets the queue's delay notice and,
// past the retry horizon, a bounce — nothing is lost on a planned outage.
package cluster

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"congvu/internal/mailerr"
)

// relayUser is the SASL identity nodes use with each other.
const relayUser = "congvu-node"

// maxHops bounds how often a message may be relayed between nodes (their
// directory caches may briefly disagree after a mailbox move).
const maxHops = 8

// relayHeader marks each hop through the relay.
const relayHeader = "X-Congvu-Relayed"

// DeliverFunc stores a message for one recipient on this node, as the
// queue's local delivery does (delivery rules, trace fields): nil only
// once it is durable.
type DeliverFunc func(ctx context.Context, from, rcpt string, msg []byte) error

// RelayServer is a node's relay listener.
type RelayServer struct {
	srv     *smtp.Server
	secret  []byte
	deliver DeliverFunc
	log     *slog.Logger
	node    string

	mu     sync.Mutex
	closed bool
}

// RelayConfig configures the relay listener.
type RelayConfig struct {
	Node     string // this node's name, in trace fields
	Hostname string
	TLS      *tls.Config
	Secret   []byte
	MaxBytes int64
	Logger   *slog.Logger
}

// NewRelayServer returns the relay listener's server; deliver stores what
// it accepts.
func NewRelayServer(cfg RelayConfig, deliver DeliverFunc) (*RelayServer, error) {
	if len(cfg.Secret) < 16 {
		return nil, errors.New("cluster: the relay secret must be at least 16 bytes (cluster.secret_file)")
	}
	if cfg.TLS == nil {
		return nil, errors.New("cluster: the relay needs TLS")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &RelayServer{secret: cfg.Secret, deliver: deliver, log: cfg.Logger, node: cfg.Node}
	r.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &relaySession{r: r, remote: c.Conn().RemoteAddr().String()}, nil
	}))
	r.srv.Domain = cfg.Hostname
	r.srv.MaxMessageBytes = cfg.MaxBytes
	r.srv.MaxRecipients = 1
	r.srv.ReadTimeout, r.srv.WriteTimeout = 5*time.Minute, 5*time.Minute
	tc := cfg.TLS.Clone()
	tc.MinVersion = max(tc.MinVersion, tls.VersionTLS12)
	r.srv.TLSConfig = tc
	r.srv.ErrorLog = slogAdapter{cfg.Logger}
	return r, nil
}

// ServeTLS serves the relay over implicit TLS on l.
func (r *RelayServer) ServeTLS(l net.Listener) error {
	err := r.srv.Serve(tls.NewListener(l, r.srv.TLSConfig))
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	return err
}

// Close stops the relay listener.
func (r *RelayServer) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return r.srv.Close()
}

type relaySession struct {
	r        *RelayServer
	remote   string
	authed   bool
	from, to string
}

func (s *relaySession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *relaySession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, &smtp.SMTPError{Code: 504, EnhancedCode: smtp.EnhancedCode{5, 5, 4}, Message: "PLAIN only"}
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != relayUser || (identity != "" && identity != user) ||
			subtle.ConstantTimeCompare([]byte(pass), s.r.secret) != 1 {
			s.r.log.Warn("cluster relay: authentication failed", "remote", s.remote)
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication failed"}
		}
		s.authed = true
		return nil
	}), nil
}

func (s *relaySession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.from = from
	return nil
}

func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = to
	return nil
}

func (s *relaySession) Data(r io.Reader) error {
	msg, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if hops := countHeader(msg, relayHeader); hops >= maxHops {
		// Nodes disagree about the home node (caches after a move): wait.
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 6}, Message: "Too many hops between nodes, try later"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.r.deliver(ctx, s.from, s.to, msg); err != nil {
		s.r.log.Warn("cluster relay: delivery failed", "rcpt", s.to, "err", err)
		return smtpError(err)
	}
	s.r.log.Info("cluster relay: delivered", "rcpt", s.to, "size", len(msg))
	return nil
}

func (s *relaySession) Reset()        { s.from, s.to = "", "" }
func (s *relaySession) Logout() error { return nil }

// smtpError turns a delivery error into the relay's reply: permanent
// mail errors stay permanent (the sending queue bounces), everything else
// is temporary.
func smtpError(err error) error {
	e := mailerr.Classify(err)
	return &smtp.SMTPError{Code: e.SMTPCode, EnhancedCode: smtp.EnhancedCode(e.Enhanced), Message: e.Message}
}

// countHeader counts header fields called name in the header block.
func countHeader(msg []byte, name string) int {
	end := bytes.Index(msg, []byte("\r\n\r\n"))
	if end < 0 {
		end = len(msg)
	}
	n := 0
	for _, line := range bytes.Split(msg[:end], []byte("\r\n")) {
		if len(line) > len(name) && line[len(name)] == ':' && strings.EqualFold(string(line[:len(name)]), name) {
			n++
		}
	}
	return n
}

// Client sends mail to other nodes' relay listeners.
type Client struct {
	Node   string // this node, written in the hop field
	Secret []byte
	TLS    *tls.Config // trust for the nodes' certificates
	// Timeout bounds connecting and each step (default 30s).
	Timeout time.Duration
}

// Send relays msg for rcpt to the node at addr (host:port; serverName is
// the name its certificate carries). A refusal the node gives as
// permanent is a permanent *mailerr.Error; everything else (the node is
// down, slow, busy) is temporary, so the queue tries again.
func (c *Client) Send(ctx context.Context, addr, serverName, from, rcpt string, msg io.Reader) error {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tc := c.TLS.Clone()
	tc.ServerName = serverName
	tc.MinVersion = max(tc.MinVersion, tls.VersionTLS12)
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: tc}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return ErrNodeUnavailable.With(fmt.Errorf("relay to %s: %w", addr, err))
	}
	conn.SetDeadline(time.Now().Add(10 * timeout))
	sc := smtp.NewClient(conn)
	defer sc.Close()
	hop := fmt.Sprintf("%s: from %s at %s\r\n", relayHeader, c.Node, time.Now().UTC().Format(time.RFC3339))
	err = sc.Hello(c.Node)
	if err == nil {
		err = sc.Auth(sasl.NewPlainClient("", relayUser, string(c.Secret)))
	}
	if err != nil {
		// The nodes' secrets or certificates disagree: an operator's
		// mistake, never a reason to bounce the mail.
		return ErrNodeUnavailable.With(fmt.Errorf("relay to %s: %w", addr, err))
	}
	if err == nil {
		err = sc.SendMail(from, []string{rcpt}, io.MultiReader(strings.NewReader(hop), msg))
	}
	if err == nil {
		sc.Quit()
		return nil
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 {
		return &mailerr.Error{SMTPCode: se.Code, Enhanced: [3]int(se.EnhancedCode), Message: se.Message,
			Err: fmt.Errorf("relay to %s", addr)}
	}
	return ErrNodeUnavailable.With(fmt.Errorf("relay to %s: %w", addr, err))
}

type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Printf(format string, v ...any) { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Println(v ...any)               { a.l.Debug(fmt.Sprint(v...)) }
