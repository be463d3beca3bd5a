// Package pebbletest runs Debian's pebble, the ACME test CA of Let's
// Encrypt, on 127.0.0.1 with free ports for tests: it validates http-01
// challenges for real (on the port the test says, resolving names through
// the test's DNS server) and issues certificates from a root it makes at
// each start.
package pebbletest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"congvu/internal/tlsutil"
)

// Options configure pebble.
type Options struct {
	// HTTPPort is where pebble fetches http-01 answers (the server under
	// test's HTTP listener).
	HTTPPort int
	// DNSServer (host:port) resolves the names being validated.
	DNSServer string
	// ValiditySeconds of the certificates pebble issues (0: pebble's
	// default of five years).
	ValiditySeconds int
}

// Pebble is a running pebble.
type Pebble struct {
	// DirectoryURL is the ACME directory (RFC 8555 §7.1.1).
	DirectoryURL string
	// CAFile trusts pebble's own HTTPS listener (not the certificates it
	// issues: see Roots).
	CAFile string
	mgmt   string
	cmd    *exec.Cmd
	done   chan struct{}
	log    string
}

// Start runs pebble with its files in dir.
func Start(dir string, opts Options) (*Pebble, error) {
	bin, err := exec.LookPath("pebble")
	if err != nil {
		return nil, errors.New("pebble is not installed (Debian package pebble; deploy/test.sh installs it)")
	}
	certPEM, keyPEM, err := tlsutil.SelfSigned([]string{"127.0.0.1", "localhost"})
	if err != nil {
		return nil, err
	}
	p := &Pebble{CAFile: filepath.Join(dir, "pebble-cert.pem"), log: filepath.Join(dir, "pebble.log")}
	keyFile := filepath.Join(dir, "pebble-key.pem")
	if err := os.WriteFile(p.CAFile, certPEM, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return nil, err
	}
	var lastErr error
	for range 5 {
		ports, err := freePorts(3)
		if err != nil {
			return nil, err
		}
		conf := map[string]any{"pebble": map[string]any{
			"listenAddress":             fmt.Sprintf("127.0.0.1:%d", ports[0]),
			"managementListenAddress":   fmt.Sprintf("127.0.0.1:%d", ports[1]),
			"certificate":               p.CAFile,
			"privateKey":                keyFile,
			"httpPort":                  opts.HTTPPort,
			"tlsPort":                   ports[2],
			"ocspResponderURL":          "",
			"certificateValidityPeriod": opts.ValiditySeconds,
		}}
		b, _ := json.Marshal(conf)
		confFile := filepath.Join(dir, "pebble.json")
		if err := os.WriteFile(confFile, b, 0o600); err != nil {
			return nil, err
		}
		logf, err := os.Create(p.log)
		if err != nil {
			return nil, err
		}
		p.cmd = exec.Command(bin, "-config", confFile, "-dnsserver", opts.DNSServer, "-strict")
		p.cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
		p.cmd.Stdout, p.cmd.Stderr = logf, logf
		if err := p.cmd.Start(); err != nil {
			logf.Close()
			return nil, err
		}
		p.done = make(chan struct{})
		go func() { p.cmd.Wait(); logf.Close(); close(p.done) }()
		p.DirectoryURL = fmt.Sprintf("https://127.0.0.1:%d/dir", ports[0])
		p.mgmt = fmt.Sprintf("https://127.0.0.1:%d", ports[1])
		if lastErr = p.waitReady(); lastErr == nil {
			return p, nil
		}
		p.Close()
	}
	return nil, fmt.Errorf("pebble did not start: %w\n%s", lastErr, p.Log())
}

func (p *Pebble) client() *http.Client {
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(p.CAFile)
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func (p *Pebble) waitReady() error {
	c := p.client()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-p.done:
			return errors.New("pebble exited")
		default:
		}
		res, err := c.Get(p.DirectoryURL)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no directory at %s: %v", p.DirectoryURL, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Roots returns the root that signs what pebble issues (new at each start).
func (p *Pebble) Roots() (*x509.CertPool, []byte, error) {
	res, err := p.client().Get(p.mgmt + "/roots/0")
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	pem, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, nil, fmt.Errorf("pebble /roots/0: no certificate in %q", pem)
	}
	return pool, pem, nil
}

// Log is pebble's output so far.
func (p *Pebble) Log() string {
	b, _ := os.ReadFile(p.log)
	return strings.TrimSpace(string(b))
}

// Close stops pebble (the process this Start began) and waits for it.
func (p *Pebble) Close() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Kill()
	<-p.done
}

// freePorts returns n ports free on 127.0.0.1 a moment ago.
func freePorts(n int) ([]int, error) {
	var out []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}
