package smtpd

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"mime/quotedprintable"
	"strings"
	"testing"

	"congvu/policy"
)

// attachmentMessage builds a multipart/mixed message with a text part and
// one base64 attachment of exactly size bytes, named name (RFC 2231 when
// not ASCII).
func attachmentMessage(from, to, name string, size int) []byte {
	data := make([]byte, size)
	rand.Read(data)
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: Ho so\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\nGui kem ho so.\r\n--b1\r\n"+
		"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename*=utf-8''%s\r\n"+
		"Content-Transfer-Encoding: base64\r\n\r\n", from, to, name)
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--b1--\r\n")
	return b.Bytes()
}

// An attachment of exactly the limit passes when the message limit has the
// default ratio to it (42 to 30: base64 and line breaks), one byte more is
// refused with 552 5.3.4 naming the file (folded to ASCII for the wire) and
// its decoded size. (The regulation's 30 MiB itself goes through the real
// binary in tests/interop, TestAttachmentOf30MB: too slow under -race.)
func TestAttachmentLimitAtTheBoundary(t *testing.T) {
	e := newEnv(t, envOptions{maxAttachmentBytes: 3 << 20, maxMessageBytes: DefaultMaxMessageBytes / 10})
	r := dialRaw(t, e.mx, nil)
	r.ehlo()
	ok := attachmentMessage(remote, thanh, "ho-so.pdf", 3<<20)
	if len(ok) <= 4<<20 {
		t.Fatalf("a 3 MiB attachment is only %d bytes on the wire", len(ok))
	}
	r.cmd(250, "", "MAIL FROM:<%s> SIZE=%d", remote, len(ok))
	r.cmd(250, "", "RCPT TO:<%s>", thanh)
	r.data(250, "2.0.0", ok)
	big := attachmentMessage(remote, thanh, "b%C3%A1o-c%C3%A1o.pdf", 3<<20+1)
	r.cmd(250, "", "MAIL FROM:<%s>", remote)
	r.cmd(250, "", "RCPT TO:<%s>", thanh)
	msg := r.data(552, "5.3.4", big)
	for _, want := range []string{`"bao-cao.pdf"`, "3.0 MB after decoding", "limit of 3 MB per attachment", "Tep dinh kem"} {
		if !strings.Contains(msg, want) {
			t.Errorf("reply %q lacks %q", msg, want)
		}
	}
	if n := len(e.inbox(thanh)); n != 1 {
		t.Errorf("INBOX has %d messages, want the 3 MiB one only", n)
	}
}

// Every leaf part counts after decoding, quoted-printable and parts of a
// forwarded message included; the limit applies on submission too.
func TestAttachmentLimitDecodedParts(t *testing.T) {
	e := newEnv(t, envOptions{maxAttachmentBytes: 1000})
	r := dialRaw(t, e.mx, nil)
	r.ehlo()
	send := func(code int, enh string, msg string) string {
		t.Helper()
		r.cmd(250, "", "MAIL FROM:<%s>", remote)
		r.cmd(250, "", "RCPT TO:<%s>", thanh)
		return r.data(code, enh, []byte(strings.ReplaceAll(msg, "\n", "\r\n")))
	}
	// 1000 bytes of base64-decoded data: 1336 on the wire, accepted.
	send(250, "2.0.0", string(attachmentMessage(remote, thanh, "a.bin", 1000)))
	// Quoted-printable: 1001 '=' characters are 3003 bytes on the wire.
	var qp bytes.Buffer
	w := quotedprintable.NewWriter(&qp)
	w.Write(bytes.Repeat([]byte("="), 1001))
	w.Close()
	msg := send(552, "5.3.4", "From: <"+remote+">\nSubject: x\nMIME-Version: 1.0\nContent-Type: text/plain; name=\"bang.txt\"\n"+
		"Content-Transfer-Encoding: quoted-printable\n\n"+strings.ReplaceAll(qp.String(), "\r\n", "\n")+"\n")
	if !strings.Contains(msg, `"bang.txt"`) {
		t.Errorf("QP reply %q", msg)
	}
	// Inside a forwarded message.
	inner := strings.ReplaceAll(string(attachmentMessage(remote, thanh, "trong.pdf", 1001)), "\r\n", "\n")
	msg = send(552, "5.3.4", "From: <"+remote+">\nSubject: Fwd\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=outer\n\n"+
		"--outer\nContent-Type: message/rfc822\n\n"+inner+"\n--outer--\n")
	if !strings.Contains(msg, `"trong.pdf"`) {
		t.Errorf("forwarded reply %q", msg)
	}
	// A body that is plain text counts too.
	send(552, "5.3.4", "From: <"+remote+">\nSubject: x\n\n"+filler('x', 1200))

	// Deep nesting cannot hide a part: below the depth checked, the rest
	// is counted whole.
	var deep strings.Builder
	deep.WriteString("From: <" + remote + ">\nSubject: deep\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=d0\n\n")
	for i := range maxAttachmentDepth + 2 {
		fmt.Fprintf(&deep, "--d%d\nContent-Type: multipart/mixed; boundary=d%d\n\n", i, i+1)
	}
	fmt.Fprintf(&deep, "--d%d\nContent-Type: text/plain\n\n%s", maxAttachmentDepth+2, filler('y', 1200))
	for i := maxAttachmentDepth + 2; i >= 0; i-- {
		fmt.Fprintf(&deep, "--d%d--\n", i)
	}
	send(552, "5.3.4", deep.String())

	// Submission.
	s := dialRaw(t, e.subs, e.client)
	s.ehlo()
	s.authPlain(235, "2.0.0", thanh, thanhPass)
	s.cmd(250, "", "MAIL FROM:<%s>", thanh)
	s.cmd(250, "", "RCPT TO:<%s>", mai)
	s.data(552, "5.3.4", attachmentMessage(thanh, mai, "lon.pdf", 2000))
	if n := len(e.inbox(mai)); n != 0 {
		t.Errorf("mai got %d messages", n)
	}
}

// FuzzAttachmentCounter: any message, however malformed, is walked without
// panicking, and a part reported too big really is over the limit.
func FuzzAttachmentCounter(f *testing.F) {
	f.Add(attachmentMessage(remote, thanh, "a.pdf", 300))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: message/rfc822\r\n\r\n" +
		"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=3D=3D=\r\n--x--\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=\"a\"\r\n\r\n--a\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\n"))
	f.Add([]byte("Content-Transfer-Encoding: base64\r\n\r\n!!!!QUJD\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		c := attachmentCounter{limit: 100}
		c.entity(bufio.NewReader(bytes.NewReader(msg)), "", 0)
		if c.tooBig != nil && c.tooBig.size <= 100 {
			t.Fatalf("part %+v reported over a limit it is under", c.tooBig)
		}
	})
}

// The attachment walk that enforces the size limit also tells the usage
// counters whether a message has an attachment (so the policy engine does
// not read it again): it must answer as policy.HasAttachment, the
// counters' own rule, for every shape of message.
func TestAttachmentFindingAgreesWithPolicy(t *testing.T) {
	e := newEnv(t, envOptions{maxAttachmentBytes: 3 << 20})
	sess := &session{srv: e.srv}
	msgs := map[string]string{
		"plain":                     "Subject: a\r\n\r\nNoi dung.\r\n",
		"filename on the top level": "Subject: a\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n\r\n%PDF-1.4\r\n",
		"mixed":                     string(attachmentMessage(remote, thanh, "ho-so.pdf", 100)),
		"inline image with a name": "Subject: a\r\nContent-Type: multipart/related; boundary=\"r\"\r\n\r\n--r\r\n" +
			"Content-Type: text/html\r\n\r\n<p>x</p>\r\n--r\r\nContent-Type: image/png; name=\"logo.png\"\r\nContent-Disposition: inline\r\n\r\nPNG\r\n--r--\r\n",
		"alternative only": "Subject: a\r\nContent-Type: multipart/alternative; boundary=\"x\"\r\n\r\n--x\r\n" +
			"Content-Type: text/plain\r\n\r\nA\r\n--x\r\nContent-Type: text/html\r\n\r\n<p>A</p>\r\n--x--\r\n",
		"nested multipart": "Subject: a\r\nContent-Type: multipart/mixed; boundary=\"o\"\r\n\r\n--o\r\n" +
			"Content-Type: multipart/alternative; boundary=\"i\"\r\n\r\n--i\r\nContent-Type: text/plain\r\n\r\nA\r\n--i--\r\n" +
			"--o\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"x.bin\"\r\n\r\nxx\r\n--o--\r\n",
		"forwarded inline, attachment inside": "Subject: a\r\nContent-Type: multipart/mixed; boundary=\"o\"\r\n\r\n--o\r\n" +
			"Content-Type: text/plain\r\n\r\nFwd\r\n--o\r\nContent-Type: message/rfc822\r\n\r\n" +
			"Subject: b\r\nContent-Type: multipart/mixed; boundary=\"n\"\r\n\r\n--n\r\nContent-Type: text/plain\r\n\r\nB\r\n" +
			"--n\r\nContent-Disposition: attachment; filename=\"in.pdf\"\r\n\r\nPDF\r\n--n--\r\n--o--\r\n",
		"forwarded as attachment": "Subject: a\r\nContent-Type: multipart/mixed; boundary=\"o\"\r\n\r\n--o\r\n" +
			"Content-Type: text/plain\r\n\r\nFwd\r\n--o\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"thu.eml\"\r\n\r\n" +
			"Subject: b\r\n\r\nB\r\n--o--\r\n",
	}
	for name, raw := range msgs {
		raw = strings.ReplaceAll(raw, "\r\n", "\n")
		raw = strings.ReplaceAll(raw, "\n", "\r\n")
		sp := &spool{mem: []byte(raw), size: int64(len(raw))}
		got, err := sess.checkAttachments(sp)
		if err != nil || got == nil {
			t.Errorf("%s: %v, %v", name, got, err)
			continue
		}
		if want := policy.HasAttachment(strings.NewReader(raw)); *got != want {
			t.Errorf("%s: the attachment walk says %v, the usage counters' rule %v", name, *got, want)
		}
	}
}
