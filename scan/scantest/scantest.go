// Package scantest starts private ClamAV (clamd) and rspamd instances for
// tests, on 127.0.0.1 with free ports, from Debian's clamav-daemon and
// rspamd packages (recipes in shared/REAL-PARTS.md). Neither touches the
// network: clamd gets a one-line signature database written here (the
// EICAR test file's MD5), rspamd a DNS server of the test's own.
package scantest

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EICAR is the anti-virus test file (68 bytes) that clamd's test
// signature matches.
const EICAR = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// EICARSignature is the name clamd reports for it (custom signatures get
// ".UNOFFICIAL").
const EICARSignature = "Eicar-Test.UNOFFICIAL"

// Process is a started scanner.
type Process struct {
	Addr string // host:port
	cmd  *exec.Cmd
	done chan error
	log  string
	stop sync.Once
}

// Stop kills the scanner and waits for it; later calls do nothing.
func (p *Process) Stop() {
	p.stop.Do(func() {
		if p.cmd.Process == nil {
			return
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	})
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func lookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				return filepath.Join(dir, name)
			}
		}
		t.Fatalf("%s is not installed (deploy/test.sh installs it)", name)
	}
	return p
}

func start(t testing.TB, name string, cmd *exec.Cmd, logFile, addr string, ready func() bool, within time.Duration) *Process {
	t.Helper()
	out, err := os.Create(logFile + ".out")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &Process{Addr: addr, cmd: cmd, done: make(chan error, 1), log: logFile}
	go func() { p.done <- cmd.Wait(); out.Close() }()
	t.Cleanup(p.Stop)
	deadline := time.Now().Add(within)
	for !ready() {
		select {
		case err := <-p.done:
			p.done <- err
			b, _ := os.ReadFile(logFile + ".out")
			l, _ := os.ReadFile(logFile)
			t.Fatalf("%s exited: %v\n%s\n%s", name, err, tail(b), tail(l))
		default:
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logFile + ".out")
			l, _ := os.ReadFile(logFile)
			t.Fatalf("%s not ready within %v\n%s\n%s", name, within, tail(b), tail(l))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return p
}

func tail(b []byte) string {
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// StartClamd runs clamd with a database holding only the EICAR signature.
func StartClamd(t testing.TB) *Process {
	t.Helper()
	bin := lookPath(t, "clamd")
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o755); err != nil {
		t.Fatal(err)
	}
	// clamd refuses an empty database directory; an MD5 signature of the
	// EICAR file is enough (no download).
	if err := os.WriteFile(filepath.Join(db, "custom.hdb"), []byte("44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	logFile := filepath.Join(dir, "clamd.log")
	conf := fmt.Sprintf("Foreground yes\nTCPSocket %d\nTCPAddr 127.0.0.1\nDatabaseDirectory %s\nScanArchive yes\nUser root\n"+
		"LogFile %s\nPidFile %s\nStreamMaxLength 64M\nMaxFileSize 64M\nMaxScanSize 200M\n",
		port, db, logFile, filepath.Join(dir, "clamd.pid"))
	if err := os.WriteFile(filepath.Join(dir, "clamd.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, "-c", filepath.Join(dir, "clamd.conf"))
	return start(t, "clamd", cmd, logFile, addr, func() bool { return ping(addr, "zPING\x00", "PONG") }, 60*time.Second)
}

func ping(addr, cmd, want string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	c.Write([]byte(cmd))
	b, _ := io.ReadAll(io.LimitReader(c, 4096))
	return strings.Contains(string(b), want)
}

// RspamdOptions tune the private rspamd.
type RspamdOptions struct {
	// DNS is the "host:port" of the test's DNS server; rspamd must never
	// wait on real resolvers.
	DNS string
	// AddHeader is the score from which rspamd answers "add header"
	// (default 2.5: one phishing link is enough); Reject from which it
	// answers "reject" (default 15, GTUBE's).
	AddHeader, Reject float64
}

// StartRspamd runs one rspamd normal worker with Debian's rules, no Redis,
// greylisting off, and the given action thresholds.
func StartRspamd(t testing.TB, opts RspamdOptions) *Process {
	t.Helper()
	bin := lookPath(t, "rspamd")
	if opts.AddHeader == 0 {
		opts.AddHeader = 2.5
	}
	if opts.Reject == 0 {
		opts.Reject = 15
	}
	dir := t.TempDir()
	for _, d := range []string{"local/local.d", "db", "run", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	conf := `.include "$CONFDIR/common.conf"
options {
    pidfile = "$RUNDIR/rspamd.pid";
    .include "$CONFDIR/options.inc"
    .include(try=true; priority=1,duplicate=merge) "$LOCAL_CONFDIR/local.d/options.inc"
}
logging {
    type = "file";
    filename = "$LOGDIR/rspamd.log";
    level = "warning";
}
worker "normal" {
    bind_socket = "127.0.0.1:` + strconv.Itoa(port) + `";
    .include "$CONFDIR/worker-normal.inc"
    count = 1;
}
`
	// The tuning an operator is told to install (deploy/rspamd).
	vi, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "rspamd", "local.d", "headers_group.conf"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"local/local.d/headers_group.conf": string(vi),
		"rspamd.conf":                      conf,
		"local/local.d/options.inc":        fmt.Sprintf("dns { nameserver = [\"%s\"]; timeout = 1s; retransmits = 1; }\n", opts.DNS),
		"local/local.d/actions.conf":       fmt.Sprintf("reject = %g;\nadd_header = %g;\ngreylist = null;\n", opts.Reject, opts.AddHeader),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, "-f", "-u", "root", "-g", "root", "-c", filepath.Join(dir, "rspamd.conf"),
		"--var=LOCAL_CONFDIR="+filepath.Join(dir, "local"), "--var=DBDIR="+filepath.Join(dir, "db"),
		"--var=RUNDIR="+filepath.Join(dir, "run"), "--var=LOGDIR="+filepath.Join(dir, "log"))
	return start(t, "rspamd", cmd, filepath.Join(dir, "log", "rspamd.log"), addr,
		func() bool { return ping(addr, "GET /ping HTTP/1.0\r\n\r\n", "pong") }, 3*time.Minute)
}

// repoRoot finds the repository root (where go.mod is) above the test's
// working directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}
