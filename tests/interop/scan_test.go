package interop

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"congvu/internal/config"
	"congvu/resolve/dnstest"
	"congvu/scan/scantest"
)

// TestScanningWithClamdAndRspamd runs congvu with Debian's clamd and
// rspamd started by the test (private instances, no network): the EICAR
// file inside a zip attachment is refused on MX with the signature name
// and on submission with a clear reason, both audited; a phishing message
// lands in Junk with its reason and forged verdict fields are dropped;
// with clamd stopped, mail is deferred with 451 4.7.1, never passed
// unscanned (issue 15).
func TestScanningWithClamdAndRspamd(t *testing.T) {
	requireTool(t, "swaks")
	clamd := scantest.StartClamd(t)
	dns, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dns.Close()
	rspamd := scantest.StartRspamd(t, scantest.RspamdOptions{DNS: dns.Addr})

	dir := t.TempDir()
	startSystem(t, dir).stop()
	cfgPath := filepath.Join(dir, "demo", "congvu.toml")
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Scan.Clamd, cfg.Scan.Rspamd = clamd.Addr, "http://"+rspamd.Addr
	cfg.Server.DataDir = "."
	os.Remove(cfgPath)
	if err := config.Write(cfgPath, cfg); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, dir)
	official := s.user(0)

	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	w, _ := zw.Create("congvan-12.txt")
	w.Write([]byte(scantest.EICAR))
	zw.Close()
	att := filepath.Join(dir, "congvan-12.zip")
	if err := os.WriteFile(att, zipped.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	mx := func(args ...string) string {
		t.Helper()
		out, _ := run(t, nil, "swaks", append([]string{"--server", s.addrs["smtp"], "--from", "vanthu@bocongan.gov.vn",
			"--to", official.Address, "--helo", "mail.bocongan.gov.vn"}, args...)...)
		return out
	}

	t.Run("EICAR in a zip is refused on MX and on submission", func(t *testing.T) {
		out := mx("--header", "Subject: Cong van so 12", "--body", "Kinh gui", "--attach", "@"+att)
		if !strings.Contains(out, "<** 554 5.7.1") || !strings.Contains(out, scantest.EICARSignature) {
			t.Fatalf("MX: want 554 5.7.1 naming %s:\n%s", scantest.EICARSignature, out)
		}
		out, _ = run(t, nil, "swaks", "--server", s.addrs["submission"], "--tls", "--tls-ca-path", s.certFile,
			"--auth", "PLAIN", "--auth-user", official.Address, "--auth-password", official.Password,
			"--from", official.Address, "--to", s.user(1).Address, "--header", "Subject: chuyen tiep", "--attach", "@"+att)
		if !strings.Contains(out, "<~* 554 5.7.1 Message contains a virus: "+scantest.EICARSignature) { // swaks marks TLS lines with ~
			t.Fatalf("submission: want a clear refusal:\n%s", out)
		}
		if n := len(s.fetchAll(official, "INBOX")) + len(s.fetchAll(s.user(1), "INBOX")); n != 0 {
			t.Errorf("%d infected messages stored", n)
		}
		// Audit entries are written in batches (policy.flush_seconds).
		var audit string
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(500 * time.Millisecond) {
			audit, err = s.congvu("audit", "--rule", "virus")
			if err == nil && strings.Count(audit, scantest.EICARSignature) >= 2 || time.Now().After(deadline) {
				break
			}
		}
		if err != nil || strings.Count(audit, scantest.EICARSignature) < 2 {
			t.Errorf("audit log: %v\n%s", err, audit)
		}
	})

	t.Run("phishing goes to Junk with its reason; forged verdicts dropped", func(t *testing.T) {
		date := time.Now().Format(time.RFC1123Z)
		phish := "From: \"Bo phan CNTT\" <it@khanhhoa-gov.example>\r\nTo: <" + official.Address + ">\r\nSubject: Xac nhan mat khau\r\n" +
			"Date: " + date + "\r\nMessage-ID: <p1@khanhhoa-gov.example>\r\nX-Spam-Status: No, score=-50\r\n" +
			"X-Congvu-Junk-Reason: none\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
			"<html><body><p>Hop thu sap bi khoa. Dang nhap tai <a href=\"http://login.khanhhoa-verify.example/owa\">" +
			"https://mail.khanhhoa.gov.vn/owa</a></p></body></html>\r\n"
		f := filepath.Join(dir, "phish.eml")
		os.WriteFile(f, []byte(phish), 0o644)
		if out := mx("--data", "@"+f); !strings.Contains(out, "<-  250") {
			t.Fatalf("phishing message not accepted for Junk:\n%s", out)
		}
		ordinary := "From: <vanthu@bocongan.gov.vn>\r\nTo: <" + official.Address + ">\r\nSubject: Moi hop\r\nDate: " + date +
			"\r\nMessage-ID: <m1@bocongan.gov.vn>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
			"Kính mời đồng chí dự họp giao ban lúc 8 giờ sáng thứ Hai.\r\n"
		os.WriteFile(f, []byte(ordinary), 0o644)
		if out := mx("--data", "@"+f); !strings.Contains(out, "<-  250") {
			t.Fatalf("ordinary message:\n%s", out)
		}
		junk := s.waitFor(official, "Junk", func(m []fetched) bool { return len(m) == 1 })
		if len(junk) != 1 {
			t.Fatalf("%d messages in Junk", len(junk))
		}
		h := string(junk[0].Raw)
		h = h[:strings.Index(h, "\r\n\r\n")]
		if !strings.Contains(h, "X-Congvu-Junk-Reason: rspamd: nghi lừa đảo / suspected phishing") || !strings.Contains(h, "PHISHING") {
			t.Errorf("Junk reason missing:\n%s", h)
		}
		if strings.Contains(h, "score=-50") || strings.Contains(h, "X-Congvu-Junk-Reason: none") {
			t.Errorf("forged verdict fields kept:\n%s", h)
		}
		inbox := s.waitFor(official, "INBOX", func(m []fetched) bool { return len(m) == 1 })
		if len(inbox) != 1 || !strings.Contains(string(inbox[0].Raw), "X-Spam-Status: No") {
			t.Errorf("ordinary message not in INBOX with its score: %d", len(inbox))
		}
	})

	t.Run("clamd stopped: deferred, not passed", func(t *testing.T) {
		clamd.Stop()
		out := mx("--header", "Subject: khi clamd dung", "--body", "Kinh gui")
		if !strings.Contains(out, "<** 451 4.7.1") {
			t.Fatalf("want 451 4.7.1 with clamd down:\n%s", out)
		}
	})
}
