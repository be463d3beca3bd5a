package imapd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Malformed and hostile input is answered with BAD/NO and never takes the
// server down.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	e.deliver(userAddr, simpleMsg("Một", "một", time.Now()))

	// Before login a single unknown command ends the connection
	// (cross-protocol attack mitigation in the library).
	pre := e.raw(true)
	if _, done := pre.cmd("x1", "GET / HTTP/1.0"); !strings.HasPrefix(done, "x1 BAD") {
		t.Fatalf("unknown pre-auth command: %q", done)
	}
	if bye := pre.line(); !strings.HasPrefix(bye, "* BYE") {
		t.Fatalf("after unknown pre-auth command: %q", bye)
	}

	r := e.raw(true)
	if _, done := r.cmd("a0", `LOGIN "`+userAddr+`" "`+userPass+`"`); !strings.HasPrefix(done, "a0 OK") {
		t.Fatalf("login: %q", done)
	}
	for _, tc := range []struct{ cmd, want string }{
		{"FOOBAR", "BAD"},
		{"FETCH 1 FLAGS", "BAD"}, // not selected
		{"SELECT \"Không có\"", "NO [NONEXISTENT]"},
		{"STATUS nosuch (MESSAGES)", "NO [NONEXISTENT]"},
		{"SELECT INBOX", "OK"},
		{"FETCH 99 FLAGS", "BAD"},
		// The library answers some syntax errors NO [SERVERBUG] instead of
		// BAD; what matters here is an answer and a live connection.
		{"FETCH 1:abc FLAGS", ""},
		{"FETCH 0 FLAGS", ""},
		{"FETCH 1 (FLAGS", "BAD"},
		{"FETCH 1 BODY[999]", "OK"},
		{"FETCH 1 (BODY[1.2.3.4] BINARY[7] BINARY.SIZE[1])", "OK"},
		{"UID FETCH 500:600 FLAGS", "OK"},
		{"STORE 1 +FLAGS (\\Bogus)", "OK"},
		{"STORE 1 XFLAGS (\\Seen)", "BAD"},
		{"SEARCH CHARSET KOI8-R TEXT x", "NO [BADCHARSET"},
		{"SEARCH NOSUCHKEY", ""},
		{"SEARCH OR SEEN", "BAD"},
		{"COPY 1 nosuch", "NO [TRYCREATE]"},
		{"MOVE 1 INBOX", "OK"}, // RFC 6851 §3.3: allowed, new UIDs
		{"STATUS INBOX (DELETED-STORAGE APPENDLIMIT RECENT SIZE)", "OK"},
		{"LIST \"\" \"\"", "OK"},
		{"LIST (NOSUCH) \"\" *", "BAD"},
		{"CREATE INBOX", "NO"},
		{"DELETE INBOX", "NO"},
		{"GETQUOTAROOT INBOX", "OK"},
		{"SETQUOTA \"\" (STORAGE 1)", "NO [NOPERM]"},
		{"GETQUOTA nosuch", "NO [NONEXISTENT]"},
		{"APPEND INBOX (\\Seen) {999999999}", "NO [TOOBIG]"},
		{"APPEND nosuch {2+}\r\nhi", "NO [TRYCREATE]"},
		{"NOOP", "OK"},
	} {
		_, done := r.cmd("t", tc.cmd)
		if !strings.HasPrefix(done, "t "+tc.want) || strings.HasPrefix(done, "t OK") && tc.want == "" {
			t.Errorf("%s: got %q, want %s", tc.cmd, done, tc.want)
		}
	}
	// The server is still fine for others.
	c := e.login(nil)
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestPanicRecovered(t *testing.T) {
	e := newEnv(t, withPanickingStore)
	r := e.raw(true)
	if _, done := r.cmd("a", `LOGIN "`+userAddr+`" "`+userPass+`"`); !strings.HasPrefix(done, "a OK") {
		t.Fatalf("login: %q", done)
	}
	if _, done := r.cmd("b", "STATUS Boom (MESSAGES)"); !strings.HasPrefix(done, "b NO [SERVERBUG]") {
		t.Fatalf("panicking STATUS: %q", done)
	}
	if _, done := r.cmd("c", "STATUS INBOX (MESSAGES)"); !strings.HasPrefix(done, "c OK") {
		t.Fatalf("connection after panic: %q", done)
	}
}

func TestIdleTimeout(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Deps) { c.IdleTimeout = 300 * time.Millisecond })
	r := e.raw(true)
	if _, done := r.cmd("a", `LOGIN "`+userAddr+`" "`+userPass+`"`); !strings.HasPrefix(done, "a OK") {
		t.Fatalf("login: %q", done)
	}
	r.cmd("b", "SELECT INBOX")
	r.send("c IDLE")
	if l := r.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("IDLE: %q", l)
	}
	if l := r.line(); !strings.HasPrefix(l, "* BYE") {
		t.Fatalf("after idle timeout: %q", l)
	}
}

// Python's imaplib is what many scripts and migration tools use.
func TestPythonImaplib(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	e := newEnv(t)
	e.deliver(userAddr, simpleMsg("Từ SMTP", "thư đến qua SMTP", time.Now()))
	host, port, _ := strings.Cut(e.implicit, ":")
	_, plainPort, _ := strings.Cut(e.plain, ":")
	script, err := filepath.Abs(filepath.Join("testdata", "imaplib_client.py"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, script, host, port, plainPort, e.certFile, userAddr, userPass)
	cmd.Env = append(os.Environ(), "PYTHONIOENCODING=utf-8")
	out, err := cmd.CombinedOutput()
	t.Logf("imaplib output:\n%s", out)
	if err != nil {
		t.Fatalf("imaplib client failed: %v", err)
	}
	if !strings.Contains(string(out), "ALL OK") {
		t.Fatal("imaplib client did not finish")
	}
}
