package managesieve

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"congvu/directory"
	"congvu/directory/sqldir"
	"congvu/internal/tlsutil"
	"congvu/sieve"
)

const (
	user = "thanhnn.skhcn@khanhhoa.gov.vn"
	pass = "Mật-khẩu-9!"
)

type env struct {
	t                  *testing.T
	srv                *Server
	store              *sieve.Store
	plain, implicitTLS string
	roots              *x509.CertPool
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir, err := sqldir.Open(filepath.Join(t.TempDir(), "d.db"), sqldir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	if err := dir.PutAccount(context.Background(), directory.Account{Address: user, DisplayName: "Nguyễn Ngọc Thành"}, pass); err != nil {
		t.Fatal(err)
	}
	store, err := sieve.OpenStore(t.TempDir(), sieve.Limits{MaxScriptBytes: 4096, MaxScripts: 3})
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := tlsutil.SelfSigned([]string{"localhost", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := tls.X509KeyPair(certPEM, keyPEM)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	srv := New(Config{TLS: tlsutil.ServerConfig(cert), MaxRedirects: 4}, Deps{Store: store, Dir: dir})
	e := &env{t: t, srv: srv, store: store, roots: roots}
	for _, l := range []struct {
		addr  *string
		serve func(net.Listener) error
	}{{&e.plain, srv.Serve}, {&e.implicitTLS, srv.ServeTLS}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		*l.addr = ln.Addr().String()
		go l.serve(ln)
	}
	t.Cleanup(func() { srv.Close() })
	return e
}

type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func (e *env) dial(implicitTLS bool) *client {
	e.t.Helper()
	var c net.Conn
	var err error
	if implicitTLS {
		c, err = tls.Dial("tcp", e.implicitTLS, &tls.Config{RootCAs: e.roots, ServerName: "localhost"})
	} else {
		c, err = net.Dial("tcp", e.plain)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	e.t.Cleanup(func() { c.Close() })
	cl := &client{t: e.t, conn: c, r: bufio.NewReader(c)}
	return cl
}

// response reads lines up to and including the OK/NO/BYE line.
func (c *client) response() (lines []string, status string) {
	c.t.Helper()
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v (after %q)", err, lines)
		}
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, "{") { // a literal: read its bytes
			var n int
			fmt.Sscanf(line, "{%d}", &n)
			buf := make([]byte, n)
			if _, err := io.ReadFull(c.r, buf); err != nil {
				c.t.Fatal(err)
			}
			lines = append(lines, string(buf))
			continue
		}
		for _, s := range []string{"OK", "NO", "BYE"} {
			if line == s || strings.HasPrefix(line, s+" ") {
				return lines, line
			}
		}
		lines = append(lines, line)
	}
}

func (c *client) cmd(s string) ([]string, string) {
	c.t.Helper()
	fmt.Fprintf(c.conn, "%s\r\n", s)
	return c.response()
}

func (c *client) startTLS(roots *x509.CertPool) {
	c.t.Helper()
	if _, st := c.cmd("STARTTLS"); !strings.HasPrefix(st, "OK") {
		c.t.Fatalf("STARTTLS: %s", st)
	}
	tc := tls.Client(c.conn, &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	// RFC 5804 2.2: capabilities again, now offering PLAIN.
	caps, st := c.response()
	if !strings.HasPrefix(st, "OK") || !contains(caps, `"SASL" "PLAIN"`) || contains(caps, `"STARTTLS"`) {
		c.t.Fatalf("capabilities after TLS: %v %s", caps, st)
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

func plain(login, password string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + login + "\x00" + password))
}

func TestSessionOverStartTLS(t *testing.T) {
	e := newEnv(t)
	c := e.dial(false)
	caps, st := c.response()
	if st != `OK "congvu ManageSieve sẵn sàng / ready"` || !contains(caps, `"STARTTLS"`) || !contains(caps, `"SASL" ""`) ||
		!contains(caps, `"SIEVE" "fileinto envelope imap4flags vacation copy mailbox relational date comparator-i;ascii-numeric"`) {
		t.Fatalf("greeting: %v %s", caps, st)
	}
	// No password before TLS (RFC 5804 2.1, RFC 8314).
	if _, st := c.cmd(`AUTHENTICATE "PLAIN" "` + plain(user, pass) + `"`); !strings.HasPrefix(st, "NO (ENCRYPT-NEEDED)") {
		t.Errorf("plaintext AUTHENTICATE: %s", st)
	}
	if _, st := c.cmd("LISTSCRIPTS"); !strings.HasPrefix(st, "NO") {
		t.Errorf("LISTSCRIPTS before login: %s", st)
	}
	c.startTLS(e.roots)
	if _, st := c.cmd(`AUTHENTICATE "PLAIN" "` + plain(user, "wrong") + `"`); !strings.HasPrefix(st, "NO") {
		t.Errorf("wrong password: %s", st)
	}
	// The challenge/response form, with the response as a literal.
	fmt.Fprintf(c.conn, "AUTHENTICATE \"PLAIN\"\r\n")
	if line, _ := c.r.ReadString('\n'); line != "\"\"\r\n" {
		t.Fatalf("challenge %q", line)
	}
	resp := plain(user, pass)
	fmt.Fprintf(c.conn, "{%d+}\r\n%s\r\n", len(resp), resp)
	if _, st := c.response(); !strings.HasPrefix(st, "OK") {
		t.Fatalf("login: %s", st)
	}

	script := "require [\"fileinto\"];\r\nif header :contains \"subject\" \"công văn\" {\r\n  fileinto \"Công văn\";\r\n}\r\n"
	if _, st := c.cmd(fmt.Sprintf(`HAVESPACE "Quy tắc" %d`, len(script))); st != "OK" {
		t.Errorf("HAVESPACE: %s", st)
	}
	if _, st := c.cmd(`HAVESPACE "Quy tắc" 999999`); !strings.HasPrefix(st, "NO (QUOTA/MAXSIZE)") {
		t.Errorf("HAVESPACE big: %s", st)
	}
	if _, st := c.cmd(fmt.Sprintf("PUTSCRIPT \"Quy tắc\" {%d+}\r\n%s", len(script), script)); st != "OK" {
		t.Fatalf("PUTSCRIPT: %s", st)
	}
	bad := "require \"fileinto\";\r\nfileinto;\r\n"
	if _, st := c.cmd(fmt.Sprintf("PUTSCRIPT \"hỏng\" {%d+}\r\n%s", len(bad), bad)); !strings.HasPrefix(st, `NO "line 2: fileinto takes one folder name"`) {
		t.Errorf("bad PUTSCRIPT: %s", st)
	}
	if _, st := c.cmd(fmt.Sprintf("CHECKSCRIPT {%d+}\r\n%s", len(bad), bad)); !strings.HasPrefix(st, `NO "line 2`) {
		t.Errorf("CHECKSCRIPT: %s", st)
	}
	if _, st := c.cmd(`SETACTIVE "Quy tắc"`); st != "OK" {
		t.Errorf("SETACTIVE: %s", st)
	}
	lines, st := c.cmd("LISTSCRIPTS")
	if st != "OK" || len(lines) != 1 || lines[0] != `"Quy tắc" ACTIVE` {
		t.Errorf("LISTSCRIPTS: %v %s", lines, st)
	}
	lines, st = c.cmd(`GETSCRIPT "Quy tắc"`)
	if st != "OK" || len(lines) != 2 || lines[0] != script {
		t.Errorf("GETSCRIPT: %q %s", lines, st)
	}
	if _, st := c.cmd(`DELETESCRIPT "Quy tắc"`); !strings.HasPrefix(st, "NO (ACTIVE)") {
		t.Errorf("DELETESCRIPT active: %s", st)
	}
	if _, st := c.cmd(`GETSCRIPT "không có"`); !strings.HasPrefix(st, "NO (NONEXISTENT)") {
		t.Errorf("GETSCRIPT missing: %s", st)
	}
	if _, st := c.cmd(`RENAMESCRIPT "Quy tắc" "Mới"`); st != "OK" {
		t.Errorf("RENAMESCRIPT: %s", st)
	}
	// The store (where delivery reads) has it, active.
	if name, sc, err := e.store.Active(user); name != "Mới" || sc == nil || err != nil {
		t.Errorf("active %q %v %v", name, sc, err)
	}
	if _, st := c.cmd(`SETACTIVE ""`); st != "OK" {
		t.Errorf("deactivate: %s", st)
	}
	if _, st := c.cmd(`DELETESCRIPT "Mới"`); st != "OK" {
		t.Errorf("DELETESCRIPT: %s", st)
	}
	if _, st := c.cmd(`NOOP "t1"`); st != `OK (TAG "t1") "Done"` {
		t.Errorf("NOOP: %s", st)
	}
	if _, st := c.cmd(`FROB`); !strings.HasPrefix(st, "NO") {
		t.Errorf("unknown: %s", st)
	}
	if _, st := c.cmd("LOGOUT"); !strings.HasPrefix(st, "OK") {
		t.Errorf("LOGOUT: %s", st)
	}
}

func TestImplicitTLSAndLimits(t *testing.T) {
	e := newEnv(t)
	c := e.dial(true)
	caps, _ := c.response()
	if !contains(caps, `"SASL" "PLAIN"`) || contains(caps, `"STARTTLS"`) {
		t.Fatalf("caps %v", caps)
	}
	if _, st := c.cmd(`AUTHENTICATE "PLAIN" "` + plain(user, pass) + `"`); !strings.HasPrefix(st, "OK") {
		t.Fatalf("login: %s", st)
	}
	// A literal over the limit is read and refused; the session goes on.
	big := strings.Repeat("#", 5000)
	if _, st := c.cmd(fmt.Sprintf("PUTSCRIPT \"x\" {%d+}\r\n%s", len(big), big)); !strings.HasPrefix(st, "NO (QUOTA/MAXSIZE)") {
		t.Errorf("big literal: %s", st)
	}
	for i := range 3 {
		if _, st := c.cmd(fmt.Sprintf(`PUTSCRIPT "s%d" "keep;"`, i)); st != "OK" {
			t.Fatalf("PUTSCRIPT %d: %s", i, st)
		}
	}
	if _, st := c.cmd(`PUTSCRIPT "s4" "keep;"`); !strings.HasPrefix(st, "NO (QUOTA/MAXSCRIPTS)") {
		t.Errorf("fourth script: %s", st)
	}
	if _, st := c.cmd(`PUTSCRIPT "s1 "keep;"`); !strings.HasPrefix(st, "NO") {
		t.Errorf("broken quoting: %s", st)
	}
	// A command line over the limit ends the session.
	fmt.Fprintf(c.conn, "NOOP %s\r\n", strings.Repeat("a", 10000))
	if _, st := c.response(); !strings.HasPrefix(st, "BYE") {
		t.Errorf("long line: %s", st)
	}
}

func FuzzReadCommand(f *testing.F) {
	for _, s := range []string{
		"AUTHENTICATE \"PLAIN\" \"AHVAcA==\"\r\n", "PUTSCRIPT \"a\" {5+}\r\nkeep;\r\n", "HAVESPACE \"x\" 123\r\n",
		"GETSCRIPT \"a\\\"b\"\r\n", "{99999999999}\r\n", "PUTSCRIPT {3}\r\nabc \"x\"\r\n", "\r\n", "\"unterminated\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReader(bytes.NewReader(b))
		for range 10 {
			c, err := readCommand(r, 1024)
			if err == nil && c.name == "" {
				t.Fatal("command without a name")
			}
			if err != nil && !isRecoverable(err) {
				return
			}
		}
	})
}

func isRecoverable(err error) bool {
	_, ok := err.(errSyntax)
	return ok || err == errTooBig
}
