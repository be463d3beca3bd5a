package smtpd

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeCounter counts the writes of every connection it accepts.
type writeCounter struct {
	net.Listener
	mu     sync.Mutex
	writes []string // one entry per Write on any accepted connection
}

func (l *writeCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countedConn{Conn: c, l: l}, nil
}

func (l *writeCounter) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.writes
	l.writes = nil
	return w
}

type countedConn struct {
	net.Conn
	l *writeCounter
}

func (c *countedConn) Write(p []byte) (int, error) {
	c.l.mu.Lock()
	c.l.writes = append(c.l.writes, string(p))
	c.l.mu.Unlock()
	return c.Conn.Write(p)
}

// TestPipelinedRepliesGoInOneWrite: a client that pipelines MAIL, RCPT
// and DATA (RFC 2920) gets the three replies in one segment, and the
// multi-line EHLO reply is one write, not one per line; nothing is held
// back once the client waits (the 354 before the body, the 250 after it,
// the 221 to QUIT).
func TestPipelinedRepliesGoInOneWrite(t *testing.T) {
	counter := map[string]*writeCounter{}
	var mu sync.Mutex
	e := newEnv(t, envOptions{wrapListener: func(l net.Listener) net.Listener {
		w := &writeCounter{Listener: l}
		mu.Lock()
		counter[l.Addr().String()] = w
		mu.Unlock()
		return w
	}})
	mu.Lock()
	w := counter[e.mx]
	mu.Unlock()
	c, err := net.Dial("tcp", e.mx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	reply := func() string {
		t.Helper()
		var lines []string
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("reading reply: %v (so far %q)", err, lines)
			}
			lines = append(lines, strings.TrimRight(l, "\r\n"))
			if len(l) < 4 || l[3] != '-' {
				return strings.Join(lines, "\n")
			}
		}
	}
	send := func(s string) {
		t.Helper()
		if _, err := c.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(got, code string) {
		t.Helper()
		if !strings.HasPrefix(got, code) {
			t.Fatalf("reply %q, want %s", got, code)
		}
	}
	expect(reply(), "220")
	send("EHLO client.example\r\n")
	ehlo := reply()
	expect(ehlo, "250")
	if !strings.Contains(ehlo, "PIPELINING") {
		t.Fatalf("EHLO does not offer PIPELINING: %q", ehlo)
	}
	if got := w.take(); len(got) != 2 {
		t.Fatalf("greeting and %d-line EHLO reply took %d writes, want 2: %q", strings.Count(ehlo, "\n")+1, len(got), got)
	}

	send("MAIL FROM:<" + remote + ">\r\nRCPT TO:<" + thanh + ">\r\nDATA\r\n")
	expect(reply(), "250")
	expect(reply(), "250")
	expect(reply(), "354")
	if got := w.take(); len(got) != 1 {
		t.Fatalf("replies to pipelined MAIL, RCPT, DATA took %d writes, want 1: %q", len(got), got)
	}
	send("From: <" + remote + ">\r\nTo: <" + thanh + ">\r\nSubject: pipelined\r\nDate: Sun, 06 Dec 2026 09:30:00 +0700\r\nMessage-ID: <p1@bocongan.gov.vn>\r\n\r\nHello.\r\n.\r\n")
	expect(reply(), "250")
	if n := len(e.inbox(thanh)); n != 1 {
		t.Fatalf("inbox has %d messages, want 1", n)
	}
	// The next transaction and QUIT pipelined after the first: every
	// reply arrives, the last one before the connection closes.
	send("MAIL FROM:<" + remote + ">\r\nRCPT TO:<nobody@" + domain + ">\r\nRSET\r\nQUIT\r\n")
	expect(reply(), "250")
	expect(reply(), "550")
	expect(reply(), "250")
	expect(reply(), "221")
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("connection still open after 221")
	}
}
