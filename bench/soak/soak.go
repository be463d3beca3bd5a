// Package soak runs congvu under a steady mixed load — SMTP deliveries,
// IMAP sessions that read and flag, POP3 sessions that read, web page
// loads — and kills the server with SIGKILL at a fixed interval, restarting
// it on the same data each time. At the end it checks the store (`congvu
// storage check`) and that every message answered 250 is in its mailbox
// exactly once, and reports the server's memory and open files over time
// (issue 15: `make soak`; a short smoke run is in the interop tests).
package soak

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Config is one soak run.
type Config struct {
	Bin       string        // the congvu binary
	Dir       string        // working directory (the demo province goes in Dir/demo)
	Duration  time.Duration // load time
	KillEvery time.Duration // SIGKILL period; 0 never
	Rate      float64       // SMTP messages per second, in all
	IMAP      int           // concurrent IMAP sessions
	POP3      int           // concurrent POP3 sessions
	Web       int           // concurrent web clients
	Log       io.Writer     // progress; nil discards
}

// Sample is one reading of the server process.
type Sample struct {
	At       time.Duration // since the start of the run
	Segment  int           // restarts so far
	RSSBytes int64
	OpenFDs  int
}

// Result is what a run found.
type Result struct {
	Acked, Found, Lost, Duplicates int
	Kills                          int
	IMAPOps, POP3Ops, WebOps       int64
	ClientErrors                   int64 // failed client operations (expected around kills)
	StorageCheck                   string
	StorageClean                   bool
	Samples                        []Sample
}

// account is a demo official.
type account struct{ Address, Password string }

// server is a running congvu.
type server struct {
	cmd    *exec.Cmd
	done   chan error
	addrs  map[string]string
	tlsCfg *tls.Config
}

// Run runs the soak and returns its result; a non-nil error means the run
// itself could not be carried out.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	demo := filepath.Join(cfg.Dir, "demo")
	srv, err := start(cfg.Bin, demo)
	if err != nil {
		return nil, err
	}
	accts, err := readAccounts(filepath.Join(demo, "demo-accounts.csv"))
	if err != nil {
		srv.kill()
		return nil, err
	}
	if len(accts) < 40 {
		srv.kill()
		return nil, fmt.Errorf("soak: %d demo accounts, want at least 40", len(accts))
	}
	var current atomic.Pointer[server]
	current.Store(srv)
	res := &Result{}
	l := &load{cfg: cfg, srv: &current, res: res, acked: map[string]string{}}

	runCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	l.startClients(runCtx, &wg, accts)

	begin := time.Now()
	sample := time.NewTicker(5 * time.Second)
	defer sample.Stop()
	var kill <-chan time.Time
	if cfg.KillEvery > 0 {
		t := time.NewTicker(cfg.KillEvery)
		defer t.Stop()
		kill = t.C
	}
	end := time.After(cfg.Duration)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-end:
			break loop
		case <-sample.C:
			s := current.Load()
			rss, fds := procStats(s.cmd.Process.Pid)
			res.Samples = append(res.Samples, Sample{At: time.Since(begin), Segment: res.Kills, RSSBytes: rss, OpenFDs: fds})
		case <-kill:
			s := current.Load()
			s.kill()
			res.Kills++
			fmt.Fprintf(cfg.Log, "%s: kill -9 #%d (%d acknowledged so far)\n", time.Since(begin).Round(time.Second), res.Kills, l.ackedCount())
			next, err := start(cfg.Bin, demo)
			if err != nil {
				stopLoad()
				wg.Wait()
				return res, fmt.Errorf("restart after kill: %w", err)
			}
			current.Store(next)
		}
	}
	stopLoad()
	wg.Wait()
	current.Load().stop()

	// The store after every kill: files and index in step.
	out, err := exec.Command(cfg.Bin, "storage", "check", "--config", filepath.Join(demo, "congvu.toml")).CombinedOutput()
	res.StorageCheck, res.StorageClean = string(out), err == nil
	found, err := countSubjects(cfg.Bin, demo, accts)
	if err != nil {
		return res, err
	}
	l.mu.Lock()
	res.Acked = len(l.acked)
	for id, rcpt := range l.acked {
		switch n := found[rcpt][id]; {
		case n == 0:
			res.Lost++
		case n > 1:
			res.Duplicates += n - 1
			res.Found++
		default:
			res.Found++
		}
	}
	l.mu.Unlock()
	return res, nil
}

// start runs `congvu quickstart` (which reuses an existing demo) with every
// listener on a free port and waits for its ready file.
func start(bin, dir string) (*server, error) {
	ready := filepath.Join(dir + "-ready.json")
	os.Remove(ready)
	args := []string{"quickstart", "--dir", dir, "--ready-file", ready}
	for _, l := range []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s", "http", "https", "admin", "ldap", "ldaps", "managesieve"} {
		args = append(args, "--"+l+"-addr", "127.0.0.1:0")
	}
	cmd := exec.Command(bin, args...)
	logf, err := os.OpenFile(dir+"-congvu.log", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		b, err := os.ReadFile(ready)
		if err == nil {
			var r struct {
				Addrs   map[string]string `json:"addrs"`
				CertPEM string            `json:"cert_pem"`
			}
			if err := json.Unmarshal(b, &r); err != nil {
				s.kill()
				return nil, err
			}
			pem, err := os.ReadFile(r.CertPEM)
			if err != nil {
				s.kill()
				return nil, err
			}
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pem)
			s.addrs, s.tlsCfg = r.Addrs, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
			return s, nil
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("congvu exited before ready: %v (see %s-congvu.log)", err, dir)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, errors.New("congvu not ready within 3 minutes")
		}
	}
}

func (s *server) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.kill()
	}
}

// procStats reads the resident memory and open descriptors of pid.
func procStats(pid int) (rss int64, fds int) {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				var kb int64
				fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
				rss = kb << 10
			}
		}
	}
	if entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		fds = len(entries)
	}
	return rss, fds
}

func readAccounts(path string) ([]account, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	var out []account
	for _, r := range rows[1:] {
		if len(r) >= 3 && r[2] == "official" {
			out = append(out, account{r[0], r[1]})
		}
	}
	return out, nil
}
