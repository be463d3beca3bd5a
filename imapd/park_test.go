package imapd

import (
	"crypto/tls"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A session waiting for its client, in IDLE or between commands, is one
// goroutine with its buffers parked; it still hears changes, pipelined
// commands and DONE, and says BYE at shutdown.
func TestParkedSessions(t *testing.T) {
	e := newEnv(t)
	e.deliver(userAddr, simpleMsg("Một", "x", time.Now()))
	settle := func() int {
		time.Sleep(100 * time.Millisecond)
		runtime.GC()
		return runtime.NumGoroutine()
	}
	before := settle()
	const n = 20
	var idle, waiting []*rawConn
	for i := range n {
		r := e.loggedIn(t)
		r.cmd("a", "SELECT INBOX")
		if i%2 == 0 {
			r.send("b IDLE")
			if l := r.line(); !strings.HasPrefix(l, "+ ") {
				t.Fatalf("IDLE: %q", l)
			}
			idle = append(idle, r)
		} else {
			waiting = append(waiting, r)
		}
	}
	// Each raw client in this process holds none; each session one.
	if got := settle() - before; got > n+2 {
		t.Errorf("%d goroutines for %d waiting sessions, want %d", got, n, n)
	}
	e.deliver(userAddr, simpleMsg("Hai", "x", time.Now()))
	for _, r := range idle {
		if l := r.line(); l != "* 2 EXISTS" {
			t.Fatalf("idle session after delivery: %q", l)
		}
	}
	// DONE and the next command in one packet.
	r := idle[0]
	r.send("DONE\r\nc NOOP")
	next := func(r *rawConn) string { // the next tagged line
		for {
			if l := r.line(); !strings.HasPrefix(l, "* ") {
				return l
			}
		}
	}
	if l := next(r); !strings.HasPrefix(l, "b OK") {
		t.Fatalf("after DONE: %q", l)
	}
	if l := next(r); !strings.HasPrefix(l, "c OK") {
		t.Fatalf("pipelined NOOP: %q", l)
	}
	// A waiting session reads a command arriving in pieces.
	w := waiting[0]
	w.conn.Write([]byte("d NO"))
	time.Sleep(50 * time.Millisecond)
	w.send("OP")
	if l := next(w); !strings.HasPrefix(l, "d OK") {
		t.Fatalf("split NOOP: %q", l)
	}
	go e.srv.Close()
	for _, r := range append(idle[1:], waiting[1:]...) {
		for {
			l := r.line()
			if strings.HasPrefix(l, "* BYE") {
				break
			}
			if !strings.HasPrefix(l, "* ") {
				t.Fatalf("before BYE: %q", l)
			}
		}
	}
}

// Commands sent in the clear behind STARTTLS are never run as if they
// came over TLS (the CVE-2011-0411 class), short or long, whether the
// session was parked or not when they arrived.
func TestStartTLSInjection(t *testing.T) {
	e := newEnv(t)
	for _, injected := range []string{"b LOGOUT", "b LOGOUT " + strings.Repeat("x", 200)} {
		r := e.raw(false)
		r.conn.Write([]byte("a STARTTLS\r\n" + injected + "\r\n"))
		l := r.line()
		switch {
		case strings.HasPrefix(l, "* BYE"):
			// Refused at once: the injected bytes were buffered.
			t.Logf("%d bytes injected: BYE", len(injected))
		case strings.HasPrefix(l, "a OK"):
			// The rest was still unread: it reaches the handshake as
			// garbage and the handshake fails.
			c := tls.Client(r.conn, e.tlsConfig())
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if err := c.Handshake(); err == nil {
				t.Fatalf("TLS after %q succeeded", injected)
			}
		default:
			t.Fatalf("after STARTTLS + %q: %q", injected, l)
		}
	}
}
