package smtpd

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"congvu/directory"
)

func TestSubmissionNeedsTLSThenAuth(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := dialRaw(t, e.sub, nil)
	exts := r.ehlo()
	if !slices.Contains(exts, "STARTTLS") {
		t.Errorf("STARTTLS not offered: %v", exts)
	}
	for _, ext := range exts {
		if strings.HasPrefix(ext, "AUTH") {
			t.Errorf("AUTH offered before TLS: %v", exts)
		}
	}
	// RFC 4954 4: refused without even looking at the password.
	r.authPlain(538, "5.7.11", thanh, thanhPass)
	r.cmd(530, "5.7.0", "MAIL FROM:<%s>", thanh)

	r.startTLS(e.client)
	exts = r.ehlo()
	if !slices.Contains(exts, "AUTH PLAIN LOGIN") {
		t.Errorf("AUTH not offered after STARTTLS: %v", exts)
	}
	r.cmd(530, "5.7.0", "MAIL FROM:<%s>", thanh)
	r.authPlain(535, "5.7.8", thanh, "sai-mat-khau")
	r.authPlain(535, "5.7.8", "khongco@"+domain, thanhPass)
	if msg := r.cmd(535, "5.7.8", "AUTH PLAIN %s", plain(locked, lockedPass)); !strings.Contains(msg, "locked") {
		t.Errorf("locked account: %q does not say why", msg)
	}
	r.cmd(504, "5.5.4", "AUTH CRAM-MD5")
	// Authorization identity other than oneself (RFC 4616 2).
	r.cmd(535, "5.7.8", "AUTH PLAIN %s", base64.StdEncoding.EncodeToString([]byte(mai+"\x00"+thanh+"\x00"+thanhPass)))
	r.authPlain(235, "2.0.0", thanhAlias, thanhPass) // alias as login
	r.cmd(503, "5.5.1", "AUTH PLAIN %s", plain(thanh, thanhPass))

	r.cmd(553, "5.7.1", "MAIL FROM:<%s>", mai)
	r.cmd(553, "5.7.1", "MAIL FROM:<>")
	r.cmd(250, "2.0.0", "MAIL FROM:<%s>", strings.ToUpper(thanhAlias))
	r.cmd(451, "4.4.1", "RCPT TO:<someone@gmail.com>")
	r.cmd(550, "5.1.1", "RCPT TO:<khongco.skhcn@%s>", domain)
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", mai)
	msg := message(thanhAlias, mai, "Kế hoạch công tác tháng 12", "Gửi chị Mai bản kế hoạch.")
	r.data(250, "2.0.0", msg)

	got := e.inbox(mai)
	if len(got) != 1 {
		t.Fatalf("INBOX has %d messages", len(got))
	}
	trace := checkStored(t, got[0], msg, strings.ToUpper(thanhAlias))
	if !strings.Contains(trace, " with ESMTPSA id ") {
		t.Errorf("trace:\n%s", trace)
	}

	for result, want := range map[string]float64{"ok": 1, "failed": 3, "locked": 1} {
		if got := e.counter("congvu_logins_total", "proto", "smtp", "result", result); got != want {
			t.Errorf("logins{smtp,%s} = %v, want %v", result, got, want)
		}
	}
	if got := e.counter("congvu_smtp_messages_accepted_total", "listener", "submission"); got != 1 {
		t.Errorf("accepted{submission} = %v", got)
	}
}

func plain(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

// TestSubmissionClient drives submission with go-smtp's client: STARTTLS,
// AUTH LOGIN, several recipients including an alias of one of them.
func TestSubmissionClient(t *testing.T) {
	e := newEnv(t, envOptions{})
	c, err := smtp.DialStartTLS(e.sub, e.client)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewLoginClient(mai, maiPass)); err != nil {
		t.Fatal(err)
	}
	msg := message(mai, thanh, "Báo cáo", "Kính gửi anh Thành.")
	if err := c.SendMail(mai, []string{thanh, thanhAlias, locked, mai}, bytes.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	err = c.SendMail(mai, []string{"ai.do@example.com"}, bytes.NewReader(msg))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 || se.EnhancedCode != (smtp.EnhancedCode{4, 4, 1}) {
		t.Errorf("external recipient: %v, want 451 4.4.1", err)
	}
	c.Quit()
	for _, u := range []string{thanh, locked, mai} {
		got := e.inbox(u)
		if len(got) != 1 {
			t.Fatalf("%s INBOX has %d messages, want 1", u, len(got))
		}
		checkStored(t, got[0], msg, mai)
	}
}

// TestSubmissionLoginChallenges runs AUTH LOGIN step by step.
func TestSubmissionLoginChallenges(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := dialRaw(t, e.subs, e.client)
	r.ehlo()
	b64 := base64.StdEncoding.EncodeToString
	if got := r.cmd(334, "", "AUTH LOGIN"); got != b64([]byte("Username:")) {
		t.Errorf("challenge %q", got)
	}
	if got := r.cmd(334, "", "%s", b64([]byte(thanh))); got != b64([]byte("Password:")) {
		t.Errorf("challenge %q", got)
	}
	r.cmd(235, "2.0.0", "%s", b64([]byte(thanhPass)))
}

// TestSubmissionsImplicitTLS is port 465 (RFC 8314 3.3).
func TestSubmissionsImplicitTLS(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := dialRaw(t, e.subs, e.client)
	exts := r.ehlo()
	if !slices.Contains(exts, "AUTH PLAIN LOGIN") || slices.Contains(exts, "STARTTLS") {
		t.Errorf("EHLO on 465: %v", exts)
	}
	r.cmd(530, "5.7.0", "MAIL FROM:<%s>", thanh)
	r.authPlain(235, "2.0.0", thanh, thanhPass)
	r.cmd(250, "2.0.0", "MAIL FROM:<%s>", thanh)
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", mai)
	msg := message(thanh, mai, "Qua cổng 465", "x")
	r.bdat(250, "2.0.0", msg, true)
	got := e.inbox(mai)
	if len(got) != 1 {
		t.Fatalf("INBOX has %d messages", len(got))
	}
	if trace := checkStored(t, got[0], msg, thanh); !strings.Contains(trace, "with ESMTPSA") {
		t.Errorf("trace:\n%s", trace)
	}
}

// TestSubmissionPartialFailure: one recipient's mailbox fills up between
// RCPT and DATA (no SIZE announced). The others got the message, so the
// answer is 250 and the sender gets a delivery status notification.
func TestSubmissionPartialFailure(t *testing.T) {
	e := newEnv(t, envOptions{})
	c, err := smtp.DialStartTLS(e.sub, e.client)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", thanh, thanhPass)); err != nil {
		t.Fatal(err)
	}
	msg := message(thanh, small, "Tài liệu họp", filler('d', 25000))
	if err := c.SendMail(thanh, []string{mai, small}, bytes.NewReader(msg)); err != nil {
		t.Fatalf("partial failure must be accepted: %v", err)
	}
	// All recipients failing: the failure itself, nothing to notify.
	err = c.SendMail(thanh, []string{small}, bytes.NewReader(msg))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 552 || se.EnhancedCode != (smtp.EnhancedCode{5, 2, 2}) {
		t.Errorf("only recipient over quota: %v, want 552 5.2.2", err)
	}
	c.Quit()

	if n := len(e.inbox(mai)); n != 1 {
		t.Errorf("mai has %d messages, want 1", n)
	}
	if n := len(e.inbox(small)); n != 0 {
		t.Errorf("small has %d messages, want 0", n)
	}
	dsns := e.inbox(thanh)
	if len(dsns) != 1 {
		t.Fatalf("sender has %d messages, want 1 notification", len(dsns))
	}
	dsn := string(dsns[0])
	for _, want := range []string{
		"Return-Path: <>\r\n",
		"Content-Type: multipart/report; report-type=delivery-status;",
		"Final-Recipient: rfc822; " + small + "\r\nAction: failed\r\nStatus: 5.2.2\r\n",
		"Diagnostic-Code: smtp; 552 5.2.2 Mailbox full",
		"Hộp thư đã đầy",
		"Subject: Tài liệu họp\r\n", // the returned header
	} {
		if !strings.Contains(dsn, want) {
			t.Errorf("notification lacks %q:\n%s", want, dsn)
		}
	}
	if strings.Contains(dsn, "Final-Recipient: rfc822; "+mai) {
		t.Error("notification lists a recipient that got the message")
	}
}

func TestSubmissionDirectoryUnavailable(t *testing.T) {
	var fd *failingDir
	e := newEnv(t, envOptions{wrapDir: func(d directory.Directory) directory.Directory {
		fd = &failingDir{Directory: d}
		return fd
	}})
	r := dialRaw(t, e.subs, e.client)
	r.ehlo()
	fd.down.Store(true)
	r.authPlain(454, "4.7.0", thanh, thanhPass) // RFC 4954 6
	fd.down.Store(false)
	r.authPlain(235, "2.0.0", thanh, thanhPass)
	r.cmd(250, "2.0.0", "MAIL FROM:<%s>", thanh)
	fd.down.Store(true)
	r.cmd(451, "4.4.3", "RCPT TO:<%s>", mai)
	if got := e.counter("congvu_logins_total", "proto", "smtp", "result", "unavailable"); got != 1 {
		t.Errorf("logins{unavailable} = %v", got)
	}
}

// TestSwaks submits with swaks (STARTTLS + AUTH PLAIN), a client nobody
// here wrote.
func TestSwaks(t *testing.T) {
	swaks, err := exec.LookPath("swaks")
	if err != nil {
		t.Skip("swaks not installed")
	}
	e := newEnv(t, envOptions{})
	att := filepath.Join(t.TempDir(), "congvan.txt")
	os.WriteFile(att, bytes.Repeat([]byte("Công văn số 123/UBND-KT\n"), 2000), 0o600)
	cmd := exec.Command(swaks, "--server", e.sub, "--tls", "--auth", "PLAIN",
		"--auth-user", thanh, "--auth-password", thanhPass,
		"--from", thanh, "--to", mai+","+thanhAlias,
		"--header", "Subject: swaks", "--body", "Noi dung thu", "--attach", "@"+att, "--timeout", "20")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "<~  250 2.0.0") {
		t.Errorf("no 250 after the data in:\n%s", out)
	}
	for _, u := range []string{mai, thanh} {
		got := e.inbox(u)
		if len(got) != 1 || !bytes.Contains(got[0], []byte("Subject: swaks\r\n")) {
			t.Errorf("%s: %d messages", u, len(got))
		}
	}
}

func TestCloseIsIdempotentAndStopsServe(t *testing.T) {
	e := newEnv(t, envOptions{})
	c, err := net.Dial("tcp", e.mx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	// The open connection is cut.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	for {
		if _, err := c.Read(buf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("connection still open after Close")
			}
			break
		}
	}
	// Serving after Close fails at once.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.ServeMX(l); !errors.Is(err, net.ErrClosed) {
		t.Errorf("ServeMX after Close: %v", err)
	}
}

// The author (From field) of submitted mail must be the account itself or
// one of its aliases; a message written "from" someone else, or without a
// single From field, is refused at DATA and stored nowhere.
func TestSubmissionAuthorMustBeOwned(t *testing.T) {
	e := newEnv(t, envOptions{})
	c, err := smtp.DialStartTLS(e.sub, e.client)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", thanh, thanhPass)); err != nil {
		t.Fatal(err)
	}
	send := func(msg []byte) error { return c.SendMail(thanh, []string{mai}, bytes.NewReader(msg)) }
	expect := func(what string, err error, code int, enh smtp.EnhancedCode, text string) {
		t.Helper()
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != code || se.EnhancedCode != enh || !strings.Contains(se.Message, text) {
			t.Errorf("%s: %v, want %d %v %q", what, err, code, enh, text)
		}
	}
	expect("From another official", send(message(mai, mai, "Giả mạo", "x")), 550, smtp.EnhancedCode{5, 7, 1}, "From header")
	twoAuthors := bytes.Replace(message(thanh, mai, "Hai tác giả", "x"), []byte("From: <"+thanh+">"),
		[]byte("From: <"+thanh+">, \"Chủ tịch\" <"+mai+">"), 1)
	expect("two authors, one not owned", send(twoAuthors), 550, smtp.EnhancedCode{5, 7, 1}, "From header")
	twoFields := append([]byte("From: <"+thanh+">\r\n"), message(thanh, mai, "Hai trường From", "x")...)
	expect("two From fields", send(twoFields), 550, smtp.EnhancedCode{5, 6, 0}, "exactly one")
	noFrom := bytes.Replace(message(thanh, mai, "Không From", "x"), []byte("From: <"+thanh+">\r\n"), nil, 1)
	expect("no From field", send(noFrom), 550, smtp.EnhancedCode{5, 6, 0}, "exactly one")
	if n := len(e.inbox(mai)); n != 0 {
		t.Fatalf("%d refused messages were stored", n)
	}
	if err := send(message(thanhAlias, mai, "Bằng bí danh", "x")); err != nil {
		t.Errorf("From the account's alias: %v", err)
	}
	named := bytes.Replace(message(thanh, mai, "Tên hiển thị", "x"), []byte("From: <"+thanh+">"),
		[]byte("From: =?utf-8?q?Nguy=E1=BB=85n_Ng=E1=BB=8Dc_Th=C3=A0nh?= <"+strings.ToUpper(thanh)+">"), 1)
	if err := send(named); err != nil {
		t.Errorf("From with an encoded display name and upper case: %v", err)
	}
	if n := len(e.inbox(mai)); n != 2 {
		t.Errorf("mai has %d messages, want the 2 owned ones", n)
	}
}
