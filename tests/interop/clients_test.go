package interop

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

type fetched struct {
	UID   int      `json:"uid"`
	Flags []string `json:"flags"`
	Raw   []byte   `json:"raw"`
}

// fetchAll lists a folder through Python's imaplib over implicit TLS.
func (s *system) fetchAll(a account, folder string) []fetched {
	s.t.Helper()
	outp, err := s.py("imap-fetch-all", "--addr", s.addrs["imaps"], "--user", a.Address, "--password", a.Password, "--folder", folder)
	if err != nil {
		s.t.Fatalf("imaplib fetch: %v\n%s", err, outp)
	}
	var r struct {
		Messages []fetched `json:"messages"`
	}
	if err := json.Unmarshal([]byte(outp), &r); err != nil {
		s.t.Fatalf("imaplib output %q: %v", outp, err)
	}
	return r.Messages
}

// waitFor polls fetchAll until cond holds or 10s pass.
func (s *system) waitFor(a account, folder string, cond func([]fetched) bool) []fetched {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs := s.fetchAll(a, folder)
		if cond(msgs) || time.Now().After(deadline) {
			return msgs
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// mimeWithAttachment builds a CRLF message with a Vietnamese subject and a
// random binary attachment; it returns the message and the attachment bytes.
func mimeWithAttachment(t *testing.T, from, to, subject string, size int) ([]byte, []byte) {
	t.Helper()
	att := make([]byte, size)
	rand.Read(att)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Transfer-Encoding", "8bit")
	pw, _ := mw.CreatePart(h)
	io.WriteString(pw, "Kính gửi anh chị,\r\nĐề nghị xem tài liệu đính kèm.\r\n.dòng bắt đầu bằng dấu chấm\r\n")
	h = textproto.MIMEHeader{}
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="baocao.bin"`)
	h.Set("Content-Transfer-Encoding", "base64")
	pw, _ = mw.CreatePart(h)
	enc := base64.StdEncoding.EncodeToString(att)
	for len(enc) > 76 {
		io.WriteString(pw, enc[:76]+"\r\n")
		enc = enc[76:]
	}
	io.WriteString(pw, enc+"\r\n")
	mw.Close()
	var msg bytes.Buffer
	fmt.Fprintf(&msg, "From: %s\r\nTo: %s\r\nSubject: =?UTF-8?B?%s?=\r\nDate: %s\r\nMessage-ID: <%d.interop@khanhhoa.gov.vn>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=%q\r\n\r\n",
		from, to, base64.StdEncoding.EncodeToString([]byte(subject)), time.Now().Format(time.RFC1123Z), time.Now().UnixNano(), mw.Boundary())
	msg.Write(body.Bytes())
	return msg.Bytes(), att
}

// storedSuffixEqual reports whether the stored message is the sent message
// with only trace headers (Received, Return-Path) prepended.
func storedSuffixEqual(stored, sent []byte) bool {
	if !bytes.HasSuffix(stored, sent) {
		return false
	}
	prefix := string(stored[:len(stored)-len(sent)])
	for _, line := range strings.Split(prefix, "\r\n") {
		if line == "" || strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") ||
			strings.HasPrefix(line, "Received:") || strings.HasPrefix(line, "Return-Path:") {
			continue
		}
		return false
	}
	return strings.Contains(prefix, "Received:")
}

func TestMsmtpSubmissionArrivesByteForByte(t *testing.T) {
	requireTool(t, "msmtp")
	s := startSystem(t, "")
	from, to := s.user(0), s.user(1)
	msg, _ := mimeWithAttachment(t, from.Address, to.Address, "Báo cáo tháng 11 — Sở KH&CN", 200_000)

	host, port := hostPort(s.addrs["submission"])
	conf := filepath.Join(t.TempDir(), "msmtprc")
	os.WriteFile(conf, []byte(fmt.Sprintf(`account default
host %s
port %s
tls on
tls_starttls on
tls_trust_file %s
auth plain
user %s
password %s
from %s
`, host, port, s.certFile, from.Address, from.Password, from.Address)), 0o600)
	if out, err := run(t, msg, "msmtp", "-C", conf, to.Address); err != nil {
		t.Fatalf("msmtp: %v\n%s", err, out)
	}
	msgs := s.fetchAll(to, "INBOX")
	if len(msgs) != 1 {
		t.Fatalf("INBOX of %s has %d messages, want 1", to.Address, len(msgs))
	}
	if !storedSuffixEqual(msgs[0].Raw, msg) {
		t.Errorf("stored message differs from the one sent (beyond trace headers); first 400 bytes:\n%.400s", msgs[0].Raw)
	}
}

func TestSwaksSubmissionWithAttachment(t *testing.T) {
	requireTool(t, "swaks")
	s := startSystem(t, "")
	from, to := s.user(0), s.user(2)
	att := filepath.Join(t.TempDir(), "congvan.pdf")
	content := bytes.Repeat([]byte("%PDF-1.4 công văn số 123/UBND\n"), 1000)
	os.WriteFile(att, content, 0o600)
	out, err := run(t, nil, "swaks", "--server", s.addrs["submission"], "--tls",
		"--auth", "PLAIN", "--auth-user", from.Address, "--auth-password", from.Password,
		"--from", from.Address, "--to", to.Address,
		"--header", "Subject: swaks interop", "--body", "Noi dung thu", "--attach", "@"+att)
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	if !strings.Contains(out, "250") {
		t.Fatalf("swaks transcript has no 250:\n%s", out)
	}
	msgs := s.fetchAll(to, "INBOX")
	if len(msgs) != 1 {
		t.Fatalf("INBOX has %d messages, want 1", len(msgs))
	}
	raw := string(msgs[0].Raw)
	if !strings.Contains(raw, "Subject: swaks interop") {
		t.Errorf("subject missing in stored message")
	}
	if !strings.Contains(raw, base64.StdEncoding.EncodeToString(content)[:60]) {
		t.Errorf("attachment not found base64-encoded in stored message")
	}
}

func TestPlaintextAuthRefused(t *testing.T) {
	s := startSystem(t, "")
	u := s.user(0)
	out, err := s.py("smtp-auth-plaintext", "--addr", s.addrs["submission"], "--user", u.Address, "--password", u.Password)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var smtpRes struct {
		Features []string `json:"features"`
		Code     int      `json:"code"`
	}
	json.Unmarshal([]byte(out), &smtpRes)
	if slices.Contains(smtpRes.Features, "auth") || smtpRes.Code < 500 {
		t.Errorf("submission before STARTTLS: features %v, AUTH answered %d; want no AUTH offered and a 5xx refusal", smtpRes.Features, smtpRes.Code)
	}
	if !slices.Contains(smtpRes.Features, "starttls") {
		t.Errorf("STARTTLS not offered on submission: %v", smtpRes.Features)
	}

	out, err = s.py("imap-login-plaintext", "--addr", s.addrs["imap"], "--user", u.Address, "--password", u.Password)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var imapRes struct {
		Capabilities []string `json:"capabilities"`
		Result       string   `json:"result"`
	}
	json.Unmarshal([]byte(out), &imapRes)
	if imapRes.Result == "OK" || !slices.Contains(imapRes.Capabilities, "LOGINDISABLED") || !slices.Contains(imapRes.Capabilities, "STARTTLS") {
		t.Errorf("IMAP before STARTTLS: caps %v, LOGIN result %q; want LOGINDISABLED+STARTTLS and a refusal", imapRes.Capabilities, imapRes.Result)
	}
}

func TestPythonSmtplibImaplibPoplib(t *testing.T) {
	s := startSystem(t, "")
	from, to := s.user(0), s.user(3)
	// Another ministry's message (one claiming our own domain from outside
	// would be refused as spoofed, see TestInboundAuthentication).
	msg, _ := mimeWithAttachment(t, "vanthu@bocongan.gov.vn", to.Address, "Giấy mời họp", 5000)
	first, _ := mimeWithAttachment(t, from.Address, to.Address, "Thư qua cổng 465", 100)
	// Submission over implicit TLS (port 465 semantics).
	if out, err := runPy(s, first, "smtp-send", "--addr", s.addrs["submissions"], "--implicit-tls",
		"--user", from.Address, "--password", from.Password, "--sender", from.Address, "--rcpt", to.Address); err != nil {
		t.Fatalf("smtplib submissions send: %v\n%s", err, out)
	}
	// MX delivery without authentication, as another server would.
	cmdMsg := append([]byte(nil), msg...)
	out, err := runPy(s, cmdMsg, "smtp-send", "--addr", s.addrs["smtp"], "--starttls", "--sender", "vanthu@bocongan.gov.vn", "--rcpt", to.Address)
	if err != nil {
		t.Fatalf("smtplib MX send: %v\n%s", err, out)
	}
	// Relay attempt through MX is refused.
	out, err = runPy(s, cmdMsg, "smtp-send", "--addr", s.addrs["smtp"], "--sender", "spam@example.com", "--rcpt", "victim@example.org")
	if err == nil || !strings.Contains(out, "554") {
		t.Errorf("relay through MX: want 554 refusal, got err=%v out=%s", err, out)
	}
	// Unknown local user.
	out, err = runPy(s, cmdMsg, "smtp-send", "--addr", s.addrs["smtp"], "--sender", "a@example.com", "--rcpt", "khongco.snv@khanhhoa.gov.vn")
	if err == nil || !strings.Contains(out, "550") || !strings.Contains(out, "5.1.1") {
		t.Errorf("unknown user: want 550 5.1.1, got err=%v out=%s", err, out)
	}

	msgs := s.fetchAll(to, "INBOX")
	if len(msgs) != 2 {
		t.Fatalf("INBOX has %d messages, want 2", len(msgs))
	}
	if !storedSuffixEqual(msgs[1].Raw, msg) {
		t.Errorf("MX-delivered message altered beyond trace headers")
	}

	// POP3 with STLS: list both, delete the first, then IMAP sees one left.
	out, err = s.py("pop3", "--addr", s.addrs["pop3"], "--user", to.Address, "--password", to.Password, "--dele", "1")
	if err != nil {
		t.Fatalf("poplib: %v\n%s", err, out)
	}
	var pr struct {
		Count    int      `json:"count"`
		UIDL     []string `json:"uidl"`
		Messages [][]byte `json:"messages"`
	}
	json.Unmarshal([]byte(out), &pr)
	if pr.Count != 2 || len(pr.UIDL) != 2 || len(pr.Messages) != 2 {
		t.Fatalf("POP3 saw %d messages (%v), want 2", pr.Count, pr.UIDL)
	}
	if !bytes.Equal(pr.Messages[1], msgs[1].Raw) {
		t.Errorf("POP3 RETR differs from IMAP BODY[] for the same message")
	}
	left := s.fetchAll(to, "INBOX")
	if len(left) != 1 || left[0].UID != msgs[1].UID {
		t.Errorf("after POP3 DELE 1 + QUIT: INBOX has %d messages, want only UID %d", len(left), msgs[1].UID)
	}
	// Implicit TLS POP3 sees the remaining message.
	out, err = s.py("pop3", "--addr", s.addrs["pop3s"], "--implicit-tls", "--user", to.Address, "--password", to.Password)
	if err != nil || !strings.Contains(out, `"count": 1`) {
		t.Errorf("POP3S: %v %s", err, out)
	}
}

func runPy(s *system, stdin []byte, args ...string) (string, error) {
	s.t.Helper()
	return run(s.t, stdin, "python3", append([]string{"testdata/client.py", "--cafile", s.certFile}, args...)...)
}

func TestIMAPSpecialUseFolders(t *testing.T) {
	s := startSystem(t, "")
	u := s.user(0)
	out, err := s.py("imap-list", "--addr", s.addrs["imap"], "--starttls", "--user", u.Address, "--password", u.Password)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{`\Sent`, `\Drafts`, `\Trash`, `\Junk`, `\Archive`, `INBOX`} {
		if !strings.Contains(out, want) {
			t.Errorf("LIST lacks %s: %s", want, out)
		}
	}
}
