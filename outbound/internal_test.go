package outbound

import (
	"context"
	"errors"
	"strings"
	"testing"

	"congvu/internal/netguard"
)

// TestInternalDestinationsRefused: an MX, an A record or an IP-literal
// domain pointing at loopback, RFC 1918, link-local (cloud metadata) or ULA
// addresses is refused permanently without a connection, unless the
// address is in the operator's allow-list (issue 15 §10).
func TestInternalDestinationsRefused(t *testing.T) {
	dest := startDestination(t, nil, "127.0.0.1:0", nil)
	w := newWorld(t,
		"loop.example. MX 10 mx.loop.example.",
		"mx.loop.example. A 127.0.0.1",
		"meta.example. A 169.254.169.254",
		"lan.example. MX 10 mx.lan.example.",
		"mx.lan.example. A 10.0.0.5",
		"ula.example. MX 10 mx.ula.example.",
		"mx.ula.example. AAAA fd00::25",
	)
	strict, _ := netguard.New(nil)
	c := w.client(Config{Port: dest.port(), Guard: strict})
	for _, domain := range []string{"loop.example", "meta.example", "lan.example", "ula.example", "127.0.0.1", "10.0.0.5", "169.254.169.254"} {
		d := delivery("x@" + domain)
		d.Domain = domain
		res := c.Deliver(context.Background(), d)
		if res[0].Err == nil || res[0].Err.Temporary || !errors.Is(res[0].Err, netguard.ErrInternal) {
			t.Errorf("%s: %+v, want a permanent internal-network refusal", domain, res[0])
		}
		if res[0].Err != nil && !strings.Contains(res[0].Err.Error(), "5.4.4") {
			t.Errorf("%s: %v", domain, res[0].Err)
		}
	}
	if n := dest.conns.Load(); n != 0 {
		t.Errorf("%d connections reached the loopback server", n)
	}

	// The operator's internal relay is allowed.
	allow, _ := netguard.New([]string{"127.0.0.1"})
	c = w.client(Config{Port: dest.port(), Guard: allow})
	d := delivery("x@loop.example")
	d.Domain = "loop.example"
	if res := c.Deliver(context.Background(), d); res[0].Err != nil {
		t.Fatalf("allowed relay: %v", res[0].Err)
	}
}
