package nginxrun

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A port taken between choosing it and nginx binding it (a client's
// ephemeral port, here a listener) made nginx exit while the bench went on
// measuring a dead proxy as 0 commands/s. Start notices and starts nginx
// again on fresh ports.
func TestStartsAgainWhenAPortIsTaken(t *testing.T) {
	certFile, keyFile := writeTestCert(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()

	withTaken := func(int) ([]string, error) {
		addrs, err := freePorts(6)
		if err == nil {
			addrs[1] = taken.Addr().String() // the STARTTLS IMAP port, unused by the bench
		}
		return addrs, err
	}
	dir := t.TempDir()
	o := Options{Conf: "../../deploy/nginx/congvu-mail.conf", Dir: dir, AuthHTTP: "127.0.0.1:9", CertFile: certFile, KeyFile: keyFile}
	shipped, err := os.ReadFile(o.Conf)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := start(o, string(shipped), mustPorts(t, withTaken)); err == nil ||
		!strings.Contains(err.Error(), "Address already in use") {
		if err == nil {
			p.Stop()
		}
		t.Fatalf("nginx started on a taken port: %v", err)
	}

	calls := 0
	ports := func(n int) ([]string, error) {
		calls++
		if calls == 1 {
			return withTaken(n)
		}
		return freePorts(n)
	}
	o.ports = ports
	ng, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	defer ng.Stop()
	if calls != 2 {
		t.Errorf("%d attempts, want 2", calls)
	}
	for name, addr := range ng.Addrs {
		if addr == taken.Addr().String() {
			t.Errorf("%s on the taken port", name)
		}
	}
	// The proxy answers (the greeting comes from nginx before any login).
	c, err := net.DialTimeout("tcp", ng.Addrs["imaps"], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	conf, err := os.ReadFile(filepath.Join(dir, "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	greetingPort := ""
	for line := range strings.Lines(string(conf)) {
		if strings.Contains(line, "listen 127.0.0.1:") && !strings.Contains(line, "ssl") && greetingPort == "" {
			greetingPort = strings.TrimSuffix(strings.Fields(line)[1], ";")
		}
	}
	g, err := net.DialTimeout("tcp", greetingPort, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	g.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(g).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "* OK") {
		t.Fatalf("greeting %q, %v", line, err)
	}
}

func mustPorts(t *testing.T, f func(int) ([]string, error)) []string {
	t.Helper()
	p, err := f(6)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// writeTestCert writes a self-signed certificate for localhost.
func writeTestCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
