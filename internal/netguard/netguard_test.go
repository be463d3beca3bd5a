package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestInternal(t *testing.T) {
	for _, s := range []string{"127.0.0.1", "127.3.4.5", "10.0.0.5", "172.16.9.1", "192.168.1.1",
		"169.254.169.254", "100.64.0.1", "0.0.0.0", "0.1.2.3", "255.255.255.255", "224.0.0.1",
		"::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "::ffff:10.0.0.5", "::ffff:127.0.0.1",
		"64:ff9b::a00:5", "ff02::1", "198.18.0.1", "192.0.2.10"} {
		if !Internal(netip.MustParseAddr(s)) {
			t.Errorf("%s not internal", s)
		}
	}
	for _, s := range []string{"203.113.131.1", "8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "64:ff9b::808:808", "14.225.0.1"} {
		if Internal(netip.MustParseAddr(s)) {
			t.Errorf("%s internal", s)
		}
	}
}

func TestGuardAllowList(t *testing.T) {
	g, err := New([]string{"10.1.2.0/24", "127.0.0.2"})
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{"10.1.2.9": true, "10.1.3.9": false, "127.0.0.2": true, "127.0.0.1": false, "8.8.8.8": true} {
		if got := g.Allowed(netip.MustParseAddr(s)); got != want {
			t.Errorf("Allowed(%s) = %v", s, got)
		}
	}
	if _, err := New([]string{"not-a-net"}); err == nil {
		t.Error("bad prefix accepted")
	}
	var none *Guard
	if none.Allowed(netip.MustParseAddr("127.0.0.1")) || !none.Allowed(netip.MustParseAddr("8.8.8.8")) {
		t.Error("nil guard")
	}
}

// TestDialerRefusesAtConnect: the guard judges the address dialled, so a
// listener on loopback is unreachable unless allowed.
func TestDialerRefusesAtConnect(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	strict, _ := New(nil)
	if c, err := strict.Dialer(net.Dialer{}).DialContext(ctx, "tcp", l.Addr().String()); err == nil {
		c.Close()
		t.Fatal("dial to loopback allowed")
	} else if !errors.Is(err, ErrInternal) {
		t.Errorf("err = %v, want ErrInternal", err)
	}
	loose, _ := New([]string{"127.0.0.0/8"})
	c, err := loose.Dialer(net.Dialer{}).DialContext(ctx, "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}
