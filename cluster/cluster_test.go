package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"congvu/internal/mailerr"
	"congvu/internal/tlsutil"
)

func TestSplitReturnPath(t *testing.T) {
	for in, want := range map[string][2]string{
		"Return-Path: <a@b.vn>\r\nReceived: x\r\n\r\nbody": {"a@b.vn", "Received: x\r\n\r\nbody"},
		"return-path: <>\r\nX: y\r\n\r\n":                  {"", "X: y\r\n\r\n"},
		"Received: x\r\nReturn-Path: <a@b.vn>\r\n\r\n":     {"", "Received: x\r\nReturn-Path: <a@b.vn>\r\n\r\n"},
	} {
		from, rest := splitReturnPath([]byte(in))
		if from != want[0] || string(rest) != want[1] {
			t.Errorf("splitReturnPath(%q) = %q, %q", in, from, rest)
		}
	}
}

// relayPair is a relay server on loopback and a client trusting it.
func relayPair(t *testing.T, secret string, deliver DeliverFunc) (*Client, string) {
	t.Helper()
	certPEM, keyPEM, err := tlsutil.SelfSigned([]string{"node2.khanhhoa.gov.vn"})
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := tls.X509KeyPair(certPEM, keyPEM)
	srv, err := NewRelayServer(RelayConfig{Node: "node2", Hostname: "node2.khanhhoa.gov.vn", TLS: tlsutil.ServerConfig(cert),
		Secret: []byte("the-shared-secret-of-the-cluster"), MaxBytes: 1 << 20}, deliver)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeTLS(l)
	t.Cleanup(func() { srv.Close() })
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return &Client{Node: "node1", Secret: []byte(secret), TLS: &tls.Config{RootCAs: pool}}, l.Addr().String()
}

func TestRelay(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{}
	deliver := func(_ context.Context, from, rcpt string, msg []byte) error {
		if strings.HasPrefix(rcpt, "nobody") {
			return mailerr.ErrUnknownUser
		}
		if strings.HasPrefix(rcpt, "down") {
			return mailerr.ErrInternal
		}
		mu.Lock()
		got[rcpt] = from + "|" + string(msg)
		mu.Unlock()
		return nil
	}
	c, addr := relayPair(t, "the-shared-secret-of-the-cluster", deliver)
	ctx := context.Background()
	msg := "Subject: thu\r\n\r\nKinh gui\r\n"
	if err := c.Send(ctx, addr, "node2.khanhhoa.gov.vn", "a@other.gov.vn", "binhtt@khanhhoa.gov.vn", strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	if g := got["binhtt@khanhhoa.gov.vn"]; !strings.HasPrefix(g, "a@other.gov.vn|X-Congvu-Relayed: from node1 at ") || !strings.HasSuffix(g, msg) {
		t.Errorf("delivered %q", g)
	}
	// Permanent refusals stay permanent, the rest is temporary.
	err := c.Send(ctx, addr, "node2.khanhhoa.gov.vn", "", "nobody@khanhhoa.gov.vn", strings.NewReader(msg))
	if e := mailerr.As(err); e == nil || e.Temporary || e.SMTPCode != 550 {
		t.Errorf("unknown user: %v, want a permanent 550", err)
	}
	err = c.Send(ctx, addr, "node2.khanhhoa.gov.vn", "", "down@khanhhoa.gov.vn", strings.NewReader(msg))
	if e := mailerr.As(err); e == nil || !e.Temporary {
		t.Errorf("store failure: %v, want temporary", err)
	}
	// A message that went round the nodes too often waits.
	loop := strings.Repeat("X-Congvu-Relayed: from nodeX\r\n", maxHops) + msg
	err = c.Send(ctx, addr, "node2.khanhhoa.gov.vn", "", "binhtt@khanhhoa.gov.vn", strings.NewReader(loop))
	if e := mailerr.As(err); e == nil || !e.Temporary {
		t.Errorf("after %d hops: %v, want a temporary refusal", maxHops, err)
	}
	// A wrong secret is refused before any mail.
	bad, addr2 := relayPair(t, "not-the-secret-of-the-cluster!!", deliver)
	err = bad.Send(ctx, addr2, "node2.khanhhoa.gov.vn", "", "x@khanhhoa.gov.vn", strings.NewReader(msg))
	if e := mailerr.As(err); e == nil || !e.Temporary || !strings.Contains(fmt.Sprint(err), "Authentication") {
		t.Errorf("wrong secret: %v, want a temporary failure (mail waits for the operator)", err)
	}
	// An unreachable node is temporary (the queue retries).
	err = c.Send(ctx, "127.0.0.1:1", "node2.khanhhoa.gov.vn", "", "x@khanhhoa.gov.vn", strings.NewReader(msg))
	if !errors.Is(err, ErrNodeUnavailable) {
		t.Errorf("node down: %v", err)
	}
}

// TestFreezeWaitsForHeldDelivery: a queue or relay delivery that passed
// its checks before a move froze the mailbox is committed before Freeze
// returns (so the final copy holds it); after the freeze, such deliveries
// are refused with a temporary error and wait in the queue.
func TestFreezeWaitsForHeldDelivery(t *testing.T) {
	n := New(Config{Self: "node2"})
	const user = "dungpt.ubnd@khanhhoa.gov.vn"
	release, err := n.HoldLocal(user)
	if err != nil {
		t.Fatal(err)
	}
	frozen := make(chan func())
	go func() { frozen <- n.Freeze(user) }()
	select {
	case <-frozen:
		t.Fatal("Freeze returned while a delivery into the mailbox was still being committed")
	case <-time.After(200 * time.Millisecond):
	}
	release()
	var unfreeze func()
	select {
	case unfreeze = <-frozen:
	case <-time.After(5 * time.Second):
		t.Fatal("Freeze did not return after the delivery was committed")
	}
	if _, err := n.HoldLocal(user); !errors.Is(err, ErrMoving) {
		t.Errorf("delivery to a frozen mailbox: %v, want ErrMoving (451 4.2.1)", err)
	}
	unfreeze()
	release, err = n.HoldLocal(user)
	if err != nil {
		t.Fatalf("after unfreeze: %v", err)
	}
	release()
}
