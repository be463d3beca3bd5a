package ldapdir

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"congvu/directory"
	"congvu/directory/dirtest"
	"congvu/internal/mailerr"
)

// slapd is a throwaway server started by deploy/ldap/start-slapd.sh.
type slapd struct {
	dir string
	env map[string]string
}

func scriptPath(t *testing.T, name string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "deploy", "ldap", name)
}

// requireSlapd fails (never skips): CI installs Debian's slapd and
// ldap-utils, and a silently skipped LDAP suite would hide regressions.
func requireSlapd(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"slapd", "slapadd", "slappasswd", "ldapsearch"} {
		if _, err := exec.LookPath(tool); err == nil {
			continue
		}
		if _, err := os.Stat("/usr/sbin/" + tool); err == nil {
			continue
		}
		t.Fatalf("%s not found: the LDAP directory tests need Debian's slapd and ldap-utils "+
			"(apt-get install -y slapd ldap-utils)", tool)
	}
}

// startSlapd starts a fresh slapd in a new temporary directory and stops it
// when the test ends.
func startSlapd(t *testing.T) *slapd {
	t.Helper()
	requireSlapd(t)
	s := &slapd{dir: t.TempDir()}
	s.start(t)
	t.Cleanup(func() { s.stop(t) })
	return s
}

// start starts (or restarts, same port and data) the server.
func (s *slapd) start(t *testing.T) {
	t.Helper()
	out, err := exec.Command(scriptPath(t, "start-slapd.sh"), s.dir).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("start-slapd.sh: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("start-slapd.sh: %v", err)
	}
	s.env = map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			s.env[k] = v
		}
	}
	for _, k := range []string{"LDAP_URL", "LDAP_BASE", "LDAP_BIND_DN", "LDAP_BIND_PW", "SLAPD_PID"} {
		if s.env[k] == "" {
			t.Fatalf("start-slapd.sh printed no %s:\n%s", k, out)
		}
	}
}

func (s *slapd) stop(t *testing.T) {
	t.Helper()
	if out, err := exec.Command(scriptPath(t, "stop-slapd.sh"), s.dir).CombinedOutput(); err != nil {
		t.Errorf("stop-slapd.sh: %v\n%s", err, out)
	}
}

func (s *slapd) config() Config {
	return Config{URL: s.env["LDAP_URL"], BaseDN: s.env["LDAP_BASE"],
		BindDN: s.env["LDAP_BIND_DN"], BindPassword: s.env["LDAP_BIND_PW"]}
}

func open(t *testing.T, cfg Config) *Directory {
	t.Helper()
	d, err := Open(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestConformance runs the shared suite on one slapd, emptied before each
// sub-test (the suite wants empty directories, and slapo-unique enforces
// unique addresses across the whole database). The other tests start
// slapd afresh.
func TestConformance(t *testing.T) {
	s := startSlapd(t)
	start := time.Now()
	dirtest.Run(t, func(t *testing.T) directory.Writer {
		s.wipe(t)
		return open(t, s.config())
	})
	t.Logf("conformance suite on slapd: %v", time.Since(start))
}

// wipe deletes every entry below the suffix, deepest first.
func (s *slapd) wipe(t *testing.T) {
	t.Helper()
	c, err := ldap.DialURL(s.env["LDAP_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(s.env["LDAP_BIND_DN"], s.env["LDAP_BIND_PW"]); err != nil {
		t.Fatal(err)
	}
	res, err := c.Search(ldap.NewSearchRequest(s.env["LDAP_BASE"], ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	depth := func(dn string) int { d, _ := ldap.ParseDN(dn); return len(d.RDNs) }
	slices.SortFunc(res.Entries, func(a, b *ldap.Entry) int { return depth(b.DN) - depth(a.DN) })
	for _, e := range res.Entries {
		if depth(e.DN) > depth(s.env["LDAP_BASE"]) {
			if err := c.Del(ldap.NewDelRequest(e.DN, nil)); err != nil {
				t.Fatalf("delete %s: %v", e.DN, err)
			}
		}
	}
}

func seed(t *testing.T, d *Directory) {
	t.Helper()
	ctx := t.Context()
	for _, u := range []directory.Unit{
		{Code: "56", Name: "Ủy ban nhân dân tỉnh Khánh Hòa", Abbr: "ubnd", Kind: directory.UnitProvince},
		{Code: "56.skhcn", Name: "Sở Khoa học và Công nghệ", Abbr: "skhcn", Kind: directory.UnitDepartment, ParentCode: "56"},
	} {
		if err := d.PutUnit(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []directory.Account{
		{Address: "thanhnn.skhcn@khanhhoa.gov.vn", DisplayName: "Nguyễn Ngọc Thành", Title: "Giám đốc", UnitCode: "56.skhcn"},
		{Address: "annv.skhcn@khanhhoa.gov.vn", DisplayName: "Nguyễn Văn An", Title: "Chuyên viên", UnitCode: "56.skhcn"},
		{Address: "maitt.skhcn@khanhhoa.gov.vn", DisplayName: "Trần Thị Mai", Title: "Văn thư", UnitCode: "56.skhcn",
			Role: directory.RoleClerk, State: directory.StateLocked},
	} {
		if err := d.PutAccount(ctx, a, "Khanh-Hoa#2025a"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOutage stops slapd under load: every failure must be
// ErrDirectoryUnavailable (never unknown user or auth failed), and the
// directory must recover by itself when slapd returns on the same port.
func TestOutage(t *testing.T) {
	s := startSlapd(t)
	d := open(t, s.config())
	defer d.Close()
	ctx := t.Context()
	seed(t, d)
	const thanh, an = "thanhnn.skhcn@khanhhoa.gov.vn", "annv.skhcn@khanhhoa.gov.vn"
	if _, err := d.Lookup(ctx, thanh); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Lookup(ctx, "khongco@khanhhoa.gov.vn"); !errors.Is(err, mailerr.ErrUnknownUser) {
		t.Fatal(err)
	}

	// Load: lookups of uncached addresses and logins, all through the outage.
	var stop atomic.Bool
	var bad atomic.Value
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				var err error
				if i%2 == 0 {
					_, err = d.Authenticate(ctx, an, "Khanh-Hoa#2025a")
				} else {
					_, err = d.Lookup(ctx, "x"+string(rune('a'+n%26))+".skhcn@khanhhoa.gov.vn")
					if errors.Is(err, mailerr.ErrUnknownUser) {
						err = nil
					}
				}
				if err != nil && !errors.Is(err, mailerr.ErrDirectoryUnavailable) {
					bad.Store(err)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	s.stop(t)
	if _, err := d.Lookup(ctx, an); !errors.Is(err, mailerr.ErrDirectoryUnavailable) {
		t.Errorf("Lookup while slapd is down: %v, want ErrDirectoryUnavailable", err)
	}
	if _, err := d.Authenticate(ctx, an, "Khanh-Hoa#2025a"); !errors.Is(err, mailerr.ErrDirectoryUnavailable) {
		t.Errorf("Authenticate while slapd is down: %v, want ErrDirectoryUnavailable", err)
	}
	if err := d.SetState(ctx, an, directory.StateLocked); !errors.Is(err, mailerr.ErrDirectoryUnavailable) {
		t.Errorf("SetState while slapd is down: %v, want ErrDirectoryUnavailable", err)
	}
	if err := d.Ping(ctx); !errors.Is(err, mailerr.ErrDirectoryUnavailable) && err != nil {
		t.Errorf("Ping while down: %v", err)
	}
	// Recent results are still served from the cache: delivery goes on.
	if a, err := d.Lookup(ctx, thanh); err != nil || a.Address != thanh {
		t.Errorf("cached Lookup while slapd is down: %v, %v", a, err)
	}
	if _, err := d.Lookup(ctx, "khongco@khanhhoa.gov.vn"); !errors.Is(err, mailerr.ErrUnknownUser) {
		t.Errorf("negatively cached Lookup while slapd is down: %v", err)
	}
	time.Sleep(200 * time.Millisecond)

	s.start(t)
	restarted := time.Now()
	for attempt := 1; ; attempt++ {
		_, err := d.Authenticate(ctx, an, "Khanh-Hoa#2025a")
		if err == nil {
			if attempt > 1 {
				t.Logf("%d attempts before recovery", attempt)
			}
			break
		}
		t.Logf("attempt %d after restart: %v", attempt, err)
		if time.Since(restarted) > 5*time.Second {
			t.Fatalf("no recovery 5s after slapd restarted: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("recovered %v after slapd restarted", time.Since(restarted))
	if a, err := d.Lookup(ctx, an); err != nil || a.Address != an {
		t.Errorf("Lookup after restart: %v, %v", a, err)
	}
	if err := d.Ping(ctx); err != nil {
		t.Errorf("Ping after restart: %v", err)
	}
	stop.Store(true)
	wg.Wait()
	if err, _ := bad.Load().(error); err != nil {
		t.Errorf("under load during the outage: %v (want only ErrDirectoryUnavailable)", err)
	}
}

// TestAddressBook queries the directory as Thunderbird and Outlook do:
// anonymous prefix search on cn, mail and sn, with and without diacritics.
// Only public attributes may come back.
func TestAddressBook(t *testing.T) {
	s := startSlapd(t)
	d := open(t, s.config())
	defer d.Close()
	seed(t, d)
	search := func(filter string, attrs ...string) string {
		t.Helper()
		args := append([]string{"-x", "-LLL", "-o", "ldif-wrap=no", "-H", s.env["LDAP_URL"], "-b", s.env["LDAP_BASE"], filter}, attrs...)
		out, err := exec.Command("ldapsearch", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ldapsearch %s: %v\n%s", filter, err, out)
		}
		return string(out)
	}
	for _, q := range []string{"nguyen", "Nguyễn", "NGUYEN"} {
		out := search("(|(cn="+q+"*)(mail="+q+"*)(sn="+q+"*))", "cn", "mail", "title", "userPassword", "congvuMailboxState")
		for _, want := range []string{"mail: thanhnn.skhcn@khanhhoa.gov.vn", "mail: annv.skhcn@khanhhoa.gov.vn", "title:: "} {
			if !strings.Contains(out, want) {
				t.Errorf("query %q: no %q in\n%s", q, want, out)
			}
		}
		if strings.Contains(out, "maitt") {
			t.Errorf("query %q found Trần Thị Mai:\n%s", q, out)
		}
		if strings.Contains(strings.ToLower(out), "userpassword") || strings.Contains(strings.ToLower(out), "congvumailboxstate") {
			t.Errorf("anonymous read returned private attributes:\n%s", out)
		}
	}
	// Given name without diacritics, and the unit tree for browsing.
	if out := search("(givenName=thanh*)", "mail"); !strings.Contains(out, "thanhnn.skhcn@") {
		t.Errorf("givenName search: %s", out)
	}
	if out := search("(ou=so khoa hoc*)", "congvuUnitCode"); !strings.Contains(out, "congvuUnitCode: 56.skhcn") {
		t.Errorf("unit search: %s", out)
	}
	// Private attributes are neither readable nor searchable anonymously.
	if out := search("(congvuMailboxState=locked)", "mail"); strings.Contains(out, "mail:") {
		t.Errorf("anonymous filter on the mailbox state matched:\n%s", out)
	}
	if out := search("(mail=maitt*)", "*", "+"); strings.Contains(strings.ToLower(out), "userpassword") ||
		strings.Contains(out, "congvuQuotaBytes") || strings.Contains(out, "congvuMustChangePassword") {
		t.Errorf("anonymous read of all attributes leaks private ones:\n%s", out)
	}
}

// TestTLS connects with StartTLS and with ldaps://, verifying the server's
// certificate: an untrusted one is a temporary failure, not a fallback to
// plain text.
func TestTLS(t *testing.T) {
	s := startSlapd(t)
	if s.env["LDAPS_URL"] == "" {
		t.Fatal("start-slapd.sh made no certificate (is openssl installed?)")
	}
	pem, err := os.ReadFile(s.env["LDAP_CA_CERT"])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	ctx := t.Context()
	starttls := s.config()
	starttls.StartTLS, starttls.TLS = true, &tls.Config{RootCAs: roots}
	ldaps := s.config()
	ldaps.URL, ldaps.TLS = s.env["LDAPS_URL"], &tls.Config{RootCAs: roots}
	for name, cfg := range map[string]Config{"StartTLS": starttls, "ldaps": ldaps} {
		d := open(t, cfg)
		if err := d.PutAccount(ctx, directory.Account{Address: strings.ToLower(name) + ".skhcn@khanhhoa.gov.vn",
			DisplayName: "Lê Văn Bảo"}, "Khanh-Hoa#2025a"); err != nil {
			t.Errorf("%s: PutAccount: %v", name, err)
		}
		if _, err := d.Authenticate(ctx, strings.ToLower(name)+".skhcn@khanhhoa.gov.vn", "Khanh-Hoa#2025a"); err != nil {
			t.Errorf("%s: Authenticate: %v", name, err)
		}
		d.Close()
		cfg.TLS = &tls.Config{} // system roots: the test CA is not among them
		d = open(t, cfg)
		if err := d.Ping(ctx); !errors.Is(err, mailerr.ErrDirectoryUnavailable) {
			t.Errorf("%s with an untrusted certificate: %v, want ErrDirectoryUnavailable", name, err)
		}
		d.Close()
	}
}

func TestOpenErrors(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{URL: "ldap://127.0.0.1/"},
		{URL: "http://127.0.0.1/", BaseDN: "dc=x"},
		{URL: "ldaps://127.0.0.1/", BaseDN: "dc=x", StartTLS: true},
		{URL: "ldap://127.0.0.1/", BaseDN: "not a dn"},
		{URL: "ldap://127.0.0.1/", BaseDN: "dc=x", UserFilter: "(mail=x)"},
		{URL: "ldap://127.0.0.1/", BaseDN: "dc=x", UserFilter: "(mail=%s"},
		{URL: "ldap://127.0.0.1/", BaseDN: "dc=x", RoleGroups: map[string]directory.Role{"cn=g": "boss"}},
	} {
		if d, err := Open(cfg, Options{}); err == nil {
			d.Close()
			t.Errorf("Open(%+v) succeeded", cfg)
		}
	}
}

// TestDown checks a directory that was never reachable: temporary errors.
func TestDown(t *testing.T) {
	d := open(t, Config{URL: "ldap://127.0.0.1:1/", BaseDN: "dc=congvu,dc=test", Timeout: time.Second})
	defer d.Close()
	ctx := t.Context()
	if _, err := d.Lookup(ctx, "a@khanhhoa.gov.vn"); !errors.Is(err, mailerr.ErrDirectoryUnavailable) {
		t.Errorf("Lookup: %v", err)
	}
	if _, err := d.Authenticate(ctx, "a@khanhhoa.gov.vn", "x"); !errors.Is(err, mailerr.ErrDirectoryUnavailable) {
		t.Errorf("Authenticate: %v", err)
	}
	if _, err := d.Units(ctx); !errors.Is(err, mailerr.ErrDirectoryUnavailable) {
		t.Errorf("Units: %v", err)
	}
}

// TestWrongPasswordByOtherLoginName: with a user filter that accepts
// another login name (AD's sAMAccountName; here employeeNumber), a wrong
// password returns the account with ErrAuthFailed, so the policy engine
// counts it toward the lockout (issue 15 §12); the right one logs in.
func TestWrongPasswordByOtherLoginName(t *testing.T) {
	s := startSlapd(t)
	cfg := s.config()
	cfg.UserFilter = "(&(objectClass=congvuAccount)(|(mail=%s)(congvuMailAlias=%s)(employeeNumber=%s)))"
	d := open(t, cfg)
	defer d.Close()
	seed(t, d)
	c, err := ldap.DialURL(s.env["LDAP_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(s.env["LDAP_BIND_DN"], s.env["LDAP_BIND_PW"]); err != nil {
		t.Fatal(err)
	}
	mod := ldap.NewModifyRequest("uid=thanhnn.skhcn@khanhhoa.gov.vn,ou=people,"+s.env["LDAP_BASE"], nil)
	mod.Add("employeeNumber", []string{"thanhnn"})
	if err := c.Modify(mod); err != nil {
		t.Fatal(err)
	}
	a, err := d.Authenticate(t.Context(), "thanhnn", "sai-mat-khau")
	if !errors.Is(err, mailerr.ErrAuthFailed) || a == nil || a.Address != "thanhnn.skhcn@khanhhoa.gov.vn" {
		t.Fatalf("wrong password by employeeNumber: %v, %v", a, err)
	}
	if a, err := d.Authenticate(t.Context(), "thanhnn", "Khanh-Hoa#2025a"); err != nil || a.Address != "thanhnn.skhcn@khanhhoa.gov.vn" {
		t.Fatalf("right password by employeeNumber: %v, %v", a, err)
	}
	if a, err := d.Authenticate(t.Context(), "khongco", "x"); !errors.Is(err, mailerr.ErrAuthFailed) || a != nil {
		t.Fatalf("unknown login: %v, %v", a, err)
	}
}

// TestOfficialsCannotWriteTheirOwnPassword: the shipped ACLs give no
// "by self write" on userPassword, so an official bound as themselves
// cannot set a password that skipped congvu's rules (Password Modify or a
// plain modify); the service account still can (SetPassword).
func TestOfficialsCannotWriteTheirOwnPassword(t *testing.T) {
	s := startSlapd(t)
	d := open(t, s.config())
	defer d.Close()
	seed(t, d)
	c, err := ldap.DialURL(s.env["LDAP_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dn := "uid=thanhnn.skhcn@khanhhoa.gov.vn,ou=people," + s.env["LDAP_BASE"]
	if err := c.Bind(dn, "Khanh-Hoa#2025a"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PasswordModify(ldap.NewPasswordModifyRequest("", "", "Tu-Dat#Mat-Khau9")); !isCode(err, ldap.LDAPResultInsufficientAccessRights) {
		t.Errorf("Password Modify of one's own entry: %v, want insufficientAccessRights", err)
	}
	mod := ldap.NewModifyRequest(dn, nil)
	mod.Replace("userPassword", []string{"Tu-Dat#Mat-Khau9"})
	if err := c.Modify(mod); !isCode(err, ldap.LDAPResultInsufficientAccessRights) {
		t.Errorf("modify of one's own userPassword: %v, want insufficientAccessRights", err)
	}
	if _, err := d.Authenticate(t.Context(), "thanhnn.skhcn@khanhhoa.gov.vn", "Tu-Dat#Mat-Khau9"); !errors.Is(err, mailerr.ErrAuthFailed) {
		t.Errorf("the self-set password works: %v", err)
	}
	if err := d.SetPassword(t.Context(), "thanhnn.skhcn@khanhhoa.gov.vn", "Doi.MatKhau#7", false); err != nil {
		t.Fatalf("service account: %v", err)
	}
	if _, err := d.Authenticate(t.Context(), "thanhnn.skhcn@khanhhoa.gov.vn", "Doi.MatKhau#7"); err != nil {
		t.Errorf("password set by the service account: %v", err)
	}
}
