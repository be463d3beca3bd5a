package pop3d

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	"congvu/internal/frontend"
)

// Behind nginx (listen.pop3_proxy) the client's TLS ended at the proxy: a
// connection from frontend.Listen offers and accepts logins without a TLS
// layer of its own and without STLS; one that did not come through it
// stays plain text.
func TestServeProxied(t *testing.T) {
	e := newEnv(t)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := frontend.Listen(inner, frontend.ListenerConfig{Handshake: frontend.ProxyProtocol,
		Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	go e.srv.ServeProxied(fl)
	conn, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(conn, "PROXY TCP4 203.0.113.7 127.0.0.1 50000 995\r\n")
	c := e.start(conn)
	capa := capaOf(c)
	if !strings.Contains(strings.Join(capa, "\n"), "SASL PLAIN") || strings.Contains(strings.Join(capa, "\n"), "STLS") {
		t.Errorf("CAPA behind the proxy: %q", capa)
	}
	c.ok("USER " + userAddr)
	c.ok("PASS " + userPass)

	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.srv.ServeProxied(plain)
	pconn, err := net.Dial("tcp", plain.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p := e.start(pconn)
	if r := p.cmd("USER " + userAddr); !strings.HasPrefix(r, "-ERR [AUTH] ") {
		t.Errorf("USER on a connection not from the proxy listener: %q", r)
	}
}
