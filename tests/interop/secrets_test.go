package interop

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"congvu/internal/config"
	"congvu/web/twofactor"
)

// TestSecretsAtRestAndLDAPCaps upgrades a node from a congvu that kept a
// TOTP secret (web.db) and an approved request's initial passwords
// (org.db) in clear: on start both are sealed in place under a new
// seal.key (0600), the official still signs in to the web with the code
// from the same authenticator, and `congvu request passwords` still hands
// the passwords over once. On the same running node, Debian's
// python3-ldap3 meets the [limits] per-address cap on the LDAP listener:
// a third connection from 127.0.0.1 is refused while 127.0.0.2 is served.
func TestSecretsAtRestAndLDAPCaps(t *testing.T) {
	requireTool(t, "/usr/bin/python3")
	dir := t.TempDir()
	first := startSystem(t, dir)
	u := first.user(0)
	first.stop()
	demo := filepath.Join(dir, "demo")

	// What the previous version left behind.
	os.Remove(filepath.Join(demo, "seal.key"))
	secret := []byte("congvu-totp-20bytes!")
	sqlExec := func(path, q string, args ...any) int64 {
		db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		res, err := db.Exec(q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		id, _ := res.LastInsertId()
		return id
	}
	sqlExec(filepath.Join(demo, "web.db"), `INSERT INTO totp (address, secret, enabled, last_step) VALUES (?, ?, 1, 0)`,
		strings.ToLower(u.Address), secret)
	csvText := "address,password,role,full_name\nmoi.skhcn@khanhhoa.gov.vn,Khoi-Tao#2026qx,official,Người Mới\n"
	now := time.Now().UnixNano()
	id := sqlExec(filepath.Join(demo, "org.db"), `INSERT INTO provision_requests (kind, unit_code, payload, delivery, filed_by, filed, due, state, result, passwords)
		VALUES ('new', '56', '{}', 'file', 'cli:test', ?, ?, 'approved', 'ok', ?)`, now, now, csvText)
	cfgPath := filepath.Join(demo, "congvu.toml")
	editConfigFile(t, cfgPath, func(c *config.Config) {
		c.Limits.ConnectionsPerIP = 2
		c.Limits.ExemptNetworks = []string{} // the quickstart exempts loopback
	})

	s := startServe(t, dir)

	// Sealed in place, under a key only the server's user can read.
	fi, err := os.Stat(filepath.Join(demo, "seal.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("seal.key: %v %v", fi, err)
	}
	for _, f := range []string{"web.db", "web.db-wal"} {
		if b, _ := os.ReadFile(filepath.Join(demo, f)); bytes.Contains(b, secret) {
			t.Errorf("%s still holds the TOTP secret in clear", f)
		}
	}
	for _, f := range []string{"org.db", "org.db-wal"} {
		if b, _ := os.ReadFile(filepath.Join(demo, f)); bytes.Contains(b, []byte("Khoi-Tao#2026qx")) {
			t.Errorf("%s still holds the initial password in clear", f)
		}
	}

	// The authenticator keeps working after the upgrade.
	w := s.adminWeb()
	p := w.submit("/login", "/login", url.Values{"login": {u.Address}, "password": {u.Password}})
	m := csrfInput.FindStringSubmatch(p.Body)
	if p.Status != 200 || m == nil || !strings.Contains(p.Body, "Mã xác thực") {
		t.Fatalf("password step: %d\n%.1500s", p.Status, p.Body)
	}
	p = w.do("POST", "/login/code", url.Values{"csrf": {m[1]}, "code": {twofactor.Code(secret, time.Now())}})
	if p.Status != 200 || strings.HasPrefix(p.Path, "/login") {
		t.Errorf("code from the same authenticator after the upgrade: %d at %s\n%.1500s", p.Status, p.Path, p.Body)
	}

	// The initial passwords are handed over once, as before.
	out := filepath.Join(t.TempDir(), "pw.csv")
	if o, err := run(t, nil, binaryPath, "request", "passwords", "--config", cfgPath, "--out", out, strconv.FormatInt(id, 10)); err != nil {
		t.Fatalf("congvu request passwords: %v\n%s", err, o)
	}
	if b, _ := os.ReadFile(out); string(b) != csvText {
		t.Errorf("passwords file %q, want %q", b, csvText)
	}

	// LDAP: two connections from 127.0.0.1 are the cap.
	host, port := hostPort(s.addrs["ldap"])
	script := fmt.Sprintf(`
import json, time, ldap3
def conn(src):
    s = ldap3.Server(%q, port=%s, get_info=ldap3.NONE, connect_timeout=5)
    c = ldap3.Connection(s, source_address=src, receive_timeout=10, raise_exceptions=True)
    c.open()
    c.bind()
    c.search(%q, "(mail=*)", attributes=["mail"], size_limit=1)
    if len(c.entries) != 1:
        raise Exception("no entry")
    return c
res = {}
held = [conn("127.0.0.1"), conn("127.0.0.1")]
try:
    conn("127.0.0.1")
    res["third"] = "served"
except Exception as e:
    res["third"] = "refused: %%s %%s" %% (type(e).__name__, e)
try:
    conn("127.0.0.2")
    res["other"] = "served"
except Exception as e:
    res["other"] = "refused: %%s %%s" %% (type(e).__name__, e)
held[0].unbind()
res["again"] = "refused"
for _ in range(100):
    try:
        conn("127.0.0.1")
        res["again"] = "served"
        break
    except Exception:
        time.sleep(0.1)
print(json.dumps(res))
`, host, port, demoBaseDN)
	o, err := run(t, nil, "/usr/bin/python3", "-c", script)
	if err != nil {
		t.Fatalf("ldap3: %v\n%s", err, o)
	}
	var res struct{ Third, Other, Again string }
	if err := json.Unmarshal([]byte(o), &res); err != nil {
		t.Fatalf("ldap3 output %q", o)
	}
	t.Logf("ldap3: third from 127.0.0.1 %s; 127.0.0.2 %s; after one left %s", res.Third, res.Other, res.Again)
	if !strings.HasPrefix(res.Third, "refused") || res.Other != "served" || res.Again != "served" {
		t.Errorf("LDAP per-address cap: third %q, other address %q, after one left %q", res.Third, res.Other, res.Again)
	}
}
