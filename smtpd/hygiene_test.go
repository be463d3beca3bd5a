package smtpd

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// TestNULInCommandsRefused: NUL and control characters in EHLO, MAIL and
// RCPT get 501 5.5.2 and nothing is delivered (issue 15 §4).
func TestNULInCommandsRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := dialRaw(t, e.mx, nil)
	r.cmd(501, "5.5.2", "EHLO evil\x00.example")
	r.cmd(250, "", "EHLO client.bocongan.gov.vn")
	r.cmd(501, "5.5.2", "MAIL FROM:<a\x00b@bocongan.gov.vn>")
	r.cmd(250, "", "MAIL FROM:<vanthu@bocongan.gov.vn>")
	r.cmd(501, "5.5.2", "RCPT TO:<%s\x00x>", mai)
	r.cmd(501, "5.5.2", "RCPT TO:<%s\x01>", mai)
	r.cmd(250, "", "RCPT TO:<%s>", mai)
	r.data(250, "2.0.0", message(remote, mai, "ok", "ok"))
	if n := len(e.inbox(mai)); n != 1 {
		t.Errorf("%d messages delivered, want 1", n)
	}
}

// TestNULInMessages: NUL in a header is refused on MX and submission; in a
// body it is refused on submission and stored byte for byte on MX
// (RFC 5322 3.5, 4.1).
func TestNULInMessages(t *testing.T) {
	e := newEnv(t, envOptions{})
	inHeader := []byte("From: <" + remote + ">\r\nSubject: x\x00y\r\nTo: <" + mai + ">\r\n\r\nbody\r\n")
	inBody := []byte("From: <" + remote + ">\r\nSubject: x\r\nTo: <" + mai + ">\r\n\r\nbin\x00ary\r\n")
	mx := func(msg []byte, code int, enh string) {
		r := dialRaw(t, e.mx, nil)
		r.ehlo()
		r.cmd(250, "", "MAIL FROM:<%s>", remote)
		r.cmd(250, "", "RCPT TO:<%s>", mai)
		r.data(code, enh, msg)
	}
	mx(inHeader, 554, "5.6.0")
	mx(inBody, 250, "2.0.0")
	got := e.inbox(mai)
	if len(got) != 1 || !bytes.HasSuffix(got[0], inBody) {
		t.Fatalf("MX body with NUL not stored as received: %d messages", len(got))
	}
	for _, msg := range [][]byte{
		bytes.ReplaceAll(inHeader, []byte(remote), []byte(thanh)),
		bytes.ReplaceAll(inBody, []byte(remote), []byte(thanh)),
	} {
		err := submit(t, e, []string{mai}, msg)
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != 554 || se.EnhancedCode != (smtp.EnhancedCode{5, 6, 0}) {
			t.Errorf("submission with NUL: %v, want 554 5.6.0", err)
		}
	}
	if n := len(e.inbox(mai)); n != 1 {
		t.Errorf("%d messages, want only the MX one", n)
	}
}

// TestSubmissionDisplayNameAndSender: a display name that writes out
// another address (plain or RFC 2047-encoded) and a Sender field naming
// another mailbox are refused with 550 5.7.1; the official's own address
// in the name is fine (issue 15 §3).
func TestSubmissionDisplayNameAndSender(t *testing.T) {
	e := newEnv(t, envOptions{})
	build := func(from, sender string) []byte {
		h := "From: " + from + "\r\n"
		if sender != "" {
			h += "Sender: " + sender + "\r\n"
		}
		return []byte(h + "To: <" + mai + ">\r\nSubject: thu\r\nDate: Mon, 02 Jun 2025 09:15:04 +0700\r\nMessage-ID: <1@t>\r\n\r\nbody\r\n")
	}
	for _, tc := range []struct {
		from, sender string
		ok           bool
	}{
		{`"Nguyễn Ngọc Thành" <` + thanh + `>`, "", true},
		{`"` + thanh + `" <` + thanh + `>`, "", true},
		{`"Thành (` + thanhAlias + `)" <` + thanh + `>`, "", true},
		{`"quantri@khanhhoa.gov.vn" <` + thanh + `>`, "", false},
		{`=?utf-8?B?cXVhbnRyaUBraGFuaGhvYS5nb3Yudm4=?= <` + thanh + `>`, "", false}, // "quantri@khanhhoa.gov.vn"
		{`"Ban quản trị quantri＠khanhhoa.gov.vn" <` + thanh + `>`, "", false},
		{`<` + thanh + `>`, "quantri@" + domain, false},
		{`<` + thanh + `>`, `"quantri@khanhhoa.gov.vn" <` + thanh + `>`, false},
		{`<` + thanh + `>`, thanhAlias, true},
	} {
		err := submit(t, e, []string{mai}, build(tc.from, tc.sender))
		var se *smtp.SMTPError
		refused := errors.As(err, &se) && se.Code == 550 && se.EnhancedCode == (smtp.EnhancedCode{5, 7, 1})
		if tc.ok && err != nil || !tc.ok && !refused {
			t.Errorf("From %s, Sender %q: %v (want accepted %v)", tc.from, tc.sender, err, tc.ok)
		}
	}
}

// TestSubmissionAddsMessageIDAndDate: RFC 6409 8.2, 8.3.
func TestSubmissionAddsMessageIDAndDate(t *testing.T) {
	e := newEnv(t, envOptions{})
	msg := []byte("From: <" + thanh + ">\r\nTo: <" + mai + ">\r\nSubject: khong co ngay\r\n\r\nbody\r\n")
	if err := submit(t, e, []string{mai}, msg); err != nil {
		t.Fatal(err)
	}
	got := string(e.inbox(mai)[0])
	if !regexp.MustCompile(`\r\nMessage-ID: <[0-9]{14}\.[0-9a-f]+@`+regexp.QuoteMeta(testHost)+`>\r\n`).MatchString(got) ||
		!regexp.MustCompile(`\r\nDate: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0700\r\n`).MatchString(got) {
		t.Errorf("Message-ID or Date not added:\n%s", got)
	}
	if !strings.HasSuffix(got, string(msg)) {
		t.Error("the message itself changed")
	}
	// A message that has both keeps its own.
	own := message(thanh, mai, "co ngay", "body")
	if err := submit(t, e, []string{mai}, own); err != nil {
		t.Fatal(err)
	}
	if got := string(e.inbox(mai)[1]); strings.Count(got, "Message-ID:") != 1 || strings.Count(got, "Date:") != 1 {
		t.Errorf("fields added to a message that had them:\n%s", got)
	}
}

// smallDisk mounts a tmpfs of size bytes for the test (root only; CI runs
// as root).
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a small tmpfs (needs root, as in CI): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// TestDiskFull: a message that does not fit on the disk gets the temporary
// 452 4.3.1 "mail system full" (RFC 3463), not a local-error 451, and is
// not half-stored; once there is room again, mail flows (issue 15 §6).
func TestDiskFull(t *testing.T) {
	disk := smallDisk(t, 1<<20)
	e := newEnv(t, envOptions{storeDir: disk})
	if err := submit(t, e, []string{mai}, message(thanh, mai, "nho", "vua")); err != nil {
		t.Fatalf("small message: %v", err)
	}
	for _, big := range []int{700 << 10, 2 << 20} {
		err := submit(t, e, []string{mai}, message(thanh, mai, "lon", filler('x', big)))
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != 452 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 1}) {
			t.Errorf("%d bytes on a full disk: %v, want 452 4.3.1", big, err)
		}
	}
	if n := len(e.inbox(mai)); n != 1 {
		t.Errorf("%d messages in the inbox, want 1", n)
	}
	if err := submit(t, e, []string{mai}, message(thanh, mai, "nho 2", "van chay")); err != nil {
		t.Errorf("small message after the failures: %v", err)
	}
}

// TestDeepMIMERefused: 10,000 nested multiparts on the unauthenticated MX
// port get 554 5.6.0 at once instead of minutes of parsing (issue 15 §1).
func TestDeepMIMERefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	var b strings.Builder
	b.WriteString("From: <" + remote + ">\r\nTo: <" + mai + ">\r\nSubject: nest\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
	for i := 1; i < 10000; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i-1, i)
	}
	b.WriteString("--b9999\r\n\r\nhello\r\n")
	for i := 9999; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	start := time.Now()
	r := dialRaw(t, e.mx, nil)
	r.ehlo()
	r.cmd(250, "", "MAIL FROM:<%s>", remote)
	r.cmd(250, "", "RCPT TO:<%s>", mai)
	r.data(554, "5.6.0", []byte(b.String()))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refusal took %v", d)
	}
	if n := len(e.inbox(mai)); n != 0 {
		t.Errorf("%d messages stored", n)
	}
}
