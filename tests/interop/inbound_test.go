package interop

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// testInbound: mail arriving on congvu's MX is judged by SPF, DKIM and
// DMARC against the test DNS, and spoofing of the province is refused.
func testInbound(t *testing.T, p *province) {
	s := p.congvu
	official := s.user(1)

	t.Run("another signer's signature verifies in congvu", func(t *testing.T) {
		requireTool(t, "opendkim-genkey")
		requireTool(t, "dkimsign")
		keys := t.TempDir()
		if out, err := run(t, nil, "opendkim-genkey", "-D", keys, "-d", otherDomain, "-s", "pf2025"); err != nil {
			t.Fatalf("opendkim-genkey: %v\n%s", err, out)
		}
		txt, _ := os.ReadFile(filepath.Join(keys, "pf2025.txt"))
		var record strings.Builder
		for _, m := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(string(txt), -1) {
			record.WriteString(m[1])
		}
		p.addDNS(`pf2025._domainkey.` + otherDomain + `. TXT "` + record.String() + `"`)
		key := filepath.Join(keys, "pf2025.private")

		// dkimpy (Debian python3-dkim) signs rsa-sha256: valid.
		msg := simpleMessage(otherUser, official.Address, "Cong van co chu ky DKIM", "Noi dung da ky")
		sig, err := run(t, msg, "dkimsign", "--signalg", "rsa-sha256", "--hcanon", "relaxed", "--bcanon", "relaxed", "pf2025", otherDomain, key)
		if err != nil || !strings.HasPrefix(sig, "DKIM-Signature:") {
			t.Fatalf("dkimsign: %v\n%s", err, sig)
		}
		p.sendViaPostfix(otherUser, official.Address, []byte(sig))
		ar := authResults(waitMessage(t, s, official, "INBOX", "Subject: Cong van co chu ky DKIM"))
		for _, want := range []string{"spf=pass", "smtp.mailfrom=" + otherUser, "dkim=pass", "header.d=" + otherDomain, "dmarc=pass", "header.from=" + otherDomain} {
			if !strings.Contains(ar, want) {
				t.Errorf("Authentication-Results lacks %q:\n%s", want, ar)
			}
		}

		// opendkim-testmsg can only sign rsa-sha1, which RFC 8301 3.1 says
		// verifiers must not accept: the signature does not pass (DMARC
		// still passes on SPF).
		msg = simpleMessage(otherUser, official.Address, "Chu ky rsa-sha1", "Noi dung")
		signed, err := run(t, msg, "opendkim-testmsg", "-d", otherDomain, "-s", "pf2025", "-k", key)
		if err != nil || !strings.Contains(signed, "a=rsa-sha1") {
			t.Fatalf("opendkim-testmsg signing: %v\n%s", err, signed)
		}
		p.sendViaPostfix(otherUser, official.Address, []byte(signed))
		ar = authResults(waitMessage(t, s, official, "INBOX", "Subject: Chu ky rsa-sha1"))
		if strings.Contains(ar, "dkim=pass") || !strings.Contains(ar, "dkim=permerror") || !strings.Contains(ar, "dmarc=pass") {
			t.Errorf("rsa-sha1 signature: %s", ar)
		}
	})

	t.Run("DMARC failure lands in Junk with the reason", func(t *testing.T) {
		p.addDNS(`thue-dientu.vn. TXT "v=spf1 ip4:192.0.2.1 -all"`, `_dmarc.thue-dientu.vn. TXT "v=DMARC1; p=quarantine"`)
		// The sender also forges a verdict in our name; it must go.
		msg := []byte("Authentication-Results: mail.khanhhoa.gov.vn; dmarc=pass header.from=thue-dientu.vn\r\n" +
			string(simpleMessage("hoantien@thue-dientu.vn", official.Address, "Hoan thue thu nhap ca nhan", "Bam vao lien ket")))
		p.sendViaPostfix("hoantien@thue-dientu.vn", official.Address, msg)
		raw := waitMessage(t, s, official, "Junk", "Subject: Hoan thue thu nhap ca nhan")
		if strings.Count(raw, "Authentication-Results: mail.khanhhoa.gov.vn") != 1 {
			t.Errorf("forged Authentication-Results kept:\n%.1500s", raw)
		}
		ar := authResults(raw)
		for _, want := range []string{"spf=fail", "dmarc=fail", "p=quarantine", "header.from=thue-dientu.vn"} {
			if !strings.Contains(ar, want) {
				t.Errorf("Authentication-Results lacks %q:\n%s", want, ar)
			}
		}
		if !strings.Contains(raw, "X-Congvu-Junk-Reason: DMARC fail for header.from=thue-dientu.vn (policy p=quarantine)") {
			t.Errorf("no junk reason in the header:\n%.1500s", raw)
		}
		for _, m := range s.fetchAll(official, "INBOX") {
			if strings.Contains(string(m.Raw), "Hoan thue thu nhap ca nhan") {
				t.Error("quarantined message also in INBOX")
			}
		}
	})

	t.Run("spoofing the province is refused", func(t *testing.T) {
		for _, from := range []string{"chutich@" + demoDomain, "vanphong@khanhhoa-gov.vn", "vanphong@xn--khnhha-qta3l.gov.vn"} {
			out, err := run(t, nil, "swaks", "--server", s.addrs["smtp"], "--tls", "--tls-ca-path", s.certFile,
				"--ehlo", "mx.attacker.example", "--from", "bounce@attacker.example", "--to", official.Address,
				"--header", "From: Chu tich UBND tinh <"+from+">", "--header", "Subject: Chuyen khoan gap")
			// swaks marks an error reply "<**" (plaintext) or "<~*" (TLS).
			if err == nil || !regexp.MustCompile(`<[~*]\* 550 5\.7\.1 `).MatchString(out) {
				t.Errorf("From %s: want 550 5.7.1 at DATA, got %v\n%s", from, err, out)
			}
		}
		time.Sleep(200 * time.Millisecond)
		for _, folder := range []string{"INBOX", "Junk"} {
			for _, m := range s.fetchAll(official, folder) {
				if strings.Contains(string(m.Raw), "Chuyen khoan gap") {
					t.Errorf("spoofed message stored in %s", folder)
				}
			}
		}
	})
}

// waitMessage waits for a message containing marker in folder.
func waitMessage(t *testing.T, s *system, a account, folder, marker string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, m := range s.fetchAll(a, folder) {
			if strings.Contains(string(m.Raw), marker) {
				return string(m.Raw)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message with %q in %s of %s", marker, folder, a.Address)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// authResults returns congvu's Authentication-Results field, unfolded.
func authResults(raw string) string {
	m := regexp.MustCompile(`(?m)^Authentication-Results: mail\.khanhhoa\.gov\.vn;(?:.*\r?\n[ \t].*)*`).FindString(raw)
	return strings.Join(strings.Fields(m), " ")
}
