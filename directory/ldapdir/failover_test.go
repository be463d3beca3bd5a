package ldapdir

import (
	"encoding/base64"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"congvu/directory"
)

// startReplicatedPair starts two slapds and makes them replicate each
// other with deploy/ldap/replicate-slapd.sh (replication.ldif).
func startReplicatedPair(t *testing.T) (a, b *slapd) {
	t.Helper()
	requireSlapd(t)
	t.Setenv("LDAP_BIND_PW", "repl-secret-"+strings.Repeat("x", 8))
	t.Setenv("LDAP_BASE", "dc=khanhhoa,dc=gov,dc=vn")
	a, b = &slapd{dir: t.TempDir()}, &slapd{dir: t.TempDir()}
	a.start(t)
	t.Cleanup(func() { a.stop(t) })
	b.start(t)
	t.Cleanup(func() { b.stop(t) })
	if out, err := exec.Command(scriptPath(t, "replicate-slapd.sh"), a.dir, b.dir).CombinedOutput(); err != nil {
		t.Fatalf("replicate-slapd.sh: %v\n%s", err, out)
	}
	a.start(t) // re-read the env (same ports)
	b.start(t)
	return a, b
}

// lookupAt asks one server directly whether it holds mail=address.
func lookupAt(t *testing.T, s *slapd, address string) string {
	t.Helper()
	out, _ := exec.Command("ldapsearch", "-x", "-LLL", "-o", "nettimeout=2", "-H", s.env["LDAP_URL"],
		"-D", s.env["LDAP_BIND_DN"], "-w", s.env["LDAP_BIND_PW"], "-b", s.env["LDAP_BASE"],
		"(mail="+address+")", "title").CombinedOutput()
	return string(out)
}

// TestReplicatedProvidersFailover: two slapds in multi-provider
// replication; congvu, given both URLs, writes through the first, the
// entry appears on the second; with the first stopped, lookups, logins
// and writes go on within a second (the write lands on the second and
// replicates back once the first returns).
func TestReplicatedProvidersFailover(t *testing.T) {
	a, b := startReplicatedPair(t)
	cfg := a.config()
	cfg.URL = a.env["LDAP_URL"] + " " + b.env["LDAP_URL"]
	cfg.CacheTTL, cfg.NegativeCacheTTL = -1, -1 // ask the servers every time
	cfg.Timeout = time.Second                   // timeout_seconds = 1: a hung provider costs a second
	d := open(t, cfg)
	ctx := t.Context()
	if err := d.PutUnit(ctx, directory.Unit{Code: "56", Name: "Tỉnh Khánh Hòa", Abbr: "khanhhoa", Kind: directory.UnitProvince}); err != nil {
		t.Fatal(err)
	}
	const addr = "thanhnn.skhcn@khanhhoa.gov.vn"
	if err := d.PutAccount(ctx, directory.Account{Address: addr, DisplayName: "Nguyễn Ngọc Thành", UnitCode: "56",
		Title: "Giám đốc"}, "Mật-khẩu-2026!"); err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if ok() {
				return
			}
		}
		t.Fatalf("%s: not after 15s", what)
	}
	waitFor("entry replicated to the second provider", func() bool { return strings.Contains(lookupAt(t, b, addr), "title:") })

	// The first provider killed (its connections reset).
	pid, _ := strconv.Atoi(a.env["SLAPD_PID"])
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for syscall.Kill(pid, 0) == nil {
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	if _, err := d.Authenticate(ctx, addr, "Mật-khẩu-2026!"); err != nil {
		t.Fatalf("login with the first provider down: %v", err)
	}
	took := time.Since(start)
	if took > 1500*time.Millisecond {
		t.Errorf("failover took %v, want about a second at most", took)
	}
	t.Logf("login with the first provider down answered in %v", took)
	acct, err := d.Lookup(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	acct.Title = "Phó Giám đốc"
	if err := d.PutAccount(ctx, *acct, ""); err != nil {
		t.Fatalf("write with the first provider down: %v", err)
	}
	newTitle := "title:: " + base64.StdEncoding.EncodeToString([]byte("Phó Giám đốc"))
	if !strings.Contains(lookupAt(t, b, addr), newTitle) {
		t.Errorf("the write did not land on the second provider:\n%s", lookupAt(t, b, addr))
	}
	a.start(t)
	waitFor("the write made while it was down reaches the first provider", func() bool {
		return strings.Contains(lookupAt(t, a, addr), newTitle) // non-ASCII: base64
	})

	// The provider in use hangs (accepts connections, never answers, as a
	// frozen machine does): the request on its connection times out after
	// timeout_seconds and the retry goes to the other provider at once.
	pidB, _ := strconv.Atoi(b.env["SLAPD_PID"])
	if err := syscall.Kill(pidB, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pidB, syscall.SIGCONT)
	start = time.Now()
	if _, err := d.Authenticate(ctx, addr, "Mật-khẩu-2026!"); err != nil {
		t.Fatalf("login with the provider in use hung: %v", err)
	}
	took = time.Since(start)
	t.Logf("login with the provider in use hung answered in %v", took)
	if took > 1800*time.Millisecond {
		t.Errorf("failover from a hung provider took %v, want about timeout_seconds (1s)", took)
	}
	syscall.Kill(pidB, syscall.SIGCONT)
}
