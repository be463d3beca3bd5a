package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"congvu/internal/certs/pebbletest"
	"congvu/internal/tlsutil"
	"congvu/resolve/dnstest"
)

func writePair(t *testing.T, certFile, keyFile string, names ...string) {
	t.Helper()
	c, k, err := tlsutil.SelfSigned(names)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, c, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, k, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestReloadSwapsCertificateForNewHandshakesOnly: after Reload a new
// connection gets the new certificate while one opened before keeps
// working; a broken file keeps the old certificate.
func TestReloadSwapsCertificateForNewHandshakesOnly(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	writePair(t, certFile, keyFile, "one.example.gov.vn")
	m, err := New(FileSource(certFile, keyFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := tlsutil.ServerConfig(tls.Certificate{})
	cfg.Certificates, cfg.GetCertificate = nil, m.GetCertificate
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { // echo
				defer c.Close()
				buf := make([]byte, 64)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					c.Write(buf[:n])
				}
			}()
		}
	}()
	dial := func() (*tls.Conn, string) {
		c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		return c, c.ConnectionState().PeerCertificates[0].DNSNames[0]
	}
	held, name := dial()
	defer held.Close()
	if name != "one.example.gov.vn" {
		t.Fatalf("first certificate names %s", name)
	}
	writePair(t, certFile, keyFile, "two.example.gov.vn")
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	c2, name := dial()
	c2.Close()
	if name != "two.example.gov.vn" {
		t.Errorf("after Reload a new connection got %s", name)
	}
	held.Write([]byte("ping"))
	buf := make([]byte, 4)
	held.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := held.Read(buf); err != nil || string(buf) != "ping" {
		t.Errorf("connection opened before the reload: %q, %v", buf, err)
	}
	os.WriteFile(certFile, []byte("not a certificate"), 0o644)
	if err := m.Reload(); err == nil {
		t.Error("Reload of a broken file succeeded")
	}
	if m.Current().Leaf.DNSNames[0] != "two.example.gov.vn" {
		t.Error("a failed Reload replaced the certificate")
	}
}

// TestACMEWithPebble obtains a certificate from Debian's pebble, which
// checks the http-01 answer on this test's HTTP listener for real, then
// renews it before it expires (pebble issues 15-second certificates here)
// and presents the renewed one.
func TestACMEWithPebble(t *testing.T) {
	dir := t.TempDir()
	dns, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dns.Close()
	const name = "mail.angiang.gov.vn"
	if err := dns.Add(name + ". A 127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hl.Close()
	peb, err := pebbletest.Start(t.TempDir(), pebbletest.Options{HTTPPort: hl.Addr().(*net.TCPAddr).Port,
		DNSServer: dns.Addr, ValiditySeconds: 15})
	if err != nil {
		t.Fatal(err)
	}
	defer peb.Close()
	roots, _, err := peb.Roots()
	if err != nil {
		t.Fatal(err)
	}

	// Until ACME delivers, the self-signed pair.
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	writePair(t, certFile, keyFile, name)
	m, err := New(FileSource(certFile, keyFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(peb.CAFile)
	pool.AppendCertsFromPEM(pem)
	a, err := NewACME(ACMEConfig{DirectoryURL: peb.DirectoryURL, Email: "postmaster@angiang.gov.vn", Names: []string{name},
		Dir: filepath.Join(dir, "acme"), RenewBefore: 30 * 24 * time.Hour,
		HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}, m)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan string, 16)
	go http.Serve(hl, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case served <- r.Host + r.URL.Path:
		default:
		}
		a.HTTPHandler().ServeHTTP(w, r)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	issued := func(prev string) *x509.Certificate {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			if c := m.Current(); c.Leaf != nil && c.Leaf.SerialNumber.String() != prev {
				if _, err := c.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, Intermediates: intermediates(c)}); err == nil {
					return c.Leaf
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("no certificate from pebble after 60s (current %v)\npebble log:\n%s", m.Current().Leaf.Issuer, peb.Log())
		return nil
	}
	first := issued("")
	select {
	case p := <-served:
		if p[:len(name)] != name {
			t.Errorf("pebble asked for %s", p)
		}
	default:
		t.Error("pebble validated without fetching the http-01 answer from our listener")
	}
	// A third of 15 seconds before expiry, the next one.
	second := issued(first.SerialNumber.String())
	if !second.NotAfter.After(first.NotAfter) {
		t.Errorf("renewed certificate expires %v, not after the first's %v", second.NotAfter, first.NotAfter)
	}
	// A restart presents the stored certificate before contacting the CA.
	if c, err := a.Stored(); err != nil || c.Leaf.SerialNumber.Cmp(second.SerialNumber) != 0 {
		t.Errorf("stored certificate: %v, %v", c, err)
	}
}

func intermediates(c *tls.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, der := range c.Certificate[1:] {
		if ic, err := x509.ParseCertificate(der); err == nil {
			p.AddCert(ic)
		}
	}
	return p
}
