package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// process is a server the bench started and must stop.
type process struct {
	name   string
	cmd    *exec.Cmd
	exited chan error
	stderr *bytes.Buffer
}

func startProcess(name string, cmd *exec.Cmd) (*process, error) {
	p := &process{name: name, cmd: cmd, exited: make(chan error, 1), stderr: &bytes.Buffer{}}
	if cmd.Stdout == nil {
		cmd.Stdout = p.stderr
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() { p.exited <- cmd.Wait() }()
	return p, nil
}

// stop sends SIGTERM, then SIGKILL after a grace period.
func (p *process) stop() {
	if p == nil || p.exited == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
	p.exited = nil
}

// congvuSystem is a running `congvu quickstart`.
type congvuSystem struct {
	proc       *process
	addrs      map[string]string // listener name → address (ready file)
	smtpAddr   string
	recipients []string
	users      []benchUser // the demo officials with their passwords
	dir        string      // the quickstart directory
}

// config is the quickstart's configuration file.
func (s *congvuSystem) config() string { return filepath.Join(s.dir, "demo", "congvu.toml") }

// pid is the server's process id.
func (s *congvuSystem) pid() int { return s.proc.cmd.Process.Pid }

// startCongvu runs quickstart in dir with every listener on a free port
// and waits for its ready file (as tests/interop does).
func startCongvu(bin, dir string) (*congvuSystem, error) {
	s, err := startCongvuArgs(bin, dir, "quickstart", "--dir", filepath.Join(dir, "demo"))
	if err != nil {
		return nil, err
	}
	s.users, err = readOfficials(filepath.Join(dir, "demo", "demo-accounts.csv"))
	if err != nil {
		s.proc.stop()
		return nil, err
	}
	for _, u := range s.users {
		s.recipients = append(s.recipients, u.Address)
	}
	return s, nil
}

// startCongvuArgs runs `congvu ARGS…` with every listener on a free port
// and waits for the ready file in dir; its log goes to dir/congvu.log.
func startCongvuArgs(bin, dir string, args ...string) (*congvuSystem, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ready := filepath.Join(dir, "ready.json")
	os.Remove(ready) // left by an earlier start in the same directory
	args = append(args, "--ready-file", ready)
	for _, l := range []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s", "http", "https", "admin", "ldap", "ldaps", "managesieve"} {
		args = append(args, "--"+l+"-addr", "127.0.0.1:0")
	}
	cmd := exec.Command(bin, args...)
	// The log goes to a file: a long run logs every session.
	logPath := filepath.Join(dir, "congvu.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd.Stdout, cmd.Stderr = logFile, logFile
	p, err := startProcess("congvu", cmd)
	if err != nil {
		return nil, err
	}
	s := &congvuSystem{proc: p, dir: dir}
	deadline := time.Now().Add(90 * time.Second)
	for {
		if b, err := os.ReadFile(ready); err == nil {
			var r struct {
				Addrs map[string]string `json:"addrs"`
			}
			if err := json.Unmarshal(b, &r); err != nil {
				p.stop()
				return nil, fmt.Errorf("ready file: %w", err)
			}
			s.addrs = r.Addrs
			s.smtpAddr = r.Addrs["smtp"]
			return s, nil
		}
		select {
		case err := <-p.exited:
			p.exited <- err
			p.stop()
			return nil, fmt.Errorf("congvu exited before ready: %v\n%s", err, readTail(logPath))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("congvu not ready after 90s\n%s", readTail(logPath))
		}
	}
}

// readOfficials returns the personal mailboxes of demo-accounts.csv or of
// `directory import --passwords-out` (same columns).
func readOfficials(path string) ([]benchUser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	var out []benchUser
	for _, r := range rows[1:] {
		if len(r) == 3 && r[2] == "official" {
			out = append(out, benchUser{Address: r[0], Password: r[1]})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no officials", path)
	}
	return out, nil
}

// freePort returns a loopback port that was free a moment ago, for servers
// (Postfix, smtp-sink) that cannot report the port they bound.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitListening polls addr until it accepts a connection.
func waitListening(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening after %v: %w", addr, d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
