package interop

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"congvu/internal/certs/pebbletest"
	"congvu/internal/config"
	"congvu/internal/tlsutil"
	"congvu/resolve/dnstest"
)

// editConfigFile changes a configuration file written by quickstart.
func editConfigFile(t *testing.T, path string, edit func(*config.Config)) {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	edit(&cfg)
	cfg.Server.DataDir = "."
	os.Remove(path)
	if err := config.Write(path, cfg); err != nil {
		t.Fatal(err)
	}
}

// presented returns the fingerprint and leaf of the certificate a new TLS
// handshake with listener name gets (STARTTLS for smtp).
func (s *system) presented(t *testing.T, name string) (string, *x509.Certificate) {
	t.Helper()
	addr := s.addrs[name]
	cfg := &tls.Config{InsecureSkipVerify: true, ServerName: "mail.khanhhoa.gov.vn"}
	var conn *tls.Conn
	if name == "smtp" {
		raw, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		raw.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(raw)
		readReply := func() {
			for {
				line, err := r.ReadString('\n')
				if err != nil || len(line) < 4 || line[3] == ' ' {
					return
				}
			}
		}
		readReply()
		fmt.Fprintf(raw, "EHLO test.gov.vn\r\n")
		readReply()
		fmt.Fprintf(raw, "STARTTLS\r\n")
		readReply()
		conn = tls.Client(raw, cfg)
	} else {
		var err error
		if conn, err = tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	defer conn.Close()
	if err := conn.Handshake(); err != nil {
		t.Fatalf("%s handshake: %v", name, err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	sum := sha256.Sum256(leaf.Raw)
	return fmt.Sprintf("%x", sum[:8]), leaf
}

// heldSessions are an IMAP session (logged in, INBOX selected) and an
// HTTPS keep-alive connection opened before a certificate change.
type heldSessions struct {
	imap  *imapclient.Client
	https *http.Client
	url   string
	conn  net.Conn
}

func (s *system) holdSessions(t *testing.T, trust *tls.Config) *heldSessions {
	t.Helper()
	a := s.user(0)
	c, err := imapclient.DialTLS(s.addrs["imaps"], &imapclient.Options{TLSConfig: trust})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(a.Address, a.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	h := &heldSessions{imap: c, url: "https://" + s.addrs["https"] + "/login"}
	tr := &http.Transport{TLSClientConfig: trust, MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute}
	h.https = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	if reused, conn := h.get(t); reused {
		t.Fatal("first HTTPS request reused a connection")
	} else {
		h.conn = conn
	}
	t.Cleanup(func() { c.Close(); tr.CloseIdleConnections() })
	return h
}

// get fetches the sign-in page and reports whether the connection was reused.
func (h *heldSessions) get(t *testing.T) (bool, net.Conn) {
	t.Helper()
	var info httptrace.GotConnInfo
	req, _ := http.NewRequest("GET", h.url, nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { info = i }}))
	res, err := h.https.Do(req)
	if err != nil {
		t.Fatalf("HTTPS on the held connection: %v", err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("HTTPS /login: %d", res.StatusCode)
	}
	return info.Reused, info.Conn
}

// stillWork checks the sessions opened before the change.
func (h *heldSessions) stillWork(t *testing.T) {
	t.Helper()
	if err := h.imap.Noop().Wait(); err != nil {
		t.Errorf("IMAP session opened before the certificate change: NOOP: %v", err)
	}
	if _, err := h.imap.Select("INBOX", nil).Wait(); err != nil {
		t.Errorf("IMAP session opened before the certificate change: SELECT: %v", err)
	}
	if reused, conn := h.get(t); !reused || conn != h.conn {
		t.Errorf("HTTPS keep-alive connection not reused after the certificate change (reused %v)", reused)
	}
}

// TestReloadChangesCertificateOnEveryListener: the operator renews the
// certificate files with another tool and runs `congvu reload`; every TLS
// listener (STARTTLS included) presents the new one to new connections,
// and an IMAP session and an HTTPS connection opened before go on.
func TestReloadChangesCertificateOnEveryListener(t *testing.T) {
	s := startSystem(t, "")
	h := s.holdSessions(t, s.tlsConfig())
	listeners := []string{"smtp", "submissions", "imaps", "pop3s", "https", "ldaps"}
	before := map[string]string{}
	for _, l := range listeners {
		before[l], _ = s.presented(t, l)
	}
	certPEM, keyPEM, err := tlsutil.SelfSigned([]string{"mail.khanhhoa.gov.vn", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	demo := filepath.Join(s.dir, "demo")
	// As certbot's deploy hook would: replace, then reload.
	os.WriteFile(filepath.Join(demo, "tls-key.pem.new"), keyPEM, 0o600)
	os.WriteFile(filepath.Join(demo, "tls-cert.pem.new"), certPEM, 0o644)
	os.Rename(filepath.Join(demo, "tls-key.pem.new"), filepath.Join(demo, "tls-key.pem"))
	os.Rename(filepath.Join(demo, "tls-cert.pem.new"), filepath.Join(demo, "tls-cert.pem"))
	if out, err := s.congvu("reload"); err != nil {
		t.Fatalf("congvu reload: %v\n%s", err, out)
	}
	want := fmt.Sprintf("%x", sha256Of(certPEM))
	for _, l := range listeners {
		deadline := time.Now().Add(10 * time.Second)
		for {
			got, _ := s.presented(t, l)
			if got == want[:16] {
				break
			}
			if got != before[l] || time.Now().After(deadline) {
				t.Errorf("%s presents %s after reload, want the new certificate %s (before: %s)", l, got, want[:16], before[l])
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	h.stillWork(t)
}

func sha256Of(certPEM []byte) []byte {
	block, _ := pem.Decode(certPEM)
	sum := sha256.Sum256(block.Bytes)
	return sum[:8]
}

// TestACMEWithPebbleRotatesWithoutDroppingSessions: congvu gets its
// certificate from Debian's pebble (a real ACME CA; http-01 checked on
// congvu's HTTP listener through a test DNS), presents it on its TLS
// listeners, and when pebble's 15-second certificate is renewed the next
// handshakes get the new one while an IMAP session and an HTTPS
// connection opened before go on.
func TestACMEWithPebbleRotatesWithoutDroppingSessions(t *testing.T) {
	dns, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dns.Close()
	const name = "mail.khanhhoa.gov.vn"
	dns.Add(name + ". A 127.0.0.1")
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := hl.Addr().String()
	hl.Close()
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

	dir := t.TempDir()
	startSystem(t, dir).stop()
	cfgPath := filepath.Join(dir, "demo", "congvu.toml")
	editConfigFile(t, cfgPath, func(c *config.Config) {
		c.ACME.Enabled = true
		c.ACME.DirectoryURL = peb.DirectoryURL
		c.ACME.CAFile = peb.CAFile
		c.ACME.Email = "postmaster@khanhhoa.gov.vn"
	})
	s := startCommandAddrs(t, dir, filepath.Join(dir, "demo", "demo-accounts.csv"), map[string]string{"http": httpAddr},
		"serve", "--config", cfgPath)

	trust := &tls.Config{RootCAs: roots, ServerName: name}
	issued := func(prev string) *x509.Certificate {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.addrs["imaps"], trust)
			if err == nil {
				leaf := c.ConnectionState().PeerCertificates[0]
				c.Close()
				if leaf.SerialNumber.String() != prev {
					return leaf
				}
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Fatalf("no (new) certificate from pebble on IMAPS after 60s\npebble:\n%s\ncongvu:\n%s", peb.Log(), s.stderr)
		return nil
	}
	first := issued("")
	h := s.holdSessions(t, trust)
	second := issued(first.SerialNumber.String())
	if !second.NotAfter.After(first.NotAfter) {
		t.Errorf("renewed certificate expires %v, the first %v", second.NotAfter, first.NotAfter)
	}
	h.stillWork(t)
	// The other listeners present the renewed certificate too.
	for _, l := range []string{"submissions", "pop3s", "https", "smtp"} {
		_, leaf := s.presented(t, l)
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, Intermediates: x509.NewCertPool()}); err != nil &&
			!strings.Contains(err.Error(), "unknown authority") {
			t.Errorf("%s: %v", l, err)
		}
		if leaf.Issuer.String() != second.Issuer.String() {
			t.Errorf("%s presents a certificate from %s, want pebble's (%s)", l, leaf.Issuer, second.Issuer)
		}
	}
	if m := metric(t, s, `congvu_tls_certificate_reloads_total{cause="acme",result="ok"}`); m < 2 {
		t.Errorf("congvu_tls_certificate_reloads_total = %v, want at least the two ACME certificates", m)
	}
}
