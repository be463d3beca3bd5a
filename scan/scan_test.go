package scan

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"congvu/internal/mailerr"
	"congvu/resolve/dnstest"
	"congvu/scan/scantest"
)

// zipped returns a zip archive holding one file.
func zipped(t *testing.T, name, content string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, content)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withAttachment is a Vietnamese official's message with one attachment.
func withAttachment(name, ctype string, data []byte) string {
	b64 := base64.StdEncoding.EncodeToString(data)
	var lines []string
	for len(b64) > 76 {
		lines, b64 = append(lines, b64[:76]), b64[76:]
	}
	lines = append(lines, b64)
	return "From: <vanthu@bocongan.gov.vn>\r\nTo: <thanhnn.skhcn@khanhhoa.gov.vn>\r\nSubject: Cong van so 12\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Kính gửi Sở KH&CN, xin gửi công văn đính kèm.\r\n--b\r\nContent-Type: " + ctype + "; name=\"" + name +
		"\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"" + name + "\"\r\n\r\n" +
		strings.Join(lines, "\r\n") + "\r\n--b--\r\n"
}

func opener(s string) func() io.Reader { return func() io.Reader { return strings.NewReader(s) } }

// TestClamAV: the EICAR file inside a zip attachment is found by a real
// clamd; a clean message passes; with clamd stopped the message is
// deferred (or, configured so, delivered marked unscanned) — never a
// silent pass.
func TestClamAV(t *testing.T) {
	clamd := scantest.StartClamd(t)
	eicarZip := withAttachment("congvan.zip", "application/zip", zipped(t, "congvan.txt", scantest.EICAR))
	clean := withAttachment("congvan.zip", "application/zip", zipped(t, "congvan.txt", "Công văn số 12/SKHCN"))
	s := New(Config{ClamAV: &ClamAV{Addr: clamd.Addr}})
	ctx := context.Background()

	v := s.Scan(ctx, Request{Open: opener(eicarZip)})
	if v.Action != Reject || v.Err.SMTPCode != 554 || v.Err.Enhanced != [3]int{5, 7, 1} ||
		!strings.Contains(v.Err.Message, scantest.EICARSignature) || v.Rule != RuleVirus {
		t.Fatalf("EICAR in a zip: %+v", v)
	}
	if !strings.Contains(v.Err.MessageVI, "mã độc") {
		t.Errorf("no Vietnamese reason: %q", v.Err.MessageVI)
	}
	if v := s.Scan(ctx, Request{Open: opener(clean)}); v.Action != Deliver || !strings.Contains(string(v.Header), "clean") {
		t.Fatalf("clean message: %+v", v)
	}

	clamd.Stop()
	v = s.Scan(ctx, Request{Open: opener(clean)})
	if v.Action != Defer || v.Err.SMTPCode != 451 || !errors.Is(v.Err, errScannerDown) {
		t.Fatalf("clamd down: %+v, want 451 4.7.1", v)
	}
	lax := New(Config{ClamAV: &ClamAV{Addr: clamd.Addr}, ClamAVUnavailable: OnUnavailableAccept})
	if v := lax.Scan(ctx, Request{Open: opener(eicarZip)}); v.Action != Deliver || !strings.Contains(string(v.Header), "X-Congvu-Virus-Scan: unavailable") {
		t.Fatalf("clamd down, accept-and-mark: %+v", v)
	}
}

// TestRspamd: GTUBE is rejected; a message whose link text shows one
// domain while it leads to another scores as phishing and goes to Junk
// with the reason; an ordinary message is delivered with its score.
func TestRspamd(t *testing.T) {
	dns, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dns.Close()
	rs := scantest.StartRspamd(t, scantest.RspamdOptions{DNS: dns.Addr})
	s := New(Config{Rspamd: &Rspamd{URL: "http://" + rs.Addr, Timeout: 30 * time.Second}})
	ctx := context.Background()
	// A loopback client, as in the interop tests: rspamd skips the
	// reverse-DNS and HELO heuristics that would need real DNS.
	env := Envelope{IP: "127.0.0.1", HELO: "mail.bocongan.gov.vn", From: "vanthu@bocongan.gov.vn", Rcpts: []string{"thanhnn.skhcn@khanhhoa.gov.vn"}}

	gtube := "From: <spam@example.net>\r\nTo: <thanhnn.skhcn@khanhhoa.gov.vn>\r\nSubject: offer\r\n\r\n" +
		"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"
	v := s.Scan(ctx, Request{Envelope: env, Open: opener(gtube)})
	if v.Action != Reject || v.Err.SMTPCode != 550 || v.Rule != RuleSpam {
		t.Fatalf("GTUBE: %+v", v)
	}

	date := time.Now().Format(time.RFC1123Z)
	phish := "From: \"Bo phan CNTT\" <it@khanhhoa-gov.example>\r\nTo: <thanhnn.skhcn@khanhhoa.gov.vn>\r\nSubject: Xac nhan mat khau\r\n" +
		"Date: " + date + "\r\nMessage-ID: <20251201.1@khanhhoa-gov.example>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
		"<html><body><p>Hộp thư của bạn sắp bị khoá. Đăng nhập tại " +
		"<a href=\"http://login.khanhhoa-verify.example/owa\">https://mail.khanhhoa.gov.vn/owa</a> để xác nhận.</p></body></html>\r\n"
	v = s.Scan(ctx, Request{Envelope: env, Open: opener(phish)})
	h := string(v.Header)
	if v.Action != Junk || !strings.Contains(h, "X-Congvu-Junk-Reason: rspamd: nghi lừa đảo") || !strings.Contains(h, "PHISHING") ||
		!strings.Contains(h, "X-Spam-Status: Yes") {
		t.Fatalf("phishing: %+v\n%s", v, h)
	}

	ok := "From: <vanthu@bocongan.gov.vn>\r\nTo: <thanhnn.skhcn@khanhhoa.gov.vn>\r\nSubject: Moi hop\r\nMessage-ID: <1@bocongan.gov.vn>\r\n" +
		"Date: " + date + "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nKính mời dự họp lúc 8 giờ.\r\n"
	v = s.Scan(ctx, Request{Envelope: env, Open: opener(ok)})
	if v.Action != Deliver || !strings.Contains(string(v.Header), "X-Spam-Status: No") {
		t.Fatalf("ordinary message: %+v\n%s", v, v.Header)
	}
	// Submitted mail carries no scores out; a reject still refuses it.
	if v := s.Scan(ctx, Request{Envelope: env, Submission: true, Open: opener(ok)}); v.Action != Deliver || len(v.Header) != 0 {
		t.Fatalf("submitted: %+v", v)
	}
	if v := s.Scan(ctx, Request{Envelope: env, Submission: true, Open: opener(gtube)}); v.Action != Reject {
		t.Fatalf("submitted GTUBE: %+v", v)
	}

	rs.Stop()
	if v := s.Scan(ctx, Request{Envelope: env, Open: opener(ok)}); v.Action != Deliver || !strings.Contains(string(v.Header), "unchecked") {
		t.Fatalf("rspamd down (accept): %+v", v)
	}
	strict := New(Config{Rspamd: &Rspamd{URL: "http://" + rs.Addr}, RspamdUnavailable: OnUnavailableTempfail})
	if v := strict.Scan(ctx, Request{Envelope: env, Open: opener(ok)}); v.Action != Defer || !errors.Is(v.Err, mailerr.ErrInternal) && v.Err.SMTPCode != 451 {
		t.Fatalf("rspamd down (tempfail): %+v", v)
	}
}

func TestParseClamdReply(t *testing.T) {
	for reply, want := range map[string]string{"stream: OK": "", "stream: Eicar-Test.UNOFFICIAL FOUND": "Eicar-Test.UNOFFICIAL",
		"stream: Win.Test.EICAR_HDB-1 FOUND": "Win.Test.EICAR_HDB-1"} {
		if got, err := parseClamdReply(reply); err != nil || got != want {
			t.Errorf("%q: %q %v", reply, got, err)
		}
	}
	if _, err := parseClamdReply("INSTREAM size limit exceeded. ERROR"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("size limit: %v", err)
	}
}
