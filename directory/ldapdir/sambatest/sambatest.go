// Package sambatest starts a real Active Directory domain controller
// (Debian's samba) for tests: provisioned in a temporary directory, with
// only its LDAP service, in a private network namespace because AD's LDAP
// ports (389, 636) cannot be moved.
//
// A test calls InNetns first: in the test process it re-runs the test
// itself under `unshare -n` and reports the child's result (returning
// false); in the child it brings up the loopback interface and returns
// true, and the test goes on with Start and whatever clients it needs,
// all inside the namespace.
package sambatest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"
)

// envChild marks the re-run test inside the namespace.
const envChild = "CONGVU_SAMBATEST_NETNS"

// Realm and the rest name the test domain.
const (
	Realm         = "KHANHHOA.GOV.VN"
	Domain        = "KHANHHOA"
	BaseDN        = "DC=khanhhoa,DC=gov,DC=vn"
	AdminPassword = "Adm1n#Quan-Tri2025"
)

// InNetns re-runs the current test in a new network namespace and returns
// false once it has reported the result, or returns true when already
// inside (the test then does its work). extraEnv is passed to the child.
func InNetns(t *testing.T, extraEnv ...string) bool {
	t.Helper()
	if os.Getenv(envChild) == t.Name() {
		if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			t.Fatalf("ip link set lo up: %v\n%s", err, out)
		}
		return true
	}
	for _, tool := range []string{"unshare", "ip", "samba", "samba-tool"} {
		if _, err := exec.LookPath(tool); err != nil {
			if _, serr := os.Stat("/usr/sbin/" + tool); serr != nil {
				t.Fatalf("%s not found: the Active Directory tests need Debian's samba (apt-get install -y samba)", tool)
			}
		}
	}
	args := []string{"-n"}
	if os.Geteuid() != 0 {
		args = []string{"-r", "-n"} // a user namespace where we are root
	}
	args = append(args, os.Args[0], "-test.run", "^"+strings.ReplaceAll(t.Name(), "/", "$/^")+"$", "-test.count=1", "-test.v")
	if d, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout", time.Until(d).Round(time.Second).String())
	}
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(append(os.Environ(), envChild+"="+t.Name(), "PATH="+os.Getenv("PATH")+":/usr/sbin"), extraEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("in a private network namespace:\n%s", out.String())
	if err != nil || !strings.Contains(out.String(), "--- PASS: "+t.Name()) {
		t.Fatalf("the test failed in its network namespace: %v", err)
	}
	return false
}

// DC is a running Samba AD domain controller.
type DC struct {
	Dir    string
	URL    string // ldaps://127.0.0.1/
	CAFile string // PEM of its certificate
	// AdminDN binds as the domain administrator.
	AdminDN string
	conn    *ldap.Conn
}

// Start provisions a domain and starts samba with only the LDAP service,
// over TLS with a certificate for 127.0.0.1. It must run inside InNetns.
func Start(t *testing.T) *DC {
	t.Helper()
	if os.Getenv(envChild) == "" {
		t.Fatal("sambatest.Start outside InNetns")
	}
	dir := t.TempDir()
	dc := &DC{Dir: dir, URL: "ldaps://127.0.0.1/", AdminDN: "CN=Administrator,CN=Users," + BaseDN}
	empty := filepath.Join(dir, "empty.conf")
	os.WriteFile(empty, nil, 0o600)
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	// The empty configuration keeps the machine's /etc/samba/smb.conf out.
	run("samba-tool", "domain", "provision", "-s", empty, "--use-rfc2307", "--realm="+Realm, "--domain="+Domain,
		"--server-role=dc", "--dns-backend=NONE", "--adminpass="+AdminPassword, "--targetdir="+dir,
		"--host-ip=127.0.0.1", "--option=interfaces=lo", "--option=bind interfaces only=yes")
	netbios := "DC"
	if b, err := os.ReadFile(filepath.Join(dir, "etc", "smb.conf")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == "netbios name" {
				netbios = strings.TrimSpace(v)
			}
		}
	}
	tlsDir := filepath.Join(dir, "tls")
	os.MkdirAll(tlsDir, 0o700)
	run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
		"-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
		"-keyout", filepath.Join(tlsDir, "key.pem"), "-out", filepath.Join(tlsDir, "cert.pem"))
	os.Chmod(filepath.Join(tlsDir, "key.pem"), 0o600)
	dc.CAFile = filepath.Join(tlsDir, "cert.pem")
	for _, d := range []string{"run", "cache"} {
		os.MkdirAll(filepath.Join(dir, d), 0o700)
	}
	conf := filepath.Join(dir, "etc", "smb.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`[global]
	netbios name = %[2]s
	realm = %[3]s
	workgroup = %[4]s
	server role = active directory domain controller
	server services = ldap
	interfaces = lo
	bind interfaces only = yes
	private dir = %[1]s/private
	state directory = %[1]s/state
	lock directory = %[1]s
	cache directory = %[1]s/cache
	pid directory = %[1]s/run
	winbindd socket directory = %[1]s/run/winbindd
	ntp signd socket directory = %[1]s/run/ntp_signd
	binddns dir = %[1]s/bind-dns
	log file = %[1]s/log.%%m
	logging = file
	idmap_ldb:use rfc2307 = yes
	tls enabled = yes
	tls keyfile = %[1]s/tls/key.pem
	tls certfile = %[1]s/tls/cert.pem
	tls cafile =
`, dir, netbios, Realm, Domain)), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "samba", "-i", "-s", conf)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("samba: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		if dc.conn != nil {
			dc.conn.Close()
		}
		cancel()
		<-done
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := dc.dial()
		if err == nil {
			if err = c.Bind(dc.AdminDN, AdminPassword); err == nil {
				dc.conn = c
				return dc
			}
			c.Close()
		}
		select {
		case <-done:
			t.Fatalf("samba exited:\n%s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("samba's LDAP did not answer: %v\n%s", err, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (dc *DC) dial() (*ldap.Conn, error) {
	pem, err := os.ReadFile(dc.CAFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	return ldap.DialURL(dc.URL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}))
}

// User is an AD user to create under CN=Users.
type User struct {
	SAM, Mail, Password string
	Proxy               []string // extra SMTP addresses (proxyAddresses smtp:…)
	DisplayName, Title  string
	Department, Phone   string
	Disabled            bool
}

// AddUser creates an enabled (or disabled) user with a password and
// returns its DN. userPrincipalName is SAM@khanhhoa.gov.vn.
func (dc *DC) AddUser(t *testing.T, u User) string {
	t.Helper()
	dn := "CN=" + ldap.EscapeDN(u.DisplayName) + ",CN=Users," + BaseDN
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	add.Attribute("sAMAccountName", []string{u.SAM})
	add.Attribute("userPrincipalName", []string{u.SAM + "@" + strings.ToLower(Realm)})
	add.Attribute("displayName", []string{u.DisplayName})
	if u.Mail != "" {
		add.Attribute("mail", []string{u.Mail})
		proxy := []string{"SMTP:" + u.Mail}
		for _, p := range u.Proxy {
			proxy = append(proxy, "smtp:"+p)
		}
		add.Attribute("proxyAddresses", proxy)
	}
	for attr, v := range map[string]string{"title": u.Title, "department": u.Department, "telephoneNumber": u.Phone} {
		if v != "" {
			add.Attribute(attr, []string{v})
		}
	}
	add.Attribute("unicodePwd", []string{adPassword(u.Password)})
	uac := "512" // NORMAL_ACCOUNT
	if u.Disabled {
		uac = "514" // | ACCOUNTDISABLE
	}
	add.Attribute("userAccountControl", []string{uac})
	if err := dc.conn.Add(add); err != nil {
		t.Fatalf("adding AD user %s: %v", u.SAM, err)
	}
	return dn
}

// AddGroup creates a security group and returns its DN.
func (dc *DC) AddGroup(t *testing.T, name string, members ...string) string {
	t.Helper()
	dn := "CN=" + ldap.EscapeDN(name) + ",CN=Users," + BaseDN
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"top", "group"})
	add.Attribute("sAMAccountName", []string{name})
	if len(members) > 0 {
		add.Attribute("member", members)
	}
	if err := dc.conn.Add(add); err != nil {
		t.Fatalf("adding AD group %s: %v", name, err)
	}
	return dn
}

// Replace replaces an attribute of an entry.
func (dc *DC) Replace(t *testing.T, dn, attr string, vals ...string) {
	t.Helper()
	mod := ldap.NewModifyRequest(dn, nil)
	mod.Replace(attr, vals)
	if err := dc.conn.Modify(mod); err != nil {
		t.Fatalf("modifying %s %s: %v", dn, attr, err)
	}
}

// adPassword encodes a password for unicodePwd: the quoted string in
// UTF-16LE (MS-ADTS 3.1.1.3.1.5).
func adPassword(pw string) string {
	u := utf16.Encode([]rune(`"` + pw + `"`))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return string(b)
}
