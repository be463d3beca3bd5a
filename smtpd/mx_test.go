package smtpd

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"congvu/directory"
)

func TestMXExtensions(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := dialRaw(t, e.mx, nil)
	exts := r.ehlo()
	for _, want := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING", "STARTTLS", "SIZE 44040192"} {
		if !slices.Contains(exts, want) {
			t.Errorf("EHLO lacks %q: %v", want, exts)
		}
	}
	r.startTLS(e.client)
	for _, ext := range r.ehlo() {
		if strings.HasPrefix(ext, "AUTH") || ext == "STARTTLS" {
			t.Errorf("MX after STARTTLS offers %q", ext)
		}
	}
	r.cmd(503, "5.5.1", "AUTH PLAIN %s", "AHRlc3QAdGVzdA==")
}

func TestMXRecipientChecks(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := dialRaw(t, e.mx, nil)
	r.ehlo()
	r.cmd(250, "2.0.0", "MAIL FROM:<%s>", remote)
	r.cmd(554, "5.7.1", "RCPT TO:<victim@example.org>")
	r.cmd(550, "5.1.1", "RCPT TO:<khongco.skhcn@%s>", domain)
	r.cmd(550, "5.2.1", "RCPT TO:<%s>", retired)
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", locked) // locked accounts still receive
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", strings.ToUpper(mai))
	msg := message(remote, mai, "Giấy mời họp", "Kính gửi các đồng chí.")
	r.data(250, "2.0.0", msg)
	r.cmd(221, "", "QUIT")

	for _, u := range []string{locked, mai} {
		got := e.inbox(u)
		if len(got) != 1 {
			t.Fatalf("%s INBOX has %d messages, want 1", u, len(got))
		}
		trace := checkStored(t, got[0], msg, remote)
		// Two recipients: no "for" clause (RFC 5321 7.2).
		if strings.Contains(trace, "for <") {
			t.Errorf("Received names a recipient of a multi-recipient message:\n%s", trace)
		}
	}
	if got := e.counter("congvu_smtp_rejections_total", "listener", "mx", "code", "554"); got != 1 {
		t.Errorf("rejections{mx,554} = %v, want 1", got)
	}
	if got := e.counter("congvu_smtp_rejections_total", "listener", "mx", "code", "550"); got != 2 {
		t.Errorf("rejections{mx,550} = %v, want 2", got)
	}
	if got := e.counter("congvu_smtp_messages_accepted_total", "listener", "mx"); got != 1 {
		t.Errorf("accepted{mx} = %v, want 1", got)
	}
	if got := e.counter("congvu_deliveries_total", "result", "ok"); got != 2 {
		t.Errorf("deliveries{ok} = %v, want 2", got)
	}
	if got := e.counter("congvu_connections_total", "proto", "smtp"); got != 1 {
		t.Errorf("connections{smtp} = %v, want 1", got)
	}
}

// TestMXDeliveryOverTLS uses go-smtp's client, as another server would, and
// checks the exact stored bytes and the trace header fields.
func TestMXDeliveryOverTLS(t *testing.T) {
	e := newEnv(t, envOptions{})
	c, err := smtp.DialStartTLS(e.mx, e.client)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := message(remote, thanh, "Công văn số 123/UBND-KT", strings.Repeat("Nội dung công văn.\n", 20000))
	if err := c.SendMail(remote, []string{thanhAlias}, bytes.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	c.Quit()

	got := e.inbox(thanh)
	if len(got) != 1 {
		t.Fatalf("INBOX has %d messages, want 1", len(got))
	}
	trace := checkStored(t, got[0], msg, remote)
	for _, want := range []string{
		"Received: from localhost (", // go-smtp's client says EHLO localhost
		" [127.0.0.1])\r\n",
		"by " + testHost + " with ESMTPS id ",
		"\tfor <" + thanhAlias + ">;\r\n", // single recipient, as addressed
		"(using TLS1.3 with cipher ",
	} {
		if !strings.Contains(trace, want) {
			t.Errorf("trace lacks %q:\n%s", want, trace)
		}
	}
}

func TestMXAliasDedup(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := dialRaw(t, e.mx, nil)
	r.ehlo()
	r.cmd(250, "2.0.0", "MAIL FROM:<%s>", remote)
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", thanhAlias)
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", thanh)
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", strings.ToUpper(thanhAlias))
	msg := message(remote, thanhAlias, "Alias", "x")
	r.data(250, "2.0.0", msg)
	got := e.inbox(thanh)
	if len(got) != 1 {
		t.Fatalf("primary INBOX has %d messages, want exactly 1", len(got))
	}
	// Deduplicated to one recipient: the Received field names it.
	if trace := checkStored(t, got[0], msg, remote); !strings.Contains(trace, "for <"+thanhAlias+">") {
		t.Errorf("trace:\n%s", trace)
	}
}

func TestMXSizeLimits(t *testing.T) {
	e := newEnv(t, envOptions{maxMessageBytes: 10000})
	r := dialRaw(t, e.mx, nil)
	if exts := r.ehlo(); !slices.Contains(exts, "SIZE 10000") {
		t.Errorf("EHLO: %v", exts)
	}
	// RFC 1870 6.1: refused at MAIL when the announced size is too big.
	r.cmd(552, "5.3.4", "MAIL FROM:<%s> SIZE=10001", remote)

	// Sent anyway without SIZE: refused after DATA, nothing stored.
	r.cmd(250, "2.0.0", "MAIL FROM:<%s>", remote)
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", mai)
	r.data(552, "5.3.4", message(remote, mai, "big", filler('x', 12000)))

	// The session goes on; BDAT beyond the limit is refused too.
	r.cmd(250, "2.0.0", "MAIL FROM:<%s>", remote)
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", mai)
	r.bdat(250, "2.0.0", []byte(filler('y', 6000)), false)
	r.bdat(552, "5.3.4", []byte(filler('y', 6000)), true)

	// A message within the limit still goes through on the same session.
	r.cmd(250, "2.0.0", "MAIL FROM:<%s> SIZE=500", remote)
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", mai)
	small := message(remote, mai, "small", "ok")
	r.data(250, "2.0.0", small)
	got := e.inbox(mai)
	if len(got) != 1 {
		t.Fatalf("INBOX has %d messages, want only the small one", len(got))
	}
	checkStored(t, got[0], small, remote)
	if n := e.counter("congvu_smtp_rejections_total", "listener", "mx", "code", "552"); n != 1 {
		// Only the DATA refusal passes through smtpd; MAIL SIZE and BDAT
		// are refused by go-smtp itself.
		t.Errorf("rejections{mx,552} = %v, want 1", n)
	}
}

func TestMXChunking(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := dialRaw(t, e.mx, nil)
	r.ehlo()
	r.startTLS(e.client)
	r.ehlo()
	r.cmd(250, "2.0.0", "MAIL FROM:<%s> BODY=8BITMIME", remote)
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", mai)
	// A message with a line starting with "." and one that is just ".":
	// BDAT carries them unstuffed (RFC 3030 2).
	msg := message(remote, mai, "Báo cáo", ".\r\n..dot\r\nend")
	r.bdat(250, "2.0.0", msg[:100], false)
	r.bdat(250, "2.0.0", msg[100:], false)
	r.bdat(250, "2.0.0", nil, true)
	got := e.inbox(mai)
	if len(got) != 1 {
		t.Fatalf("INBOX has %d messages", len(got))
	}
	checkStored(t, got[0], msg, remote)
}

func TestMXUTF8(t *testing.T) {
	e := newEnv(t, envOptions{})
	c, err := smtp.Dial(e.mx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// An 8-bit header (RFC 6532) and an internationalized sender.
	from := "văn.thư@bộcôngan.vn"
	msg := message(from, mai, "Báo cáo tháng 11 — Sở Khoa học và Công nghệ Khánh Hòa", "Trân trọng kính chào.")
	if err := c.SendMail(from, []string{mai}, bytes.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	got := e.inbox(mai)
	if len(got) != 1 {
		t.Fatalf("INBOX has %d messages", len(got))
	}
	trace := checkStored(t, got[0], msg, from)
	if !strings.Contains(trace, "with UTF8SMTP id") { // RFC 6531 3.7.3
		t.Errorf("trace:\n%s", trace)
	}
	if !bytes.Contains(got[0], []byte("Subject: Báo cáo tháng 11 — Sở Khoa học và Công nghệ Khánh Hòa\r\n")) {
		t.Error("8-bit subject not preserved")
	}
}

func TestMXOverQuota(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := dialRaw(t, e.mx, nil)
	r.ehlo()
	// Fill the 20 000-byte mailbox to about 15 000 bytes.
	r.cmd(250, "2.0.0", "MAIL FROM:<%s>", remote)
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", small)
	r.data(250, "2.0.0", message(remote, small, "fill", filler('a', 14500)))

	// Announced size does not fit: refused at RCPT (RFC 1870 6.2).
	r.cmd(250, "2.0.0", "MAIL FROM:<%s> SIZE=8000", remote)
	r.cmd(552, "5.2.2", "RCPT TO:<%s>", small)
	r.cmd(250, "2.0.0", "RSET")

	// Not announced: the store refuses it at DATA, the only recipient.
	r.cmd(250, "2.0.0", "MAIL FROM:<%s>", remote)
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", small)
	r.data(552, "5.2.2", message(remote, small, "too much", filler('b', 8000)))

	// With another recipient: accepted (mai has it), and the remote sender
	// cannot be notified yet (outbound disabled): logged, never retried.
	r.cmd(250, "2.0.0", "MAIL FROM:<%s>", remote)
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", small)
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", mai)
	r.data(250, "2.0.0", message(remote, small, "partial", filler('c', 8000)))

	if n := len(e.inbox(small)); n != 1 {
		t.Errorf("small INBOX has %d messages, want 1", n)
	}
	if n := len(e.inbox(mai)); n != 1 {
		t.Errorf("mai INBOX has %d messages, want 1", n)
	}
	if n := e.counter("congvu_deliveries_total", "result", "overquota"); n != 2 {
		t.Errorf("deliveries{overquota} = %v, want 2", n)
	}
}

func TestMXDirectoryUnavailable(t *testing.T) {
	var fd *failingDir
	e := newEnv(t, envOptions{wrapDir: func(d directory.Directory) directory.Directory {
		fd = &failingDir{Directory: d}
		return fd
	}})
	r := dialRaw(t, e.mx, nil)
	r.ehlo()
	r.cmd(250, "2.0.0", "MAIL FROM:<%s>", remote)
	fd.down.Store(true)
	// Temporary, never 550: the sender's server retries later.
	r.cmd(451, "4.4.3", "RCPT TO:<%s>", mai)
	r.cmd(451, "4.4.3", "RCPT TO:<khongco.skhcn@%s>", domain)
	fd.down.Store(false)
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", mai)
}

func TestMXMaxRecipients(t *testing.T) {
	e := newEnv(t, envOptions{maxRecipients: 2})
	r := dialRaw(t, e.mx, nil)
	r.ehlo()
	r.cmd(250, "2.0.0", "MAIL FROM:<>") // bounces are welcome on MX
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", mai)
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", thanh)
	r.cmd(452, "4.5.3", "RCPT TO:<%s>", locked) // RFC 5321 4.5.3.1.10
	msg := message("mailer-daemon@example.org", mai, "bounce", "x")
	r.data(250, "2.0.0", msg)
	checkStored(t, e.inbox(mai)[0], msg, "")
}

// TestMXLongLines: lines beyond RFC 5321's 1000 octets are accepted up to
// maxLineLength (real mail has them); beyond, 554 5.6.0 and nothing stored.
func TestMXLongLines(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := dialRaw(t, e.mx, nil)
	r.ehlo()
	r.cmd(250, "2.0.0", "MAIL FROM:<%s>", remote)
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", mai)
	long := message(remote, mai, "long", strings.Repeat("x", 30000))
	r.data(250, "2.0.0", long)
	r.cmd(250, "2.0.0", "MAIL FROM:<%s>", remote)
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", mai)
	r.data(554, "5.6.0", message(remote, mai, "too long", strings.Repeat("x", maxLineLength+10)))
	got := e.inbox(mai)
	if len(got) != 1 {
		t.Fatalf("INBOX has %d messages, want 1", len(got))
	}
	checkStored(t, got[0], long, remote)
}
