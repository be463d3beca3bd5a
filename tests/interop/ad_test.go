package interop

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"congvu/directory/ldapdir/sambatest"
)

// TestActiveDirectoryBackedServer runs `congvu serve` on a real Samba AD
// domain controller with `[directory.ldap] schema = "ad"` (in a private
// network namespace, AD's ports being fixed): officials log in over IMAP by
// sAMAccountName, userPrincipalName or mail (Python's imaplib) and submit
// over SMTP AUTH; mail to their address and to a proxyAddresses alias is
// delivered; more than 12 wrong passwords typed as the sAMAccountName lock
// the account in congvu's own state (AD has no place for it), so the right
// password is then refused under every login name until `congvu account
// unlock`; an account disabled in AD is refused with [CONTACTADMIN].
func TestActiveDirectoryBackedServer(t *testing.T) {
	if !sambatest.InNetns(t, envBinary+"="+binaryPath) {
		return
	}
	dc := sambatest.Start(t)
	const domain = "khanhhoa.gov.vn"
	thanh := account{Address: "thanhnn.skhcn@" + domain, Password: "Kh@nhHoa#2025a", Role: "official"}
	duc := account{Address: "ducdv.nhatrang@" + domain, Password: "Nh@Trang2025x", Role: "official"}
	dc.AddUser(t, sambatest.User{SAM: "thanhnn", Mail: thanh.Address, Password: thanh.Password,
		Proxy: []string{"giamdoc.skhcn@" + domain}, DisplayName: "Nguyễn Ngọc Thành", Title: "Giám đốc", Department: "56.skhcn"})
	dc.AddUser(t, sambatest.User{SAM: "ducdv", Mail: duc.Address, Password: duc.Password, DisplayName: "Đỗ Văn Đức", Department: "22366"})
	dc.AddUser(t, sambatest.User{SAM: "nghihuu", Mail: "nghihuu.skhcn@" + domain, Password: "Ngh1Huu#2025", DisplayName: "Lê Văn Nghỉ",
		Department: "56.skhcn", Disabled: true})

	dir := t.TempDir()
	data := filepath.Join(dir, "demo")
	os.MkdirAll(data, 0o700)
	os.WriteFile(filepath.Join(data, "ad-password"), []byte(sambatest.AdminPassword+"\n"), 0o600)
	cfg := filepath.Join(data, "congvu.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`[server]
hostname = "mail.khanhhoa.gov.vn"
data_dir = %q
local_domains = ["khanhhoa.gov.vn"]

[directory]
backend = "ldap"

[directory.ldap]
schema = "ad"
url = %q
base_dn = %q
bind_dn = %q
bind_password_file = "ad-password"
ca_file = %q

[inbound]
authenticate = false
`, data, dc.URL, sambatest.BaseDN, dc.AdminDN, dc.CAFile)), 0o600)
	accounts := filepath.Join(dir, "accounts.csv")
	os.WriteFile(accounts, []byte("address,password,role\n"+thanh.Address+","+thanh.Password+",official\n"+
		duc.Address+","+duc.Password+",official\n"), 0o600)
	s := startCommand(t, dir, accounts, "serve", "--config", cfg)

	login := func(user, password string) string {
		t.Helper()
		var r struct{ Result string }
		s.pyJSON(&r, "imap-login", "--addr", s.addrs["imaps"], "--user", user, "--password", password)
		return r.Result
	}
	for _, user := range []string{"thanhnn", "thanhnn@" + domain, thanh.Address, "giamdoc.skhcn@" + domain} {
		if r := login(user, thanh.Password); r != "OK" {
			t.Errorf("IMAP login as %s: %s", user, r)
		}
	}
	if r := login("nghihuu", "Ngh1Huu#2025"); !strings.Contains(r, "CONTACTADMIN") {
		t.Errorf("IMAP login of an account disabled in AD: %q", r)
	}
	for _, to := range []string{thanh.Address, "GiamDoc.skhcn@" + domain} {
		if err := s.sendMX("vanthu@hue.gov.vn", []string{to}, simpleMessage("vanthu@hue.gov.vn", to, "Gui "+to, "x")); err != nil {
			t.Errorf("MX delivery to %s: %v", to, err)
		}
	}
	// Submission with the sAMAccountName as the SASL user name.
	c, err := smtp.DialTLS(s.addrs["submissions"], s.tlsConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(sasl.NewPlainClient("", "thanhnn", thanh.Password)); err != nil {
		t.Fatalf("SMTP AUTH as thanhnn: %v", err)
	}
	if err := c.SendMail(thanh.Address, []string{duc.Address}, bytes.NewReader(simpleMessage(thanh.Address, duc.Address, "Qua AD", "x"))); err != nil {
		t.Errorf("submission: %v", err)
	}
	c.Close()
	if got := s.fetchAll(thanh, "INBOX"); len(got) != 2 {
		t.Errorf("INBOX of %s has %d messages, want 2 (address and proxy alias)", thanh.Address, len(got))
	}

	var wrong struct{ Answers []string }
	s.pyJSON(&wrong, "imap-wrong-logins", "--addr", s.addrs["imaps"], "--user", "thanhnn", "--password", thanh.Password, "--count", "13")
	if len(wrong.Answers) != 13 || !strings.Contains(wrong.Answers[11], "AUTHENTICATIONFAILED") || !strings.Contains(wrong.Answers[12], "CONTACTADMIN") {
		t.Fatalf("13 wrong passwords typed as the sAMAccountName: %q", wrong.Answers)
	}
	for _, user := range []string{"thanhnn", "thanhnn@" + domain, thanh.Address} {
		if r := login(user, thanh.Password); !strings.Contains(r, "CONTACTADMIN") {
			t.Errorf("right password as %s after the lockout: %q", user, r)
		}
	}
	out, err := s.congvu("account show", thanh.Address)
	if err != nil || !strings.Contains(out, "locked") || !strings.Contains(out, "13 consecutive failed logins") {
		t.Errorf("congvu account show: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(data, "org.db")); err != nil {
		t.Errorf("congvu's own store: %v", err)
	}
	if out, err := s.congvu("account unlock", "--reason", "đã xác minh", thanh.Address); err != nil {
		t.Fatalf("congvu account unlock: %v\n%s", err, out)
	}
	if r := login("thanhnn", thanh.Password); r != "OK" {
		t.Errorf("after unlock: %q", r)
	}
	got := s.fetchAll(duc, "INBOX")
	if len(got) != 1 || !bytes.Contains(got[0].Raw, []byte("Subject: Qua AD")) {
		t.Errorf("INBOX of %s has %d messages, want the one submitted as thanhnn", duc.Address, len(got))
	}
}
