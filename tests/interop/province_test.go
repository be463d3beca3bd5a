package interop

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"congvu/internal/config"
	"congvu/resolve/dnstest"
)

// The other province: Debian Postfix as the MX of angiang.gov.vn.
const (
	otherDomain = "angiang.gov.vn"
	otherMX     = "mx.angiang.gov.vn"
	otherUser   = "vanthu@angiang.gov.vn"
	deferUser   = "defer.me@angiang.gov.vn" // Postfix answers 451 4.7.1
	// A department whose zone is DNSSEC-signed, served by the same MX.
	daneDomain = "soyte.angiang.gov.vn"
	daneUser   = "vanthu@" + daneDomain
)

// province is congvu (quickstart's demo, served with outbound enabled)
// next to a Postfix for angiang.gov.vn, both resolving names through a test
// DNS server. Postfix and the DNS server listen on ports 25 and 53 of a
// random loopback address, where congvu (and opendkim-testmsg, which reads
// /etc/resolv.conf) look for them without any test-only knob.
type province struct {
	t       *testing.T
	ip      string // the other province's loopback address
	dns     *dnstest.Server
	dir     string // congvu's test dir (demo/ inside)
	pfDir   string
	pfEnv   map[string]string
	congvu  *system
	cfgPath string
}

// requireRoot: Postfix's master runs as root, and ports 25 and 53 need it.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the Postfix interop tests need root (CI and deploy/test.sh run as root)")
	}
	requireTool(t, "postfix")
}

// startProvince sets everything up; configure may change congvu's
// configuration before it is served.
func startProvince(t *testing.T, configure func(*config.Config)) *province {
	t.Helper()
	requireRoot(t)
	p := &province{t: t, dir: t.TempDir()}
	var err error
	for range 20 {
		p.ip = fmt.Sprintf("127.%d.%d.%d", 100+rand.IntN(150), rand.IntN(256), 2+rand.IntN(250))
		if p.dns, err = dnstest.Start(p.ip + ":53"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("test DNS server: %v", err)
	}
	t.Cleanup(func() { p.dns.Close() })
	p.addDNS(
		otherDomain+". MX 10 "+otherMX+".",
		otherMX+". A "+p.ip,
		// congvu's own domain: SPF for the loopback it sends from.
		demoDomain+". MX 10 mail."+demoDomain+".",
		"mail."+demoDomain+". A 127.0.0.1",
		demoDomain+`. TXT "v=spf1 ip4:127.0.0.0/8 -all"`,
		otherDomain+`. TXT "v=spf1 ip4:127.0.0.1 -all"`,
		"_dmarc."+otherDomain+`. TXT "v=DMARC1; p=reject"`,
	)

	// Postfix: a directory the postfix and nobody users can traverse.
	pfDir, err := os.MkdirTemp("", "congvu-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(pfDir, 0o755)
	p.pfDir = filepath.Join(pfDir, "pf")
	t.Cleanup(func() {
		exec.Command("../../deploy/postfix/stop-postfix.sh", p.pfDir).Run()
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(p.pfDir, "postfix.log")); err == nil {
				t.Logf("postfix.log:\n%s", b)
			}
		}
		os.RemoveAll(pfDir)
	})
	p.startPostfix("")

	// congvu: create the demo, then serve it with outbound enabled.
	s := startSystem(t, p.dir)
	s.stop()
	p.cfgPath = filepath.Join(p.dir, "demo", "congvu.toml")
	p.editConfig(func(c *config.Config) {
		c.SMTP.Outbound = true
		c.DNS.Servers = []string{p.ip + ":53"}
		c.Outbound.TLSCAFile = p.pfEnv["POSTFIX_CERT"]
		// "Another province" runs on a loopback address: an internal
		// network that MX delivery refuses unless allowed.
		c.Outbound.AllowInternalNetworks = []string{p.ip}
		c.Outbound.RetryIntervals = []time.Duration{time.Second}
		c.Outbound.MaxAge = 8 * time.Second
		c.Outbound.DelayNotice = 3 * time.Second
		c.Inbound.Authenticate = true
		if configure != nil {
			configure(c)
		}
	})
	// DKIM keys as an operator makes them, published in the test DNS.
	for _, alg := range []string{"rsa", "ed25519"} {
		out, err := run(t, nil, binaryPath, "dkim", "keygen", "--config", p.cfgPath, "--algorithm", alg, "--selector", alg+"-test", demoDomain)
		if err != nil {
			t.Fatalf("dkim keygen: %v\n%s", err, out)
		}
		var zone string
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, alg+"-test._domainkey."+demoDomain+". IN TXT") {
				zone = line
			}
		}
		if zone == "" {
			t.Fatalf("dkim keygen printed no TXT record:\n%s", out)
		}
		p.addDNS(zone)
	}
	p.serve()
	return p
}

// opendkimVerify checks msg's DKIM signatures with opendkim-testmsg
// (Debian opendkim-tools), which looks keys up through /etc/resolv.conf: it
// runs in a private mount namespace whose resolv.conf names the test DNS
// server, so it never asks the real DNS.
func (p *province) opendkimVerify(msg string) (string, error) {
	p.t.Helper()
	requireTool(p.t, "opendkim-testmsg")
	requireTool(p.t, "unshare")
	rc := filepath.Join(p.t.TempDir(), "resolv.conf")
	os.WriteFile(rc, []byte("nameserver "+p.ip+"\noptions attempts:1 timeout:2\n"), 0o644)
	return run(p.t, []byte(msg), "unshare", "--mount", "sh", "-c",
		`mount --bind "$1" /etc/resolv.conf && exec opendkim-testmsg`, "sh", rc)
}

const demoDomain = "khanhhoa.gov.vn"

func (p *province) addDNS(records ...string) {
	p.t.Helper()
	if err := p.dns.Add(records...); err != nil {
		p.t.Fatal(err)
	}
}

// startPostfix (re)starts Postfix; relayTo routes khanhhoa.gov.vn to
// congvu's MX listener.
func (p *province) startPostfix(relayTo string) {
	p.t.Helper()
	cmd := exec.Command("../../deploy/postfix/start-postfix.sh", p.pfDir)
	cmd.Env = append(os.Environ(),
		"POSTFIX_ADDR="+p.ip+":25",
		"POSTFIX_HOSTNAME="+otherMX,
		"POSTFIX_USERS="+otherUser+" giamdoc@"+otherDomain+" "+daneUser,
		"POSTFIX_DEFER="+deferUser,
	)
	if relayTo != "" {
		// The merged province's old domain (testOldDomain) goes there too.
		cmd.Env = append(cmd.Env, "POSTFIX_RELAY="+demoDomain+"="+relayTo+" "+oldDomain+"="+relayTo)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("start-postfix.sh: %v\n%s", err, out)
	}
	p.pfEnv = map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			p.pfEnv[k] = v
		}
	}
}

func (p *province) editConfig(edit func(*config.Config)) {
	p.t.Helper()
	cfg, err := config.Load(p.cfgPath)
	if err != nil {
		p.t.Fatal(err)
	}
	edit(&cfg)
	cfg.Server.DataDir = "."
	os.Remove(p.cfgPath)
	if err := config.Write(p.cfgPath, cfg); err != nil {
		p.t.Fatal(err)
	}
}

// serve starts `congvu serve` and points Postfix's route at it.
func (p *province) serve() {
	p.t.Helper()
	p.congvu = startServe(p.t, p.dir)
	p.startPostfix(p.congvu.addrs["smtp"])
}

// postfixMail returns the messages Postfix delivered to addr.
func (p *province) postfixMail(addr string) []string {
	local, domain, _ := strings.Cut(addr, "@")
	var out []string
	for _, sub := range []string{"new", "cur"} {
		dir := filepath.Join(p.pfEnv["POSTFIX_MAILDIR"], domain, local, sub)
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				out = append(out, string(b))
			}
		}
	}
	return out
}

func (p *province) waitPostfixMail(addr string, n int, d time.Duration) []string {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for {
		msgs := p.postfixMail(addr)
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("Postfix has %d messages for %s after %v, want %d", len(msgs), addr, d, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// queue runs `congvu queue ARGS` on the running installation.
func (p *province) queue(args ...string) string {
	p.t.Helper()
	out, err := run(p.t, nil, binaryPath, append([]string{"queue", args[0], "--config", p.cfgPath}, args[1:]...)...)
	if err != nil {
		p.t.Fatalf("congvu queue %v: %v\n%s", args, err, out)
	}
	return out
}

// sendViaPostfix submits msg to Postfix by SMTP (swaks), as a user of the
// other province would, and Postfix relays it to congvu.
func (p *province) sendViaPostfix(from, to string, msg []byte) {
	p.t.Helper()
	f := filepath.Join(p.t.TempDir(), "msg.eml")
	os.WriteFile(f, msg, 0o600)
	out, err := run(p.t, nil, "swaks", "--server", p.pfEnv["POSTFIX_ADDR"], "--from", from, "--to", to, "--data", "@"+f)
	if err != nil || !strings.Contains(out, "250 2.0.0 Ok: queued") {
		p.t.Fatalf("swaks to Postfix: %v\n%s", err, out)
	}
}
