package pop3d

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"congvu/internal/mailerr"
	"congvu/storage"
)

const (
	// maxBadCommands is how many unknown, malformed or out-of-state
	// commands a connection may send before it is dropped.
	maxBadCommands = 20
	// maxAuthFailures is how many failed logins end a connection.
	maxAuthFailures = 3
	// opTimeout bounds one directory or store call made for a command.
	opTimeout = 30 * time.Second
)

type state int

const (
	stateAuthorization state = iota // RFC 1939 section 4
	stateTransaction                // RFC 1939 section 5
)

// session is one POP3 connection.
type session struct {
	srv  *Server
	raw  net.Conn // the accepted TCP connection, tracked by srv for Close
	conn net.Conn // raw, or the TLS connection on top of it
	r    *bufio.Reader
	w    *bufio.Writer
	tls  bool
	log  *slog.Logger

	state     state
	user      string // argument of a successful USER, waiting for PASS
	lockedBy  string // primary address whose maildrop lock we hold
	md        *maildrop
	badCmds   int
	authFails int
	done      bool // QUIT, a fatal error, or too many bad commands
	// revoked is set (from another goroutine) when the account was locked,
	// retired or its password reset while signed in; untrack ends the
	// policy engine's tracking of this session.
	revoked atomic.Pointer[mailerr.Error]
	untrack func()
}

func newSession(srv *Server, c net.Conn) *session {
	s := &session{srv: srv, raw: c, log: srv.log.With("remote", c.RemoteAddr().String())}
	s.setConn(c)
	return s
}

// setConn (re)builds the buffered reader and writer. After STLS nothing read
// in clear text may survive (RFC 2595 section 4), hence fresh buffers.
func (s *session) setConn(c net.Conn) {
	s.conn = c
	s.r = bufio.NewReaderSize(c, 4096)
	s.w = bufio.NewWriterSize(deadlineWriter{c, s.srv.cfg.IdleTimeout}, 16<<10)
}

// deadlineWriter renews the write deadline on every write so a client that
// stops reading (a RETR of a large message) is dropped after IdleTimeout.
type deadlineWriter struct {
	c       net.Conn
	timeout time.Duration
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	d.c.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.c.Write(p)
}

// startTLS runs the server side of a TLS handshake on the connection.
func (s *session) startTLS() bool {
	tc := tls.Server(s.conn, s.srv.tlsConf)
	s.raw.SetDeadline(time.Now().Add(handshakeTimeout))
	ctx, cancel := context.WithTimeout(s.srv.ctx, handshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		s.log.Debug("pop3: TLS handshake failed", "err", err)
		return false
	}
	s.raw.SetDeadline(time.Time{})
	s.setConn(tc)
	s.tls = true
	return true
}

// close releases the maildrop lock without entering UPDATE (RFC 1939
// section 6: a connection closed other than by QUIT deletes nothing) and
// closes the connection.
func (s *session) close() {
	if s.untrack != nil {
		s.untrack()
	}
	if s.lockedBy != "" {
		s.srv.unlockMaildrop(s.lockedBy)
		s.lockedBy = ""
	}
	if s.conn != s.raw {
		// Bounded: tls.Conn.Close sends close_notify with a short deadline.
		s.conn.Close()
	}
	s.srv.removeConn(s.raw)
}

func (s *session) printf(format string, args ...any) {
	fmt.Fprintf(s.w, format, args...)
	s.w.WriteString("\r\n")
}

// fail writes a -ERR with the RESP-CODE (RFC 2449 section 8, RFC 3206) that
// matches e. This is the one place where mail errors meet the POP3 wire.
func (s *session) fail(e *mailerr.Error) {
	if code := respCode(e); code != "" {
		s.printf("-ERR [%s] %s", code, e.Message)
		return
	}
	s.printf("-ERR %s", e.Message)
}

func respCode(e *mailerr.Error) string {
	switch {
	case errors.Is(e, mailerr.ErrAuthFailed), errors.Is(e, mailerr.ErrAccountDisabled),
		errors.Is(e, mailerr.ErrPlaintextAuth), errors.Is(e, mailerr.ErrPasswordExpired):
		return "AUTH"
	case errors.Is(e, mailerr.ErrInUse):
		return "IN-USE"
	case e.Temporary:
		return "SYS/TEMP"
	}
	return "SYS/PERM"
}

// bad counts a command the server could not accept; too many end the
// connection so a confused or hostile peer cannot occupy it forever.
func (s *session) bad(msg string) {
	s.badCmds++
	if s.badCmds >= maxBadCommands {
		s.printf("-ERR Too many invalid commands, closing connection")
		s.done = true
		return
	}
	s.printf("-ERR %s", msg)
}

func (s *session) run() {
	// Greeting, RFC 1939 section 4.
	s.printf("+OK %s POP3 server ready", s.srv.cfg.Hostname)
	for !s.done {
		// PIPELINING (RFC 2449 section 6.6): answer a batch of pipelined
		// commands with one write.
		if s.r.Buffered() == 0 {
			if err := s.w.Flush(); err != nil {
				return
			}
		}
		s.conn.SetReadDeadline(time.Now().Add(s.srv.cfg.IdleTimeout))
		// Checked after the deadline is set: revoke sets the reason, then
		// a past deadline, so either this sees it or the read is cut.
		if s.endRevoked() {
			return
		}
		line, err := readLine(s.r)
		if s.endRevoked() {
			return
		}
		switch {
		case errors.Is(err, errLineTooLong):
			s.bad("Command line too long")
			continue
		case errors.Is(err, errGarbage):
			s.printf("-ERR Command line too long, closing connection")
			s.done = true
			continue
		case err != nil:
			// EOF, reset or the inactivity autologout timer: RFC 1939
			// section 3 closes without a response and without UPDATE.
			s.log.Debug("pop3: connection ended", "err", err)
			return
		}
		cmd, args, err := parseCommand(line)
		if err != nil {
			s.bad("Invalid command: " + err.Error())
			continue
		}
		s.dispatch(cmd, args)
	}
	s.w.Flush()
}

// revoke ends a signed-in session from another goroutine: the account
// can no longer be used (issue 15 §8). Nothing is deleted (no UPDATE).
func (s *session) revoke(reason *mailerr.Error) {
	s.revoked.Store(reason)
	s.conn.SetReadDeadline(time.Now())
}

// endRevoked answers the next command of a revoked session with the reason
// and reports that the session must end. POP3 has no unsolicited
// responses, so the client reads it as the answer to whatever it sends.
func (s *session) endRevoked() bool {
	reason := s.revoked.Load()
	if reason == nil {
		return false
	}
	s.log.Info("pop3: session ended by account change", "reason", reason.Message)
	s.printf("-ERR [%s] %s / %s", respCode(reason), reason.MessageVI, reason.Message)
	s.w.Flush()
	return true
}

func (s *session) dispatch(cmd string, args []string) {
	// Never log arguments: PASS and AUTH carry secrets.
	s.log.Debug("pop3: command", "cmd", cmd, "state", s.state)
	switch cmd {
	case "CAPA":
		s.capa(args)
		return
	case "QUIT":
		s.quit(args)
		return
	}
	if s.state == stateAuthorization {
		switch cmd {
		case "STLS":
			s.stls(args)
		case "USER":
			s.userCmd(args)
		case "PASS":
			s.pass(args)
		case "AUTH":
			s.auth(args)
		case "APOP":
			s.printf("-ERR APOP is not supported, use USER/PASS or AUTH PLAIN over TLS")
		case "STAT", "LIST", "RETR", "DELE", "NOOP", "RSET", "TOP", "UIDL":
			s.bad("Not logged in")
		default:
			s.bad("Unknown command")
		}
		return
	}
	switch cmd {
	case "STAT":
		s.stat(args)
	case "LIST":
		s.list(args)
	case "UIDL":
		s.uidlCmd(args)
	case "RETR":
		s.retr(args)
	case "TOP":
		s.top(args)
	case "DELE":
		s.dele(args)
	case "RSET":
		s.rset(args)
	case "NOOP":
		if len(args) != 0 {
			s.bad("Syntax: NOOP")
			return
		}
		s.printf("+OK")
	case "STLS", "USER", "PASS", "AUTH", "APOP":
		s.bad("Already logged in")
	default:
		s.bad("Unknown command")
	}
}

// capa lists the capabilities (RFC 2449 section 5). Before TLS the login
// commands are not announced (RFC 2595 section 6: plain-text logins are
// only offered under TLS); STLS is offered until TLS is active.
func (s *session) capa(args []string) {
	if len(args) != 0 {
		s.bad("Syntax: CAPA")
		return
	}
	s.printf("+OK Capability list follows")
	s.printf("TOP")
	s.printf("UIDL")
	if s.state == stateAuthorization && s.tls {
		s.printf("USER")
		s.printf("SASL PLAIN")
	}
	s.printf("RESP-CODES")
	s.printf("AUTH-RESP-CODE") // RFC 3206 section 6
	s.printf("PIPELINING")
	// Messages stay until the user deletes them (RFC 2449 section 6.7).
	s.printf("EXPIRE NEVER")
	if s.state == stateAuthorization && !s.tls && s.srv.tlsConf != nil {
		s.printf("STLS")
	}
	s.printf("IMPLEMENTATION congvu")
	s.printf(".")
}

// stls upgrades the connection (RFC 2595 section 4).
func (s *session) stls(args []string) {
	switch {
	case len(args) != 0:
		s.bad("Syntax: STLS")
		return
	case s.tls:
		s.printf("-ERR Already using TLS")
		return
	case s.srv.tlsConf == nil:
		s.printf("-ERR TLS is not available")
		return
	case s.r.Buffered() > 0:
		// Commands pipelined after STLS were sent in clear text and
		// would be run as if they came over TLS (CVE-2011-0411).
		s.printf("-ERR Commands after STLS in the same packet are refused")
		s.done = true
		return
	}
	s.printf("+OK Begin TLS negotiation")
	if err := s.w.Flush(); err != nil {
		s.done = true
		return
	}
	if !s.startTLS() {
		s.done = true
		return
	}
	// RFC 2595 section 4: the AUTHORIZATION state starts over.
	s.user = ""
}

// quit ends the session; in TRANSACTION it runs UPDATE (RFC 1939 section 6).
func (s *session) quit(args []string) {
	if len(args) != 0 {
		s.bad("Syntax: QUIT")
		return
	}
	s.done = true
	if s.state != stateTransaction {
		s.printf("+OK %s POP3 server signing off", s.srv.cfg.Hostname)
		return
	}
	if err := s.update(); err != nil {
		s.log.Error("pop3: UPDATE failed", "user", s.lockedBy, "err", err)
		// RFC 1939 section 6: "-ERR some deleted messages not removed".
		s.fail(mailerr.Classify(err).WithMessage("Some deleted messages not removed", ""))
		return
	}
	count, _ := s.md.stat()
	s.printf("+OK %s POP3 server signing off (%d messages left)", s.srv.cfg.Hostname, count)
}

// update removes exactly the messages marked by DELE: it flags them
// \Deleted and expunges those UIDs only, so messages an IMAP client flagged
// meanwhile stay. Messages sent in full by RETR get \Seen for IMAP clients.
// It does not use the session context: a server shutdown must not cut an
// update in half.
func (s *session) update() error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.srv.ctx), updateTimeout)
	defer cancel()
	mb := s.md.mb
	if uids := s.md.readUIDs(); len(uids) > 0 {
		if _, _, err := mb.SetFlags(ctx, storage.Inbox, uids, storage.FlagsAdd, []string{`\Seen`}, 0); err != nil {
			s.log.Warn("pop3: could not mark retrieved messages seen", "user", s.lockedBy, "err", err)
		}
	}
	uids := s.md.deletedUIDs()
	if len(uids) == 0 {
		return nil
	}
	if _, _, err := mb.SetFlags(ctx, storage.Inbox, uids, storage.FlagsAdd, []string{`\Deleted`}, 0); err != nil {
		return err
	}
	removed, err := mb.Expunge(ctx, storage.Inbox, uids)
	if err != nil {
		return err
	}
	s.log.Info("pop3: messages deleted", "user", s.lockedBy, "marked", len(uids), "removed", len(removed))
	return nil
}

func (s *session) stat(args []string) {
	if len(args) != 0 {
		s.bad("Syntax: STAT")
		return
	}
	count, size := s.md.stat()
	s.printf("+OK %d %d", count, size)
}

// msgArg parses the single optional message-number argument of LIST and
// UIDL; it answers the client itself when the argument is bad.
func (s *session) msgArg(cmd string, args []string, optional bool) (n int, m *message, ok bool) {
	if len(args) > 1 || len(args) == 0 && !optional {
		s.bad("Syntax: " + cmd + " msg")
		return 0, nil, false
	}
	if len(args) == 0 {
		return 0, nil, true
	}
	n, valid := parseMsgNumber(args[0])
	if !valid {
		s.bad("Invalid message number")
		return 0, nil, false
	}
	if m, ok = s.md.get(n); !ok {
		s.printf("-ERR No such message")
		return 0, nil, false
	}
	return n, m, true
}

func (s *session) list(args []string) {
	n, m, ok := s.msgArg("LIST", args, true)
	if !ok {
		return
	}
	if m != nil {
		s.printf("+OK %d %d", n, m.size)
		return
	}
	count, size := s.md.stat()
	s.printf("+OK %d messages (%d octets)", count, size)
	for i := range s.md.msgs {
		if msg := &s.md.msgs[i]; !msg.deleted {
			s.printf("%d %d", i+1, msg.size)
		}
	}
	s.printf(".")
}

// uidlCmd answers UIDL (RFC 1939 section 7).
func (s *session) uidlCmd(args []string) {
	n, m, ok := s.msgArg("UIDL", args, true)
	if !ok {
		return
	}
	if m != nil {
		s.printf("+OK %d %s", n, s.md.uidl(m))
		return
	}
	s.printf("+OK Unique-ID listing follows")
	for i := range s.md.msgs {
		if msg := &s.md.msgs[i]; !msg.deleted {
			s.printf("%d %s", i+1, s.md.uidl(msg))
		}
	}
	s.printf(".")
}

func (s *session) dele(args []string) {
	if len(args) != 1 {
		s.bad("Syntax: DELE msg")
		return
	}
	n, valid := parseMsgNumber(args[0])
	if !valid {
		s.bad("Invalid message number")
		return
	}
	if n <= len(s.md.msgs) && s.md.msgs[n-1].deleted {
		s.printf("-ERR Message %d already deleted", n)
		return
	}
	m, ok := s.md.get(n)
	if !ok {
		s.printf("-ERR No such message")
		return
	}
	m.deleted = true
	s.printf("+OK Message %d deleted", n)
}

func (s *session) rset(args []string) {
	if len(args) != 0 {
		s.bad("Syntax: RSET")
		return
	}
	s.md.reset()
	count, size := s.md.stat()
	s.printf("+OK Maildrop has %d messages (%d octets)", count, size)
}

func (s *session) retr(args []string) {
	if len(args) != 1 {
		s.bad("Syntax: RETR msg")
		return
	}
	s.send(args[0], -1)
}

// top answers TOP msg n (RFC 1939 section 7): the header, the blank line
// and n lines of the body.
func (s *session) top(args []string) {
	if len(args) != 2 {
		s.bad("Syntax: TOP msg lines")
		return
	}
	lines, ok := parseLineCount(args[1])
	if !ok {
		s.bad("Invalid line count")
		return
	}
	s.send(args[0], lines)
}

// send streams a message for RETR (bodyLines < 0) or TOP.
func (s *session) send(arg string, bodyLines int) {
	n, valid := parseMsgNumber(arg)
	if !valid {
		s.bad("Invalid message number")
		return
	}
	m, ok := s.md.get(n)
	if !ok {
		s.printf("-ERR No such message")
		return
	}
	ctx, cancel := context.WithTimeout(s.srv.ctx, opTimeout)
	defer cancel()
	rc, err := s.md.mb.Open(ctx, storage.Inbox, m.uid)
	if err != nil {
		if errors.Is(err, storage.ErrNoSuchMessage) {
			// Expunged by an IMAP session since the snapshot.
			s.printf("-ERR Message %d was removed by another session", n)
			return
		}
		s.log.Error("pop3: cannot open message", "user", s.lockedBy, "uid", m.uid, "err", err)
		s.fail(mailerr.Classify(err))
		return
	}
	defer rc.Close()
	if bodyLines < 0 {
		s.printf("+OK %d octets", m.size)
	} else {
		s.printf("+OK Top of message follows")
	}
	sent, err := writeMessage(s.w, rc, bodyLines)
	if err != nil {
		// Part of the message may be on the wire already; without the
		// terminator the client knows the response is incomplete, and the
		// only way to tell it is to close.
		s.log.Warn("pop3: message transfer failed", "user", s.lockedBy, "uid", m.uid, "err", err)
		s.done = true
		return
	}
	if bodyLines < 0 {
		m.read = true
		if sent != m.size {
			s.log.Warn("pop3: message size differs from index", "user", s.lockedBy, "uid", m.uid,
				"index", m.size, "sent", sent)
		}
	}
}
