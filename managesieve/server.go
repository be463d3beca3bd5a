// Package managesieve is congvu's ManageSieve server (RFC 5804): mail
// clients (Thunderbird's Sieve add-on, Roundcube-style editors,
// sieve-connect) list, upload, check, activate, rename and delete an
// official's delivery rules, stored in package sieve where delivery and
// the web's vacation settings find them.
//
// Passwords are accepted only over TLS (STARTTLS on the plain listener,
// or the implicit-TLS one): AUTHENTICATE PLAIN, through the policy
// engine's login hooks like IMAP and POP3 (throttling, lockout, access
// records).
package managesieve

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/policy"
	"congvu/sieve"
)

// Protocol names ManageSieve in the policy engine's audit and access
// records.
const Protocol policy.Protocol = "managesieve"

// Config configures a Server.
type Config struct {
	// TLS is used for STARTTLS and the implicit-TLS listener (minimum
	// TLS 1.2). Required: without it nobody can log in.
	TLS      *tls.Config
	Hostname string
	// IdleTimeout closes a connection that sends nothing for this long.
	// Default 10 minutes.
	IdleTimeout time.Duration
	// MaxRedirects is announced as MAXREDIRECTS (RFC 5804 1.7).
	MaxRedirects int
}

// Deps are the services a Server uses.
type Deps struct {
	Store  *sieve.Store
	Dir    directory.Directory
	Policy policy.Hooks
	Logger *slog.Logger
}

// Server serves ManageSieve.
type Server struct {
	cfg    Config
	deps   Deps
	policy policy.Hooks
	log    *slog.Logger

	mu        sync.Mutex
	closed    bool
	listeners []net.Listener
	conns     map[net.Conn]struct{}
	wg        sync.WaitGroup
}

// New returns a Server.
func New(cfg Config, deps Deps) *Server {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 10 * time.Minute
	}
	if cfg.TLS != nil {
		cfg.TLS = cfg.TLS.Clone()
		if cfg.TLS.MinVersion < tls.VersionTLS12 {
			cfg.TLS.MinVersion = tls.VersionTLS12
		}
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, deps: deps, policy: policy.OrNop(deps.Policy), log: deps.Logger, conns: map[net.Conn]struct{}{}}
}

// Serve serves plain connections that upgrade with STARTTLS.
func (s *Server) Serve(l net.Listener) error { return s.serve(l, false) }

// ServeTLS serves implicit-TLS connections; it wraps l itself.
func (s *Server) ServeTLS(l net.Listener) error { return s.serve(l, true) }

func (s *Server) serve(l net.Listener, implicitTLS bool) error {
	if s.cfg.TLS == nil {
		l.Close()
		return errors.New("managesieve: a TLS configuration is required")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return net.ErrClosed
	}
	s.listeners = append(s.listeners, l)
	s.mu.Unlock()
	for {
		c, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return err
		}
		if !s.track(c) {
			c.Close()
			return nil
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			var conn net.Conn = c
			if implicitTLS {
				tc := tls.Server(c, s.cfg.TLS)
				c.SetDeadline(time.Now().Add(30 * time.Second))
				if err := tc.Handshake(); err != nil {
					c.Close()
					return
				}
				conn = tc
			}
			s.newSession(conn, implicitTLS).run()
		}()
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

// Close stops listening and closes every connection.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// session is one connection.
type session struct {
	srv    *Server
	conn   net.Conn
	r      *bufio.Reader
	w      *bufio.Writer
	tls    bool
	acct   *directory.Account
	ip     string
	errors int
	ctx    context.Context
}

// maxErrors ends a session that keeps sending commands we refuse.
const maxErrors = 20

func (s *Server) newSession(c net.Conn, isTLS bool) *session {
	return &session{srv: s, conn: c, r: bufio.NewReaderSize(c, 4096), w: bufio.NewWriter(c), tls: isTLS,
		ip: c.RemoteAddr().String(), ctx: context.Background()}
}

func (ss *session) log() *slog.Logger {
	l := ss.srv.log.With("ip", ss.ip)
	if ss.acct != nil {
		l = l.With("user", ss.acct.Address)
	}
	return l
}

func (ss *session) run() {
	ip := policy.AddrIP(ss.ip)
	if d := ss.srv.policy.Connect(ss.ctx, policy.Conn{Protocol: Protocol, IP: ip}); d.Refused() {
		ss.reply("BYE", "", refusalText(d.Err()))
		return
	}
	ss.capabilities()
	ss.reply("OK", "", "congvu ManageSieve sẵn sàng / ready")
	maxLiteral := ss.srv.deps.Store.Limits().MaxScriptBytes + 1024
	for {
		ss.conn.SetReadDeadline(time.Now().Add(ss.srv.cfg.IdleTimeout))
		cmd, err := readCommand(ss.r, maxLiteral)
		var se errSyntax
		switch {
		case errors.As(err, &se):
			ss.no("", se.msg)
			if ss.tooManyErrors() {
				return
			}
			continue
		case errors.Is(err, errTooBig):
			ss.no("QUOTA/MAXSIZE", "Bộ quy tắc quá lớn / script too large")
			continue
		case errors.Is(err, errLineTooLong):
			ss.reply("BYE", "", "Dòng lệnh quá dài / command line too long")
			return
		case err != nil:
			return // the connection broke or idled out
		}
		if !ss.dispatch(cmd) {
			return
		}
	}
}

func (ss *session) tooManyErrors() bool {
	ss.errors++
	if ss.errors >= maxErrors {
		ss.reply("BYE", "", "Quá nhiều lệnh sai / too many errors")
		return true
	}
	return false
}

// reply writes OK/NO/BYE with an optional response code and text.
func (ss *session) reply(status, code, text string) {
	line := status
	if code != "" {
		line += " (" + code + ")"
	}
	if text != "" {
		line += " " + quote(text)
	}
	ss.write(line + "\r\n")
}

func (ss *session) no(code, text string) { ss.reply("NO", code, text) }

func (ss *session) write(s string) {
	ss.conn.SetWriteDeadline(time.Now().Add(time.Minute))
	ss.w.WriteString(s)
	ss.w.Flush()
}

// capabilities writes the capability lines (RFC 5804 1.7).
func (ss *session) capabilities() {
	var b strings.Builder
	fmt.Fprintf(&b, "\"IMPLEMENTATION\" \"congvu\"\r\n")
	fmt.Fprintf(&b, "\"SIEVE\" %s\r\n", quote(strings.Join(sieve.Capabilities, " ")))
	if ss.tls {
		b.WriteString("\"SASL\" \"PLAIN\"\r\n")
	} else {
		// RFC 5804 2.1: no mechanism is offered before TLS, as none may
		// be used there.
		b.WriteString("\"SASL\" \"\"\r\n\"STARTTLS\"\r\n")
	}
	fmt.Fprintf(&b, "\"MAXREDIRECTS\" \"%d\"\r\n", ss.srv.cfg.MaxRedirects)
	b.WriteString("\"VERSION\" \"1.0\"\r\n")
	ss.write(b.String())
}

func refusalText(err error) string {
	var me *mailerr.Error
	if errors.As(err, &me) {
		if me.MessageVI != "" {
			return me.MessageVI + " / " + me.Message
		}
		return me.Message
	}
	return "Lỗi tạm thời, thử lại sau / temporary failure, try again later"
}

// dispatch runs one command; false ends the session.
func (ss *session) dispatch(c command) bool {
	args := c.args
	nargs := func(n ...int) bool {
		for _, k := range n {
			if len(args) == k {
				return true
			}
		}
		ss.no("", fmt.Sprintf("%s: wrong number of arguments", c.name))
		return false
	}
	switch c.name {
	case "LOGOUT":
		ss.reply("OK", "", "Tạm biệt / logout")
		return false
	case "CAPABILITY":
		ss.capabilities()
		ss.reply("OK", "", "")
		return true
	case "NOOP":
		if len(args) == 1 {
			ss.write("OK (TAG " + quote(args[0]) + ") \"Done\"\r\n")
		} else {
			ss.reply("OK", "", "Done")
		}
		return true
	case "STARTTLS":
		return ss.startTLS()
	case "AUTHENTICATE":
		if nargs(1, 2) {
			return ss.authenticate(args)
		}
		return !ss.tooManyErrors()
	}
	if ss.acct == nil {
		ss.no("", "Hãy đăng nhập trước / authenticate first")
		return !ss.tooManyErrors()
	}
	st, user := ss.srv.deps.Store, ss.acct.Address
	switch c.name {
	case "UNAUTHENTICATE":
		ss.acct = nil
		ss.reply("OK", "", "")
	case "LISTSCRIPTS":
		list, err := st.List(user)
		if err != nil {
			ss.fail(err)
			break
		}
		var b strings.Builder
		for _, sc := range list {
			b.WriteString(quote(sc.Name))
			if sc.Active {
				b.WriteString(" ACTIVE")
			}
			b.WriteString("\r\n")
		}
		ss.write(b.String())
		ss.reply("OK", "", "")
	case "GETSCRIPT":
		if !nargs(1) {
			break
		}
		src, err := st.Get(user, args[0])
		if err != nil {
			ss.fail(err)
			break
		}
		ss.write("{" + strconv.Itoa(len(src)) + "}\r\n" + src + "\r\n")
		ss.reply("OK", "", "")
	case "PUTSCRIPT":
		if !nargs(2) {
			break
		}
		if err := st.Put(user, args[0], args[1]); err != nil {
			ss.fail(err)
			break
		}
		ss.log().Info("managesieve: script stored", "script", args[0], "bytes", len(args[1]))
		ss.reply("OK", "", "")
	case "CHECKSCRIPT":
		if !nargs(1) {
			break
		}
		if len(args[0]) > st.Limits().MaxScriptBytes {
			ss.fail(sieve.ErrScriptTooBig)
			break
		}
		if _, err := sieve.Compile(args[0]); err != nil {
			ss.no("", err.Error())
			break
		}
		ss.reply("OK", "", "")
	case "HAVESPACE":
		if !nargs(2) {
			break
		}
		n, err := strconv.Atoi(args[1])
		if err != nil {
			ss.no("", "HAVESPACE: size must be a number")
			break
		}
		if err := st.HaveSpace(user, args[0], n); err != nil {
			ss.fail(err)
			break
		}
		ss.reply("OK", "", "")
	case "SETACTIVE":
		if !nargs(1) {
			break
		}
		if err := st.SetActive(user, args[0]); err != nil {
			ss.fail(err)
			break
		}
		ss.reply("OK", "", "")
	case "DELETESCRIPT":
		if !nargs(1) {
			break
		}
		if err := st.Delete(user, args[0]); err != nil {
			ss.fail(err)
			break
		}
		ss.reply("OK", "", "")
	case "RENAMESCRIPT":
		if !nargs(2) {
			break
		}
		if err := st.Rename(user, args[0], args[1]); err != nil {
			ss.fail(err)
			break
		}
		ss.reply("OK", "", "")
	default:
		ss.no("", "Lệnh không hỗ trợ / unknown command "+c.name)
		return !ss.tooManyErrors()
	}
	return true
}

// fail answers NO for a store error: its response code and text, a syntax
// error's line, or a generic temporary failure (never internal detail).
func (ss *session) fail(err error) {
	var se *sieve.SyntaxError
	if errors.As(err, &se) {
		ss.no("", se.Error())
		return
	}
	var me *mailerr.Error
	if errors.As(err, &me) && me.Message != "" {
		code := me.IMAPCode
		switch code {
		case "NONEXISTENT", "ALREADYEXISTS", "ACTIVE", "QUOTA/MAXSCRIPTS", "QUOTA/MAXSIZE":
		default:
			code = "" // an IMAP code that is not a ManageSieve one
		}
		ss.no(code, refusalText(me))
		return
	}
	ss.log().Error("managesieve: store failure", "err", err)
	ss.no("TRYLATER", "Lỗi tạm thời, thử lại sau / temporary failure, try again later")
}

func (ss *session) startTLS() bool {
	if ss.tls {
		ss.no("", "Đã dùng TLS / TLS already active")
		return true
	}
	ss.reply("OK", "", "Bắt đầu TLS / begin TLS negotiation")
	if ss.r.Buffered() > 0 {
		// RFC 5804 2.2 (as RFC 3207 5): data sent before the handshake
		// could have been injected; refuse it.
		return false
	}
	tc := tls.Server(ss.conn, ss.srv.cfg.TLS)
	ss.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if err := tc.Handshake(); err != nil {
		return false
	}
	ss.conn.SetDeadline(time.Time{})
	ss.conn, ss.tls = tc, true
	ss.r, ss.w = bufio.NewReaderSize(tc, 4096), bufio.NewWriter(tc)
	ss.srv.mu.Lock()
	ss.srv.conns[tc] = struct{}{}
	ss.srv.mu.Unlock()
	// RFC 5804 2.2: the capabilities again, now with SASL PLAIN.
	ss.capabilities()
	ss.reply("OK", "", "TLS")
	return true
}

// authenticate runs AUTHENTICATE "PLAIN" [initial-response] (RFC 5804
// 2.1, RFC 4616).
func (ss *session) authenticate(args []string) bool {
	if ss.acct != nil {
		ss.no("", "Đã đăng nhập / already authenticated")
		return true
	}
	if !strings.EqualFold(args[0], "PLAIN") {
		ss.no("", "Chỉ hỗ trợ PLAIN / only PLAIN is supported")
		return !ss.tooManyErrors()
	}
	if !ss.tls {
		ss.no("ENCRYPT-NEEDED", "Hãy dùng STARTTLS trước khi đăng nhập / use STARTTLS before logging in")
		return !ss.tooManyErrors()
	}
	var resp string
	if len(args) == 2 {
		resp = args[1]
	} else {
		// An empty challenge; the client answers with a string.
		ss.write("\"\"\r\n")
		ss.conn.SetReadDeadline(time.Now().Add(time.Minute))
		line, err := readLine(ss.r)
		if err != nil {
			return false
		}
		if line == `"*"` {
			ss.no("", "Huỷ đăng nhập / authentication cancelled")
			return true
		}
		if strings.HasPrefix(line, "{") {
			end := strings.IndexByte(line, '}')
			n, err := strconv.Atoi(strings.TrimSuffix(line[1:max(end, 1)], "+"))
			if end < 0 || err != nil || n < 0 || n > 4096 {
				ss.no("", "bad literal")
				return !ss.tooManyErrors()
			}
			buf := make([]byte, n)
			if _, err := io.ReadFull(ss.r, buf); err != nil {
				return false
			}
			if _, err := readLine(ss.r); err != nil {
				return false
			}
			resp = string(buf)
		} else {
			s, _, err := parseQuoted(line)
			if err != nil {
				ss.no("", "bad response")
				return !ss.tooManyErrors()
			}
			resp = s
		}
	}
	raw, err := base64.StdEncoding.DecodeString(resp)
	parts := strings.Split(string(raw), "\x00")
	if err != nil || len(parts) != 3 {
		ss.no("", "Dữ liệu PLAIN không hợp lệ / malformed PLAIN response")
		return !ss.tooManyErrors()
	}
	authz, login, password := parts[0], parts[1], parts[2]
	if authz != "" && !strings.EqualFold(authz, login) {
		ss.no("", "Không được đăng nhập thay người khác / authorization identity must be the login")
		return !ss.tooManyErrors()
	}
	ip := policy.AddrIP(ss.ip)
	attempt := policy.AuthAttempt{Protocol: Protocol, IP: ip, Login: login}
	if d := ss.srv.policy.BeforeAuth(ss.ctx, attempt); d.Refused() {
		ss.no("TRYLATER", refusalText(d.Err()))
		return true
	}
	ctx, cancel := context.WithTimeout(ss.ctx, 30*time.Second)
	acct, aerr := ss.srv.deps.Dir.Authenticate(ctx, login, password)
	cancel()
	o := policy.AuthOutcome{AuthAttempt: attempt, Result: policy.ClassifyAuth(aerr), Account: acct}
	if d := ss.srv.policy.AfterAuth(ss.ctx, o); d.Refused() {
		aerr = d.Err()
	}
	switch {
	case aerr == nil && acct != nil:
		ss.acct = acct
		ss.log().Info("managesieve: login")
		ss.reply("OK", "", "Đăng nhập thành công / logged in")
		return true
	case o.Result == policy.AuthUnavailable:
		ss.no("TRYLATER", refusalText(aerr))
		return true
	}
	ss.log().Info("managesieve: login failed", "login", login)
	ss.no("", refusalText(mailerr.Classify(aerr)))
	return !ss.tooManyErrors()
}
