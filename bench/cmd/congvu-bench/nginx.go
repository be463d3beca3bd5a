package main

import (
	"cmp"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"congvu/internal/nginxrun"
)

// nginxResults compares congvu reached through nginx's mail proxy
// (deploy/nginx/congvu-mail.conf: TLS at nginx, auth_http, PROXY protocol
// and XCLIENT to the node) with the same congvu reached directly.
type nginxResults struct {
	IMAPDirect    imapLoadResult `json:"imap_direct"`
	IMAPProxied   imapLoadResult `json:"imap_proxied"`
	SubmitDirect  loadResult     `json:"submission_direct"`
	SubmitProxied loadResult     `json:"submission_proxied"`
	// Rounds is how many alternating slices each figure sums: direct and
	// through nginx take turns, so other load on the machine falls on both.
	Rounds int `json:"rounds"`
	// Workers is nginx's worker_processes (--nginx-workers).
	Workers string `json:"nginx_workers,omitempty"`
	// CPU seconds used during the runs: congvu's and nginx's.
	IMAPDirectCPU    float64 `json:"imap_direct_congvu_cpu_s"`
	IMAPProxiedCPU   float64 `json:"imap_proxied_congvu_cpu_s"`
	IMAPNginxCPU     float64 `json:"imap_proxied_nginx_cpu_s"`
	SubmitDirectCPU  float64 `json:"submission_direct_congvu_cpu_s"`
	SubmitProxiedCPU float64 `json:"submission_proxied_congvu_cpu_s"`
	SubmitNginxCPU   float64 `json:"submission_proxied_nginx_cpu_s"`
}

// nginxRounds is how many turns direct and nginx take at each load, each
// at least minNginxTurn long. The ratio sits near its 0.9× target and one
// short turn varies by several per cent on two shared cores (a WAL
// checkpoint, a GC cycle): with four turns of 2 s in quick mode, runs of
// the same code gave 0.86–0.97× for submission.
const (
	nginxRounds  = 6
	minNginxTurn = 3 * time.Second
)

// runNginxPart starts congvu with its proxy listeners and nginx in front,
// gives the mixed-workload users an INBOX, then runs the IMAP mixed
// workload and an authenticated submission load directly and through
// nginx, in alternating slices.
func runNginxPart(tmp, congvuBin, workers string, sizes imapSizes, budget time.Duration, cleanups *[]func()) (*nginxResults, error) {
	if _, err := exec.LookPath("nginx"); err != nil {
		return nil, fmt.Errorf("nginx not installed (apt-get install nginx libnginx-mod-mail libnginx-mod-stream)")
	}
	dir := filepath.Join(tmp, "nginx-congvu")
	args := []string{"quickstart", "--dir", filepath.Join(dir, "demo"),
		"--imap-proxy-addr", "127.0.0.1:0", "--submission-proxy-addr", "127.0.0.1:0", "--pop3-proxy-addr", "127.0.0.1:0"}
	s, err := startCongvuArgs(congvuBin, dir, args...)
	if err != nil {
		return nil, err
	}
	s.proc.stop()
	if s.users, err = readOfficials(filepath.Join(dir, "demo", "demo-accounts.csv")); err != nil {
		return nil, err
	}
	clients := sizes.Clients[0]
	if len(s.users) < clients+1 {
		return nil, fmt.Errorf("demo has %d officials, need %d", len(s.users), clients+1)
	}
	// The mixed workload reads, flags and searches mail: every load user
	// gets the same INBOX as in the IMAP part.
	logf("nginx: importing a %d-message INBOX for %d users", sizes.MailboxMessages, clients)
	_, domain, _ := strings.Cut(s.users[0].Address, "@")
	people := make([]string, 0, len(s.users))
	for _, u := range s.users {
		people = append(people, u.Address)
	}
	now := time.Now().UTC().Truncate(24 * time.Hour)
	mixed := filepath.Join(dir, "corpus")
	if _, err := writeMaildir(mixed, &corpus{seed: 1, domain: domain, people: people}, sizes.MailboxMessages,
		now.AddDate(0, -6, 0), now.Add(-time.Hour)); err != nil {
		return nil, err
	}
	for _, u := range s.users[:clients] {
		if _, err := runMeasured(filepath.Join(dir, "import.log"), congvuBin, "storage", "import-maildir",
			"--config", s.config(), "--user", u.Address, mixed); err != nil {
			return nil, err
		}
	}
	users := s.users
	if s, err = startCongvuArgs(congvuBin, dir, args...); err != nil {
		return nil, err
	}
	s.users = users
	*cleanups = append(*cleanups, s.proc.stop)
	// By default one worker (--nginx-workers), errors and warnings only
	// (Debian logs errors): at "info" nginx writes two lines per session,
	// which is not what a production nginx spends.
	ng, err := nginxrun.Start(nginxrun.Options{Conf: "deploy/nginx/congvu-mail.conf", Dir: filepath.Join(tmp, "nginx"),
		AuthHTTP: s.addrs["admin"], CertFile: filepath.Join(dir, "demo", "tls-cert.pem"),
		KeyFile: filepath.Join(dir, "demo", "tls-key.pem"), Workers: workers, WorkerConnections: 4096, Logf: logf})
	if err != nil {
		return nil, err
	}
	*cleanups = append(*cleanups, ng.Stop)
	res := &nginxResults{Rounds: nginxRounds, Workers: workers}
	slice := max(sizes.PointTime/nginxRounds, minNginxTurn)
	cpu := func(pid int, f func()) float64 {
		before := treeCPU(pid)
		f()
		return treeCPU(pid) - before
	}

	logf("IMAP mixed workload, %d clients, directly and through nginx (%d turns of %v each)", clients, nginxRounds, slice)
	direct := imapTarget{Name: "direct", Addr: s.addrs["imaps"], Users: s.users}
	proxied := imapTarget{Name: "nginx", Addr: ng.Addrs["imaps"], Users: s.users}
	recD, recP := newRecorders(clients), newRecorders(clients)
	var secsD, secsP float64
	for round := range nginxRounds {
		seed := uint64(7 + round)
		res.IMAPDirectCPU += cpu(s.pid(), func() { secsD += driveIMAPLoad(direct, recD, slice, seed) })
		ngBefore := treeCPU(ng.Pid())
		res.IMAPProxiedCPU += cpu(s.pid(), func() { secsP += driveIMAPLoad(proxied, recP, slice, seed) })
		res.IMAPNginxCPU += treeCPU(ng.Pid()) - ngBefore
	}
	res.IMAPDirect = summarizeIMAPLoad(direct.Name, recD, secsD)
	res.IMAPProxied = summarizeIMAPLoad(proxied.Name, recP, secsP)

	logf("submission (implicit TLS, AUTH), 20 sessions, directly and through nginx (%d turns)", nginxRounds)
	subD := &submissionLoad{target: "direct", addr: s.addrs["submissions"], users: s.users[clients:], sessions: 20}
	subP := &submissionLoad{target: "nginx", addr: ng.Addrs["submissions"], users: s.users[clients:], sessions: 20}
	subSlice := max(budget/nginxRounds, minNginxTurn)
	for range nginxRounds {
		res.SubmitDirectCPU += cpu(s.pid(), func() { subD.run(subSlice) })
		ngBefore := treeCPU(ng.Pid())
		res.SubmitProxiedCPU += cpu(s.pid(), func() { subP.run(subSlice) })
		res.SubmitNginxCPU += treeCPU(ng.Pid()) - ngBefore
	}
	res.SubmitDirect, res.SubmitProxied = subD.result(), subP.result()
	if logged := ng.ErrorLog(); logged != "" {
		logf("nginx error log (last lines):\n%s", tail(logged, 10))
	}
	return res, nil
}

// checkNginxWorkers accepts what worker_processes takes here.
func checkNginxWorkers(w string) error {
	if n, err := strconv.Atoi(w); w != "auto" && (err != nil || n < 1 || n > 64) {
		return fmt.Errorf("--nginx-workers %q: auto or 1 to 64", w)
	}
	return nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// submissionLoad sends 10 KB messages over implicit-TLS submission with
// AUTH PLAIN, one session per official, in one or more runs whose figures
// add up.
type submissionLoad struct {
	target   string
	addr     string
	users    []benchUser
	sessions int

	mu        sync.Mutex
	seq       atomic.Int64
	lat       []time.Duration
	attempted int
	failed    int
	firstErr  string
	seconds   float64
}

// run drives the sessions for d; each logs in again at the start.
func (l *submissionLoad) run(d time.Duration) {
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range l.sessions {
		wg.Go(func() {
			u := l.users[i%len(l.users)]
			to := l.users[(i+1)%len(l.users)].Address
			var mine []time.Duration
			failed := 0
			var firstErr error
			maker := newMessageMaker(10 << 10)
			var buf []byte
			for time.Now().Before(deadline) {
				c, err := dialSubmission(l.addr, u)
				if err != nil {
					failed++
					firstErr = err
					time.Sleep(100 * time.Millisecond)
					continue
				}
				for time.Now().Before(deadline) {
					buf = maker.append(buf[:0], l.seq.Add(1), u.Address, to)
					t0 := time.Now()
					if err := c.send(u.Address, to, buf); err != nil {
						failed++
						firstErr = err
						break
					}
					mine = append(mine, time.Since(t0))
				}
				c.Close()
			}
			l.mu.Lock()
			l.lat = append(l.lat, mine...)
			l.attempted += len(mine) + failed
			l.failed += failed
			if firstErr != nil && l.firstErr == "" {
				l.firstErr = firstErr.Error()
			}
			l.mu.Unlock()
		})
	}
	wg.Wait()
	l.seconds += time.Since(start).Seconds()
}

func (l *submissionLoad) result() loadResult {
	res := loadResult{Target: l.target, Point: loadPoint{Sessions: l.sessions, SizeBytes: 10 << 10},
		Attempted: l.attempted, Accepted: len(l.lat), Failed: l.failed, FirstErr: l.firstErr, Seconds: l.seconds}
	if l.seconds > 0 {
		res.MsgsPerS = float64(res.Accepted) / l.seconds
	}
	res.P50Ms, res.P99Ms = percentileMs(l.lat, 0.50), percentileMs(l.lat, 0.99)
	return res
}

func dialSubmission(addr string, u benchUser) (*smtpSession, error) {
	return dialLoadSMTP(addr, clientTLS(), &u)
}

// nginxRows are the report's rows for the proxy part.
func nginxRows(r *results) []tableRow {
	n := r.Nginx
	if n == nil {
		return nil
	}
	rows := []tableRow{{
		measure:   fmt.Sprintf("IMAP mixed workload through nginx's mail proxy (worker_processes %s), %d clients: commands/s, vs the same congvu directly", cmp.Or(n.Workers, "auto"), n.IMAPDirect.Clients),
		congvu:    fmt.Sprintf("%.0f", n.IMAPProxied.OpsPerS),
		reference: fmt.Sprintf("%.0f", n.IMAPDirect.OpsPerS),
		ratio:     ratioStr(n.IMAPProxied.OpsPerS, n.IMAPDirect.OpsPerS),
	}, {
		measure:   "Submission through nginx's mail proxy (TLS, AUTH, XCLIENT), 20 sessions × 10 KB: msgs/s, vs the same congvu directly",
		congvu:    fmt.Sprintf("%.0f", n.SubmitProxied.MsgsPerS),
		reference: fmt.Sprintf("%.0f", n.SubmitDirect.MsgsPerS),
		ratio:     ratioStr(n.SubmitProxied.MsgsPerS, n.SubmitDirect.MsgsPerS),
	}}
	// CPU per command and per message, both processes through nginx: on
	// a loaded machine the rates mostly measure the load, these less so.
	perOp := func(sec float64, ops int) float64 {
		if ops <= 0 {
			return 0
		}
		return 1000 * sec / float64(ops)
	}
	for _, c := range []struct {
		what                 string
		direct, proxied, ngx float64
	}{
		{"IMAP command", perOp(n.IMAPDirectCPU, n.IMAPDirect.Ops), perOp(n.IMAPProxiedCPU, n.IMAPProxied.Ops), perOp(n.IMAPNginxCPU, n.IMAPProxied.Ops)},
		{"submitted message", perOp(n.SubmitDirectCPU, n.SubmitDirect.Accepted), perOp(n.SubmitProxiedCPU, n.SubmitProxied.Accepted), perOp(n.SubmitNginxCPU, n.SubmitProxied.Accepted)},
	} {
		rows = append(rows, tableRow{
			measure:   fmt.Sprintf("CPU per %s through nginx (congvu + nginx), vs the same congvu directly: ms", c.what),
			congvu:    fmt.Sprintf("%.2f + %.2f", c.proxied, c.ngx),
			reference: fmt.Sprintf("%.2f", c.direct),
			// Less CPU is ahead: direct ÷ through nginx.
			ratio: ratioStr(c.direct, c.proxied+c.ngx),
		})
	}
	return rows
}
