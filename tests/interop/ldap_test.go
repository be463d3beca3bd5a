package interop

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

// slapd is a throwaway OpenLDAP started by deploy/ldap/start-slapd.sh.
type slapd struct {
	t   *testing.T
	dir string
	env map[string]string
}

func startSlapd(t *testing.T, dir string) *slapd {
	t.Helper()
	for _, tool := range []string{"slapd", "slapadd", "ldapsearch", "ldapmodify"} {
		requireTool(t, tool)
	}
	s := &slapd{t: t, dir: dir}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *slapd) start() {
	s.t.Helper()
	if out, err := run(s.t, nil, "../../deploy/ldap/start-slapd.sh", s.dir); err != nil {
		s.t.Fatalf("start-slapd.sh: %v\n%s", err, out)
	}
	f, err := os.Open(filepath.Join(s.dir, "env"))
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	s.env = map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			s.env[k] = v
		}
	}
}

func (s *slapd) stop() {
	if out, err := run(s.t, nil, "../../deploy/ldap/stop-slapd.sh", s.dir); err != nil {
		s.t.Errorf("stop-slapd.sh: %v\n%s", err, out)
	}
}

// modify applies an LDIF change as the service account, the way an
// operator would with ldapmodify.
func (s *slapd) modify(ldif string) {
	s.t.Helper()
	if out, err := run(s.t, []byte(ldif), "ldapmodify", "-x", "-H", s.env["LDAP_URL"],
		"-D", s.env["LDAP_BIND_DN"], "-w", s.env["LDAP_BIND_PW"]); err != nil {
		s.t.Fatalf("ldapmodify: %v\n%s\n%s", err, out, ldif)
	}
}

func (s *system) imapLogin(a account) string {
	s.t.Helper()
	out, err := s.py("imap-login", "--addr", s.addrs["imaps"], "--user", a.Address, "--password", a.Password)
	if err != nil {
		s.t.Fatalf("imap-login: %v\n%s", err, out)
	}
	var r struct{ Result string }
	json.Unmarshal([]byte(out), &r)
	return r.Result
}

// TestLDAPDirectoryEndToEnd runs `congvu serve` on a real slapd: the demo
// province is seeded into LDAP through congvu, officials log in over IMAP
// and receive over SMTP, an alias added by an operator delivers, a locked
// official cannot log in but still receives mail, and when slapd is down
// SMTP answers 451 4.4.3 and IMAP NO [UNAVAILABLE] until it comes back.
func TestLDAPDirectoryEndToEnd(t *testing.T) {
	dir := t.TempDir()
	ldap := startSlapd(t, filepath.Join(dir, "ldap"))
	data := filepath.Join(dir, "data")
	os.MkdirAll(data, 0o700)
	os.WriteFile(filepath.Join(data, "ldap-password"), []byte(ldap.env["LDAP_BIND_PW"]+"\n"), 0o600)
	cfgPath := filepath.Join(dir, "congvu.toml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`[server]
hostname = "mail.khanhhoa.gov.vn"
data_dir = %q
local_domains = ["khanhhoa.gov.vn"]

[directory]
backend = "ldap"

[directory.ldap]
url = %q
base_dn = %q
bind_dn = %q
bind_password_file = "ldap-password"

[inbound]
# No real DNS in tests: no SPF/DKIM/DMARC lookups.
authenticate = false

[policy]
# The demo's printed initial passwords work in mail clients; imported
# officials must change theirs first.
expired_password_exempt_file = %q
`, data, ldap.env["LDAP_URL"], ldap.env["LDAP_BASE"], ldap.env["LDAP_BIND_DN"], filepath.Join(dir, "accounts.csv"))), 0o600)

	accounts := filepath.Join(dir, "accounts.csv")
	if out, err := run(t, nil, binaryPath, "directory", "demo", "--config", cfgPath, "--out", accounts); err != nil {
		t.Fatalf("directory demo: %v\n%s", err, out)
	}
	s := startCommand(t, dir, accounts, "serve", "--config", cfgPath)
	official, locked, far := s.user(0), s.user(1), s.user(2)

	if r := s.imapLogin(official); r != "OK" {
		t.Fatalf("IMAP login through LDAP: %s", r)
	}
	if err := s.sendMX("vanthu@hue.gov.vn", []string{official.Address}, simpleMessage("vanthu@hue.gov.vn", official.Address, "Qua LDAP", "x")); err != nil {
		t.Fatalf("delivery to an LDAP account: %v", err)
	}

	people := "ou=people," + ldap.env["LDAP_BASE"]
	alias := "truongphong.test@khanhhoa.gov.vn"
	ldap.modify(fmt.Sprintf("dn: uid=%s,%s\nchangetype: modify\nadd: congvuMailAlias\ncongvuMailAlias: %s\n", official.Address, people, alias))
	if err := s.sendMX("vanthu@hue.gov.vn", []string{alias}, simpleMessage("vanthu@hue.gov.vn", alias, "Qua bi danh", "x")); err != nil {
		t.Fatalf("delivery to an alias added in LDAP: %v", err)
	}
	if got := len(s.fetchAll(official, "INBOX")); got != 2 {
		t.Errorf("official's INBOX has %d messages, want 2 (direct + alias)", got)
	}

	ldap.modify(fmt.Sprintf("dn: uid=%s,%s\nchangetype: modify\nreplace: congvuMailboxState\ncongvuMailboxState: locked\n", locked.Address, people))
	if r := s.imapLogin(locked); r == "OK" || !strings.Contains(r, "CONTACTADMIN") {
		t.Errorf("locked official's IMAP login: %q, want a refusal with [CONTACTADMIN]", r)
	}
	if err := s.sendMX("vanthu@hue.gov.vn", []string{locked.Address}, simpleMessage("vanthu@hue.gov.vn", locked.Address, "Van nhan", "x")); err != nil {
		t.Errorf("a locked mailbox must still receive mail: %v", err)
	}

	// A generated province imported into LDAP through congvu: its new
	// officials log in over IMAP and receive mail.
	officials, units, imported := filepath.Join(dir, "officials.csv"), filepath.Join(dir, "units.csv"), filepath.Join(dir, "imported.csv")
	if out, err := run(t, nil, binaryPath, "directory", "generate", "--province", "56", "--min", "1", "--max", "1",
		"--out", officials, "--units-out", units); err != nil {
		t.Fatalf("directory generate: %v\n%s", err, out)
	}
	if out, err := run(t, nil, binaryPath, "directory", "import", "--config", cfgPath, "--units", units,
		"--passwords-out", imported, officials); err != nil {
		t.Fatalf("directory import into LDAP: %v\n%s", err, out)
	}
	var newcomer account
	for _, a := range readAccounts(t, imported) {
		if a.Role == "official" {
			newcomer = a
			break
		}
	}
	if newcomer.Address == "" {
		t.Fatal("import created no official")
	}
	if r := s.imapLogin(newcomer); !strings.Contains(r, "[EXPIRED]") {
		t.Errorf("IMAP login of imported official %s with the initial password: %s, want NO [EXPIRED]", newcomer.Address, r)
	}
	// The official has changed it (here the operator clears the flag in
	// LDAP, as if the change had been made elsewhere).
	ldap.modify(fmt.Sprintf("dn: uid=%s,%s\nchangetype: modify\nreplace: congvuMustChangePassword\ncongvuMustChangePassword: FALSE\n", newcomer.Address, people))
	if r := s.imapLogin(newcomer); r != "OK" {
		t.Errorf("IMAP login of imported official %s: %s", newcomer.Address, r)
	}
	if err := s.sendMX("vanthu@hue.gov.vn", []string{newcomer.Address}, simpleMessage("vanthu@hue.gov.vn", newcomer.Address, "Chao dong chi moi", "x")); err != nil {
		t.Errorf("delivery to imported official: %v", err)
	} else if got := len(s.fetchAll(newcomer, "INBOX")); got != 1 {
		t.Errorf("imported official's INBOX has %d messages, want 1", got)
	}

	ldap.stop()
	err := s.sendMX("vanthu@hue.gov.vn", []string{far.Address}, simpleMessage("vanthu@hue.gov.vn", far.Address, "Khi LDAP ngung", "x"))
	var smtpErr *smtp.SMTPError
	if !errors.As(err, &smtpErr) || smtpErr.Code != 451 || smtpErr.EnhancedCode != (smtp.EnhancedCode{4, 4, 3}) {
		t.Errorf("delivery while LDAP is down: %#v, want 451 4.4.3", err)
	}
	if r := s.imapLogin(far); !strings.Contains(r, "UNAVAILABLE") {
		t.Errorf("IMAP login while LDAP is down: %q, want NO [UNAVAILABLE]", r)
	}
	ldap.start()
	if r := s.imapLogin(far); r != "OK" {
		t.Errorf("IMAP login after slapd came back: %q", r)
	}
	if err := s.sendMX("vanthu@hue.gov.vn", []string{far.Address}, simpleMessage("vanthu@hue.gov.vn", far.Address, "Sau khi LDAP tro lai", "x")); err != nil {
		t.Errorf("delivery after slapd came back: %v", err)
	}
}
