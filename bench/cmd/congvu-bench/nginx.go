package main

import (
	"bytes"
	"cmp"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
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

// nginxPort is where the shipped configuration listens for each service.
var nginxPorts = map[string]string{"993": "imaps", "465": "submissions"}

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
	ng, err := startBenchNginx(filepath.Join(tmp, "nginx"), workers, s.addrs["admin"],
		filepath.Join(dir, "demo", "tls-cert.pem"), filepath.Join(dir, "demo", "tls-key.pem"), freePorts)
	if err != nil {
		return nil, err
	}
	*cleanups = append(*cleanups, ng.stop)
	res := &nginxResults{Rounds: nginxRounds, Workers: workers}
	slice := max(sizes.PointTime/nginxRounds, minNginxTurn)
	cpu := func(pid int, f func()) float64 {
		before := treeCPU(pid)
		f()
		return treeCPU(pid) - before
	}

	logf("IMAP mixed workload, %d clients, directly and through nginx (%d turns of %v each)", clients, nginxRounds, slice)
	direct := imapTarget{Name: "direct", Addr: s.addrs["imaps"], Users: s.users}
	proxied := imapTarget{Name: "nginx", Addr: ng.addrs["imaps"], Users: s.users}
	recD, recP := newRecorders(clients), newRecorders(clients)
	var secsD, secsP float64
	for round := range nginxRounds {
		seed := uint64(7 + round)
		res.IMAPDirectCPU += cpu(s.pid(), func() { secsD += driveIMAPLoad(direct, recD, slice, seed) })
		ngBefore := treeCPU(ng.pid())
		res.IMAPProxiedCPU += cpu(s.pid(), func() { secsP += driveIMAPLoad(proxied, recP, slice, seed) })
		res.IMAPNginxCPU += treeCPU(ng.pid()) - ngBefore
	}
	res.IMAPDirect = summarizeIMAPLoad(direct.Name, recD, secsD)
	res.IMAPProxied = summarizeIMAPLoad(proxied.Name, recP, secsP)

	logf("submission (implicit TLS, AUTH), 20 sessions, directly and through nginx (%d turns)", nginxRounds)
	subD := &submissionLoad{target: "direct", addr: s.addrs["submissions"], users: s.users[clients:], sessions: 20}
	subP := &submissionLoad{target: "nginx", addr: ng.addrs["submissions"], users: s.users[clients:], sessions: 20}
	subSlice := max(budget/nginxRounds, minNginxTurn)
	for range nginxRounds {
		res.SubmitDirectCPU += cpu(s.pid(), func() { subD.run(subSlice) })
		ngBefore := treeCPU(ng.pid())
		res.SubmitProxiedCPU += cpu(s.pid(), func() { subP.run(subSlice) })
		res.SubmitNginxCPU += treeCPU(ng.pid()) - ngBefore
	}
	res.SubmitDirect, res.SubmitProxied = subD.result(), subP.result()
	if b, err := os.ReadFile(filepath.Join(tmp, "nginx", "error.log")); err == nil && len(b) > 0 {
		logf("nginx error log (last lines):\n%s", tail(string(b), 10))
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

type benchNginx struct {
	proc  *process
	addrs map[string]string
}

func (n *benchNginx) stop() { n.proc.stop() }

// pid is nginx's master process (its workers are its children).
func (n *benchNginx) pid() int { return n.proc.cmd.Process.Pid }

// startBenchNginx runs nginx with deploy/nginx/congvu-mail.conf, its
// listeners moved to free loopback ports. A port found free can be taken
// as a client's ephemeral port before nginx binds it (nginx then exits
// with "Address already in use"): it tries again with fresh ports.
// ports is freePorts, or a test's stand-in.
func startBenchNginx(dir, workers, authHTTP, certFile, keyFile string, ports func(int) ([]string, error)) (*benchNginx, error) {
	for attempt := 1; ; attempt++ {
		listeners, err := ports(6)
		if err != nil {
			return nil, err
		}
		n, err := startBenchNginxOn(dir, workers, authHTTP, certFile, keyFile, listeners)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "Address already in use") {
			return n, err
		}
		logf("nginx lost a port to another socket, starting it again on fresh ports")
	}
}

// startBenchNginxOn runs nginx with its six listeners on listeners (the
// shipped 993, 143, 995, 110, 465 and 587, in that order).
func startBenchNginxOn(dir, workers, authHTTP, certFile, keyFile string, listeners []string) (*benchNginx, error) {
	shipped, err := os.ReadFile("deploy/nginx/congvu-mail.conf")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	conf := string(shipped)
	n := &benchNginx{addrs: map[string]string{}}
	for i, port := range []string{"993", "143", "995", "110", "465", "587"} {
		addr := listeners[i]
		if name, ok := nginxPorts[port]; ok {
			n.addrs[name] = addr
		}
		conf = regexp.MustCompile(`listen `+port+`( ssl)?;`).ReplaceAllString(conf, "listen "+addr+"$1;")
	}
	conf = strings.NewReplacer("auth_http 10.0.0.11:8081/auth;", "auth_http "+authHTTP+"/auth;",
		"ssl_certificate     /etc/congvu/tls/fullchain.pem;", "ssl_certificate "+certFile+";",
		"ssl_certificate_key /etc/congvu/tls/privkey.pem;", "ssl_certificate_key "+keyFile+";",
		"unix:/run/nginx-congvu-", "unix:"+dir+"/").Replace(conf)
	// By default as many workers as cores, as Debian's nginx.conf has
	// it. Errors and warnings only (Debian logs errors): at "info" nginx
	// writes two lines per session, which is not what a production nginx
	// spends.
	conf = fmt.Sprintf("load_module /usr/lib/nginx/modules/ngx_mail_module.so;\n"+
		"load_module /usr/lib/nginx/modules/ngx_stream_module.so;\nworker_processes %s;\npid %s/nginx.pid;\n"+
		"error_log %s/error.log warn;\nevents { worker_connections 4096; }\n", workers, dir, dir) + conf
	// A failed attempt's log and pid file must not pass for this one's,
	// and its Unix sockets (nginx leaves them when it gives up) would
	// stop this one binding.
	stale, _ := filepath.Glob(filepath.Join(dir, "*.sock"))
	for _, f := range append(stale, filepath.Join(dir, "error.log"), filepath.Join(dir, "nginx.pid")) {
		os.Remove(f)
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command("nginx", "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	p, err := startProcess("nginx", cmd)
	if err != nil {
		return nil, err
	}
	n.proc = p
	failed := func(err error) (*benchNginx, error) {
		p.stop()
		// Start-up errors go to the error log, not to standard error.
		logged, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return nil, fmt.Errorf("nginx: %w\n%s%s", err, out.String(), tail(string(logged), 10))
	}
	// nginx writes its pid file once every listener is bound, and exits
	// (after retrying for 2.5 s) when one cannot be: a listener taken by
	// another process would otherwise pass a connect check.
	pidFile := filepath.Join(dir, "nginx.pid")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(pidFile); err == nil {
			break
		}
		select {
		case err := <-p.exited:
			p.exited <- err
			return failed(fmt.Errorf("exited before listening: %v", err))
		default:
		}
		if time.Now().After(deadline) {
			return failed(fmt.Errorf("no %s after 10 s", pidFile))
		}
	}
	for _, a := range listeners {
		if err := waitListening(a, 10*time.Second); err != nil {
			return failed(err)
		}
	}
	return n, nil
}

// freePorts returns n distinct free loopback addresses, holding each until
// all are chosen.
func freePorts(n int) ([]string, error) {
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
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
