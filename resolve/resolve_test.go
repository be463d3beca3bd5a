package resolve_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"congvu/resolve"
	"congvu/resolve/dnstest"
)

func start(t *testing.T) (*dnstest.Server, *resolve.DNS) {
	t.Helper()
	srv, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	r, err := resolve.New(resolve.Config{Servers: []string{srv.Addr}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return srv, r
}

func TestLookups(t *testing.T) {
	srv, r := start(t)
	long := strings.Repeat("k", 400) // a 2048-bit DKIM key is longer than one TXT string
	err := srv.Add(
		"angiang.gov.vn. MX 20 mx2.angiang.gov.vn.",
		"angiang.gov.vn. MX 10 mx1.angiang.gov.vn.",
		"mx1.angiang.gov.vn. A 127.0.0.5",
		"mx1.angiang.gov.vn. AAAA ::1",
		`angiang.gov.vn. TXT "v=spf1 ip4:127.0.0.0/8 -all"`,
		`sel._domainkey.angiang.gov.vn. TXT "v=DKIM1; p=`+long+`"`,
		"_25._tcp.mx1.angiang.gov.vn. TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"5.0.0.127.in-addr.arpa. PTR mx1.angiang.gov.vn.",
	)
	if err != nil {
		t.Fatal(err)
	}
	srv.Secure("mx1.angiang.gov.vn")
	ctx := context.Background()

	mx, secure, err := r.LookupMXSecure(ctx, "AnGiang.gov.vn")
	if err != nil || len(mx) != 2 || secure {
		t.Fatalf("MX: %v secure=%v err=%v", mx, secure, err)
	}
	txt, err := r.LookupTXT(ctx, "sel._domainkey.angiang.gov.vn")
	if err != nil || len(txt) != 1 || txt[0] != "v=DKIM1; p="+long {
		t.Fatalf("long TXT not reassembled: %q %v", txt, err)
	}
	ips, secure, err := r.LookupIPSecure(ctx, "mx1.angiang.gov.vn")
	if err != nil || len(ips) != 2 || !secure || !ips[0].Equal(net.IPv6loopback) {
		t.Fatalf("IPs %v secure=%v err=%v", ips, secure, err)
	}
	tlsa, secure, err := r.LookupTLSA(ctx, "_25._tcp.mx1.angiang.gov.vn")
	if err != nil || len(tlsa) != 1 || !secure || tlsa[0].Usage != 3 || len(tlsa[0].Data) != 32 {
		t.Fatalf("TLSA %v secure=%v err=%v", tlsa, secure, err)
	}
	names, err := r.LookupAddr(ctx, "127.0.0.5")
	if err != nil || len(names) != 1 || names[0] != "mx1.angiang.gov.vn." {
		t.Fatalf("PTR %v %v", names, err)
	}

	// NXDOMAIN and NODATA are "not found"; SERVFAIL is temporary.
	_, err = r.LookupTXT(ctx, "nope.angiang.gov.vn")
	var de *net.DNSError
	if !resolve.IsNotFound(err) {
		t.Errorf("NXDOMAIN: %v", err)
	}
	if _, err = r.LookupMX(ctx, "mx1.angiang.gov.vn"); !resolve.IsNotFound(err) {
		t.Errorf("NODATA: %v", err)
	}
	srv.Fail("broken.angiang.gov.vn")
	_, err = r.LookupTXT(ctx, "broken.angiang.gov.vn")
	if de, _ = err.(*net.DNSError); de == nil || !de.Temporary() || de.IsNotFound {
		t.Errorf("SERVFAIL must be a temporary *net.DNSError, got %T %v", err, err)
	}
}

func TestNoServerIsTemporary(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // bound, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	r, err := resolve.New(resolve.Config{Servers: []string{pc.LocalAddr().String()}, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.LookupMX(context.Background(), "angiang.gov.vn")
	de, ok := err.(*net.DNSError)
	if !ok || !de.Temporary() || de.IsNotFound {
		t.Fatalf("timeout must be a temporary *net.DNSError, got %T %v", err, err)
	}
}
