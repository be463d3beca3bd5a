package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreateIsStableAndVerifiable(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	c1, err := LoadOrCreate(certFile, keyFile, []string{"mail.example.gov.vn", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := LoadOrCreate(certFile, keyFile, []string{"other"})
	if err != nil {
		t.Fatal(err)
	}
	if string(c1.Certificate[0]) != string(c2.Certificate[0]) {
		t.Fatal("second call generated a new certificate instead of reusing the files")
	}
	if fi, _ := os.Stat(keyFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", fi.Mode().Perm())
	}
	leaf, _ := x509.ParseCertificate(c1.Certificate[0])
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	for _, name := range []string{"mail.example.gov.vn", "127.0.0.1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("verify %s: %v", name, err)
		}
	}
	if ServerConfig(c1).MinVersion != tls.VersionTLS12 {
		t.Error("minimum TLS version is not 1.2")
	}
}
