package imapd

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"congvu/internal/frontend"
)

// Behind nginx (listen.imap_proxy) the client's TLS ended at the proxy:
// a connection from frontend.Listen is served as under TLS without a TLS
// layer of its own, with the client's address from the PROXY header; a
// connection that did not come through it stays plain text. nginx's
// one-use login tickets are not remembered by the credential cache.
func TestServeProxied(t *testing.T) {
	tickets := frontend.NewTickets(nil)
	e := newEnv(t, func(_ *Config, d *Deps) { d.Dir = frontend.TicketDirectory{Directory: d.Dir, Tickets: tickets} })
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := frontend.Listen(inner, frontend.ListenerConfig{Handshake: frontend.ProxyProtocol,
		Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	go e.srv.ServeProxied(fl)

	dial := func() (net.Conn, *bufio.Reader, string) {
		t.Helper()
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprint(c, "PROXY TCP4 203.0.113.7 127.0.0.1 50000 993\r\n")
		br := bufio.NewReader(c)
		greeting, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return c, br, greeting
	}
	cmd := func(c net.Conn, br *bufio.Reader, tag, line string) string {
		t.Helper()
		fmt.Fprintf(c, "%s %s\r\n", tag, line)
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			if strings.HasPrefix(l, tag+" ") {
				return strings.TrimSpace(l)
			}
		}
	}

	c, br, greeting := dial()
	if strings.Contains(greeting, "LOGINDISABLED") || strings.Contains(greeting, "STARTTLS") || !strings.Contains(greeting, "AUTH=PLAIN") {
		t.Errorf("greeting behind the proxy: %q; want logins offered, no STARTTLS", greeting)
	}
	if got := cmd(c, br, "a1", fmt.Sprintf("LOGIN %s %q", userAddr, userPass)); !strings.HasPrefix(got, "a1 OK") {
		t.Fatalf("password login behind the proxy: %q", got)
	}
	if got := cmd(c, br, "a2", "STARTTLS"); !strings.HasPrefix(got, "a2 BAD") && !strings.HasPrefix(got, "a2 NO") {
		t.Errorf("STARTTLS behind the proxy: %q", got)
	}
	before := e.srv.creds.Len()
	for i := range 3 {
		c, br, _ := dial()
		if got := cmd(c, br, "t1", fmt.Sprintf("LOGIN %s %s", userAddr, tickets.Issue(userAddr))); !strings.HasPrefix(got, "t1 OK") {
			t.Fatalf("ticket login %d: %q", i, got)
		}
	}
	after := e.srv.creds.Len()
	if after != before {
		t.Errorf("3 ticket logins left %d entries in the credential cache", after-before)
	}

	// A connection that did not come through frontend.Listen: plain text.
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.srv.ServeProxied(plain)
	pc, err := net.Dial("tcp", plain.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	pc.SetDeadline(time.Now().Add(10 * time.Second))
	pbr := bufio.NewReader(pc)
	if g, _ := pbr.ReadString('\n'); !strings.Contains(g, "LOGINDISABLED") {
		t.Errorf("a connection not from the proxy listener was offered logins: %q", g)
	}
	if got := cmd(pc, pbr, "p1", fmt.Sprintf("LOGIN %s %q", userAddr, userPass)); !strings.HasPrefix(got, "p1 NO") {
		t.Errorf("password over a plain connection on ServeProxied: %q", got)
	}
}
