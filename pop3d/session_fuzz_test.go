package pop3d

import (
	"bytes"
	"encoding/base64"
	"io"
	"net"
	"slices"
	"testing"
	"time"
)

// FuzzSession plays arbitrary client input against a whole session over
// net.Pipe, with the real store and directory. The session is treated as if
// it ran under TLS so that logins, and everything after them, are reachable.
// It checks that the session never panics or hangs, that every response
// line ends with CRLF, that the maildrop lock is always released, and that
// without a QUIT nothing is deleted (RFC 1939 section 6).
func FuzzSession(f *testing.F) {
	login := "USER " + userAddr + "\r\nPASS " + userPass + "\r\n"
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + userAddr + "\x00" + userPass))
	for _, s := range []string{
		"CAPA\r\nQUIT\r\n",
		login + "STAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 2 1\r\nDELE 1\r\nRSET\r\nDELE 3\r\nQUIT\r\n",
		login + "DELE 1\r\nDELE 2\r\n",
		login + "LIST 9999999999\r\nTOP 1 99999999999\r\nRETR 0\r\nNOOP\r\nQUIT\r\n",
		"AUTH PLAIN " + plain + "\r\nRETR 2\r\nQUIT\r\n",
		"AUTH PLAIN\r\n" + plain + "\r\nDELE 1\r\nQUIT\r\n",
		"AUTH PLAIN\r\n*\r\nUSER\r\nPASS\r\nQUIT\r\n",
		"USER a\r\nPASS b\r\nUSER a\r\nPASS c\r\nUSER a\r\nPASS d\r\n",
		"STLS\r\n\x00\xff\r\nRETR\r\n\r\n\n\r",
	} {
		f.Add([]byte(s))
	}
	e := newEnv(f, func(c *Config, _ *Deps) { c.IdleTimeout = 100 * time.Millisecond })
	e.fuzzing = true
	f.Fuzz(func(t *testing.T, input []byte) {
		e.t = t // helpers must not call the F inside the fuzz function
		for len(e.inbox(userAddr)) < 3 {
			e.deliver(userAddr, msg2)
		}
		before := e.inbox(userAddr)
		client, server := net.Pipe()
		defer client.Close()
		done := make(chan struct{})
		go func() {
			defer close(done)
			sess := newSession(e.srv, server)
			sess.tls = true // pretend: net.Pipe has no TLS
			defer sess.close()
			sess.run()
		}()
		go func() {
			client.Write(input)
		}()
		var out bytes.Buffer
		read := make(chan struct{})
		go func() {
			io.Copy(&out, client)
			close(read)
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("session hangs")
		}
		client.Close()
		<-read
		if !bytes.HasPrefix(out.Bytes(), []byte("+OK mail.test ")) {
			t.Fatalf("no greeting: %.80q", out.Bytes())
		}
		for _, l := range bytes.SplitAfter(out.Bytes(), []byte("\n")) {
			if len(l) > 0 && !bytes.HasSuffix(l, []byte("\r\n")) {
				t.Fatalf("response line without CRLF: %q", l)
			}
		}
		e.srv.mu.Lock()
		locks := len(e.srv.locked)
		e.srv.mu.Unlock()
		if locks != 0 {
			t.Fatalf("%d maildrop locks held after the session", locks)
		}
		if !bytes.Contains(bytes.ToUpper(input), []byte("QUIT")) {
			if after := e.inbox(userAddr); !slices.Equal(after, before) {
				t.Fatalf("messages deleted without QUIT: %v -> %v", before, after)
			}
		}
	})
}
