// Package interop holds black-box tests: they build the real congvu binary,
// start `congvu quickstart` in a temporary directory on free ports, and drive
// it with clients nobody here wrote (swaks, msmtp, mbsync, neomutt, Python's
// smtplib/imaplib/poplib) as well as go-imap/go-smtp clients.
package interop

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binaryPath is the congvu binary built once by TestMain for all tests.
var binaryPath string

// envBinary passes binaryPath to a test re-run in a network namespace.
const envBinary = "CONGVU_INTEROP_BINARY"

func TestMain(m *testing.M) {
	// A test re-run in a private network namespace (sambatest.InNetns)
	// reuses the binary its parent built.
	if p := os.Getenv(envBinary); p != "" {
		binaryPath = p
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "congvu-interop-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binaryPath = filepath.Join(dir, "congvu")
	build := exec.Command("go", "build", "-o", binaryPath, "../../cmd/congvu")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building congvu:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// account is one row of demo-accounts.csv.
type account struct{ Address, Password, Role string }

// system is a running `congvu quickstart`.
type system struct {
	t        *testing.T
	dir      string
	cmd      *exec.Cmd
	addrs    map[string]string
	certFile string
	accounts []account
	stdout   *bytes.Buffer
	stderr   *bytes.Buffer
	exited   chan error
}

// startSystem runs quickstart in dir (a new temp dir when empty) with every
// listener on a free port, and waits for its ready file.
func startSystem(t *testing.T, dir string) *system {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	return startCommand(t, dir, filepath.Join(dir, "demo", "demo-accounts.csv"), "quickstart", "--dir", filepath.Join(dir, "demo"))
}

// startServe runs `congvu serve` on the configuration that an earlier
// quickstart wrote in dir, the way an operator runs production.
func startServe(t *testing.T, dir string) *system {
	t.Helper()
	return startCommand(t, dir, filepath.Join(dir, "demo", "demo-accounts.csv"), "serve", "--config", filepath.Join(dir, "demo", "congvu.toml"))
}

// startCommand runs congvu with args plus free-port listeners and a ready
// file in dir; accountsCSV lists the accounts the tests may use.
func startCommand(t *testing.T, dir, accountsCSV string, args ...string) *system {
	t.Helper()
	return startCommandAddrs(t, dir, accountsCSV, nil, args...)
}

// startCommandAddrs is startCommand with some listeners at given
// addresses (listener name → host:port) instead of free ports.
func startCommandAddrs(t *testing.T, dir, accountsCSV string, addrs map[string]string, args ...string) *system {
	t.Helper()
	ready := filepath.Join(dir, "ready.json")
	os.Remove(ready)
	args = append(args, "--ready-file", ready)
	standard := []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s", "http", "https", "admin", "ldap", "ldaps", "managesieve"}
	for _, l := range standard {
		addr := "127.0.0.1:0"
		if a, ok := addrs[l]; ok {
			addr = a
		}
		args = append(args, "--"+l+"-addr", addr)
	}
	for l, a := range addrs { // listeners off by default (imap_proxy…)
		if !slices.Contains(standard, l) {
			args = append(args, "--"+strings.ReplaceAll(l, "_", "-")+"-addr", a)
		}
	}
	s := &system{t: t, dir: dir, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	s.cmd = exec.Command(binaryPath, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	s.exited = exited
	go func() { exited <- s.cmd.Wait() }()
	t.Cleanup(s.stop)

	// A quickstart makes a province (thousands of accounts, keys, TLS):
	// seconds on a quiet machine, over a minute on a loaded one.
	deadline := time.Now().Add(180 * time.Second)
	for {
		b, err := os.ReadFile(ready)
		if err == nil {
			var r struct {
				Addrs   map[string]string `json:"addrs"`
				CertPEM string            `json:"cert_pem"`
			}
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatalf("ready file: %v", err)
			}
			s.addrs, s.certFile = r.Addrs, r.CertPEM
			break
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("congvu exited before ready: %v\nstdout:\n%s\nstderr:\n%s", err, s.stdout, s.stderr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("congvu not ready after 180s\nstderr:\n%s", s.stderr)
		}
	}
	s.accounts = readAccounts(t, accountsCSV)
	return s
}

// stop asks the server to shut down (SIGTERM) and waits for it.
func (s *system) stop() {
	if s.exited == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.exited = nil
	if s.t.Failed() {
		s.t.Logf("congvu stderr:\n%s", s.stderr)
	}
}

// kill9 kills the server without any chance to clean up.
func (s *system) kill9() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.t.Fatal(err)
	}
	<-s.exited
	s.exited = nil
}

func readAccounts(t *testing.T, path string) []account {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 3 || strings.Join(rows[0], ",") != "address,password,role" {
		t.Fatalf("demo-accounts.csv: unexpected content %q", rows)
	}
	var out []account
	for _, r := range rows[1:] {
		out = append(out, account{r[0], r[1], r[2]})
	}
	return out
}

// user returns the i-th demo account that is a person (not a unit mailbox).
func (s *system) user(i int) account {
	s.t.Helper()
	n := 0
	for _, a := range s.accounts {
		if a.Role == "official" {
			if n == i {
				return a
			}
			n++
		}
	}
	s.t.Fatalf("fewer than %d officials in demo accounts", i+1)
	return account{}
}

func (s *system) tlsConfig() *tls.Config {
	pem, err := os.ReadFile(s.certFile)
	if err != nil {
		s.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

func hostPort(addr string) (string, string) {
	i := strings.LastIndex(addr, ":")
	return addr[:i], addr[i+1:]
}

// run executes a client program with a timeout and returns its combined output.
func run(t *testing.T, stdin []byte, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return string(out), fmt.Errorf("%s timed out", name)
	}
	return string(out), err
}

func requireTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		// The README test command installs every tool; a missing one is a
		// broken setup, not a reason to pass.
		t.Fatalf("%s is not installed (deploy/test.sh installs it)", name)
	}
}

// py runs tests/interop/testdata/client.py with args.
func (s *system) py(args ...string) (string, error) {
	s.t.Helper()
	requireTool(s.t, "python3")
	return run(s.t, nil, "python3", append([]string{"testdata/client.py", "--cafile", s.certFile}, args...)...)
}
