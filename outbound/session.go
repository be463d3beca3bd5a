package outbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"congvu/internal/ascii"
	"congvu/internal/mailerr"
	"congvu/internal/netguard"
	"congvu/queue"
	"congvu/resolve"
)

// tlsMode is what a destination requires of the connection.
type tlsMode int

const (
	// tlsOpportunistic: STARTTLS when offered, certificate checked and
	// the result recorded but not enforced (RFC 7435); plaintext when not
	// offered or when the handshake fails.
	tlsOpportunistic tlsMode = iota
	// tlsRequired: TLS with a certificate that verifies for the host name
	// (MTA-STS enforce, RFC 8461 4.2; smarthost).
	tlsRequired
	// tlsDANE: TLS whose certificate matches a TLSA record (RFC 7672 3).
	tlsDANE
)

type tlsPolicy struct {
	mode   tlsMode
	source string // "mta-sts", "dane", "smarthost" for required modes
	tlsa   []resolve.TLSA
	// implicit: TLS from the first byte (smarthost on port 465, RFC 8314).
	implicit bool
	// reportOnly names a policy in testing mode (MTA-STS mode: testing):
	// failures are logged, delivery goes on.
	reportOnly string
}

// session is an open SMTP connection, ready for MAIL.
type session struct {
	client   *smtp.Client
	host     string // the server's name, for Remote-MTA
	security string // how the connection is protected, for the queue
	broken   bool   // the connection is unusable for another transaction
}

func (s *session) close() {
	s.client.Close()
}

// errHandshake marks a failed TLS handshake, after which an opportunistic
// sender tries again without TLS.
var errHandshake = errors.New("TLS handshake failed")

// connect opens a session to one of h's addresses.
func (c *Client) connect(ctx context.Context, h host) (*session, error) {
	ips, _, err := c.res.LookupIPSecure(ctx, h.name)
	if err != nil {
		if resolve.IsNotFound(err) {
			if h.implicit {
				return nil, errNoSuchDomain.With(err)
			}
			return nil, errDNS.WithMessage("MX host has no address", "").With(err)
		}
		return nil, errDNS.With(err)
	}
	if h.policy.source != "smarthost" {
		// Recipient addresses choose MX hosts: never let them aim at the
		// internal network (issue 15 §10). Permanent, so the sender learns
		// at once; no reply from such a host can reach a bounce.
		allowed := ips[:0:0]
		for _, ip := range ips {
			if c.cfg.Guard.AllowedIP(ip) {
				allowed = append(allowed, ip)
			}
		}
		if len(allowed) == 0 {
			return nil, netguard.ErrInternal.With(fmt.Errorf("%s resolves only to internal addresses %v", h.name, ips))
		}
		ips = allowed
	}
	var lastErr error
	for _, ip := range ips[:min(len(ips), 4)] {
		s, err := c.dial(ctx, h, ip, false)
		if err != nil && errors.Is(err, errHandshake) && h.policy.mode == tlsOpportunistic {
			// RFC 7435 4: a failed opportunistic handshake falls back to
			// cleartext rather than not delivering.
			c.log.Info("outbound: TLS handshake failed, retrying without TLS", "host", h.name, "err", err)
			s, err = c.dial(ctx, h, ip, true)
		}
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// dial connects to ip and does the greeting, EHLO and STARTTLS itself (the
// library can only start TLS unconditionally), then hands the connection to
// go-smtp for the transaction.
func (c *Client) dial(ctx context.Context, h host, ip net.IP, plaintext bool) (*session, error) {
	d := &net.Dialer{Timeout: c.cfg.ConnectTimeout}
	if h.policy.source != "smarthost" {
		d = c.cfg.Guard.Dialer(*d)
	}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip.String(), strconv.Itoa(h.port)))
	if err != nil {
		return nil, errNoAnswer.With(err)
	}
	ok := false
	defer func() {
		if !ok {
			conn.Close()
		}
	}()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	conn.SetDeadline(time.Now().Add(c.cfg.CommandTimeout))
	label, security := "plaintext", "plaintext"

	if h.policy.implicit {
		tc, sec, lbl, err := c.handshake(ctx, conn, h, "TLS")
		if err != nil {
			return nil, err
		}
		conn, security, label = tc, sec, lbl
	} else {
		tp := textproto.NewConn(conn)
		if _, _, err := tp.ReadResponse(220); err != nil {
			return nil, replyErr(err, "greeting")
		}
		code, msg, err := cmd(tp, 250, "EHLO %s", c.cfg.Hostname)
		starttls := false
		if err != nil {
			if code/100 != 5 {
				return nil, replyErr(err, "EHLO")
			}
			// RFC 5321 3.2: an old server without EHLO.
			if _, _, err := cmd(tp, 250, "HELO %s", c.cfg.Hostname); err != nil {
				return nil, replyErr(err, "HELO")
			}
		} else {
			for _, line := range strings.Split(msg, "\n")[1:] {
				if strings.EqualFold(strings.Fields(line + " ")[0], "STARTTLS") {
					starttls = true
				}
			}
		}
		switch {
		case starttls && !plaintext:
			if _, _, err := cmd(tp, 220, "STARTTLS"); err != nil {
				if h.policy.mode != tlsOpportunistic {
					return nil, errTLSRequired.With(fmt.Errorf("%s refused STARTTLS: %w", h.name, err))
				}
				return nil, fmt.Errorf("%w: STARTTLS refused: %v", errHandshake, err)
			}
			tc, sec, lbl, err := c.handshake(ctx, conn, h, "STARTTLS")
			if err != nil {
				return nil, err
			}
			conn, security, label = tc, sec, lbl
		case h.policy.mode != tlsOpportunistic:
			return nil, errTLSRequired.With(fmt.Errorf("%s (%s) does not offer STARTTLS", h.name, h.policy.source))
		case plaintext:
			security = "plaintext (TLS handshake had failed)"
		default:
			security = "plaintext (STARTTLS not offered)"
		}
		// go-smtp reads a greeting first: the real one was consumed here.
		conn = &greetedConn{Conn: conn, pending: []byte("220 " + h.name + " ESMTP\r\n")}
	}
	conn.SetDeadline(time.Time{})
	cl := smtp.NewClient(conn)
	cl.CommandTimeout = c.cfg.CommandTimeout
	cl.SubmissionTimeout = 10 * time.Minute // RFC 5321 4.5.3.2.6
	if err := cl.Hello(c.cfg.Hostname); err != nil {
		return nil, replyErr(err, "EHLO")
	}
	if h.policy.source == "smarthost" && c.cfg.SmarthostUsername != "" {
		if err := cl.Auth(plainAuth(c.cfg.SmarthostUsername, c.cfg.SmarthostPassword)); err != nil {
			return nil, replyErr(err, "AUTH")
		}
	}
	c.metrics.OutboundTLS.WithLabelValues(label).Inc()
	c.log.Info("outbound: connected", "host", h.name, "ip", ip.String(), "security", security)
	ok = true
	return &session{client: cl, host: h.name, security: security}, nil
}

// handshake runs TLS on conn and checks the certificate as h's policy
// requires. It returns the connection, a description for the queue and
// the metrics label.
func (c *Client) handshake(ctx context.Context, conn net.Conn, h host, method string) (net.Conn, string, string, error) {
	var verdict string
	cfg := &tls.Config{
		ServerName: h.name,
		MinVersion: tls.VersionTLS12,
		// Verification is done in VerifyConnection, so that an
		// opportunistic connection can record a failure and go on.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				verdict = "no certificate"
				if h.policy.mode == tlsOpportunistic {
					return nil
				}
				return errors.New("server sent no certificate")
			}
			if h.policy.mode == tlsDANE {
				v, err := verifyDANE(cs.PeerCertificates, h.policy.tlsa, h.name)
				verdict = v
				return err
			}
			inter := x509.NewCertPool()
			for _, ic := range cs.PeerCertificates[1:] {
				inter.AddCert(ic)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: h.name, Roots: c.cfg.RootCAs, Intermediates: inter})
			if err == nil {
				verdict = "certificate verified"
				return nil
			}
			verdict = "certificate not verified: " + err.Error()
			if h.policy.mode == tlsRequired {
				return err
			}
			if h.policy.reportOnly != "" {
				c.log.Warn("outbound: certificate would fail the policy", "policy", h.policy.reportOnly, "host", h.name, "err", err)
			}
			return nil
		},
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		if h.policy.mode != tlsOpportunistic {
			return nil, "", "", errTLSRequired.With(fmt.Errorf("%s (%s): %w", h.name, h.policy.source, err))
		}
		return nil, "", "", fmt.Errorf("%w: %v", errHandshake, err)
	}
	st := tc.ConnectionState()
	label := "unverified"
	switch {
	case h.policy.mode == tlsDANE:
		label = "dane"
	case h.policy.mode == tlsRequired:
		label = h.policy.source
	case strings.HasPrefix(verdict, "certificate verified"):
		label = "verified"
	}
	if h.policy.source != "" {
		verdict += " (" + h.policy.source + ")"
	}
	desc := fmt.Sprintf("%s %s %s, %s", method, strings.ReplaceAll(tls.VersionName(st.Version), " ", ""), tls.CipherSuiteName(st.CipherSuite), verdict)
	return tc, desc, label, nil
}

func cmd(tp *textproto.Conn, expect int, format string, args ...any) (int, string, error) {
	id, err := tp.Cmd(format, args...)
	if err != nil {
		return 0, "", err
	}
	tp.StartResponse(id)
	defer tp.EndResponse(id)
	return tp.ReadResponse(expect)
}

// replyErr turns a failure before MAIL into the queue's error for this host.
func replyErr(err error, stage string) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		return &mailerr.Error{SMTPCode: 451, Enhanced: [3]int{4, 4, 0}, Temporary: true,
			Message: fmt.Sprintf("%s refused: %d %s", stage, te.Code, oneLine(te.Msg)), Err: err}
	}
	if me, _ := remoteErr(err); me != nil && !errors.Is(me, errConnLost) {
		me.Temporary, me.SMTPCode, me.Enhanced[0] = true, 451, 4 // try another host, later
		me.Message = stage + " refused: " + me.Message
		return me
	}
	return errConnLost.With(fmt.Errorf("%s: %w", stage, err))
}

// transaction sends d over s. ok is false when the server gave no answer
// about any recipient, so the next MX host may be tried.
func (s *session) transaction(ctx context.Context, d *queue.Delivery) (res []queue.Result, ok bool) {
	stop := context.AfterFunc(ctx, func() { s.client.Close() })
	defer stop()
	defer func() {
		for i := range res {
			res[i].RemoteMTA, res[i].Security = s.host, s.security
		}
	}()
	n := len(d.Rcpts)
	utf8 := !ascii.IsString(d.From)
	for _, r := range d.Rcpts {
		utf8 = utf8 || !ascii.IsString(r)
	}
	if has, _ := s.client.Extension("SMTPUTF8"); utf8 && !has {
		return fill(n, queue.Result{Err: errUTF8}), true // RFC 6531 3.2
	}
	opts := &smtp.MailOptions{UTF8: utf8}
	if has, _ := s.client.Extension("SIZE"); has {
		opts.Size = d.Size // RFC 1870
	}
	if has, _ := s.client.Extension("8BITMIME"); has {
		opts.Body = smtp.Body8BitMIME // RFC 6152
	}
	if err := s.client.Mail(d.From, opts); err != nil {
		me, network := remoteErr(err)
		s.broken = s.broken || network
		return fill(n, queue.Result{Err: me}), !me.Temporary
	}
	res = make([]queue.Result, n)
	var accepted []int
	for i, r := range d.Rcpts {
		if err := s.client.Rcpt(r, nil); err != nil {
			me, network := remoteErr(err)
			if network {
				s.broken = true
				return fill(n, queue.Result{Err: me}), false
			}
			res[i].Err = me
			continue
		}
		accepted = append(accepted, i)
	}
	if len(accepted) == 0 {
		return res, true
	}
	setAll := func(e *mailerr.Error) {
		for _, i := range accepted {
			res[i].Err = e
		}
	}
	w, err := s.client.Data()
	if err != nil {
		me, network := remoteErr(err)
		s.broken = s.broken || network
		setAll(me)
		return res, true
	}
	rc, err := d.Open()
	if err == nil {
		_, err = io.Copy(w, rc)
		rc.Close()
	}
	if err != nil {
		// Half a message was sent: this connection cannot be trusted any
		// more; the recipients are tried again later.
		s.broken = true
		setAll(errConnLost.With(err))
		return res, true
	}
	if err := w.Close(); err != nil {
		me, network := remoteErr(err)
		s.broken = s.broken || network
		setAll(me)
	}
	return res, true
}

// remoteErr maps a go-smtp client error: a reply keeps the remote code and
// text; anything else is a lost connection.
func remoteErr(err error) (*mailerr.Error, bool) {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 400 && se.Code < 600 {
		enh := [3]int(se.EnhancedCode)
		if enh[0] < 2 {
			enh = [3]int{se.Code / 100, 0, 0} // the server sent none
		}
		return &mailerr.Error{SMTPCode: se.Code, Enhanced: enh, Temporary: se.Code/100 == 4, Message: oneLine(se.Message)}, false
	}
	return errConnLost.With(err), true
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// greetedConn replays a greeting before the connection's own data.
type greetedConn struct {
	net.Conn
	pending []byte
}

func (g *greetedConn) Read(p []byte) (int, error) {
	if len(g.pending) > 0 {
		n := copy(p, g.pending)
		g.pending = g.pending[n:]
		return n, nil
	}
	return g.Conn.Read(p)
}
