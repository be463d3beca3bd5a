package interop

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"congvu/directory"
	"congvu/directory/ldapdir"
	"congvu/internal/config"
	"congvu/internal/tlsutil"
	"congvu/resolve/dnstest"
)

const clusterDomain = "khanhhoa.gov.vn"

// clusterNode is one congvu node of the three-node test, on its own
// loopback address.
type clusterNode struct {
	t       *testing.T
	name    string
	ip      string
	dir     string
	cfgPath string
	cmd     *exec.Cmd
	exited  chan error
	stderr  *lockedBuffer
	addrs   map[string]string
}

// clusterEnv is the whole test deployment: two replicating slapds, three
// nodes on 127.0.0.2-4, one nginx in front.
type clusterEnv struct {
	t        *testing.T
	ldap     [2]*slapd
	nodes    map[string]*clusterNode
	nginx    *nginxProxy
	trust    *tls.Config
	certFile string
	users    map[string]account // by home node
	password string

	root    string
	ports   []int                         // the same on every node's address
	members map[string]config.ClusterNode // the [cluster.nodes] table
	base    config.Config                 // what every node's configuration shares
}

// sharedPorts finds ports free on every address (nodes listen on the same
// port numbers on their own addresses, so each knows the others').
func sharedPorts(t *testing.T, ips []string, n int) []int {
	t.Helper()
	var out []int
	for len(out) < n {
		l, err := net.Listen("tcp", ips[0]+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		ok := true
		var others []net.Listener
		for _, ip := range ips[1:] {
			o, err := net.Listen("tcp", fmt.Sprintf("%s:%d", ip, port))
			if err != nil {
				ok = false
				break
			}
			others = append(others, o)
		}
		l.Close()
		for _, o := range others {
			o.Close()
		}
		if ok {
			out = append(out, port)
		}
	}
	return out
}

func startCluster(t *testing.T) *clusterEnv {
	t.Helper()
	requireRoot(t)
	env := &clusterEnv{t: t, nodes: map[string]*clusterNode{}, users: map[string]account{}, password: "Cum-May-Chu#2026"}
	root := t.TempDir()
	env.root = root

	// The directory: two providers replicating each other.
	t.Setenv("LDAP_BIND_PW", "cluster-directory-secret")
	t.Setenv("LDAP_BASE", "dc=khanhhoa,dc=gov,dc=vn")
	env.ldap[0] = startSlapd(t, filepath.Join(root, "ldap1"))
	env.ldap[1] = startSlapd(t, filepath.Join(root, "ldap2"))
	if out, err := run(t, nil, "../../deploy/ldap/replicate-slapd.sh", env.ldap[0].dir, env.ldap[1].dir); err != nil {
		t.Fatalf("replicate-slapd.sh: %v\n%s", err, out)
	}
	env.ldap[0].start()
	env.ldap[1].start()
	ldapURL := env.ldap[0].env["LDAP_URL"] + " " + env.ldap[1].env["LDAP_URL"]

	// Officials, each with a home node (congvuMailHost).
	dir, err := ldapdir.Open(ldapdir.Config{URL: ldapURL, BaseDN: env.ldap[0].env["LDAP_BASE"],
		BindDN: env.ldap[0].env["LDAP_BIND_DN"], BindPassword: env.ldap[0].env["LDAP_BIND_PW"]}, ldapdir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := dir.PutUnit(ctx, directory.Unit{Code: "56", Name: "Ủy ban nhân dân tỉnh Khánh Hòa", Abbr: "ubnd", Kind: directory.UnitProvince}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ local, name, node string }{
		{"annv.ubnd", "Nguyễn Văn An", "node1"}, {"binhtt.ubnd", "Trần Thị Bình", "node2"},
		{"cuonglv.ubnd", "Lê Văn Cường", "node3"}, {"dungpt.ubnd", "Phạm Thị Dung", "node2"},
	} {
		a := directory.Account{Address: u.local + "@" + clusterDomain, DisplayName: u.name, UnitCode: "56", MailHost: u.node}
		if err := dir.PutAccount(ctx, a, env.password); err != nil {
			t.Fatal(err)
		}
		if _, ok := env.users[u.node]; !ok {
			env.users[u.node] = account{Address: a.Address, Password: env.password, Role: "official"}
		}
		if u.local == "dungpt.ubnd" {
			env.users["node2-second"] = account{Address: a.Address, Password: env.password, Role: "official"}
		}
	}
	dir.Close()

	// One certificate for the service name, the nodes' addresses and names.
	certPEM, keyPEM, err := tlsutil.SelfSigned([]string{"mail." + clusterDomain, "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"})
	if err != nil {
		t.Fatal(err)
	}
	env.certFile = filepath.Join(root, "cert.pem")
	keyFile := filepath.Join(root, "key.pem")
	os.WriteFile(env.certFile, certPEM, 0o644)
	os.WriteFile(keyFile, keyPEM, 0o600)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	env.trust = &tls.Config{RootCAs: pool, ServerName: "mail." + clusterDomain}

	dns, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dns.Close() })

	ips := map[string]string{"node1": "127.0.0.2", "node2": "127.0.0.3", "node3": "127.0.0.4"}
	// 127.0.0.5 is for the node added later (addNode).
	env.ports = sharedPorts(t, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}, 8)
	env.members = map[string]config.ClusterNode{}
	for name, ip := range ips {
		env.members[name] = env.member(ip)
	}
	cfg := config.Default()
	cfg.Server.Hostname = "mail." + clusterDomain
	cfg.Server.LocalDomains = []string{clusterDomain}
	cfg.TLS.CertFile, cfg.TLS.KeyFile = env.certFile, keyFile
	cfg.Directory.Backend = "ldap"
	cfg.Directory.LDAP.URL = ldapURL
	cfg.Directory.LDAP.BaseDN = env.ldap[0].env["LDAP_BASE"]
	cfg.Directory.LDAP.BindDN = env.ldap[0].env["LDAP_BIND_DN"]
	cfg.Directory.LDAP.BindPasswordFile = "ldap-password"
	cfg.Directory.LDAP.CacheTTLSeconds = 2
	cfg.SMTP.Outbound = true
	cfg.DNS.Servers = []string{dns.Addr}
	cfg.Outbound.RetryIntervals = []time.Duration{time.Second}
	cfg.Cluster.DefaultNode = "node1"
	cfg.Cluster.CAFile = env.certFile
	env.base = cfg
	for name, ip := range ips {
		env.nodes[name] = env.newNode(name, ip)
	}
	for _, n := range env.nodes {
		n.start()
	}
	env.nginx = startNginx(t, env.nodes["node1"].addrs["admin"], env.certFile, keyFile)
	return env
}

// listen is a node's listeners on its own address.
func (e *clusterEnv) listen(ip string) config.Listen {
	a := func(p int) string { return fmt.Sprintf("%s:%d", ip, e.ports[p]) }
	return config.Listen{SMTP: a(0), IMAPS: a(1), Admin: a(2), IMAPProxy: a(3),
		POP3Proxy: a(4), SubmissionProxy: a(5), Relay: a(6), HTTPS: a(7)}
}

// member is a node's entry in the [cluster.nodes] table.
func (e *clusterEnv) member(ip string) config.ClusterNode {
	l := e.listen(ip)
	return config.ClusterNode{IMAP: l.IMAPProxy, POP3: l.POP3Proxy, Submission: l.SubmissionProxy,
		Relay: l.Relay, RelayName: "mail." + clusterDomain, Admin: l.Admin, Web: l.HTTPS}
}

// newNode writes a node's data directory and configuration (not started).
func (e *clusterEnv) newNode(name, ip string) *clusterNode {
	t := e.t
	n := &clusterNode{t: t, name: name, ip: ip, dir: filepath.Join(e.root, name)}
	os.MkdirAll(n.dir, 0o700)
	os.WriteFile(filepath.Join(n.dir, "cluster-secret"), []byte("a-secret-every-node-shares-2026\n"), 0o600)
	os.WriteFile(filepath.Join(n.dir, "ldap-password"), []byte(e.ldap[0].env["LDAP_BIND_PW"]), 0o600)
	cfg := e.base
	cfg.Server.DataDir = n.dir
	cfg.Listen = e.listen(ip)
	cfg.Cluster.Node = name
	cfg.Cluster.Nodes = e.members
	n.cfgPath = filepath.Join(n.dir, "congvu.toml")
	if err := config.Write(n.cfgPath, cfg); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *clusterNode) start() {
	n.t.Helper()
	ready := filepath.Join(n.dir, "ready.json")
	os.Remove(ready)
	n.stderr = &lockedBuffer{}
	n.cmd = exec.Command(binaryPath, "serve", "--config", n.cfgPath, "--ready-file", ready)
	n.cmd.Stderr = n.stderr
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	exited := make(chan error, 1)
	n.exited = exited
	go func() { exited <- n.cmd.Wait() }()
	n.t.Cleanup(n.stop)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if b, err := os.ReadFile(ready); err == nil {
			var r struct {
				Addrs map[string]string `json:"addrs"`
			}
			if json.Unmarshal(b, &r) == nil {
				n.addrs = r.Addrs
				return
			}
		}
		select {
		case err := <-exited:
			exited <- err
			n.t.Fatalf("%s exited before ready: %v\n%s", n.name, err, n.stderr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%s not ready after 60s\n%s", n.name, n.stderr)
		}
	}
}

func (n *clusterNode) stop() {
	if n.exited == nil {
		return
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		n.cmd.Process.Kill()
		<-n.exited
	}
	n.exited = nil
	if n.t.Failed() {
		n.t.Logf("%s stderr:\n%s", n.name, n.stderr)
	}
}

func (n *clusterNode) kill9() {
	n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.exited
	n.exited = nil
}

// hasMailbox reports whether the node's store holds the user's mailbox.
func (n *clusterNode) hasMailbox(address string) bool {
	local, domain, _ := strings.Cut(address, "@")
	_, err := os.Stat(filepath.Join(n.dir, "mail", "users", domain, local, "index.db"))
	return err == nil
}

// login logs in through nginx's IMAPS.
func (e *clusterEnv) login(a account) (*imapclient.Client, error) {
	raw, err := net.DialTimeout("tcp", e.nginx.addrs["imaps"], 10*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	c := imapclient.New(tls.Client(raw, e.trust), nil)
	if err := c.Login(a.Address, a.Password).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// subjects lists the subjects of a's INBOX through nginx.
func (e *clusterEnv) subjects(a account) ([]string, error) {
	c, err := e.login(a)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil || sel.NumMessages == 0 {
		return nil, err
	}
	var set imap.SeqSet
	set.AddRange(1, sel.NumMessages)
	msgs, err := c.Fetch(set, &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range msgs {
		if m.Envelope != nil {
			out = append(out, m.Envelope.Subject)
		}
	}
	return out, nil
}

// waitSubject waits until a's INBOX (through nginx) has subject.
func (e *clusterEnv) waitSubject(a account, subject string, within time.Duration) {
	e.t.Helper()
	var last []string
	var err error
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		last, err = e.subjects(a)
		for _, s := range last {
			if s == subject {
				return
			}
		}
	}
	e.t.Fatalf("%s never got %q (INBOX %q, %v)", a.Address, subject, last, err)
}

// sendMX sends a message to rcpt through a node's MX listener.
func (e *clusterEnv) sendMX(n *clusterNode, rcpt, subject string) error {
	c, err := smtp.DialStartTLS(n.addrs["smtp"], e.trust)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.SendMail("vanthu@other.gov.vn", []string{rcpt}, bytes.NewReader(simpleMessage("vanthu@other.gov.vn", rcpt, subject, "Kinh gui")))
}

// submit sends from a through nginx's submission with AUTH.
func (e *clusterEnv) submit(from account, to []string, subject string) error {
	c, err := smtp.DialTLS(e.nginx.addrs["submissions"], e.trust)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Auth(plainAuth(from)); err != nil {
		return fmt.Errorf("AUTH through nginx: %w", err)
	}
	return c.SendMail(from.Address, to, bytes.NewReader(simpleMessage(from.Address, strings.Join(to, ", "), subject, "Kinh gui")))
}

// TestThreeNodeCluster is the three-node test on one machine:
// two replicating slapds, nodes on 127.0.0.2-4, nginx's mail proxy in
// front. Logins through nginx land on the home node (the mailbox exists
// there only); mail between users of different nodes flows; with node 2
// killed its users get a temporary failure while nodes 1 and 3 serve, and
// MX mail for a node-2 user waits in node 1's queue and arrives after the
// restart; with one slapd stopped nothing changes for users. The web of
// node 1 serves a node-2 official's webmail from node 2 (read, send), a
// made-up node ticket is refused, and with node 2 down node 1 says so in
// Vietnamese.
func TestThreeNodeCluster(t *testing.T) {
	e := startCluster(t)
	u1, u2, u3 := e.users["node1"], e.users["node2"], e.users["node3"]

	// Mail between nodes: submitted through nginx by a node-1 user to
	// users of nodes 2 and 3, and MX mail to node 3 received by node 1.
	if err := e.submit(u1, []string{u2.Address, u3.Address}, "Giua cac nut"); err != nil {
		t.Fatal(err)
	}
	if err := e.sendMX(e.nodes["node1"], u3.Address, "MX qua nut 1"); err != nil {
		t.Fatal(err)
	}
	e.waitSubject(u2, "Giua cac nut", 30*time.Second)
	e.waitSubject(u3, "Giua cac nut", 30*time.Second)
	e.waitSubject(u3, "MX qua nut 1", 30*time.Second)

	// The web of any node: a node-2 official on node 1's webmail
	// (cluster_web_test.go).
	web := e.webmailOnAnotherNode(u2, u3, "Giua cac nut")

	// Node 2 down: its users get a temporary failure, the others do not;
	// MX mail for node 2 waits in node 1's queue.
	e.nodes["node2"].kill9()
	_, err := e.login(u2)
	if err == nil || !strings.Contains(err.Error(), "UNAVAILABLE") {
		t.Errorf("login of a node-2 user with node 2 down: %v, want a temporary [UNAVAILABLE] failure", err)
	}
	for _, u := range []account{u1, u3} {
		if c, err := e.login(u); err != nil {
			t.Errorf("login of %s with node 2 down: %v", u.Address, err)
		} else {
			c.Close()
		}
	}
	if err := e.sendMX(e.nodes["node1"], u2.Address, "Cho nut 2 tro lai"); err != nil {
		t.Fatalf("MX for a node-2 user with node 2 down: %v (want 250, queued)", err)
	}
	if err := e.submit(u3, []string{u1.Address}, "Nut 3 van gui duoc"); err != nil {
		t.Errorf("submission of a node-3 user with node 2 down: %v", err)
	}
	e.waitSubject(u1, "Nut 3 van gui duoc", 30*time.Second)
	e.webmailHomeDown(web)
	time.Sleep(2 * time.Second) // at least one failed relay attempt
	e.nodes["node2"].start()
	e.waitSubject(u2, "Cho nut 2 tro lai", 60*time.Second)
	// The same web session on node 1 reaches the mailbox again.
	if code, page := web.get("/mail"); code != 200 || !strings.Contains(page, "Cho nut 2 tro lai") {
		t.Errorf("node 1's webmail after node 2 came back: %d\n%.2000s", code, page)
	}

	// One slapd stopped: nothing visible changes.
	e.ldap[0].stop()
	if err := e.submit(u2, []string{u3.Address}, "Mot slapd nghi"); err != nil {
		t.Errorf("submission with one slapd stopped: %v", err)
	}
	e.waitSubject(u3, "Mot slapd nghi", 30*time.Second)
	e.ldap[0].start()

	// A mailbox moved from node 2 to node 3 while MX mail for it keeps
	// arriving at all three nodes: every message answered 250 is there
	// once, on node 3.
	e.moveUnderLoad(e.users["node2-second"], "node2", "node3")

	// Every mailbox is on its home node and nowhere else.
	for name, n := range e.nodes {
		for home, u := range map[string]account{"node1": u1, "node2": u2, "node3": u3} {
			if has := n.hasMailbox(u.Address); has != (home == name) {
				t.Errorf("%s holds the mailbox of %s (home %s): %v", name, u.Address, home, has)
			}
		}
	}

	// Adding a node as docs/operations.md says, then moving a mailbox onto
	// it: logins through nginx reach it with the mail moved, MX mail taken
	// by another node arrives there, nothing stays behind.
	n4 := e.addNode("node4", "127.0.0.5")
	if out, err := run(t, nil, binaryPath, "mailbox", "move", "--config", e.nodes["node1"].cfgPath, u1.Address, "node4"); err != nil {
		t.Fatalf("congvu mailbox move to the new node: %v\n%s", err, out)
	}
	e.waitSubject(u1, "Nut 3 van gui duoc", 30*time.Second)
	if err := e.sendMX(e.nodes["node3"], u1.Address, "Den nut moi"); err != nil {
		t.Fatal(err)
	}
	e.waitSubject(u1, "Den nut moi", 30*time.Second)
	if !n4.hasMailbox(u1.Address) || e.nodes["node1"].hasMailbox(u1.Address) {
		t.Errorf("after the move to the new node: on node4 %v, on node1 %v; want only on node4",
			n4.hasMailbox(u1.Address), e.nodes["node1"].hasMailbox(u1.Address))
	}
}

// addNode adds a node to the running cluster as docs/operations.md
// ("Adding a node") says: the new node gets the whole [cluster.nodes]
// table and starts; every other node gets the new entry and runs
// `congvu reload` — no restart, so no session of theirs is cut.
func (e *clusterEnv) addNode(name, ip string) *clusterNode {
	e.t.Helper()
	e.members[name] = e.member(ip)
	n := e.newNode(name, ip)
	n.start()
	for _, old := range []string{"node1", "node2", "node3"} {
		o := e.nodes[old]
		pid := o.cmd.Process.Pid
		editConfigFile(e.t, o.cfgPath, func(c *config.Config) { c.Cluster.Nodes[name] = e.member(ip) })
		reloads := strings.Count(o.stderr.String(), "configuration reloaded")
		if out, err := run(e.t, nil, binaryPath, "reload", "--config", o.cfgPath); err != nil {
			e.t.Fatalf("congvu reload on %s: %v\n%s", old, err, out)
		}
		deadline := time.Now().Add(30 * time.Second)
		for strings.Count(o.stderr.String(), "configuration reloaded") == reloads {
			if time.Now().After(deadline) {
				e.t.Fatalf("%s did not reload within 30 s:\n%s", old, o.stderr)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if o.cmd.Process.Pid != pid || o.exited == nil {
			e.t.Fatalf("%s restarted instead of reloading", old)
		}
	}
	e.nodes[name] = n
	return n
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func plainAuth(a account) sasl.Client { return sasl.NewPlainClient("", a.Address, a.Password) }

func (e *clusterEnv) moveUnderLoad(u account, from, to string) {
	t := e.t
	t.Helper()
	var mu sync.Mutex
	acked := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g, name := range []string{"node1", "node2", "node3"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				subject := fmt.Sprintf("mv-%d-%d", g, i)
				if e.sendMX(e.nodes[name], u.Address, subject) == nil {
					mu.Lock()
					acked[subject] = true
					mu.Unlock()
				} else {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(time.Second)
	out, err := run(t, nil, binaryPath, "mailbox", "move", "--config", e.nodes[from].cfgPath, u.Address, to)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("congvu mailbox move: %v\n%s", err, out)
	}
	t.Logf("mailbox move under load (%d messages acknowledged):\n%s", len(acked), out)
	if len(acked) < 20 {
		t.Fatalf("only %d messages acknowledged during the move: not under load", len(acked))
	}
	var got map[string]int
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		subjects, err := e.subjects(u)
		if err != nil {
			continue
		}
		got = map[string]int{}
		for _, s := range subjects {
			got[s]++
		}
		missing := 0
		for s := range acked {
			if got[s] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
	}
	for s := range acked {
		if got[s] != 1 {
			t.Errorf("%s answered 250 during the move, present %d times after it", s, got[s])
		}
	}
	if !e.nodes[to].hasMailbox(u.Address) || e.nodes[from].hasMailbox(u.Address) {
		t.Errorf("after the move: on %s %v, on %s %v; want only on %s", to, e.nodes[to].hasMailbox(u.Address),
			from, e.nodes[from].hasMailbox(u.Address), to)
	}
}
