package ldapd

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"congvu/internal/connlimit"
	"congvu/internal/mailerr"
	"congvu/policy"
)

// dialFrom opens an LDAP connection to addr from the loopback address src
// (Linux routes all of 127/8 to lo: a second client address on one host).
func dialFrom(src, addr string) (*ldap.Conn, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	return ldap.DialURL("ldap://"+addr, ldap.DialWithDialer(d))
}

func searchOne(c *ldap.Conn) error {
	c.SetTimeout(10 * time.Second)
	_, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 1, 0, false,
		"(mail=annv*)", []string{"mail"}, nil))
	return err
}

// The listener the server passes in is the one clients meet, so its
// connection caps hold: a third connection from one address is told
// "busy" (RFC 4511 4.4.1 notice) and closed, while another address is
// served; a slot freed is usable again.
func TestPerAddressCapHolds(t *testing.T) {
	wrap := func(l net.Listener) net.Listener {
		return connlimit.Wrap(l, "ldap", connlimit.Limits{PerIP: 2, Refusal: NoticeOfDisconnection("too many connections")}, nil)
	}
	e := newEnvWith(t, true, 500, wrap, nil)
	var held []*ldap.Conn
	for range 2 {
		c, err := dialFrom("127.0.0.1", e.plain)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := searchOne(c); err != nil {
			t.Fatalf("connection within the cap: %v", err)
		}
		held = append(held, c)
	}
	// The third from 127.0.0.1: the notice of disconnection, then EOF.
	raw, err := net.DialTimeout("tcp", e.plain, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	p, err := ber.ReadPacket(raw)
	raw.Close()
	if err != nil {
		t.Fatalf("over the cap: no notice (%v)", err)
	}
	if code, ok := resultCode(p); !ok || code != 51 || len(p.Children[1].Children) < 4 ||
		p.Children[1].Children[3].Data.String() != "1.3.6.1.4.1.1466.20036" || p.Children[0].Value.(int64) != 0 {
		t.Fatalf("over the cap: not a notice of disconnection (busy): %v", p)
	}
	if c, err := dialFrom("127.0.0.1", e.plain); err == nil {
		if err := searchOne(c); err == nil {
			t.Error("a third connection from one address was served")
		}
		c.Close()
	}
	// Another address is served meanwhile.
	other, err := dialFrom("127.0.0.2", e.plain)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := searchOne(other); err != nil {
		t.Fatalf("another address refused: %v", err)
	}
	// A slot freed is free again (the relay ends with the client).
	held[0].Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := dialFrom("127.0.0.1", e.plain)
		if err == nil {
			err = searchOne(c)
			c.Close()
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not freed after a client left: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A connection that does not come through the server's listener (a local
// process reaching the library's loopback port) is served nothing, and a
// hello without the server's token does not open it.
func TestBackendRefusesOthers(t *testing.T) {
	e := newEnv(t, true, 500)
	backend, _, err := e.srv.startBackend()
	if err != nil {
		t.Fatal(err)
	}
	c, err := ldap.DialURL("ldap://" + backend)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := searchOne(c); !ldap.IsErrorWithCode(err, ldap.LDAPResultUnwillingToPerform) {
		t.Errorf("search on the backend directly: %v", err)
	}
	if err := c.Bind(relayName+",ip=127.0.0.9,tls=true", "guess"); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Errorf("forged hello: %v", err)
	}
	if err := searchOne(c); err == nil {
		t.Error("search after a forged hello served")
	}
}

// attempts records what the policy engine is asked.
type attempts struct {
	policy.Nop
	mu    sync.Mutex
	auths []policy.AuthAttempt
	deny  netip.Addr
}

func (a *attempts) Connect(_ context.Context, c policy.Conn) policy.Decision {
	if c.IP == a.deny {
		return policy.Decision{Verdict: policy.Reject, Reason: mailerr.ErrConnectionRefused}
	}
	return policy.Decision{}
}

func (a *attempts) BeforeAuth(_ context.Context, at policy.AuthAttempt) policy.Decision {
	a.mu.Lock()
	a.auths = append(a.auths, at)
	a.mu.Unlock()
	return policy.Decision{}
}

// The policy engine sees each LDAP client's own address: binds carry it
// (per-address throttling), and a denied network is refused at connect.
func TestPolicySeesClientAddress(t *testing.T) {
	hooks := &attempts{deny: netip.MustParseAddr("127.0.0.3")}
	e := newEnvWith(t, true, 500, nil, hooks)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 5 * time.Second}
	c, err := ldap.DialURL("ldaps://"+e.ldaps, ldap.DialWithDialer(d), ldap.DialWithTLSConfig(&tls.Config{RootCAs: e.roots, ServerName: "127.0.0.1"}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Bind("uid=annv.skhcn@khanhhoa.gov.vn,ou=people,"+base, "sai mật khẩu")
	hooks.mu.Lock()
	got := append([]policy.AuthAttempt(nil), hooks.auths...)
	hooks.mu.Unlock()
	if len(got) != 1 || got[0].IP != netip.MustParseAddr("127.0.0.2") || got[0].Protocol != Protocol {
		t.Fatalf("policy saw %+v, want one LDAP attempt from 127.0.0.2", got)
	}
	denied, err := dialFrom("127.0.0.3", e.plain)
	if err == nil {
		err = searchOne(denied)
		denied.Close()
	}
	if err == nil || strings.Contains(err.Error(), "Success") {
		t.Errorf("a denied network was served: %v", err)
	}
}
