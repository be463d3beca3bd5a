package pop3d

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/storage"
)

// Test messages, CRLF as SMTP delivers them. msgDots has lines starting with
// "." that RETR must byte-stuff (RFC 1939 section 3).
const (
	msg1 = "From: a@b.vn\r\nTo: thanh@skhcn.laocai.gov.vn\r\nSubject: One\r\n\r\nFirst body line\r\nSecond\r\n"
	msg2 = "From: a@b.vn\r\nSubject: Dots\r\n\r\n.\r\n..two dots\r\n.leading\r\nend.\r\n"
	msg3 = "From: a@b.vn\r\nSubject: Three\r\n\r\nl1\r\nl2\r\nl3\r\nl4\r\n"
)

// logins reads congvu_logins_total{proto="pop3",result}.
func (e *env) logins(result string) float64 {
	var m dto.Metric
	if err := e.metrics.Logins.WithLabelValues("pop3", result).Write(&m); err != nil {
		e.t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func (e *env) deliverAll() []uint32 {
	return []uint32{e.deliver(userAddr, msg1), e.deliver(userAddr, msg2), e.deliver(userAddr, msg3)}
}

func capaOf(c *client) []string {
	c.t.Helper()
	c.ok("CAPA")
	return c.lines()
}

func TestCapabilities(t *testing.T) {
	e := newEnv(t)
	common := []string{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "EXPIRE NEVER", "IMPLEMENTATION congvu"}
	check := func(where string, got, want, absent []string) {
		t.Helper()
		for _, w := range append(slices.Clone(common), want...) {
			if !slices.Contains(got, w) {
				t.Errorf("%s: CAPA lacks %q: %q", where, w, got)
			}
		}
		for _, a := range absent {
			if slices.Contains(got, a) {
				t.Errorf("%s: CAPA has %q: %q", where, a, got)
			}
		}
	}
	c := e.dial()
	// RFC 2595 section 6: no plain-text login announced before TLS.
	check("plain", capaOf(c), []string{"STLS"}, []string{"USER", "SASL PLAIN"})
	c.stls()
	check("after STLS", capaOf(c), []string{"USER", "SASL PLAIN"}, []string{"STLS"})
	c.ok("USER " + userAddr)
	c.ok("PASS " + userPass)
	check("transaction", capaOf(c), nil, []string{"STLS", "USER", "SASL PLAIN"})

	tc := e.dialTLS()
	check("implicit TLS", capaOf(tc), []string{"USER", "SASL PLAIN"}, []string{"STLS"})
	if r := tc.cmd("STLS"); !strings.HasPrefix(r, "-ERR") {
		t.Errorf("STLS under TLS: %q", r)
	}
}

func TestLoginRefusedBeforeTLS(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	for _, cmd := range []string{"USER " + userAddr, "PASS " + userPass, "AUTH PLAIN " +
		base64.StdEncoding.EncodeToString([]byte("\x00"+userAddr+"\x00"+userPass)), "AUTH PLAIN", "AUTH"} {
		if r := c.cmd(cmd); !strings.HasPrefix(r, "-ERR [AUTH] ") || !strings.Contains(r, "TLS") {
			t.Errorf("%s before TLS: %q", strings.Fields(cmd)[0], r)
		}
	}
	if r := c.cmd("STAT"); !strings.HasPrefix(r, "-ERR") {
		t.Errorf("STAT before login: %q", r)
	}
	if got := e.logins("ok"); got != 0 {
		t.Errorf("logins ok = %v", got)
	}
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	e.deliverAll()
	logins := e.logins

	c := e.dial()
	c.stls()
	if r := c.cmd("PASS " + userPass); !strings.HasPrefix(r, "-ERR") {
		t.Errorf("PASS without USER: %q", r)
	}
	c.ok("USER " + userAddr)
	if r := c.cmd("PASS wrong password"); !strings.HasPrefix(r, "-ERR [AUTH] ") {
		t.Errorf("wrong password: %q", r)
	}
	c.ok("USER nobody@skhcn.laocai.gov.vn")
	if r := c.cmd("PASS " + userPass); r != "-ERR [AUTH] "+mailerr.ErrAuthFailed.Message {
		t.Errorf("unknown user: %q", r)
	}
	c.ok("USER " + userAddr)
	if r := c.cmd("PASS " + userPass); r != fmt.Sprintf("+OK Logged in, maildrop has 3 messages (%d octets)", len(msg1+msg2+msg3)) {
		t.Errorf("login: %q", r)
	}
	c.ok("QUIT")

	l := e.dialTLS()
	if r := l.login(lockedAddr, lockedPass); !strings.HasPrefix(r, "-ERR [AUTH] Account is locked") {
		t.Errorf("locked account: %q", r)
	}
	if logins("ok") != 1 || logins("failed") != 2 || logins("locked") != 1 {
		t.Errorf("logins ok=%v failed=%v locked=%v", logins("ok"), logins("failed"), logins("locked"))
	}
	// Aliases and upper case resolve to the account (directory rules).
	if r := e.dialTLS().login(strings.ToUpper(userAddr), userPass); !strings.HasPrefix(r, "+OK") {
		t.Errorf("upper-case login: %q", r)
	}
}

func TestTooManyAuthFailures(t *testing.T) {
	e := newEnv(t)
	c := e.dialTLS()
	for i := range maxAuthFailures {
		if r := c.login(userAddr, fmt.Sprint("wrong", i)); !strings.HasPrefix(r, "-ERR [AUTH]") {
			t.Fatalf("attempt %d: %q", i, r)
		}
	}
	if !c.closed() {
		t.Fatal("connection still open after failed logins")
	}
}

func TestAuthPlain(t *testing.T) {
	e := newEnv(t)
	e.deliverAll()
	plain := func(authz, authc, pass string) string {
		return base64.StdEncoding.EncodeToString([]byte(authz + "\x00" + authc + "\x00" + pass))
	}
	c := e.dialTLS()
	c.ok("AUTH")
	if got := c.lines(); !slices.Equal(got, []string{"PLAIN"}) {
		t.Errorf("AUTH mechanisms %q", got)
	}
	if r := c.cmd("AUTH CRAM-MD5"); !strings.HasPrefix(r, "-ERR") {
		t.Errorf("unknown mechanism: %q", r)
	}
	// Continuation, then cancel (RFC 5034 section 4).
	if r := c.cmd("AUTH PLAIN"); r != "+ " {
		t.Fatalf("continuation %q", r)
	}
	if r := c.cmd("*"); !strings.HasPrefix(r, "-ERR") {
		t.Errorf("cancel: %q", r)
	}
	if r := c.cmd("AUTH PLAIN !!!"); !strings.HasPrefix(r, "-ERR") {
		t.Errorf("bad base64: %q", r)
	}
	if r := c.cmd("AUTH PLAIN " + plain(otherAddr, userAddr, userPass)); !strings.HasPrefix(r, "-ERR [AUTH]") {
		t.Errorf("foreign authzid: %q", r)
	}
	if r := c.cmd("AUTH PLAIN"); r != "+ " {
		t.Fatalf("continuation %q", r)
	}
	if r := c.cmd(plain("", userAddr, userPass)); !strings.HasPrefix(r, "+OK Logged in, maildrop has 3 ") {
		t.Fatalf("AUTH PLAIN continuation login: %q", r)
	}
	c.ok("QUIT")

	// Initial response, authzid naming the same user.
	c = e.dialTLS()
	if r := c.cmd("AUTH PLAIN " + plain(userAddr, userAddr, userPass)); !strings.HasPrefix(r, "+OK") {
		t.Fatalf("AUTH PLAIN initial response: %q", r)
	}
	// "=" is an empty initial response: no credentials, a plain failure.
	c = e.dialTLS()
	if r := c.cmd("AUTH PLAIN ="); !strings.HasPrefix(r, "-ERR") {
		t.Errorf("empty response: %q", r)
	}
}

// brokenDir answers every login with one error, as an unreachable directory
// backend does.
type brokenDir struct {
	directory.Directory
	err error
}

func (d brokenDir) Authenticate(context.Context, string, string) (*directory.Account, error) {
	return nil, d.err
}

func TestDirectoryUnavailable(t *testing.T) {
	e := newEnv(t, func(_ *Config, d *Deps) {
		d.Dir = brokenDir{d.Dir, mailerr.ErrDirectoryUnavailable.With(io.ErrUnexpectedEOF)}
	})
	c := e.dialTLS()
	want := "-ERR [SYS/TEMP] " + mailerr.ErrDirectoryUnavailable.Message
	if r := c.login(userAddr, userPass); r != want {
		t.Errorf("got %q, want %q", r, want)
	}
	if got := e.logins("unavailable"); got != 1 {
		t.Errorf("logins unavailable = %v", got)
	}
	// Unknown errors are temporary and leak nothing.
	e2 := newEnv(t, func(_ *Config, d *Deps) { d.Dir = brokenDir{d.Dir, io.ErrUnexpectedEOF} })
	if r := e2.dialTLS().login(userAddr, userPass); r != "-ERR [SYS/TEMP] "+mailerr.ErrInternal.Message {
		t.Errorf("unknown error: %q", r)
	}
}

func TestRetrieve(t *testing.T) {
	e := newEnv(t)
	uids := e.deliverAll()
	msgs := []string{msg1, msg2, msg3}
	c := e.dialTLS()
	c.login(userAddr, userPass)
	total := len(msg1) + len(msg2) + len(msg3)
	if r := c.ok("STAT"); r != fmt.Sprintf("+OK 3 %d", total) {
		t.Errorf("STAT %q", r)
	}
	c.ok("LIST")
	wantList := []string{fmt.Sprint("1 ", len(msg1)), fmt.Sprint("2 ", len(msg2)), fmt.Sprint("3 ", len(msg3))}
	if got := c.lines(); !slices.Equal(got, wantList) {
		t.Errorf("LIST %q, want %q", got, wantList)
	}
	if r := c.ok("LIST 2"); r != fmt.Sprintf("+OK 2 %d", len(msg2)) {
		t.Errorf("LIST 2: %q", r)
	}
	for _, bad := range []string{"LIST 4", "LIST 0", "LIST -1", "LIST x", "RETR 4", "TOP 9 1", "DELE 0"} {
		if r := c.cmd(bad); !strings.HasPrefix(r, "-ERR") {
			t.Errorf("%s: %q", bad, r)
		}
	}

	// UIDL: stable, unique, RFC 1939 section 7 character set.
	c.ok("UIDL")
	uidls := c.lines()
	if len(uidls) != 3 {
		t.Fatalf("UIDL %q", uidls)
	}
	mb, _ := e.store.Mailbox(context.Background(), userAddr, 0)
	st, _ := mb.Status(context.Background(), storage.Inbox)
	for i, l := range uidls {
		want := fmt.Sprintf("%d %08x%08x", i+1, st.UIDValidity, uids[i])
		if l != want {
			t.Errorf("UIDL line %q, want %q", l, want)
		}
	}
	if r := c.ok("UIDL 3"); r != "+OK "+uidls[2] {
		t.Errorf("UIDL 3: %q", r)
	}

	for i, m := range msgs {
		if r := c.ok(fmt.Sprint("RETR ", i+1)); r != fmt.Sprintf("+OK %d octets", len(m)) {
			t.Errorf("RETR %d: %q", i+1, r)
		}
		raw := c.raw()
		if got := unstuff(t, raw); got != m {
			t.Errorf("RETR %d: got %q, want %q", i+1, got, m)
		}
	}
	// Byte-stuffing on the wire, exactly.
	c.ok("RETR 2")
	if raw := c.raw(); raw != "From: a@b.vn\r\nSubject: Dots\r\n\r\n..\r\n...two dots\r\n..leading\r\nend.\r\n.\r\n" {
		t.Errorf("RETR 2 wire form %q", raw)
	}

	c.ok("TOP 3 0")
	if got := c.raw(); got != "From: a@b.vn\r\nSubject: Three\r\n\r\n.\r\n" {
		t.Errorf("TOP 3 0: %q", got)
	}
	c.ok("TOP 3 2")
	if got := c.raw(); got != "From: a@b.vn\r\nSubject: Three\r\n\r\nl1\r\nl2\r\n.\r\n" {
		t.Errorf("TOP 3 2: %q", got)
	}
	c.ok("TOP 2 2")
	if got := c.raw(); got != "From: a@b.vn\r\nSubject: Dots\r\n\r\n..\r\n...two dots\r\n.\r\n" {
		t.Errorf("TOP 2 2: %q", got)
	}
	for _, bad := range []string{"TOP 1", "TOP 1 -1", "TOP 1 x", "RETR", "RETR 1 2", "STAT 1"} {
		if r := c.cmd(bad); !strings.HasPrefix(r, "-ERR") {
			t.Errorf("%s: %q", bad, r)
		}
	}
	c.ok("NOOP")
	c.ok("QUIT")
	// Retrieved messages are \Seen for IMAP clients afterwards.
	infos, _ := mb.Messages(context.Background(), storage.Inbox)
	for _, mi := range infos {
		if !slices.Contains(mi.Flags, `\Seen`) {
			t.Errorf("uid %d not \\Seen after RETR+QUIT: %q", mi.UID, mi.Flags)
		}
	}
}

// TestBareLFMessage: a message stored with bare LF line ends (not from SMTP
// or IMAP, which carry CRLF) still goes out as valid CRLF lines, and the
// size difference with the index is logged.
func TestBareLFMessage(t *testing.T) {
	e := newEnv(t)
	bareLF := "From: a@b.vn\nSubject: LF\n\n.unix line\nno final newline"
	e.deliver(userAddr, bareLF)
	c := e.dialTLS()
	c.login(userAddr, userPass)
	c.ok("RETR 1")
	want := "From: a@b.vn\r\nSubject: LF\r\n\r\n..unix line\r\nno final newline\r\n.\r\n"
	if raw := c.raw(); raw != want {
		t.Errorf("RETR wire form %q, want %q", raw, want)
	}
	c.ok("TOP 1 0")
	if raw := c.raw(); raw != "From: a@b.vn\r\nSubject: LF\r\n\r\n.\r\n" {
		t.Errorf("TOP wire form %q", raw)
	}
	c.ok("QUIT")
	if !strings.Contains(e.logs.String(), "message size differs from index") {
		t.Error("size mismatch not logged")
	}
}

func TestDeleQuit(t *testing.T) {
	e := newEnv(t)
	uids := e.deliverAll()
	c := e.dialTLS()
	c.login(userAddr, userPass)
	c.ok("DELE 1")
	c.ok("DELE 3")
	if r := c.cmd("DELE 1"); !strings.HasPrefix(r, "-ERR") {
		t.Errorf("DELE twice: %q", r)
	}
	for _, cmd := range []string{"RETR 1", "LIST 3", "TOP 1 0", "UIDL 1"} {
		if r := c.cmd(cmd); !strings.HasPrefix(r, "-ERR") {
			t.Errorf("%s of deleted message: %q", cmd, r)
		}
	}
	if r := c.ok("STAT"); r != fmt.Sprintf("+OK 1 %d", len(msg2)) {
		t.Errorf("STAT after DELE: %q", r)
	}
	c.ok("LIST")
	if got := c.lines(); !slices.Equal(got, []string{fmt.Sprint("2 ", len(msg2))}) {
		t.Errorf("LIST after DELE: %q", got)
	}
	// Before QUIT nothing has changed in the store.
	if got := e.inbox(userAddr); !slices.Equal(got, uids) {
		t.Errorf("store changed before QUIT: %v", got)
	}
	if r := c.ok("QUIT"); !strings.Contains(r, "(1 messages left)") {
		t.Errorf("QUIT: %q", r)
	}
	if got := e.inbox(userAddr); !slices.Equal(got, []uint32{uids[1]}) {
		t.Errorf("after QUIT inbox = %v, want [%d]", got, uids[1])
	}
}

func TestDeleRset(t *testing.T) {
	e := newEnv(t)
	uids := e.deliverAll()
	c := e.dialTLS()
	c.login(userAddr, userPass)
	c.ok("DELE 1")
	c.ok("DELE 2")
	if r := c.ok("RSET"); r != fmt.Sprintf("+OK Maildrop has 3 messages (%d octets)", len(msg1+msg2+msg3)) {
		t.Errorf("RSET: %q", r)
	}
	c.ok("RETR 1")
	c.raw()
	c.ok("QUIT")
	if got := e.inbox(userAddr); !slices.Equal(got, uids) {
		t.Errorf("after RSET+QUIT inbox = %v, want %v", got, uids)
	}
}

// TestDroppedConnection: RFC 1939 section 6, no QUIT means no UPDATE; the
// lock is released so the next session can log in.
func TestDroppedConnection(t *testing.T) {
	e := newEnv(t)
	uids := e.deliverAll()
	c := e.dialTLS()
	c.login(userAddr, userPass)
	for i := range uids {
		c.ok(fmt.Sprint("DELE ", i+1))
	}
	c.conn.Close()
	var r string
	for range 100 {
		if r = e.dialTLS().login(userAddr, userPass); !strings.HasPrefix(r, "-ERR [IN-USE]") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.HasPrefix(r, "+OK") {
		t.Fatalf("login after drop: %q", r)
	}
	if got := e.inbox(userAddr); !slices.Equal(got, uids) {
		t.Errorf("after dropped connection inbox = %v, want %v", got, uids)
	}
}

func TestInUse(t *testing.T) {
	e := newEnv(t)
	e.deliverAll()
	first := e.dialTLS()
	first.login(userAddr, userPass)
	second := e.dial()
	if r := second.login(userAddr, userPass); !strings.HasPrefix(r, "-ERR [IN-USE] ") {
		t.Fatalf("second session: %q", r)
	}
	// Another user is not affected.
	if r := e.dialTLS().login(otherAddr, otherPass); !strings.HasPrefix(r, "+OK") {
		t.Errorf("other user: %q", r)
	}
	first.ok("QUIT")
	// The second session stayed in AUTHORIZATION and may try again.
	second.ok("USER " + userAddr)
	if r := second.cmd("PASS " + userPass); !strings.HasPrefix(r, "+OK") {
		t.Errorf("after first QUIT: %q", r)
	}
}

// TestConcurrentIMAPChanges: deliveries and expunges by other sessions do not
// change the snapshot, and a RETR of an expunged message is a clean -ERR.
func TestConcurrentIMAPChanges(t *testing.T) {
	e := newEnv(t)
	uids := e.deliverAll()
	c := e.dialTLS()
	c.login(userAddr, userPass)
	ctx := context.Background()
	mb, err := e.store.Mailbox(ctx, userAddr, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := mb.SetFlags(ctx, storage.Inbox, uids[:1], storage.FlagsAdd, []string{`\Deleted`}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Expunge(ctx, storage.Inbox, nil); err != nil {
		t.Fatal(err)
	}
	late := e.deliver(userAddr, "Subject: late\r\n\r\nx\r\n")
	if r := c.ok("STAT"); r != fmt.Sprintf("+OK 3 %d", len(msg1+msg2+msg3)) {
		t.Errorf("STAT changed: %q", r)
	}
	if r := c.cmd("RETR 1"); !strings.HasPrefix(r, "-ERR") {
		t.Fatalf("RETR of expunged message: %q", r)
	}
	c.ok("RETR 2")
	if got := unstuff(t, c.raw()); got != msg2 {
		t.Errorf("RETR 2 = %q", got)
	}
	// Another session flags message 3 \Deleted: POP3 must not expunge it.
	if _, _, err := mb.SetFlags(ctx, storage.Inbox, uids[2:], storage.FlagsAdd, []string{`\Deleted`}, 0); err != nil {
		t.Fatal(err)
	}
	c.ok("DELE 1") // already gone
	c.ok("DELE 2")
	c.ok("QUIT")
	if got := e.inbox(userAddr); !slices.Equal(got, []uint32{uids[2], late}) {
		t.Errorf("inbox = %v, want %v", got, []uint32{uids[2], late})
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	if r := c.cmd("CAPA " + strings.Repeat("x", 3000)); !strings.HasPrefix(r, "-ERR") {
		t.Errorf("long line: %q", r)
	}
	if r := c.cmd("LIST\x001"); !strings.HasPrefix(r, "-ERR") {
		t.Errorf("NUL: %q", r)
	}
	c.ok("CAPA")
	c.lines()
	// Lenient about length: RFC 2449's 255 octets is exceeded by real
	// clients; 1000 octets are still a command.
	if r := c.cmd("NOOP" + strings.Repeat(" ", 900)); !strings.HasPrefix(r, "-ERR Not logged in") {
		t.Errorf("long but acceptable line: %q", r)
	}
	for i := 0; ; i++ {
		r := c.cmd("XYZZY")
		if strings.Contains(r, "closing") {
			break
		}
		if i > maxBadCommands {
			t.Fatal("never disconnected")
		}
	}
	if !c.closed() {
		t.Error("connection open after too many bad commands")
	}

	c = e.dial()
	go io.WriteString(c.conn, strings.Repeat("A", maxDiscard+4096))
	// The server answers -ERR and closes; closing with unread input may
	// reset the connection before the client reads the answer.
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if r, err := c.r.ReadString('\n'); err == nil && !strings.HasPrefix(r, "-ERR") {
		t.Errorf("endless line: %q", r)
	}
	if !c.closed() {
		t.Error("connection open after endless line")
	}
}

// TestSTLSInjection: commands pipelined after STLS in clear text must not run
// under TLS (RFC 2595 section 4, CVE-2011-0411).
func TestSTLSInjection(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.send("STLS\r\nUSER " + userAddr)
	if r := c.line(); !strings.HasPrefix(r, "-ERR") {
		t.Errorf("STLS with pipelined data: %q", r)
	}
	if !c.closed() {
		t.Error("connection not closed")
	}
}

func TestPipelining(t *testing.T) {
	e := newEnv(t)
	e.deliverAll()
	c := e.dialTLS()
	c.send("USER " + userAddr + "\r\nPASS " + userPass + "\r\nSTAT\r\nLIST 1\r\nRETR 1\r\nDELE 1\r\nNOOP\r\nRSET")
	for _, want := range []string{"+OK Send PASS", "+OK Logged in", "+OK 3 ", "+OK 1 "} {
		if r := c.line(); !strings.HasPrefix(r, want) {
			t.Fatalf("got %q, want %q", r, want)
		}
	}
	if r := c.line(); !strings.HasPrefix(r, "+OK") {
		t.Fatalf("RETR: %q", r)
	}
	if got := unstuff(t, c.raw()); got != msg1 {
		t.Errorf("RETR body %q", got)
	}
	for range 3 {
		if r := c.line(); !strings.HasPrefix(r, "+OK") {
			t.Fatalf("pipelined reply %q", r)
		}
	}
}

func TestIdleTimeout(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Deps) { c.IdleTimeout = 200 * time.Millisecond })
	e.deliverAll()
	c := e.dialTLS()
	c.login(userAddr, userPass)
	c.ok("DELE 1")
	// RFC 1939 section 3: autologout closes without a response and
	// without UPDATE.
	if !c.closed() {
		t.Fatal("idle connection still open")
	}
	if got := e.inbox(userAddr); len(got) != 3 {
		t.Errorf("autologout deleted messages: %v", got)
	}
}

func TestCloseEndsSessions(t *testing.T) {
	e := newEnv(t)
	e.deliverAll()
	c := e.dialTLS()
	c.login(userAddr, userPass)
	c.ok("DELE 1")
	p := e.dial()
	done := make(chan error, 1)
	go func() { done <- e.srv.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs")
	}
	if !c.closed() || !p.closed() {
		t.Error("live connections survive Close")
	}
	if got := e.inbox(userAddr); len(got) != 3 {
		t.Errorf("Close deleted messages: %v", got)
	}
	if _, err := net.Dial("tcp", e.plainAddr); err == nil {
		t.Error("listener still accepting after Close")
	}
	e.srv.mu.Lock()
	defer e.srv.mu.Unlock()
	if len(e.srv.locked) != 0 || len(e.srv.conns) != 0 {
		t.Errorf("after Close: %d locks, %d connections", len(e.srv.locked), len(e.srv.conns))
	}
}
