// Package nginxrun starts Debian's nginx with the shipped
// deploy/nginx/congvu-mail.conf on free loopback ports, for the interop
// tests and the bench: one place that rewrites the configuration, waits
// until every listener is bound and stops nginx again.
package nginxrun

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// The Debian packages libnginx-mod-mail and libnginx-mod-stream.
const (
	mailModule   = "/usr/lib/nginx/modules/ngx_mail_module.so"
	streamModule = "/usr/lib/nginx/modules/ngx_stream_module.so"
)

// services names the shipped listeners by their standard port.
var services = []struct{ port, name string }{
	{"993", "imaps"}, {"143", "imap"}, {"995", "pop3s"}, {"110", "pop3"}, {"465", "submissions"}, {"587", "submission"},
}

// Options says where nginx runs and what it asks and presents.
type Options struct {
	Conf              string // the shipped deploy/nginx/congvu-mail.conf
	Dir               string // nginx's prefix: its configuration, pid file and error log
	AuthHTTP          string // host:port of a congvu admin listener
	CertFile, KeyFile string
	Workers           string // worker_processes; "" is 1
	LogLevel          string // error_log level; "" is warn
	WorkerConnections int    // 0 is 512
	// Logf, if set, hears about a start tried again.
	Logf func(format string, args ...any)

	ports func(n int) ([]string, error) // freePorts, or a test's stand-in
}

// Proxy is a running nginx.
type Proxy struct {
	// Addrs is each listener's address by name: imaps, imap, pop3s, pop3,
	// submissions, submission.
	Addrs   map[string]string
	dir     string
	sockets string
	cmd     *exec.Cmd
	done    chan struct{}
	out     bytes.Buffer
}

// Start runs nginx. A port found free can become another socket's (a
// client's ephemeral port, another server's listener) before nginx binds
// it; nginx then exits, and a connect check could even reach the other
// socket. Start waits for nginx's pid file, written once every listener is
// bound, and tries again on fresh ports.
func Start(o Options) (*Proxy, error) {
	for _, m := range []struct{ path, pkg string }{{mailModule, "libnginx-mod-mail"}, {streamModule, "libnginx-mod-stream"}} {
		if _, err := os.Stat(m.path); err != nil {
			return nil, fmt.Errorf("%s missing: install %s (deploy/test.sh does)", m.path, m.pkg)
		}
	}
	if _, err := exec.LookPath("nginx"); err != nil {
		return nil, fmt.Errorf("nginx is not installed (deploy/test.sh installs it): %w", err)
	}
	shipped, err := os.ReadFile(o.Conf)
	if err != nil {
		return nil, err
	}
	if o.ports == nil {
		o.ports = freePorts
	}
	for attempt := 1; ; attempt++ {
		listeners, err := o.ports(len(services))
		if err != nil {
			return nil, err
		}
		p, err := start(o, string(shipped), listeners)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "Address already in use") {
			return p, err
		}
		if o.Logf != nil {
			o.Logf("nginx lost a port to another socket, starting it again on fresh ports")
		}
	}
}

// start runs nginx once with the shipped listeners on listeners, in the
// order of services.
func start(o Options, conf string, listeners []string) (*Proxy, error) {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	// A failed attempt's log and pid file must not pass for this one's.
	for _, f := range []string{"error.log", "nginx.pid"} {
		os.Remove(filepath.Join(o.Dir, f))
	}
	// The Unix sockets between nginx's stream and mail modules: in a
	// directory its workers (nobody when run as root) may enter, with a
	// short path (it travels in a PROXY header line). A fresh one each
	// time: nginx leaves its sockets behind when it gives up.
	sockets, err := os.MkdirTemp("", "ngx")
	if err != nil {
		return nil, err
	}
	p := &Proxy{Addrs: map[string]string{}, dir: o.Dir, sockets: sockets, done: make(chan struct{})}
	if err := os.Chmod(sockets, 0o755); err != nil {
		os.RemoveAll(sockets)
		return nil, err
	}
	for i, s := range services {
		re := regexp.MustCompile(`listen ` + s.port + `( ssl)?;`)
		if !re.MatchString(conf) {
			os.RemoveAll(sockets)
			return nil, fmt.Errorf("%s has no listen %s", o.Conf, s.port)
		}
		conf = re.ReplaceAllString(conf, "listen "+listeners[i]+"$1;")
		p.Addrs[s.name] = listeners[i]
	}
	for _, r := range []struct{ old, new string }{
		{"auth_http 10.0.0.11:8081/auth;", "auth_http " + o.AuthHTTP + "/auth;"},
		{"ssl_certificate     /etc/congvu/tls/fullchain.pem;", "ssl_certificate " + o.CertFile + ";"},
		{"ssl_certificate_key /etc/congvu/tls/privkey.pem;", "ssl_certificate_key " + o.KeyFile + ";"},
		{"unix:/run/nginx-congvu-", "unix:" + sockets + "/"},
	} {
		if !strings.Contains(conf, r.old) {
			os.RemoveAll(sockets)
			return nil, fmt.Errorf("%s has no %q", o.Conf, r.old)
		}
		conf = strings.ReplaceAll(conf, r.old, r.new)
	}
	workers, level, conns := o.Workers, o.LogLevel, o.WorkerConnections
	if workers == "" {
		workers = "1"
	}
	if level == "" {
		level = "warn"
	}
	if conns == 0 {
		conns = 512
	}
	conf = fmt.Sprintf("load_module %s;\nload_module %s;\nworker_processes %s;\npid %s/nginx.pid;\nerror_log %s/error.log %s;\nevents { worker_connections %d; }\n",
		mailModule, streamModule, workers, o.Dir, o.Dir, level, conns) + conf
	path := filepath.Join(o.Dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		os.RemoveAll(sockets)
		return nil, err
	}
	p.cmd = exec.Command("nginx", "-p", o.Dir, "-c", path, "-e", filepath.Join(o.Dir, "error.log"), "-g", "daemon off;")
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		os.RemoveAll(sockets)
		return nil, err
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	if err := p.waitBound(listeners); err != nil {
		p.Stop()
		return nil, fmt.Errorf("nginx: %w\n%s%s", err, p.out.String(), tail(p.ErrorLog(), 10))
	}
	return p, nil
}

// waitBound waits for nginx's pid file (every listener bound) or its exit,
// then for every listener to take a connection.
func (p *Proxy) waitBound(listeners []string) error {
	pidFile := filepath.Join(p.dir, "nginx.pid")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(pidFile); err == nil {
			break
		}
		select {
		case <-p.done:
			return errors.New("exited before listening")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s after 10 s", pidFile)
		}
	}
	for _, a := range listeners {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("not listening on %s: %v", a, err)
			}
		}
	}
	return nil
}

// Pid is nginx's master process (its workers are its children).
func (p *Proxy) Pid() int { return p.cmd.Process.Pid }

// Stop shuts nginx down (its fast shutdown, workers included), killing it
// after 10 s, and removes its socket directory.
func (p *Proxy) Stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
	os.RemoveAll(p.sockets)
}

// ErrorLog is what nginx has written to its error log (start-up errors
// go there, not to standard error).
func (p *Proxy) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "error.log"))
	return string(b)
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

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
