package pop3d

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"congvu/directory"
	"congvu/directory/sqldir"
	"congvu/internal/metrics"
	"congvu/internal/tlsutil"
	"congvu/storage"
)

const (
	userAddr   = "thanh@skhcn.laocai.gov.vn"
	userPass   = "Mật khẩu 9!" // spaces: PASS takes the rest of the line
	lockedAddr = "khoa@skhcn.laocai.gov.vn"
	lockedPass = "Khoa-pass-9"
	otherAddr  = "lan@skhcn.laocai.gov.vn"
	otherPass  = "Lan-pass-99"
)

// env is one in-process server with a real store and directory.
type env struct {
	t         testing.TB
	srv       *Server
	store     *storage.FileStore
	dir       *sqldir.DB
	metrics   *metrics.Metrics
	plainAddr string
	tlsAddr   string
	caFile    string
	roots     *x509.CertPool
	logs      *syncBuffer
	// fuzzing feeds arbitrary input that may echo a password into a
	// logged login name; only real tests check the logs for passwords.
	fuzzing bool
}

type envOption func(*Config, *Deps)

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	store, err := storage.Open(t.TempDir(), storage.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := sqldir.Open(filepath.Join(t.TempDir(), "directory.db"), sqldir.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []struct {
		addr, pass string
		state      directory.State
	}{{userAddr, userPass, directory.StateActive}, {lockedAddr, lockedPass, directory.StateLocked},
		{otherAddr, otherPass, directory.StateActive}} {
		acct := directory.Account{Address: a.addr, DisplayName: "Nguyễn Ngọc Thành", UnitCode: "56.skhcn",
			Role: directory.RoleOfficial, State: a.state}
		if err := dir.PutAccount(ctx, acct, a.pass); err != nil {
			t.Fatal(err)
		}
	}

	certPEM, keyPEM, err := tlsutil.SelfSigned([]string{"localhost", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)

	m := metrics.New()
	cfg := Config{TLS: tlsutil.ServerConfig(cert), Hostname: "mail.test"}
	deps := Deps{Store: store, Dir: dir, Logger: log, Metrics: m}
	for _, o := range opts {
		o(&cfg, &deps)
	}
	srv := New(cfg, deps)
	srv.failDelay = 0
	e := &env{t: t, srv: srv, store: store, dir: dir, metrics: m, caFile: caFile, roots: roots, logs: logs}

	var wg sync.WaitGroup
	for _, l := range []struct {
		addr  *string
		serve func(net.Listener) error
	}{{&e.plainAddr, srv.Serve}, {&e.tlsAddr, srv.ServeTLS}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		*l.addr = ln.Addr().String()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.serve(ln); !errors.Is(err, net.ErrClosed) {
				t.Errorf("Serve returned %v, want net.ErrClosed", err)
			}
		}()
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		wg.Wait()
		store.Close()
		dir.Close()
		if !e.fuzzing && strings.Contains(logs.String(), userPass) || strings.Contains(logs.String(), otherPass) {
			t.Errorf("a password was logged")
		}
	})
	return e
}

// deliver stores a message in addr's INBOX and returns its UID.
func (e *env) deliver(addr, msg string) uint32 {
	e.t.Helper()
	res, err := e.store.Deliver(context.Background(), strings.NewReader(msg), []storage.Recipient{{User: addr}})
	if err != nil || res[0].Err != nil {
		e.t.Fatalf("deliver: %v %v", err, res)
	}
	return res[0].UID
}

// inbox lists the UIDs in addr's INBOX.
func (e *env) inbox(addr string) []uint32 {
	e.t.Helper()
	mb, err := e.store.Mailbox(context.Background(), addr, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	infos, err := mb.Messages(context.Background(), storage.Inbox)
	if err != nil {
		e.t.Fatal(err)
	}
	var uids []uint32
	for _, mi := range infos {
		uids = append(uids, mi.UID)
	}
	return uids
}

// client is a raw POP3 client: it sends lines and reads responses
// byte-exact, so tests see the wire as it is.
type client struct {
	t    testing.TB
	e    *env
	conn net.Conn
	r    *bufio.Reader
}

// dial connects to the plain port and reads the greeting.
func (e *env) dial() *client {
	e.t.Helper()
	c, err := net.Dial("tcp", e.plainAddr)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.start(c)
}

// dialTLS connects to the implicit-TLS port.
func (e *env) dialTLS() *client {
	e.t.Helper()
	c, err := tls.Dial("tcp", e.tlsAddr, &tls.Config{RootCAs: e.roots, ServerName: "localhost"})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.start(c)
}

func (e *env) start(c net.Conn) *client {
	e.t.Helper()
	cl := &client{t: e.t, e: e, conn: c, r: bufio.NewReader(c)}
	e.t.Cleanup(func() { c.Close() })
	if g := cl.line(); !strings.HasPrefix(g, "+OK mail.test ") {
		e.t.Fatalf("greeting %q", g)
	}
	return cl
}

// line reads one response line without its CRLF; every line must end with
// CRLF.
func (c *client) line() string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, l)
	}
	if !strings.HasSuffix(l, "\r\n") {
		c.t.Fatalf("response line without CRLF: %q", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

func (c *client) send(line string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, line+"\r\n"); err != nil {
		c.t.Fatal(err)
	}
}

// cmd sends a command and returns the first response line.
func (c *client) cmd(line string) string {
	c.t.Helper()
	c.send(line)
	return c.line()
}

// ok sends a command that must succeed.
func (c *client) ok(line string) string {
	c.t.Helper()
	resp := c.cmd(line)
	if !strings.HasPrefix(resp, "+OK") {
		c.t.Fatalf("%s: %q", strings.Fields(line)[0], resp)
	}
	return resp
}

// raw reads the body of a multi-line response up to and including the
// terminating ".CRLF", byte for byte.
func (c *client) raw() string {
	c.t.Helper()
	var b strings.Builder
	for {
		l := c.line() + "\r\n"
		b.WriteString(l)
		if l == ".\r\n" {
			return b.String()
		}
	}
}

// lines reads a multi-line response as lines (unstuffed, no terminator).
func (c *client) lines() []string {
	c.t.Helper()
	body := unstuff(c.t, c.raw())
	if body == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(body, "\r\n"), "\r\n")
}

// stls upgrades the connection.
func (c *client) stls() {
	c.t.Helper()
	c.ok("STLS")
	tc := tls.Client(c.conn, &tls.Config{RootCAs: c.e.roots, ServerName: "localhost"})
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
}

// login upgrades if needed and logs in with USER/PASS.
func (c *client) login(addr, pass string) string {
	c.t.Helper()
	if _, ok := c.conn.(*tls.Conn); !ok {
		c.stls()
	}
	c.ok("USER " + addr)
	return c.cmd("PASS " + pass)
}

// closed reports whether the server closed the connection.
func (c *client) closed() bool {
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := c.r.ReadByte()
	return err != nil
}

// syncBuffer collects logs from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
