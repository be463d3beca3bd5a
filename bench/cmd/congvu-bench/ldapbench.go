package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/go-ldap/ldap/v3"
)

// ldapServer is a slapd started by deploy/ldap/start-slapd.sh.
type ldapServer struct {
	dir    string
	script string // deploy/ldap directory
	url    string
	base   string
	bindDN string
	bindPW string
}

// startSlapd runs start-slapd.sh on dir (again on the same dir: a restart
// with the same port and data, so its caches are cold).
func startSlapd(scripts, dir string) (*ldapServer, error) {
	out, err := exec.Command(filepath.Join(scripts, "start-slapd.sh"), dir).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("start-slapd.sh: %v\n%s", err, out)
	}
	f, err := os.Open(filepath.Join(dir, "env"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l := &ldapServer{dir: dir, script: scripts}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "LDAP_URL":
			l.url = v
		case "LDAP_BASE":
			l.base = v
		case "LDAP_BIND_DN":
			l.bindDN = v
		case "LDAP_BIND_PW":
			l.bindPW = v
		}
	}
	if l.url == "" {
		return nil, fmt.Errorf("%s/env: no LDAP_URL", dir)
	}
	return l, nil
}

func (l *ldapServer) stop() {
	if l != nil {
		exec.Command(filepath.Join(l.script, "stop-slapd.sh"), l.dir).Run()
	}
}

// ldapResults is the directory part of the JSON.
type ldapResults struct {
	Accounts      int     `json:"accounts"`
	ImportSeconds float64 `json:"import_seconds"`
	// Logins are IMAP LOGINs through the directory: cold (slapd and the
	// server just restarted) then warm (the same users again).
	Logins []loginResult `json:"logins"`
	// Rcpt are SMTP RCPT TO lookups of distinct recipients: cold, then
	// warm (congvu caches lookups for 60 s).
	Rcpt []rcptResult `json:"rcpt"`
}

type loginResult struct {
	Target   string  `json:"target"`
	Cache    string  `json:"cache"` // "cold" or "warm"
	Clients  int     `json:"clients"`
	Logins   int     `json:"logins"`
	Failed   int     `json:"failed"`
	PerS     float64 `json:"per_s"`
	P50Ms    float64 `json:"p50_ms"`
	P99Ms    float64 `json:"p99_ms"`
	FirstErr string  `json:"first_error,omitempty"`
}

type rcptResult struct {
	Target   string  `json:"target"`
	Cache    string  `json:"cache"`
	Sessions int     `json:"sessions"`
	Rcpts    int     `json:"rcpts"`
	Failed   int     `json:"failed"`
	PerS     float64 `json:"per_s"`
	P99Ms    float64 `json:"p99_ms"`
	FirstErr string  `json:"first_error,omitempty"`
}

// ldapSizes are the sizes of the directory part.
type ldapSizes struct {
	Province, Min, Max string // `congvu directory generate` arguments
	Logins             int    // distinct users logged in per pass
	Clients            int
	Rcpts              int // distinct recipients per pass
}

type ldapEnv struct {
	tmp, congvuBin, scripts string
	sizes                   ldapSizes
	notes                   map[string]string
	cleanups                *[]func()
}

const targetPostfixLDAP = "postfix (ldap: map)"

// runLDAPPart imports a generated province into a private slapd through
// congvu, then measures logins and recipient lookups through it on congvu,
// Dovecot (LDAP passdb, auth_bind) and Postfix (ldap: table).
func runLDAPPart(env ldapEnv) (*ldapResults, error) {
	sz := env.sizes
	out := &ldapResults{}
	scripts, err := filepath.Abs(env.scripts)
	if err != nil {
		return nil, err
	}
	env.scripts = scripts
	ldapDir := filepath.Join(env.tmp, "slapd")
	logf("directory: starting slapd")
	ld, err := startSlapd(env.scripts, ldapDir)
	if err != nil {
		return nil, err
	}
	*env.cleanups = append(*env.cleanups, ld.stop)
	defer ld.stop()

	const domain = "bench.gov.vn"
	cvDir := filepath.Join(env.tmp, "congvu-ldap")
	data := filepath.Join(cvDir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	os.WriteFile(filepath.Join(data, "ldap-password"), []byte(ld.bindPW+"\n"), 0o600)
	cfg := filepath.Join(cvDir, "congvu.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`[server]
hostname = "mail.%[1]s"
data_dir = %[2]q
local_domains = [%[1]q]

[log]
level = "warn"

[directory]
backend = "ldap"

[directory.ldap]
url = %[3]q
base_dn = %[4]q
bind_dn = %[5]q
bind_password_file = "ldap-password"
`, domain, data, ld.url, ld.base, ld.bindDN)), 0o600); err != nil {
		return nil, err
	}
	officials, units, pwFile := filepath.Join(cvDir, "officials.csv"), filepath.Join(cvDir, "units.csv"), filepath.Join(cvDir, "passwords.csv")
	logf("directory: generating province %s (%s–%s officials per unit)", sz.Province, sz.Min, sz.Max)
	if _, err := runMeasured(filepath.Join(cvDir, "import.log"), env.congvuBin, "directory", "generate", "--province", sz.Province,
		"--min", sz.Min, "--max", sz.Max, "--out", officials, "--units-out", units); err != nil {
		return nil, err
	}
	logf("directory: importing it into slapd through congvu")
	r, err := runMeasured(filepath.Join(cvDir, "import.log"), env.congvuBin, "directory", "import", "--config", cfg,
		"--units", units, "--passwords-out", pwFile, officials)
	if err != nil {
		return nil, err
	}
	out.ImportSeconds = r.Seconds
	// New accounts must change their initial password before IMAP lets
	// them in (mailerr.ErrPasswordExpired); the officials of a running
	// province have done so. Clear the flag in slapd, outside the timing.
	if err := markPasswordsChanged(ld); err != nil {
		return nil, err
	}
	users, err := readOfficials(pwFile)
	if err != nil {
		return nil, err
	}
	out.Accounts = len(users)
	logf("directory: %d accounts in %.0f s", len(users), r.Seconds)
	loginUsers := spread(users, sz.Logins)
	rcpts := make([]string, 0, sz.Rcpts)
	for _, u := range spread(users, sz.Rcpts) {
		rcpts = append(rcpts, u.Address)
	}

	restartSlapd := func() error {
		ld.stop()
		nl, err := startSlapd(env.scripts, ldapDir)
		if err == nil {
			*ld = *nl
		}
		return err
	}

	// congvu: a first pass creates the mailboxes (a one-time cost of each
	// account's first login or first mail), then cold (slapd and congvu
	// restarted) and warm passes.
	cv, err := startCongvuArgs(env.congvuBin, cvDir, "serve", "--config", cfg)
	if err != nil {
		return nil, err
	}
	logf("directory: congvu, creating the mailboxes")
	runLogins(targetCongvu, "first", cv.addrs["imaps"], loginUsers, sz.Clients)
	runRcpts(targetCongvu, "first", cv.smtpAddr, rcpts, sz.Clients)
	cv.proc.stop()
	if err := restartSlapd(); err != nil {
		return nil, err
	}
	cv, err = startCongvuArgs(env.congvuBin, cvDir, "serve", "--config", cfg)
	if err != nil {
		return nil, err
	}
	*env.cleanups = append(*env.cleanups, cv.proc.stop)
	for _, cache := range []string{"cold", "warm"} {
		logf("directory: congvu IMAP logins, %s", cache)
		out.Logins = append(out.Logins, runLogins(targetCongvu, cache, cv.addrs["imaps"], loginUsers, sz.Clients))
	}
	for _, cache := range []string{"cold", "warm"} {
		logf("directory: congvu RCPT lookups, %s", cache)
		out.Rcpt = append(out.Rcpt, runRcpts(targetCongvu, cache, cv.smtpAddr, rcpts, sz.Clients))
	}
	cv.proc.stop()

	// Dovecot with an LDAP passdb.
	if err := restartSlapd(); err != nil {
		return nil, err
	}
	dv, err := prepareDovecot(filepath.Join(env.tmp, "dovecot-ldap"), nil, dovecotOptions{LDAP: ld, MaxClients: 200})
	if err == nil {
		err = dv.start()
	}
	if err != nil {
		env.notes[targetDovecot+" (LDAP)"] = firstLine(err.Error())
	} else {
		*env.cleanups = append(*env.cleanups, dv.stop)
		for _, cache := range []string{"cold", "warm"} {
			logf("directory: Dovecot IMAP logins, %s", cache)
			out.Logins = append(out.Logins, runLogins(targetDovecot, cache, dv.addr, loginUsers, sz.Clients))
		}
		dv.stop()
	}

	// Postfix with an ldap: recipient table.
	if err := restartSlapd(); err != nil {
		return nil, err
	}
	pf, err := startPostfixDovecot(filepath.Join(env.tmp, "postfix-ldap"), domain, nil, ld)
	if err != nil {
		env.notes[targetPostfixLDAP] = firstLine(err.Error())
	} else {
		*env.cleanups = append(*env.cleanups, pf.stop)
		for _, cache := range []string{"cold", "warm"} {
			logf("directory: Postfix RCPT lookups, %s", cache)
			out.Rcpt = append(out.Rcpt, runRcpts(targetPostfixLDAP, cache, pf.smtpAddr, rcpts, sz.Clients))
		}
		pf.stop()
	}
	return out, nil
}

// spread picks n users evenly across the list (all units, not the first).
func spread(users []benchUser, n int) []benchUser {
	if n >= len(users) {
		return users
	}
	out := make([]benchUser, n)
	for i := range out {
		out[i] = users[i*len(users)/n]
	}
	return out
}

// runLogins logs every user in once over implicit TLS IMAP (LOGIN then
// LOGOUT), clients at a time, and times the LOGIN command.
func runLogins(target, cache, addr string, users []benchUser, clients int) loginResult {
	res := loginResult{Target: target, Cache: cache, Clients: clients}
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(users) {
					return
				}
				d, err := loginOnce(addr, users[i])
				mu.Lock()
				if err != nil {
					res.Failed++
					if res.FirstErr == "" {
						res.FirstErr = err.Error()
					}
				} else {
					lat = append(lat, d)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	res.Logins = len(lat)
	res.PerS = float64(len(lat)) / secs
	res.P50Ms, res.P99Ms = percentileMs(lat, 0.50), percentileMs(lat, 0.99)
	return res
}

func loginOnce(addr string, u benchUser) (time.Duration, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 30 * time.Second}, "tcp", addr, clientTLS())
	if err != nil {
		return 0, err
	}
	c := imapclient.New(conn, nil)
	defer c.Close()
	if err := c.WaitGreeting(); err != nil {
		return 0, err
	}
	t0 := time.Now()
	if err := c.Login(u.Address, u.Password).Wait(); err != nil {
		return 0, fmt.Errorf("LOGIN %s: %w", u.Address, err)
	}
	d := time.Since(t0)
	c.Logout().Wait()
	return d, nil
}

// rcptsPerTxn is how many RCPT TO one transaction checks before RSET.
const rcptsPerTxn = 50

// runRcpts checks every recipient once with RCPT TO (sessions at a time,
// rcptsPerTxn per transaction, then RSET: nothing is delivered).
func runRcpts(target, cache, addr string, rcpts []string, sessions int) rcptResult {
	res := rcptResult{Target: target, Cache: cache, Sessions: sessions}
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	start := time.Now()
	var wg sync.WaitGroup
	for range sessions {
		wg.Go(func() {
			var mine []time.Duration
			failed := 0
			var firstErr error
			c, err := dialSMTP(addr)
			if err != nil {
				mu.Lock()
				res.FirstErr = err.Error()
				mu.Unlock()
				return
			}
			defer c.Close()
			for {
				lo := int(next.Add(rcptsPerTxn)) - rcptsPerTxn
				if lo >= len(rcpts) {
					break
				}
				if err := c.Mail("vanthu@hue.gov.vn", nil); err != nil {
					firstErr = err
					break
				}
				for _, to := range rcpts[lo:min(lo+rcptsPerTxn, len(rcpts))] {
					t0 := time.Now()
					if err := c.Rcpt(to, nil); err != nil {
						failed++
						if firstErr == nil {
							firstErr = err
						}
						continue
					}
					mine = append(mine, time.Since(t0))
				}
				if err := c.Reset(); err != nil {
					firstErr = err
					break
				}
			}
			c.Quit()
			mu.Lock()
			lat = append(lat, mine...)
			res.Failed += failed
			if firstErr != nil && res.FirstErr == "" {
				res.FirstErr = firstErr.Error()
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	res.Rcpts = len(lat)
	res.PerS = float64(len(lat)) / secs
	res.P99Ms = percentileMs(lat, 0.99)
	return res
}

// markPasswordsChanged clears congvuMustChangePassword on every account
// of the bench's slapd, as if each official had set a password of their
// own (the password itself stays the one the bench logs in with).
func markPasswordsChanged(ld *ldapServer) error {
	conn, err := ldap.DialURL(ld.url)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.Bind(ld.bindDN, ld.bindPW); err != nil {
		return err
	}
	res, err := conn.SearchWithPaging(ldap.NewSearchRequest(ld.base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(congvuMustChangePassword=TRUE)", []string{"dn"}, nil), 500)
	if err != nil {
		return err
	}
	for _, e := range res.Entries {
		mod := ldap.NewModifyRequest(e.DN, nil)
		mod.Replace("congvuMustChangePassword", []string{"FALSE"})
		if err := conn.Modify(mod); err != nil {
			return fmt.Errorf("%s: %w", e.DN, err)
		}
	}
	logf("directory: %d initial passwords marked as changed", len(res.Entries))
	return nil
}
