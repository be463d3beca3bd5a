package pop3d

import (
	"bufio"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"congvu/directory"
	"congvu/internal/config"
	"congvu/policy"
)

func withEngine(t *testing.T, mutate func(*config.Policy)) envOption {
	return func(_ *Config, d *Deps) {
		cfg := config.DefaultPolicy()
		cfg.DigestHour = -1
		mutate(&cfg)
		w, _ := d.Dir.(directory.Writer)
		e, err := policy.New(policy.Options{Config: cfg, LocalDomains: []string{"skhcn.laocai.gov.vn"},
			DBPath: filepath.Join(t.TempDir(), "policy.db"), Dir: d.Dir, Writer: w, Store: d.Store})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		d.Policy = e
	}
}

// Failed PASS commands count toward the lockout like any protocol's, and
// the lock is answered with [AUTH] and the administrator text.
func TestPolicyPOP3Lockout(t *testing.T) {
	// More than 1 failure locks: the second.
	e := newEnv(t, withEngine(t, func(c *config.Policy) { c.Rules.LockoutFailures = 1 }))
	c := e.dialTLS()
	if got := c.login(userAddr, "sai-1"); !strings.HasPrefix(got, "-ERR [AUTH]") {
		t.Fatalf("first failure: %q", got)
	}
	if got := c.login(userAddr, "sai-2"); !strings.HasPrefix(got, "-ERR [AUTH]") || !strings.Contains(got, "too many failed logins") {
		t.Fatalf("second failure: %q, want the lockout text", got)
	}
	c = e.dialTLS()
	if got := c.login(userAddr, userPass); !strings.HasPrefix(got, "-ERR [AUTH]") || !strings.Contains(got, "locked") {
		t.Errorf("right password after lockout: %q", got)
	}
}

func TestPolicyPOP3ThrottleAndDeny(t *testing.T) {
	e := newEnv(t, withEngine(t, func(c *config.Policy) { c.Rules.IPMaxFailures = 1 }))
	c := e.dialTLS()
	c.login(otherAddr, "sai")
	c = e.dialTLS()
	if got := c.login(userAddr, userPass); !strings.HasPrefix(got, "-ERR [SYS/TEMP]") {
		t.Errorf("throttled login: %q, want -ERR [SYS/TEMP]", got)
	}
	d := newEnv(t, withEngine(t, func(c *config.Policy) { c.DenyNetworks = []string{"127.0.0.1/32"} }))
	conn, err := net.Dial("tcp", d.plainAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	g, _ := bufio.NewReader(conn).ReadString('\n')
	if !strings.HasPrefix(g, "-ERR") {
		t.Errorf("greeting from a denied network: %q", g)
	}
}
