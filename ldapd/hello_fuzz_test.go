package ldapd

import (
	"strings"
	"testing"
)

// parseHello reads bind names any local process may send to the
// library's port: never a panic, and only the token opens a connection.
func FuzzParseHello(f *testing.F) {
	s := New(Config{}, Deps{})
	f.Add(relayName+",ip=127.0.0.1,tls=false", s.token)
	f.Add(relayName+",ip=::1,tls=true", "x")
	f.Add(relayName+",ip=,tls=true", s.token)
	f.Add("uid=a@b,ou=people", "")
	f.Fuzz(func(t *testing.T, name, password string) {
		ip, _, ok := s.parseHello(name, password)
		if ok && password != s.token {
			t.Fatalf("hello %q accepted with password %q", name, password)
		}
		if ok && ip.IsValid() && !strings.Contains(name, ip.String()) && !strings.Contains(name, ip.StringExpanded()) {
			t.Fatalf("hello %q gave address %s", name, ip)
		}
	})
}
