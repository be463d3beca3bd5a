package interop

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TestOutboundWithPostfix: an official's message sent with swaks through
// submission reaches Postfix over STARTTLS, DKIM-signed so that opendkim
// verifies it; Postfix's mail reaches the official, judged by SPF, DKIM and
// DMARC (testInbound); a recipient Postfix defers is retried, explained by
// `congvu queue list`, and finally bounced with a delay notice first.
func TestOutboundWithPostfix(t *testing.T) {
	requireTool(t, "swaks")
	p := startProvince(t, nil)
	s := p.congvu
	official := s.user(0)

	t.Run("congvu delivers to Postfix with STARTTLS", func(t *testing.T) {
		out, err := run(t, nil, "swaks", "--server", s.addrs["submission"], "--tls", "--tls-ca-path", s.certFile,
			"--auth", "PLAIN", "--auth-user", official.Address, "--auth-password", official.Password,
			"--from", official.Address, "--to", otherUser, "--header", "Subject: Cong van gui An Giang", "--body", "Kinh gui So KH&CN An Giang")
		if err != nil || !strings.Contains(out, "250") {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		msgs := p.waitPostfixMail(otherUser, 1, 20*time.Second)
		m := msgs[0]
		// Postfix's own Received field says congvu came over TLS.
		if !regexp.MustCompile(`(?s)Received: from mail\.khanhhoa\.gov\.vn \(unknown \[127\.0\.0\.1\]\)\s+\(using TLSv1\.[23] with cipher`).MatchString(m) ||
			!strings.Contains(m, "by mx.angiang.gov.vn (Postfix) with ESMTPS") {
			t.Errorf("Postfix did not receive over STARTTLS:\n%.1500s", m)
		}
		if !strings.Contains(m, "Subject: Cong van gui An Giang") || !strings.Contains(m, "Return-Path: <"+official.Address+">") {
			t.Errorf("message at Postfix:\n%.1500s", m)
		}
		waitQueueEmpty(t, p)

		// Signed by congvu with both keys; Debian's opendkim verifies.
		if n := strings.Count(m, "DKIM-Signature:"); n != 2 ||
			!strings.Contains(m, "a=rsa-sha256") || !strings.Contains(m, "a=ed25519-sha256") || !strings.Contains(m, "d=khanhhoa.gov.vn") {
			t.Fatalf("want rsa-sha256 and ed25519-sha256 signatures by khanhhoa.gov.vn, got %d:\n%.2500s", n, m)
		}
		if out, err := p.opendkimVerify(m); err != nil || strings.TrimSpace(out) != "" {
			t.Errorf("opendkim-testmsg rejects congvu's signatures: %v\n%s", err, out)
		}
		// Each signature on its own verifies too (opendkim 2.11 knows
		// ed25519-sha256, RFC 8463).
		for _, keep := range []string{"a=rsa-sha256", "a=ed25519-sha256"} {
			only := dropSignaturesExcept(m, keep)
			if out, err := p.opendkimVerify(only); err != nil || strings.Count(only, "DKIM-Signature:") != 1 {
				t.Errorf("opendkim-testmsg with only the %s signature: %v\n%s", keep, err, out)
			}
		}
		// And it is a real check: a changed body fails.
		tampered := strings.Replace(m, "Kinh gui So KH&CN An Giang", "Kinh gui So KH&CN An Giang: chuyen 500 trieu", 1)
		out, err = p.opendkimVerify(tampered)
		if err == nil || !strings.Contains(out, "opendkim-testmsg") {
			t.Errorf("opendkim-testmsg did not reject a tampered message: %v\n%s", err, out)
		}
		t.Logf("opendkim-testmsg on the tampered copy: %v: %s", err, strings.TrimSpace(out))
	})

	t.Run("a message written on the web reaches Postfix", func(t *testing.T) {
		testWebmailToPostfix(t, p, s.user(3))
		waitQueueEmpty(t, p)
	})

	t.Run("DANE: TLSA records make TLS mandatory and verified", func(t *testing.T) {
		pemBytes, err := os.ReadFile(p.pfEnv["POSTFIX_CERT"])
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(pemBytes)
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		spki := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
		p.addDNS(daneDomain+". MX 10 "+otherMX+".", "_25._tcp."+otherMX+". TLSA 3 1 1 "+hex.EncodeToString(spki[:]))
		p.dns.Secure(daneDomain) // as a validating resolver reports a signed zone
		p.dns.Secure(otherMX)
		before := metric(t, s, `congvu_outbound_connections_total{security="dane"}`)
		if err := s.submit(official, daneUser, "Gui So Y te"); err != nil {
			t.Fatal(err)
		}
		p.waitPostfixMail(daneUser, 1, 20*time.Second)
		if got := metric(t, s, `congvu_outbound_connections_total{security="dane"}`); got != before+1 {
			t.Errorf("DANE connections %v → %v, want one more", before, got)
		}
	})

	t.Run("Postfix delivers to congvu", func(t *testing.T) {
		msg := simpleMessage(otherUser, official.Address, "Phuc dap cong van", "Da nhan")
		p.sendViaPostfix(otherUser, official.Address, msg)
		got := s.waitFor(official, "INBOX", func(ms []fetched) bool {
			for _, m := range ms {
				if strings.Contains(string(m.Raw), "Subject: Phuc dap cong van") {
					return true
				}
			}
			return false
		})
		var raw string
		for _, m := range got {
			if strings.Contains(string(m.Raw), "Subject: Phuc dap cong van") {
				raw = string(m.Raw)
			}
		}
		if raw == "" {
			t.Fatalf("message from Postfix not in INBOX (%d messages)", len(got))
		}
		if !regexp.MustCompile(`Received: from mx\.angiang\.gov\.vn \(.*\)\r\n\t\(using TLS1\.[23] with cipher`).MatchString(raw) {
			t.Errorf("congvu's Received does not show STARTTLS from Postfix:\n%.800s", raw)
		}
	})

	testInbound(t, p)
	t.Run("vacation replies once per sender, never to lists or bounces", func(t *testing.T) { testVacation(t, p) })
	t.Run("a merged province's old domain: DKIM, notice, report, autoconfig", func(t *testing.T) { testOldDomain(t, p) })

	t.Run("deferred, explained, then bounced", func(t *testing.T) {
		out, err := run(t, nil, "swaks", "--server", s.addrs["submission"], "--tls", "--tls-ca-path", s.certFile,
			"--auth", "PLAIN", "--auth-user", official.Address, "--auth-password", official.Password,
			"--from", official.Address, "--to", deferUser, "--header", "Subject: Thu se bi hoan")
		if err != nil || !strings.Contains(out, "250") {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		// The operator sees why the message waits.
		var list string
		deadline := time.Now().Add(10 * time.Second)
		for {
			list = p.queue("list")
			if strings.Contains(list, "hoãn/deferred") || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		for _, want := range []string{deferUser, "hoãn/deferred", "451 4.7.1", "please try again later", "via mx.angiang.gov.vn (STARTTLS TLS1.3", "certificate verified", official.Address} {
			if !strings.Contains(list, want) {
				t.Errorf("queue list lacks %q:\n%s", want, list)
			}
		}
		t.Logf("congvu queue list:\n%s", list)
		// After delay_notice the sender is told, after max_age the mail bounces.
		var notes []string
		deadline = time.Now().Add(30 * time.Second)
		for len(notes) < 2 && time.Now().Before(deadline) {
			notes = notes[:0]
			for _, m := range s.fetchAll(official, "INBOX") {
				if r := string(m.Raw); strings.Contains(r, "Final-Recipient: rfc822; "+deferUser) {
					notes = append(notes, r)
				}
			}
			time.Sleep(500 * time.Millisecond)
		}
		if len(notes) != 2 {
			t.Fatalf("sender has %d notifications about %s, want a delay notice and a bounce\n%s", len(notes), deferUser, p.queue("list"))
		}
		if !strings.Contains(notes[0], "Action: delayed") || !strings.Contains(notes[1], "Action: failed\r\nStatus: 5.4.7") ||
			!strings.Contains(notes[1], "Diagnostic-Code: smtp; 451 4.7.1") || !strings.Contains(notes[1], "Subject: Thu se bi hoan") {
			t.Errorf("notifications:\n%s\n----\n%s", notes[0], notes[1])
		}
		if !strings.Contains(notes[1], "Return-Path: <>") {
			t.Error("bounce not sent with the null reverse-path")
		}
		waitQueueEmpty(t, p)
		if n := len(p.postfixMail(deferUser)); n != 0 {
			t.Errorf("deferring recipient got %d messages", n)
		}
	})
}

func waitQueueEmpty(t *testing.T, p *province) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out := p.queue("list")
		if strings.Contains(out, "queue is empty") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not empty:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// dropSignaturesExcept removes the DKIM-Signature fields (with their
// continuation lines) that do not contain keep.
func dropSignaturesExcept(msg, keep string) string {
	head, body, _ := strings.Cut(msg, "\n\n")
	var fields []string
	for _, line := range strings.Split(head, "\n") {
		if len(fields) > 0 && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) {
			fields[len(fields)-1] += "\n" + line
			continue
		}
		fields = append(fields, line)
	}
	var kept []string
	for _, f := range fields {
		if strings.HasPrefix(f, "DKIM-Signature:") && !strings.Contains(f, keep) {
			continue
		}
		kept = append(kept, f)
	}
	return strings.Join(kept, "\n") + "\n\n" + body
}

// submit sends a short message through submission with Go's SMTP client.
func (s *system) submit(from account, to, subject string) error {
	c, err := smtp.DialStartTLS(s.addrs["submission"], s.tlsConfig())
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", from.Address, from.Password)); err != nil {
		return err
	}
	return c.SendMail(from.Address, []string{to}, strings.NewReader(string(simpleMessage(from.Address, to, subject, "Noi dung"))))
}

// metric reads one sample from /metrics (0 when absent).
func metric(t *testing.T, s *system, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + s.addrs["admin"] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}
