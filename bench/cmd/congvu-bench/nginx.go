package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// nginxResults compares congvu reached through nginx's mail proxy
// (deploy/nginx/congvu-mail.conf: TLS at nginx, auth_http, PROXY protocol
// and XCLIENT to the node) with the same congvu reached directly.
type nginxResults struct {
	IMAPDirect    imapLoadResult `json:"imap_direct"`
	IMAPProxied   imapLoadResult `json:"imap_proxied"`
	SubmitDirect  loadResult     `json:"submission_direct"`
	SubmitProxied loadResult     `json:"submission_proxied"`
}

// nginxPort is where the shipped configuration listens for each service.
var nginxPorts = map[string]string{"993": "imaps", "465": "submissions"}

// runNginxPart starts congvu with its proxy listeners and nginx in front,
// then runs the IMAP mixed workload and an authenticated submission load
// through nginx and directly, one after the other.
func runNginxPart(tmp, congvuBin string, sizes imapSizes, budget time.Duration, cleanups *[]func()) (*nginxResults, error) {
	if _, err := exec.LookPath("nginx"); err != nil {
		return nil, fmt.Errorf("nginx not installed (apt-get install nginx libnginx-mod-mail)")
	}
	dir := filepath.Join(tmp, "nginx-congvu")
	s, err := startCongvuArgs(congvuBin, dir, "quickstart", "--dir", filepath.Join(dir, "demo"),
		"--imap-proxy-addr", "127.0.0.1:0", "--submission-proxy-addr", "127.0.0.1:0", "--pop3-proxy-addr", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	*cleanups = append(*cleanups, s.proc.stop)
	if s.users, err = readOfficials(filepath.Join(dir, "demo", "demo-accounts.csv")); err != nil {
		return nil, err
	}
	ng, err := startBenchNginx(filepath.Join(tmp, "nginx"), s.addrs["admin"],
		filepath.Join(dir, "demo", "tls-cert.pem"), filepath.Join(dir, "demo", "tls-key.pem"))
	if err != nil {
		return nil, err
	}
	*cleanups = append(*cleanups, ng.stop)
	res := &nginxResults{}
	clients := sizes.Clients[0]
	logf("IMAP mixed workload, %d clients, directly and through nginx", clients)
	res.IMAPDirect = runIMAPLoad(imapTarget{Name: "direct", Addr: s.addrs["imaps"], Users: s.users}, clients, sizes.PointTime, 7)
	res.IMAPProxied = runIMAPLoad(imapTarget{Name: "nginx", Addr: ng.addrs["imaps"], Users: s.users}, clients, sizes.PointTime, 7)
	logf("submission (implicit TLS, AUTH), 20 sessions, directly and through nginx")
	res.SubmitDirect = runSubmissionLoad("direct", s.addrs["submissions"], s.users, 20, budget)
	res.SubmitProxied = runSubmissionLoad("nginx", ng.addrs["submissions"], s.users, 20, budget)
	return res, nil
}

type benchNginx struct {
	proc  *process
	addrs map[string]string
}

func (n *benchNginx) stop() { n.proc.stop() }

// startBenchNginx runs nginx with deploy/nginx/congvu-mail.conf, its
// listeners moved to free loopback ports.
func startBenchNginx(dir, authHTTP, certFile, keyFile string) (*benchNginx, error) {
	shipped, err := os.ReadFile("deploy/nginx/congvu-mail.conf")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	conf := string(shipped)
	n := &benchNginx{addrs: map[string]string{}}
	for _, port := range []string{"993", "143", "995", "110", "465", "587"} {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", p)
		if name, ok := nginxPorts[port]; ok {
			n.addrs[name] = addr
		}
		conf = regexp.MustCompile(`listen `+port+`( ssl)?;`).ReplaceAllString(conf, "listen "+addr+"$1;")
	}
	conf = strings.NewReplacer("auth_http 10.0.0.11:8081/auth;", "auth_http "+authHTTP+"/auth;",
		"ssl_certificate     /etc/congvu/tls/fullchain.pem;", "ssl_certificate "+certFile+";",
		"ssl_certificate_key /etc/congvu/tls/privkey.pem;", "ssl_certificate_key "+keyFile+";").Replace(conf)
	// As many workers as cores, as Debian's nginx.conf has it.
	conf = fmt.Sprintf("load_module /usr/lib/nginx/modules/ngx_mail_module.so;\nworker_processes auto;\npid %s/nginx.pid;\n"+
		"error_log %s/error.log warn;\nevents { worker_connections 4096; }\n", dir, dir) + conf
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
	for _, a := range n.addrs {
		if err := waitListening(a, 10*time.Second); err != nil {
			p.stop()
			return nil, fmt.Errorf("nginx: %w\n%s", err, out.String())
		}
	}
	return n, nil
}

// runSubmissionLoad sends 10 KB messages over implicit-TLS submission with
// AUTH PLAIN, one session per official, for d.
func runSubmissionLoad(target, addr string, users []benchUser, sessions int, d time.Duration) loadResult {
	res := loadResult{Target: target, Point: loadPoint{Sessions: sessions, SizeBytes: 10 << 10}}
	var mu sync.Mutex
	var lat []time.Duration
	var seq atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Go(func() {
			u := users[i%len(users)]
			to := users[(i+1)%len(users)].Address
			var mine []time.Duration
			failed := 0
			var firstErr error
			for time.Now().Before(deadline) {
				c, err := dialSubmission(addr, u)
				if err != nil {
					failed++
					firstErr = err
					time.Sleep(100 * time.Millisecond)
					continue
				}
				for time.Now().Before(deadline) {
					msg := makeMessage(seq.Add(1), u.Address, to, 10<<10)
					t0 := time.Now()
					if err := sendOne(c, u.Address, to, msg); err != nil {
						failed++
						firstErr = err
						break
					}
					mine = append(mine, time.Since(t0))
				}
				c.Close()
			}
			mu.Lock()
			lat = append(lat, mine...)
			res.Attempted += len(mine) + failed
			res.Failed += failed
			if firstErr != nil && res.FirstErr == "" {
				res.FirstErr = firstErr.Error()
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	res.Accepted = len(lat)
	res.MsgsPerS = float64(res.Accepted) / res.Seconds
	res.P50Ms, res.P99Ms = percentileMs(lat, 0.50), percentileMs(lat, 0.99)
	return res
}

func dialSubmission(addr string, u benchUser) (*smtp.Client, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, clientTLS())
	if err != nil {
		return nil, err
	}
	c := smtp.NewClient(conn)
	c.CommandTimeout, c.SubmissionTimeout = 60*time.Second, 120*time.Second
	if err := c.Hello("bench.example"); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.Auth(sasl.NewPlainClient("", u.Address, u.Password)); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// nginxRows are the report's rows for the proxy part.
func nginxRows(r *results) []tableRow {
	n := r.Nginx
	if n == nil {
		return nil
	}
	rows := []tableRow{{
		measure:   fmt.Sprintf("IMAP mixed workload through nginx's mail proxy, %d clients: commands/s, vs the same congvu directly", n.IMAPDirect.Clients),
		congvu:    fmt.Sprintf("%.0f", n.IMAPProxied.OpsPerS),
		reference: fmt.Sprintf("%.0f", n.IMAPDirect.OpsPerS),
		ratio:     ratioStr(n.IMAPProxied.OpsPerS, n.IMAPDirect.OpsPerS),
	}, {
		measure:   "Submission through nginx's mail proxy (TLS, AUTH, XCLIENT), 20 sessions × 10 KB: msgs/s, vs the same congvu directly",
		congvu:    fmt.Sprintf("%.0f", n.SubmitProxied.MsgsPerS),
		reference: fmt.Sprintf("%.0f", n.SubmitDirect.MsgsPerS),
		ratio:     ratioStr(n.SubmitProxied.MsgsPerS, n.SubmitDirect.MsgsPerS),
	}}
	return rows
}
