package imapd

import (
	"bufio"
	"compress/flate"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"congvu/directory"
	"congvu/imapd/wire"
	"congvu/internal/mailerr"
	"congvu/internal/metrics"
	"congvu/policy"
	"congvu/sharing"
	"congvu/storage"
)

type connState uint8

const (
	stateNotAuth connState = iota
	stateAuth
	stateSelected
	stateLogout
)

// conn is one client connection, served by one goroutine (IDLE under
// COMPRESS adds a second one that only reads the client's DONE).
type conn struct {
	srv    *Server
	tcp    net.Conn // the accepted connection
	nc     net.Conn // tcp, or TLS over it
	tlsOn  bool
	r      *wire.Reader
	p      *wire.Parser
	w      *wire.Writer
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	remote netip.Addr

	state connState
	acct  *directory.Account
	mbox  storage.Mailbox
	sel   *selected

	// Enabled extensions (RFC 5161).
	rev2, utf8, condstore, qresync bool
	compressed                     bool
	// vanished gathers expunged UIDs for one VANISHED response.
	vanished []uint32
	// zw compresses what is sent once COMPRESS is active.
	zw *flate.Writer
	// The unit mailboxes the user may open (shared.go), read when the
	// ACLs were at sharedVersion, and their open handles by owner.
	shared        []sharing.Box
	sharedVersion uint64
	sharedMboxes  map[string]storage.Mailbox

	// bye is set by shutdown (another goroutine): the session ends with
	// BYE bye before its next command.
	bye atomic.Pointer[string]
	// untrack ends the policy engine's tracking of the signed-in session.
	untrack func()

	// A parked wait (park.go): the bytes it read, given back to the
	// reader by pr; idleParked lets the store wake an IDLE wait (woken).
	peek       [64]byte
	pr         prefixReader
	idleParked atomic.Bool
	woken      atomic.Bool

	// The current command: its tag, and the code and text of its OK.
	tag            string
	okCode, okText string
}

func (s *Server) newConn(nc net.Conn, implicitTLS bool) *conn {
	ctx, cancel := baseContext()
	remote := ""
	if a := nc.RemoteAddr(); a != nil {
		remote = a.String()
	}
	c := &conn{srv: s, tcp: nc, nc: nc, log: s.log.With("remote", remote), ctx: ctx, cancel: cancel,
		remote: policy.AddrIP(remote)}
	if implicitTLS {
		c.nc, c.tlsOn = tls.Server(nc, s.tls), true
	}
	br := s.readers.Get().(*bufio.Reader)
	br.Reset(c.nc)
	bw := s.writers.Get().(*bufio.Writer)
	bw.Reset(c.nc)
	c.r = wire.NewReader(br, wire.PreAuthLimits())
	c.r.Continue = c.continueLiteral
	c.p = wire.NewParser(c.r)
	c.w = wire.NewWriter(bw)
	return c
}

// shutdown ends the session from another goroutine: a blocked read is
// interrupted and the session says BYE text before closing.
func (c *conn) shutdown(text string) {
	c.bye.Store(&text)
	c.tcp.SetReadDeadline(time.Unix(1, 0))
}

// revokeGrace is how long a session ended by an account change may take
// to finish its command and say BYE before its connection is cut.
const revokeGrace = 5 * time.Second

// revoke ends the signed-in session because its account was locked,
// retired or its password reset (issue 15 §8): an untagged BYE with the
// reason (RFC 9051 §7.1.5), then the connection closes, whatever command
// or IDLE was running. Called by the policy engine from its goroutine.
func (c *conn) revoke(reason *mailerr.Error) {
	c.log.Info("imap session ended by account change", "reason", reason.Message)
	// English, as every IMAP response text here: RFC 3501 text is 7-bit.
	c.shutdown(reason.Message)
	time.AfterFunc(revokeGrace, func() { c.tcp.Close() })
}

func (c *conn) serve() {
	defer c.cleanup()
	defer func() {
		if v := recover(); v != nil {
			// A bug must not take the server down; the session cannot
			// continue in an unknown state.
			c.log.Error("panic in imap connection", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	if tc, ok := c.nc.(*tls.Conn); ok { // implicit TLS; not behind the proxy
		c.tcp.SetDeadline(time.Now().Add(30 * time.Second))
		if err := tc.HandshakeContext(c.ctx); err != nil {
			c.log.Debug("imap tls handshake failed", "err", err)
			return
		}
		c.tcp.SetDeadline(time.Time{})
	}
	c.srv.count(func(m *metrics.Metrics) { m.Connections.WithLabelValues("imap").Inc() })
	if d := c.srv.policy.Connect(c.ctx, policy.Conn{Protocol: policy.IMAP, IP: c.remote}); d.Refused() {
		// RFC 9051 §7.1.5: BYE as the greeting refuses the connection.
		c.w.Status("*", "BYE", "", mailerr.Classify(d.Err()).Message)
		c.flush()
		return
	}
	if text := c.bye.Load(); text != nil {
		c.w.Status("*", "BYE", "", *text)
		c.flush()
		return
	}
	c.w.Status("*", "OK", "CAPABILITY "+strings.Join(c.caps(), " "), "congvu IMAP4rev2 ready")
	if c.flush() != nil {
		return
	}
	for c.state != stateLogout {
		if !c.serveCommand() {
			return
		}
	}
}

func (c *conn) cleanup() {
	if c.untrack != nil {
		c.untrack()
	}
	if c.sel != nil {
		c.sel.close()
		c.sel = nil
	}
	c.cancel()
	c.nc.Close()
	// The buffers go back to the pool only when nobody can use them.
	c.srv.readers.Put(c.r.Source())
	c.srv.writers.Put(c.w.Dest())
}

// flush sends what is buffered, bounded by writeTimeout.
func (c *conn) flush() error {
	c.tcp.SetWriteDeadline(time.Now().Add(writeTimeout))
	err := c.w.Flush()
	if err == nil && c.zw != nil {
		err = c.zw.Flush()
	}
	if err != nil {
		c.log.Debug("imap write failed", "err", err)
	}
	return err
}

// continueLiteral asks the client for a synchronizing literal.
func (c *conn) continueLiteral() error {
	c.w.Raw("+ Ready for literal data").CRLF()
	return c.flush()
}

// inactivity is the autologout timer of the current state (RFC 9051 §5.4).
func (c *conn) inactivity() time.Duration {
	if c.state == stateNotAuth {
		return authTimeout
	}
	return c.srv.cfg.IdleTimeout
}

// serveCommand reads and answers one command; false ends the session.
func (c *conn) serveCommand() bool {
	deadline := time.Now().Add(c.inactivity())
	// Deadline before the check: a shutdown after it interrupts the read.
	c.tcp.SetReadDeadline(deadline)
	if text := c.bye.Load(); text != nil {
		c.sayBye(*text)
		return false
	}
	if c.canPark() {
		switch res, err := c.awaitInput(deadline, false); res {
		case waitBye:
			c.sayBye(*c.bye.Load())
			return false
		case waitTimeout, waitFailed:
			return c.readFailed(err)
		}
	}
	if err := c.p.Begin(); err != nil {
		return c.readFailed(err)
	}
	// The rest of the command, literals included, must follow promptly.
	c.tcp.SetReadDeadline(time.Now().Add(writeTimeout))
	cmd, err := c.p.ParseHead()
	c.tag, c.okCode, c.okText = cmd.Tag, "", ""
	if c.tag == "" {
		c.tag = "*"
	}
	if err == nil {
		err = c.checkState(cmd)
	}
	if err == nil {
		err = c.p.ParseArgs(cmd)
	}
	if err == nil {
		err = c.safeDispatch(cmd)
	}
	return c.finish(cmd, err)
}

// errBroken: a response was interrupted half-written; nothing sane can
// follow on this connection.
var errBroken = errors.New("imapd: response aborted")

// safeDispatch runs the command, turning a panic into NO [SERVERBUG] so
// one bad message does not end the session, unless it struck in the
// middle of a response.
func (c *conn) safeDispatch(cmd *wire.Command) (err error) {
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("panic in imap command", "op", cmd.Name, "panic", v, "stack", string(debug.Stack()))
			err = no("SERVERBUG", mailerr.ErrInternal.Message)
			if c.w.Open() {
				err = errBroken
			}
		}
	}()
	return c.dispatch(cmd)
}

// readFailed handles an error while waiting for a command.
func (c *conn) readFailed(err error) bool {
	var we *wire.Error
	switch {
	case errors.As(err, &we) && !we.Fatal:
		// The line could not be read as a command: no tag to answer.
		c.w.Status("*", "BAD", we.Code, we.Text)
		return c.flush() == nil
	case errors.As(err, &we):
		c.sayBye(we.Text)
	case errors.Is(err, os.ErrDeadlineExceeded):
		if text := c.bye.Load(); text != nil {
			c.sayBye(*text)
		} else {
			c.log.Debug("imap autologout")
			c.sayBye("Autologout; idle for too long")
		}
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
	default:
		c.log.Debug("imap read failed", "err", err)
	}
	return false
}

func (c *conn) sayBye(text string) {
	c.w.Status("*", "BYE", "", text)
	c.flush()
}

// finish answers the command: the tagged OK after any pending updates, or
// the error. False ends the session.
func (c *conn) finish(cmd *wire.Command, err error) bool {
	if err != nil && c.w.Open() {
		// Half a response was written: the client cannot resynchronise.
		c.log.Warn("imap response aborted", "op", cmd.Name, "err", err)
		return false
	}
	if err == nil {
		if c.state == stateSelected {
			if perr := c.pollAfter(cmd); perr != nil {
				return c.finish(cmd, perr)
			}
		}
		if c.okCode == "-" {
			return c.flush() == nil // the handler answered
		}
		text := c.okText
		if text == "" {
			text = cmd.Name + " completed"
		}
		c.w.Status(c.tag, "OK", c.okCode, text)
		return c.flush() == nil && c.state != stateLogout
	}
	var we *wire.Error
	var re *respError
	var be byeError
	switch {
	case errors.As(err, &we):
		if we.Fatal {
			c.sayBye(we.Text)
			return false
		}
		if derr := c.p.Discard(); derr != nil {
			return c.finish(cmd, derr)
		}
		kind := "BAD"
		if we.No {
			kind = "NO"
		}
		c.w.Status(c.tag, kind, we.Code, we.Text)
		if we.Unknown && c.state == stateNotAuth {
			// One unknown command before login ends the connection, so
			// IMAP cannot be abused by cross-protocol attacks.
			c.sayBye("Unknown command; closing")
			return false
		}
	case errors.As(err, &re):
		if derr := c.p.Discard(); derr != nil {
			return c.finish(cmd, derr)
		}
		c.w.Status(c.tag, re.kind, re.code, re.text)
	case errors.As(err, &be):
		c.sayBye(be.text)
		return false
	case isConnError(err):
		c.log.Debug("imap connection failed", "op", cmd.Name, "err", err)
		return false
	default:
		if derr := c.p.Discard(); derr != nil {
			return c.finish(cmd, derr)
		}
		re := c.mapError(cmd.BaseName(), err)
		c.w.Status(c.tag, re.kind, re.code, re.text)
	}
	return c.flush() == nil
}

// isConnError tells I/O failures of the connection apart from errors to
// answer.
func isConnError(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.As(err, &ne)
}

// commandStates says in which states a command is valid (RFC 9051 §6).
func (c *conn) checkState(cmd *wire.Command) error {
	switch cmd.BaseName() {
	case "CAPABILITY", "NOOP", "LOGOUT", "ID":
		return nil
	case "STARTTLS", "AUTHENTICATE", "LOGIN":
		if c.state != stateNotAuth {
			return bad("", "Already logged in")
		}
		return nil
	case "CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY", "MOVE", "SORT", "THREAD":
		if c.state != stateSelected {
			return bad("", "No mailbox selected")
		}
		return nil
	}
	if c.state == stateNotAuth {
		return bad("", "Log in first")
	}
	return nil
}

// dispatch runs a parsed command.
func (c *conn) dispatch(cmd *wire.Command) error {
	switch cmd.BaseName() {
	case "CAPABILITY":
		return c.cmdCapability()
	case "NOOP", "CHECK":
		return nil // updates follow in pollAfter
	case "LOGOUT":
		c.w.Status("*", "BYE", "", "congvu IMAP logging out")
		c.state = stateLogout
		return nil
	case "ID":
		return c.cmdID(cmd)
	case "STARTTLS":
		return c.cmdStartTLS()
	case "LOGIN":
		return c.cmdLogin(cmd.Args[0], cmd.Args[1])
	case "AUTHENTICATE":
		return c.cmdAuthenticate(cmd)
	case "ENABLE":
		return c.cmdEnable(cmd)
	case "NAMESPACE":
		return c.cmdNamespace()
	case "SELECT", "EXAMINE":
		return c.cmdSelect(cmd)
	case "CREATE":
		return c.cmdCreate(cmd)
	case "DELETE":
		return c.cmdDelete(cmd)
	case "RENAME":
		return c.cmdRename(cmd)
	case "SUBSCRIBE":
		return c.cmdSubscribe(cmd, true)
	case "UNSUBSCRIBE":
		return c.cmdSubscribe(cmd, false)
	case "LIST":
		return c.cmdList(cmd.List)
	case "LSUB":
		return c.cmdLsub(cmd.Args[0], cmd.Args[1])
	case "STATUS":
		return c.cmdStatus(cmd)
	case "APPEND":
		return c.cmdAppend(cmd)
	case "IDLE":
		return c.cmdIdle()
	case "CLOSE":
		return c.cmdClose()
	case "UNSELECT":
		c.unselect()
		return nil
	case "EXPUNGE":
		return c.cmdExpunge(cmd)
	case "SEARCH":
		return c.cmdSearch(cmd)
	case "FETCH":
		return c.cmdFetch(cmd)
	case "STORE":
		return c.cmdStore(cmd)
	case "COPY":
		return c.cmdCopy(cmd)
	case "MOVE":
		return c.cmdMove(cmd)
	case "SORT":
		return c.cmdSort(cmd)
	case "THREAD":
		return c.cmdThread(cmd)
	case "GETQUOTAROOT":
		return c.cmdGetQuotaRoot(cmd)
	case "GETQUOTA":
		return c.cmdGetQuota(cmd)
	case "SETQUOTA":
		return c.cmdSetQuota()
	case "COMPRESS":
		return c.cmdCompress(cmd)
	case "GETACL":
		return c.cmdGetACL(cmd)
	case "SETACL", "DELETEACL":
		return c.cmdSetACL(cmd)
	case "LISTRIGHTS":
		return c.cmdListRights(cmd)
	case "MYRIGHTS":
		return c.cmdMyRights(cmd)
	}
	return bad("", cmd.Name+" is not supported")
}

// respError is a NO or BAD answer decided by imapd.
type respError struct{ kind, code, text string }

func (e *respError) Error() string { return e.kind + " [" + e.code + "] " + e.text }

func no(code, text string) error  { return &respError{"NO", code, text} }
func bad(code, text string) error { return &respError{"BAD", code, text} }

// byeError ends the session with BYE text.
type byeError struct{ text string }

func (e byeError) Error() string { return "BYE " + e.text }

// mapError is the one place where congvu errors become IMAP responses.
// *mailerr.Error carries its RFC 5530 response code; anything else is
// classified as a temporary server error whose cause is logged, never
// sent.
func (c *conn) mapError(op string, err error) *respError {
	me := mailerr.Classify(err)
	code := me.IMAPCode
	if code == "NONEXISTENT" {
		switch op {
		case "APPEND", "COPY", "MOVE":
			// RFC 9051 §6.3.12, §6.4.7: a missing destination is TRYCREATE.
			code = "TRYCREATE"
		}
	}
	if me.Err != nil || mailerr.As(err) == nil {
		lvl := slog.LevelInfo
		if errors.Is(me, mailerr.ErrInternal) {
			lvl = slog.LevelError
		}
		c.log.Log(context.Background(), lvl, "imap command failed", "op", op, "err", err)
	}
	return &respError{"NO", code, me.Message}
}
