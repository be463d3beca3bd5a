package interop

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"congvu/internal/config"
	"congvu/internal/nginxrun"
)

// nginxProxy is a running nginx with deploy/nginx/congvu-mail.conf, its
// listeners moved to free ports on 127.0.0.1.
type nginxProxy struct {
	addrs map[string]string // "imaps", "imap", "pop3s", "pop3", "submissions", "submission"
}

// startNginx runs nginx with the shipped configuration, asking authHTTP
// (host:port of a congvu admin listener) and presenting certFile/keyFile.
func startNginx(t *testing.T, authHTTP, certFile, keyFile string) *nginxProxy {
	t.Helper()
	requireTool(t, "nginx")
	p, err := nginxrun.Start(nginxrun.Options{Conf: "../../deploy/nginx/congvu-mail.conf", Dir: t.TempDir(),
		AuthHTTP: authHTTP, CertFile: certFile, KeyFile: keyFile, LogLevel: "info", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("nginx error.log:\n%s", p.ErrorLog())
		}
	})
	return &nginxProxy{addrs: p.Addrs}
}

// imapFrom logs in over nginx's IMAPS from a given local address.
func imapFrom(t *testing.T, addr, local string, trust *tls.Config, a account) (*imapclient.Client, error) {
	t.Helper()
	d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := imapclient.New(tls.Client(raw, trust), nil)
	if err := c.Login(a.Address, a.Password).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// TestNginxMailProxy puts Debian's nginx with deploy/nginx/congvu-mail.conf
// in front of congvu: Python's imaplib, poplib and smtplib log in through
// nginx (implicit TLS and STARTTLS) and see the same mail as directly;
// mail submitted through nginx arrives; the node sees each client's own
// address (a per-address connection cap stops a second session from one
// client while another client goes on), and auth_http's policy decisions
// carry it too (the lockout it triggers is audited with the client's
// address).
func TestNginxMailProxy(t *testing.T) {
	dir := t.TempDir()
	startSystem(t, dir).stop()
	cfgPath := filepath.Join(dir, "demo", "congvu.toml")
	editConfigFile(t, cfgPath, func(c *config.Config) {
		c.Limits.ConnectionsPerIP = 1
		c.Limits.ExemptNetworks = []string{"127.0.0.1/32"} // nginx itself, and direct test clients
		c.Policy.Rules.LockoutFailures = 3
	})
	s := startCommandAddrs(t, dir, filepath.Join(dir, "demo", "demo-accounts.csv"), map[string]string{
		"imap_proxy": "127.0.0.1:0", "pop3_proxy": "127.0.0.1:0", "submission_proxy": "127.0.0.1:0",
	}, "serve", "--config", cfgPath)
	for _, l := range []string{"imap_proxy", "pop3_proxy", "submission_proxy"} {
		if s.addrs[l] == "" {
			t.Fatalf("%s not in the ready file: %v", l, s.addrs)
		}
	}
	n := startNginx(t, s.addrs["admin"], filepath.Join(dir, "demo", "tls-cert.pem"), filepath.Join(dir, "demo", "tls-key.pem"))
	u, other := s.user(0), s.user(1)

	// Submission through nginx (implicit TLS, then STARTTLS), read back
	// through nginx and directly.
	for i, args := range [][]string{{"--implicit-tls", "--addr", n.addrs["submissions"]}, {"--starttls", "--addr", n.addrs["submission"]}} {
		msg := simpleMessage(u.Address, other.Address, fmt.Sprintf("Qua nginx %d", i), "Kinh gui")
		out, err := run(t, msg, "python3", append([]string{"testdata/client.py", "--cafile", s.certFile, "smtp-send",
			"--user", u.Address, "--password", u.Password, "--sender", u.Address, "--rcpt", other.Address}, args...)...)
		if err != nil {
			t.Fatalf("smtplib through nginx %v: %v\n%s", args, err, out)
		}
	}
	direct := s.waitFor(other, "INBOX", func(m []fetched) bool { return len(m) >= 2 })
	viaNginx := s.fetchAllAt(other, n.addrs["imaps"], false)
	if len(viaNginx) != len(direct) || len(direct) < 2 {
		t.Fatalf("INBOX through nginx has %d messages, directly %d (want ≥ 2)", len(viaNginx), len(direct))
	}
	if starttls := s.fetchAllAt(other, n.addrs["imap"], true); len(starttls) != len(direct) {
		t.Errorf("INBOX through nginx STARTTLS has %d messages, want %d", len(starttls), len(direct))
	}
	out, err := s.py("pop3", "--addr", n.addrs["pop3s"], "--implicit-tls", "--user", other.Address, "--password", other.Password)
	var pop struct{ Count int }
	if err != nil || json.Unmarshal([]byte(out), &pop) != nil || pop.Count != len(direct) {
		t.Errorf("poplib through nginx: %v, %s (want %d messages)", err, out, len(direct))
	}

	// The node sees the client's address: with one connection allowed per
	// address, a second session from 127.0.0.5 is refused, one from
	// 127.0.0.7 is not.
	trust := s.tlsConfig()
	held, err := imapFrom(t, n.addrs["imaps"], "127.0.0.5", trust, u)
	if err != nil {
		t.Fatalf("first session from 127.0.0.5 through nginx: %v", err)
	}
	defer held.Close()
	if c, err := imapFrom(t, n.addrs["imaps"], "127.0.0.5", trust, u); err == nil {
		c.Close()
		t.Error("a second session from 127.0.0.5 was served: the node does not see the client's address")
	}
	if c, err := imapFrom(t, n.addrs["imaps"], "127.0.0.7", trust, other); err != nil {
		t.Errorf("session from 127.0.0.7 while 127.0.0.5 holds one: %v", err)
	} else {
		c.Close()
	}
	if err := held.Noop().Wait(); err != nil {
		t.Errorf("held session: %v", err)
	}

	// auth_http: four wrong passwords from 127.0.0.9 lock the account
	// (more than lockout_failures = 3); the lock is audited with that
	// address.
	victim := s.user(2)
	for i := range 4 {
		d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.9")}}
		raw, err := d.Dial("tcp", n.addrs["imaps"])
		if err != nil {
			t.Fatal(err)
		}
		c := imapclient.New(tls.Client(raw, trust), nil)
		err = c.Login(victim.Address, "sai-mat-khau").Wait()
		c.Close()
		if err == nil {
			t.Fatalf("wrong password %d accepted", i)
		}
	}
	if err := loginThrough(t, n.addrs["imaps"], trust, victim); err == nil || !strings.Contains(err.Error(), "CONTACTADMIN") && !strings.Contains(strings.ToLower(err.Error()), "lock") {
		t.Errorf("locked account through nginx: %v, want the policy's lock reason", err)
	}
	var audit string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		audit, _ = s.congvu("audit", "--subject", victim.Address, "--format", "csv")
		if strings.Contains(audit, "127.0.0.9") {
			break
		}
	}
	if !strings.Contains(audit, "lock") || !strings.Contains(audit, "127.0.0.9") {
		t.Errorf("audit of %s after lockout through nginx:\n%s\nwant a lock from 127.0.0.9", victim.Address, audit)
	}
}

func loginThrough(t *testing.T, addr string, trust *tls.Config, a account) error {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := imapclient.New(tls.Client(raw, trust), nil)
	defer c.Close()
	return c.Login(a.Address, a.Password).Wait()
}

// fetchAllAt is fetchAll against another IMAP address (nginx).
func (s *system) fetchAllAt(a account, addr string, starttls bool) []fetched {
	s.t.Helper()
	args := []string{"imap-fetch-all", "--addr", addr, "--user", a.Address, "--password", a.Password}
	if starttls {
		args = append(args, "--starttls")
	}
	outp, err := s.py(args...)
	if err != nil {
		s.t.Fatalf("imaplib fetch at %s: %v\n%s", addr, err, outp)
	}
	var r struct {
		Messages []fetched `json:"messages"`
	}
	if err := json.Unmarshal([]byte(outp), &r); err != nil {
		s.t.Fatalf("imaplib output %q: %v", outp, err)
	}
	return r.Messages
}
