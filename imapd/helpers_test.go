package imapd

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"congvu/directory"
	"congvu/directory/sqldir"
	"congvu/internal/mailerr"
	"congvu/internal/metrics"
	"congvu/internal/tlsutil"
	"congvu/storage"
)

const (
	userAddr   = "an.nguyen@sokhcn.gov.vn"
	userPass   = "Mật-khẩu-đủ-dài-1"
	lockedAddr = "khoa@sokhcn.gov.vn"
	smallAddr  = "nho@sokhcn.gov.vn"
	smallQuota = 8 << 10
)

// testEnv is one in-process server with its own store and directory.
type testEnv struct {
	t        *testing.T
	srv      *Server
	store    *storage.FileStore
	dir      *sqldir.DB
	metrics  *metrics.Metrics
	plain    string // Serve (STARTTLS) address
	implicit string // ServeTLS address
	roots    *x509.CertPool
	certFile string
}

type envOption func(*Config, *Deps)

// unavailableDir is a directory whose backend is down.
type unavailableDir struct{ directory.Directory }

func (unavailableDir) Authenticate(context.Context, string, string) (*directory.Account, error) {
	return nil, mailerr.ErrDirectoryUnavailable
}

func withUnavailableDirectory(_ *Config, d *Deps) { d.Dir = unavailableDir{d.Dir} }

// panicStore makes STATUS of the folder "Boom" panic, standing in for a
// bug deep in a backend.
type panicStore struct{ storage.Store }

func (p panicStore) Mailbox(ctx context.Context, user string, quota int64) (storage.Mailbox, error) {
	m, err := p.Store.Mailbox(ctx, user, quota)
	return panicMailbox{m}, err
}

type panicMailbox struct{ storage.Mailbox }

func (p panicMailbox) Status(ctx context.Context, folder string) (storage.FolderStatus, error) {
	if folder == "Boom" {
		var m map[string]int
		m["boom"]++ // nil map write: a real runtime panic
	}
	return p.Mailbox.Status(ctx, folder)
}

func withPanickingStore(_ *Config, d *Deps) { d.Store = panicStore{d.Store} }

func newEnv(t *testing.T, opts ...envOption) *testEnv {
	t.Helper()
	tmp := t.TempDir()
	logw := &testWriter{t: t}
	logger := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dir, err := sqldir.Open(filepath.Join(tmp, "directory.db"), sqldir.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	store, err := storage.Open(filepath.Join(tmp, "mail"), storage.Options{DefaultQuotaBytes: 50 << 20, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, a := range []directory.Account{
		{Address: userAddr, DisplayName: "Nguyễn Văn An"},
		{Address: lockedAddr, DisplayName: "Trần Khoá", State: directory.StateLocked},
		{Address: smallAddr, DisplayName: "Lê Nhỏ", QuotaBytes: smallQuota},
	} {
		if err := dir.PutAccount(ctx, a, userPass); err != nil {
			t.Fatal(err)
		}
	}
	certPEM, cert, roots := selfSigned(t)
	certFile := filepath.Join(tmp, "cert.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	deps := Deps{Store: store, Dir: dir, Logger: logger, Metrics: m}
	cfg := Config{
		TLS:            &tls.Config{Certificates: []tls.Certificate{cert}},
		MaxLiteralSize: 1 << 20,
		Hostname:       "mail.sokhcn.gov.vn",
	}
	for _, o := range opts {
		o(&cfg, &deps)
	}
	srv := New(cfg, deps)
	srv.authFailDelay = 0
	e := &testEnv{t: t, srv: srv, store: store, dir: dir, metrics: m, roots: roots, certFile: certFile}
	e.plain = e.listen(srv.Serve)
	e.implicit = e.listen(srv.ServeTLS)
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		store.Close()
		dir.Close()
		logw.stop()
	})
	return e
}

func (e *testEnv) listen(serve func(net.Listener) error) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	go serve(l)
	return l.Addr().String()
}

// testWriter sends server logs to the test log, shown on failure, until
// the test's cleanup stops it.
type testWriter struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(b), "\n"))
	}
	return len(b), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// selfSigned makes a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) ([]byte, tls.Certificate, *x509.CertPool) {
	t.Helper()
	certPEM, keyPEM, err := tlsutil.SelfSigned([]string{"localhost", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	return certPEM, cert, roots
}

func (e *testEnv) tlsConfig() *tls.Config {
	return &tls.Config{RootCAs: e.roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// dial connects with imapclient over STARTTLS (or implicit TLS).
func (e *testEnv) dial(implicit bool, handler *imapclient.UnilateralDataHandler) *imapclient.Client {
	e.t.Helper()
	opts := &imapclient.Options{
		TLSConfig:             e.tlsConfig(),
		UnilateralDataHandler: handler,
		WordDecoder:           &mime.WordDecoder{},
	}
	var (
		c   *imapclient.Client
		err error
	)
	if implicit {
		c, err = imapclient.DialTLS(e.implicit, opts)
	} else {
		c, err = imapclient.DialStartTLS(e.plain, opts)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// login dials and logs in as userAddr.
func (e *testEnv) login(handler *imapclient.UnilateralDataHandler) *imapclient.Client {
	e.t.Helper()
	c := e.dial(false, handler)
	if err := c.Login(userAddr, userPass).Wait(); err != nil {
		e.t.Fatalf("login: %v", err)
	}
	return c
}

// deliver puts a message into a user's INBOX through the store, as SMTP does.
func (e *testEnv) deliver(user, msg string) storage.DeliveryResult {
	e.t.Helper()
	res, err := e.store.Deliver(context.Background(), strings.NewReader(msg), []storage.Recipient{{User: user}})
	if err != nil || len(res) != 1 || res[0].Err != nil {
		e.t.Fatalf("deliver: %v %+v", err, res)
	}
	return res[0]
}

func appendMsg(t *testing.T, c *imapclient.Client, folder, msg string, opts *imap.AppendOptions) *imap.AppendData {
	t.Helper()
	cmd := c.Append(folder, int64(len(msg)), opts)
	if _, err := cmd.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := cmd.Wait()
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return data
}

func simpleMsg(subject, body string, date time.Time) string {
	return "From: =?utf-8?q?Tr=E1=BA=A7n_B=C3=ACnh?= <binh@ubnd.gov.vn>\r\n" +
		"To: " + userAddr + "\r\n" +
		"Subject: " + mime.QEncoding.Encode("utf-8", subject) + "\r\n" +
		"Date: " + date.Format(time.RFC1123Z) + "\r\n" +
		"Message-ID: <" + fmt.Sprint(date.UnixNano()) + "@ubnd.gov.vn>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n" +
		"\r\n" + body + "\r\n"
}

// rawConn is a line-level IMAP client for malformed input.
type rawConn struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func (e *testEnv) raw(implicit bool) *rawConn {
	e.t.Helper()
	var (
		conn net.Conn
		err  error
	)
	if implicit {
		conn, err = tls.Dial("tcp", e.implicit, e.tlsConfig())
	} else {
		conn, err = net.Dial("tcp", e.plain)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	r := &rawConn{t: e.t, conn: conn, br: bufio.NewReader(conn)}
	r.line() // greeting
	return r
}

func (r *rawConn) send(s string) {
	r.t.Helper()
	r.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.conn.Write([]byte(s + "\r\n")); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) line() string {
	r.t.Helper()
	r.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	l, err := r.br.ReadString('\n')
	if err != nil {
		r.t.Fatalf("read: %v (got %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

// cmd sends a tagged command and returns the untagged lines and the tagged
// completion line.
func (r *rawConn) cmd(tag, command string) (untagged []string, done string) {
	r.t.Helper()
	r.send(tag + " " + command)
	for {
		l := r.line()
		if strings.HasPrefix(l, tag+" ") {
			return untagged, l
		}
		untagged = append(untagged, l)
	}
}
