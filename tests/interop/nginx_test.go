package interop

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"congvu/internal/config"
)

// nginxProxy is a running nginx with deploy/nginx/congvu-mail.conf, its
// listeners moved to free ports on 127.0.0.1.
type nginxProxy struct {
	dir   string
	cmd   *exec.Cmd
	done  chan struct{}
	addrs map[string]string // "imaps", "imap", "pop3s", "pop3", "submissions", "submission"
}

// startNginx runs nginx with the shipped configuration, asking authHTTP
// (host:port of a congvu admin listener) and presenting certFile/keyFile.
func startNginx(t *testing.T, authHTTP, certFile, keyFile string) *nginxProxy {
	t.Helper()
	requireTool(t, "nginx")
	const module = "/usr/lib/nginx/modules/ngx_mail_module.so"
	if _, err := os.Stat(module); err != nil {
		t.Fatalf("%s missing: install libnginx-mod-mail (deploy/test.sh does)", module)
	}
	const streamModule = "/usr/lib/nginx/modules/ngx_stream_module.so"
	if _, err := os.Stat(streamModule); err != nil {
		t.Fatalf("%s missing: install libnginx-mod-stream (deploy/test.sh does)", streamModule)
	}
	shipped, err := os.ReadFile("../../deploy/nginx/congvu-mail.conf")
	if err != nil {
		t.Fatal(err)
	}
	// A port found free can become another socket's (a client's ephemeral
	// port, another server's listener) before nginx binds it; nginx then
	// exits, and a connect check could even reach the other server. Try
	// again on fresh ports.
	for attempt := 1; ; attempt++ {
		n, logged, err := tryStartNginx(t, string(shipped), module, streamModule, authHTTP, certFile, keyFile)
		if err == nil {
			return n
		}
		if attempt < 3 && strings.Contains(logged, "Address already in use") {
			t.Logf("nginx lost a port to another socket, starting it again: %v", err)
			continue
		}
		t.Fatalf("nginx: %v\n%s", err, logged)
	}
}

// tryStartNginx starts nginx once on fresh ports. It returns nginx running
// with every listener bound, or why not and the error log.
func tryStartNginx(t *testing.T, conf, module, streamModule, authHTTP, certFile, keyFile string) (*nginxProxy, string, error) {
	t.Helper()
	n := &nginxProxy{dir: t.TempDir(), addrs: map[string]string{}, done: make(chan struct{})}
	// The Unix sockets between nginx's stream and mail modules: in a
	// directory its workers (nobody when the test runs as root) may enter,
	// with a short path (it travels in a PROXY header line). A fresh one
	// each time: nginx leaves its sockets behind when it gives up.
	sockets, err := os.MkdirTemp("", "ngx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockets) })
	if err := os.Chmod(sockets, 0o755); err != nil {
		t.Fatal(err)
	}
	names := map[string]string{"993": "imaps", "143": "imap", "995": "pop3s", "110": "pop3", "465": "submissions", "587": "submission"}
	var held []net.Listener // closed once all are chosen, so no port comes twice
	for _, name := range names {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
		n.addrs[name] = l.Addr().String()
	}
	for _, l := range held {
		l.Close()
	}
	for port, name := range names {
		re := regexp.MustCompile(`listen ` + port + `( ssl)?;`)
		if !re.MatchString(conf) {
			t.Fatalf("deploy/nginx/congvu-mail.conf has no listen %s", port)
		}
		conf = re.ReplaceAllString(conf, "listen "+n.addrs[name]+"$1;")
	}
	for old, new := range map[string]string{
		"auth_http 10.0.0.11:8081/auth;":                     "auth_http " + authHTTP + "/auth;",
		"ssl_certificate     /etc/congvu/tls/fullchain.pem;": "ssl_certificate " + certFile + ";",
		"ssl_certificate_key /etc/congvu/tls/privkey.pem;":   "ssl_certificate_key " + keyFile + ";",
		// The Unix sockets between the stream and mail modules.
		"unix:/run/nginx-congvu-": "unix:" + sockets + "/",
	} {
		if !strings.Contains(conf, old) {
			t.Fatalf("deploy/nginx/congvu-mail.conf has no %q", old)
		}
		conf = strings.ReplaceAll(conf, old, new)
	}
	conf = fmt.Sprintf("load_module %s;\nload_module %s;\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log info;\nevents { worker_connections 512; }\n",
		module, streamModule, n.dir, n.dir) + conf
	path := filepath.Join(n.dir, "nginx.conf")
	os.WriteFile(path, []byte(conf), 0o644)
	if out, err := exec.Command("nginx", "-t", "-p", n.dir, "-c", path, "-e", filepath.Join(n.dir, "error.log")).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s\n%s", err, out, conf)
	}
	// nginx -t writes the pid file too; the wait below must see the one
	// the real start writes once its listeners are bound.
	os.Remove(filepath.Join(n.dir, "nginx.pid"))
	n.cmd = exec.Command("nginx", "-p", n.dir, "-c", path, "-e", filepath.Join(n.dir, "error.log"), "-g", "daemon off;")
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { n.cmd.Wait(); close(n.done) }()
	errorLog := func() string {
		b, _ := os.ReadFile(filepath.Join(n.dir, "error.log"))
		return string(b)
	}
	t.Cleanup(func() {
		n.cmd.Process.Signal(syscall.SIGTERM) // nginx's fast shutdown, workers included
		select {
		case <-n.done:
		case <-time.After(10 * time.Second):
			n.cmd.Process.Kill()
			<-n.done
		}
		if t.Failed() {
			t.Logf("nginx error.log:\n%s", errorLog())
		}
	})
	// nginx writes its pid file once every listener is bound; it exits
	// (after retrying for 2.5 s) when one cannot be.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(n.dir, "nginx.pid")); err == nil {
			break
		}
		select {
		case <-n.done:
			return nil, errorLog(), fmt.Errorf("exited before listening")
		default:
		}
		if time.Now().After(deadline) {
			return nil, errorLog(), fmt.Errorf("no pid file after 10 s")
		}
	}
	for _, a := range n.addrs {
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				return nil, errorLog(), fmt.Errorf("not listening on %s: %v", a, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return n, "", nil
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
