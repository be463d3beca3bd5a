package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"congvu/msgauth"
	"congvu/resolve/dnstest"
)

func dnsTestConfig(t *testing.T, dnsAddr string) string {
	t.Helper()
	dir := t.TempDir()
	if _, _, err := msgauth.Keygen(filepath.Join(dir, "dkim"), "khanhhoa.gov.vn", "ed25519-202506", msgauth.AlgEd25519); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`[server]
hostname = "mail.khanhhoa.gov.vn"
data_dir = %q
local_domains = ["khanhhoa.gov.vn"]
[listen]
imaps = "0.0.0.0:993"
imap = "0.0.0.0:143"
pop3s = "0.0.0.0:995"
pop3 = ""
submissions = "0.0.0.0:465"
submission = "0.0.0.0:587"
https = "0.0.0.0:443"
ldap = "0.0.0.0:389"
managesieve = "0.0.0.0:4190"
[publish]
ipv4 = ["203.0.113.10"]
[dns]
servers = [%q]
timeout_seconds = 2
`, dir, dnsAddr)
	p := filepath.Join(dir, "congvu.toml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The zone fragment an operator pastes: every record, in zone-file syntax
// a DNS server accepts, and `dns check` finds them all once published.
func TestDNSPrintAndCheck(t *testing.T) {
	srv, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cfgPath := dnsTestConfig(t, srv.Addr)

	var out, errOut bytes.Buffer
	if err := run([]string{"dns", "--config", cfgPath, "khanhhoa.gov.vn"}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	zone := out.String()
	for _, want := range []string{
		"mail.khanhhoa.gov.vn.                    3600 IN A     203.0.113.10",
		"khanhhoa.gov.vn.                         3600 IN MX    10 mail.khanhhoa.gov.vn.",
		`"v=spf1 mx -all"`,
		"ed25519-202506._domainkey.khanhhoa.gov.vn. 3600 IN TXT   \"v=DKIM1; k=ed25519; p=",
		`_dmarc.khanhhoa.gov.vn.                  3600 IN TXT   "v=DMARC1; p=quarantine; rua=mailto:postmaster@khanhhoa.gov.vn"`,
		`_mta-sts.khanhhoa.gov.vn.                3600 IN TXT   "v=STSv1; id=`,
		`_smtp._tls.khanhhoa.gov.vn.              3600 IN TXT   "v=TLSRPTv1; rua=mailto:postmaster@khanhhoa.gov.vn"`,
		"_imaps._tcp.khanhhoa.gov.vn.             3600 IN SRV   0 1 993 mail.khanhhoa.gov.vn.",
		"_imap._tcp.khanhhoa.gov.vn.              3600 IN SRV   10 1 143 mail.khanhhoa.gov.vn.",
		"_submissions._tcp.khanhhoa.gov.vn.       3600 IN SRV   0 1 465 mail.khanhhoa.gov.vn.",
		"_submission._tcp.khanhhoa.gov.vn.        3600 IN SRV   10 1 587 mail.khanhhoa.gov.vn.",
		"_autodiscover._tcp.khanhhoa.gov.vn.      3600 IN SRV   0 1 443 mail.khanhhoa.gov.vn.",
		"_carddavs._tcp.khanhhoa.gov.vn.          3600 IN SRV   0 1 443 mail.khanhhoa.gov.vn.",
		"_sieve._tcp.khanhhoa.gov.vn.             3600 IN SRV   0 1 4190 mail.khanhhoa.gov.vn.",
		"autoconfig.khanhhoa.gov.vn.              3600 IN CNAME mail.khanhhoa.gov.vn.",
		"autodiscover.khanhhoa.gov.vn.            3600 IN CNAME mail.khanhhoa.gov.vn.",
	} {
		if !strings.Contains(zone, want) {
			t.Errorf("zone lacks %q:\n%s", want, zone)
		}
	}
	if strings.Contains(zone, "_pop3._tcp") {
		t.Error("a disabled listener is published")
	}

	// Nothing published yet: every line is missing and the command fails.
	out.Reset()
	err = run([]string{"dns", "check", "--config", cfgPath, "khanhhoa.gov.vn"}, &out, &errOut)
	if err == nil || !strings.Contains(out.String(), "THIẾU   khanhhoa.gov.vn. MX 10 mail.khanhhoa.gov.vn.") {
		t.Fatalf("empty zone: err=%v\n%s", err, out.String())
	}

	// Publish what was printed (the test DNS server does not chase
	// CNAMEs, so the aliases get the host's address directly), plus a
	// wrong MX and a stale DKIM key.
	for _, line := range strings.Split(zone, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, ";") || strings.HasPrefix(line, "$") {
			continue
		}
		if f := strings.Fields(line); f[3] == "CNAME" {
			line = f[0] + " 3600 IN A 203.0.113.10"
		}
		if strings.Contains(line, " MX ") {
			line = "khanhhoa.gov.vn. 3600 IN MX 10 mx.example.net."
		}
		if strings.Contains(line, "_domainkey") {
			line = `ed25519-202506._domainkey.khanhhoa.gov.vn. 3600 IN TXT "v=DKIM1; k=ed25519; p=AAAA"`
		}
		if err := srv.Add(line); err != nil {
			t.Fatalf("the printed zone does not parse: %v", err)
		}
	}
	out.Reset()
	err = run([]string{"dns", "check", "--config", cfgPath, "khanhhoa.gov.vn"}, &out, &errOut)
	report := out.String()
	if err == nil || !strings.Contains(err.Error(), "2 ") {
		t.Errorf("want 2 problems, got %v\n%s", err, report)
	}
	for _, want := range []string{"SAI     khanhhoa.gov.vn. MX 10 mail.khanhhoa.gov.vn.  (đang có / found: 10 mx.example.net.)",
		"SAI     ed25519-202506._domainkey.khanhhoa.gov.vn. TXT", "OK      _imaps._tcp.khanhhoa.gov.vn. SRV 0 1 993 mail.khanhhoa.gov.vn.",
		"OK      autoconfig.khanhhoa.gov.vn. CNAME"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	// Fixed: everything in place.
	srv.Remove("khanhhoa.gov.vn", "MX")
	srv.Remove("ed25519-202506._domainkey.khanhhoa.gov.vn", "TXT")
	for _, line := range strings.Split(zone, "\n") {
		if strings.Contains(line, " MX ") || strings.Contains(line, "_domainkey") {
			if err := srv.Add(line); err != nil {
				t.Fatal(err)
			}
		}
	}
	out.Reset()
	if err := run([]string{"dns", "check", "--config", cfgPath, "khanhhoa.gov.vn"}, &out, &errOut); err != nil {
		t.Errorf("complete zone: %v\n%s", err, out.String())
	}
	if err := run([]string{"dns", "--config", cfgPath, "example.com"}, &out, &errOut); err == nil {
		t.Error("a domain that is not ours: no error")
	}
}
