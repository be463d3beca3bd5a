package outbound

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"congvu/internal/netguard"
	"congvu/queue"
	"congvu/resolve"
	"congvu/resolve/dnstest"
)

// testCA issues certificates for test servers.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "congvu test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

func (ca *testCA) leaf(t *testing.T, names ...string) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key, Leaf: leaf}
}

// spkiSHA256 is the TLSA 3 1 1 data of a certificate.
func spkiSHA256(c tls.Certificate) string {
	sum := sha256.Sum256(c.Leaf.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// destination is an SMTP server playing another province's MX.
type destination struct {
	addr  string
	conns atomic.Int32
	// rcptErr answers RCPT; nil accepts.
	rcptErr func(rcpt string) error
	// user/pass enable AUTH PLAIN (smarthost tests).
	user, pass string

	mu   sync.Mutex
	msgs []received
}

type received struct {
	from  string
	rcpts []string
	data  string
	tls   bool
	authn bool
}

func startDestination(t *testing.T, cert *tls.Certificate, listen string, opts func(*destination)) *destination {
	t.Helper()
	d := &destination{}
	if opts != nil {
		opts(d)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &destSession{d: d, c: c}, nil
	}))
	srv.Domain = "mx.angiang.gov.vn"
	srv.EnableSMTPUTF8 = true
	if cert != nil {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
	}
	srv.ErrorLog = nopLogger{}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	d.addr = l.Addr().String()
	go srv.Serve(countingListener{l, &d.conns})
	t.Cleanup(func() { srv.Close() })
	return d
}

func (d *destination) port() int { return d.addrPort() }

func (d *destination) addrPort() int {
	_, p, _ := net.SplitHostPort(d.addr)
	n := 0
	for _, c := range p {
		n = n*10 + int(c-'0')
	}
	return n
}

func (d *destination) got() []received {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]received(nil), d.msgs...)
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}

type destSession struct {
	d     *destination
	c     *smtp.Conn
	from  string
	rcpts []string
	authn bool
}

func (s *destSession) AuthMechanisms() []string {
	if s.d.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *destSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, u, p string) error {
		if u != s.d.user || p != s.d.pass {
			return errors.New("bad credentials")
		}
		s.authn = true
		return nil
	}), nil
}

func (s *destSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.d.user != "" && !s.authn {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.from = from
	return nil
}

func (s *destSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.d.rcptErr != nil {
		if err := s.d.rcptErr(to); err != nil {
			return err
		}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *destSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.c.TLSConnectionState()
	s.d.mu.Lock()
	s.d.msgs = append(s.d.msgs, received{from: s.from, rcpts: s.rcpts, data: string(b), tls: isTLS, authn: s.authn})
	s.d.mu.Unlock()
	return nil
}

func (s *destSession) Reset()        { s.from, s.rcpts = "", nil }
func (s *destSession) Logout() error { return nil }

// world is a DNS server plus a Client using it.
type world struct {
	t   *testing.T
	dns *dnstest.Server
	res resolve.Resolver
}

func newWorld(t *testing.T, records ...string) *world {
	t.Helper()
	srv, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if err := srv.Add(records...); err != nil {
		t.Fatal(err)
	}
	r, err := resolve.New(resolve.Config{Servers: []string{srv.Addr}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, dns: srv, res: r}
}

func (w *world) client(cfg Config) *Client {
	w.t.Helper()
	cfg.Hostname = "mail.khanhhoa.gov.vn"
	cfg.ConnectTimeout = 2 * time.Second
	cfg.CommandTimeout = 5 * time.Second
	if cfg.Guard == nil {
		// The test destinations listen on loopback, an internal network.
		g, err := netguard.New([]string{"127.0.0.0/8"})
		if err != nil {
			w.t.Fatal(err)
		}
		cfg.Guard = g
	}
	c, err := New(cfg, Deps{Resolver: w.res, Logger: slog.New(slog.NewTextHandler(testWriter{w.t}, nil))})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { c.Close() })
	return c
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

const testMessage = "From: Thanh <thanhnn.skhcn@khanhhoa.gov.vn>\r\nTo: <vanthu@angiang.gov.vn>\r\nSubject: Công văn\r\n\r\nKính gửi Sở KH&CN An Giang\r\n.dòng bắt đầu bằng dấu chấm\r\n"

func delivery(rcpts ...string) *queue.Delivery {
	return &queue.Delivery{ID: "0123456789ABCDEF", From: "thanhnn.skhcn@khanhhoa.gov.vn", Domain: "angiang.gov.vn",
		Rcpts: rcpts, Size: int64(len(testMessage)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(testMessage)), nil }}
}

type tlsConfigFor struct{ cert tls.Certificate }

func (c tlsConfigFor) config() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.cert}}
}

// countingListener counts accepted connections (go-smtp makes a new
// session per EHLO after STARTTLS, so sessions are not connections).
type countingListener struct {
	net.Listener
	n *atomic.Int32
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}
