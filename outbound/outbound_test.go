package outbound

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

func TestMXDeliveryWithVerifiedSTARTTLSAndReuse(t *testing.T) {
	ca := newCA(t)
	cert := ca.leaf(t, "mx.angiang.gov.vn")
	dest := startDestination(t, &cert, "127.0.0.1:0", nil)
	w := newWorld(t,
		"angiang.gov.vn. MX 20 mx.angiang.gov.vn.",
		"angiang.gov.vn. MX 10 down.angiang.gov.vn.", // preferred but refuses connections
		"down.angiang.gov.vn. A 127.0.0.2",
		"mx.angiang.gov.vn. A 127.0.0.1",
	)
	c := w.client(Config{Port: dest.port(), RootCAs: ca.pool})
	for i := range 2 {
		res := c.Deliver(context.Background(), delivery("vanthu@angiang.gov.vn", "giamdoc@angiang.gov.vn"))
		for _, r := range res {
			if r.Err != nil {
				t.Fatalf("delivery %d: %v", i, r.Err)
			}
			if r.RemoteMTA != "mx.angiang.gov.vn" || !strings.HasPrefix(r.Security, "STARTTLS TLS1.3") || !strings.Contains(r.Security, "certificate verified") {
				t.Errorf("result %+v", r)
			}
		}
	}
	got := dest.got()
	if len(got) != 2 || !got[0].tls || len(got[0].rcpts) != 2 || got[0].from != "thanhnn.skhcn@khanhhoa.gov.vn" {
		t.Fatalf("destination got %+v", got)
	}
	if got[0].data != testMessage {
		t.Errorf("message changed in transit:\n%q\nwant\n%q", got[0].data, testMessage)
	}
	if n := dest.conns.Load(); n != 1 {
		t.Errorf("%d connections for two messages to one domain, want 1 (reuse)", n)
	}
}

func TestOpportunisticTLSRecordsUnverifiedCertificate(t *testing.T) {
	ca, other := newCA(t), newCA(t)
	cert := other.leaf(t, "mx.angiang.gov.vn") // signed by a CA we do not trust
	dest := startDestination(t, &cert, "127.0.0.1:0", nil)
	w := newWorld(t, "angiang.gov.vn. MX 10 mx.angiang.gov.vn.", "mx.angiang.gov.vn. A 127.0.0.1")
	c := w.client(Config{Port: dest.port(), RootCAs: ca.pool})
	res := c.Deliver(context.Background(), delivery("vanthu@angiang.gov.vn"))
	if res[0].Err != nil || !strings.Contains(res[0].Security, "certificate not verified: x509: certificate signed by unknown authority") {
		t.Fatalf("%+v", res[0])
	}
	if got := dest.got(); len(got) != 1 || !got[0].tls {
		t.Fatalf("not delivered over TLS: %+v", got)
	}
}

func TestPlaintextWhenNoSTARTTLSAndImplicitMX(t *testing.T) {
	dest := startDestination(t, nil, "127.0.0.1:0", nil)
	// No MX: the domain's own address (RFC 5321 5.1).
	w := newWorld(t, "angiang.gov.vn. A 127.0.0.1")
	c := w.client(Config{Port: dest.port()})
	res := c.Deliver(context.Background(), delivery("vanthu@angiang.gov.vn"))
	if res[0].Err != nil || res[0].Security != "plaintext (STARTTLS not offered)" || res[0].RemoteMTA != "angiang.gov.vn" {
		t.Fatalf("%+v", res[0])
	}
}

func TestPerRecipientReplies(t *testing.T) {
	dest := startDestination(t, nil, "127.0.0.1:0", func(d *destination) {
		d.rcptErr = func(rcpt string) error {
			switch {
			case strings.HasPrefix(rcpt, "nobody@"):
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "User unknown in virtual mailbox table"}
			case strings.HasPrefix(rcpt, "full@"):
				return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full"}
			}
			return nil
		}
	})
	w := newWorld(t, "angiang.gov.vn. MX 10 mx.angiang.gov.vn.", "mx.angiang.gov.vn. A 127.0.0.1")
	c := w.client(Config{Port: dest.port()})
	res := c.Deliver(context.Background(), delivery("nobody@angiang.gov.vn", "full@angiang.gov.vn", "vanthu@angiang.gov.vn"))
	if e := res[0].Err; e == nil || e.Temporary || e.SMTPCode != 550 || e.Enhanced != [3]int{5, 1, 1} || !strings.Contains(e.Message, "User unknown") {
		t.Errorf("unknown user: %+v", e)
	}
	if e := res[1].Err; e == nil || !e.Temporary || e.SMTPCode != 452 {
		t.Errorf("mailbox full: %+v", e)
	}
	if res[2].Err != nil {
		t.Errorf("good recipient: %v", res[2].Err)
	}
	if got := dest.got(); len(got) != 1 || len(got[0].rcpts) != 1 {
		t.Errorf("destination got %+v", got)
	}
}

func TestDestinationErrors(t *testing.T) {
	w := newWorld(t,
		"nullmx.gov.vn. MX 0 .",
		"dead.gov.vn. MX 10 mx.dead.gov.vn.",
		"mx.dead.gov.vn. A 127.0.0.1",
	)
	w.dns.Fail("broken.gov.vn")
	port := freePort(t) // nothing listens there
	c := w.client(Config{Port: port})
	for _, tc := range []struct {
		domain    string
		code      int
		enh       [3]int
		temporary bool
	}{
		{"khongtontai.gov.vn", 550, [3]int{5, 1, 2}, false},
		{"nullmx.gov.vn", 556, [3]int{5, 1, 10}, false},
		{"broken.gov.vn", 451, [3]int{4, 4, 3}, true},
		{"dead.gov.vn", 451, [3]int{4, 4, 1}, true},
	} {
		d := delivery("a@" + tc.domain)
		d.Domain = tc.domain
		e := c.Deliver(context.Background(), d)[0].Err
		if e == nil || e.SMTPCode != tc.code || e.Enhanced != tc.enh || e.Temporary != tc.temporary {
			t.Errorf("%s: %+v, want %d %v temporary=%v", tc.domain, e, tc.code, tc.enh, tc.temporary)
		}
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestDANE(t *testing.T) {
	ca := newCA(t)
	cert := ca.leaf(t, "mx.angiang.gov.vn")
	dest := startDestination(t, &cert, "127.0.0.1:0", nil)
	tlsaName := fmt.Sprintf("_%d._tcp.mx.angiang.gov.vn.", dest.port())
	w := newWorld(t, "angiang.gov.vn. MX 10 mx.angiang.gov.vn.", "mx.angiang.gov.vn. A 127.0.0.1",
		tlsaName+" TLSA 3 1 1 "+spkiSHA256(cert))
	w.dns.Secure("angiang.gov.vn")
	// No RootCAs: DANE-EE needs no CA at all (RFC 7672 3.1.1).
	c := w.client(Config{Port: dest.port(), DANE: true})
	res := c.Deliver(context.Background(), delivery("vanthu@angiang.gov.vn"))
	if res[0].Err != nil || !strings.Contains(res[0].Security, "DANE-EE verified") {
		t.Fatalf("matching TLSA: %+v", res[0])
	}

	// A certificate that does not match: never delivered, not even in
	// plaintext, and the failure is temporary.
	w.dns.Remove(tlsaName, "TLSA")
	w.dns.Add(tlsaName + " TLSA 3 1 1 " + strings.Repeat("ab", 32))
	c2 := w.client(Config{Port: dest.port(), DANE: true})
	res = c2.Deliver(context.Background(), delivery("vanthu@angiang.gov.vn"))
	if e := res[0].Err; e == nil || !e.Temporary || e.Enhanced != [3]int{4, 7, 5} {
		t.Fatalf("mismatching TLSA: %+v", res[0])
	}
	if n := len(dest.got()); n != 1 {
		t.Fatalf("destination has %d messages, want only the first", n)
	}

	// The same records without DNSSEC are ignored (RFC 7672 2.2).
	w2 := newWorld(t, "angiang.gov.vn. MX 10 mx.angiang.gov.vn.", "mx.angiang.gov.vn. A 127.0.0.1",
		tlsaName+" TLSA 3 1 1 "+strings.Repeat("ab", 32))
	res = w2.client(Config{Port: dest.port(), DANE: true}).Deliver(context.Background(), delivery("vanthu@angiang.gov.vn"))
	if res[0].Err != nil || strings.Contains(res[0].Security, "DANE") {
		t.Fatalf("insecure TLSA must not apply: %+v", res[0])
	}
}

func TestMTASTS(t *testing.T) {
	ca := newCA(t)
	mxCert := ca.leaf(t, "mx.angiang.gov.vn")
	dest := startDestination(t, &mxCert, "127.0.0.1:0", nil)
	policy := "version: STSv1\nmode: enforce\nmx: mx.angiang.gov.vn\nmax_age: 86400\n"
	https := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "mta-sts.angiang.gov.vn" || r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, policy)
	}))
	https.TLS = tlsConfigFor{ca.leaf(t, "mta-sts.angiang.gov.vn")}.config()
	https.StartTLS()
	defer https.Close()
	httpsPort := https.Listener.Addr().(*net.TCPAddr).Port
	records := []string{"angiang.gov.vn. MX 10 mx.angiang.gov.vn.", "mx.angiang.gov.vn. A 127.0.0.1",
		"mta-sts.angiang.gov.vn. A 127.0.0.1", `_mta-sts.angiang.gov.vn. TXT "v=STSv1; id=20250601"`}

	w := newWorld(t, records...)
	c := w.client(Config{Port: dest.port(), RootCAs: ca.pool, MTASTS: true, MTASTSPort: httpsPort})
	res := c.Deliver(context.Background(), delivery("vanthu@angiang.gov.vn"))
	if res[0].Err != nil || !strings.Contains(res[0].Security, "certificate verified (mta-sts)") {
		t.Fatalf("enforced policy, good certificate: %+v", res[0])
	}

	// Enforce with a certificate we cannot verify: deferred, not sent.
	other := newCA(t)
	badCert := other.leaf(t, "mx.angiang.gov.vn")
	bad := startDestination(t, &badCert, "127.0.0.1:0", nil)
	c2 := w.client(Config{Port: bad.port(), RootCAs: ca.pool, MTASTS: true, MTASTSPort: httpsPort})
	res = c2.Deliver(context.Background(), delivery("vanthu@angiang.gov.vn"))
	if e := res[0].Err; e == nil || !e.Temporary || e.Enhanced != [3]int{4, 7, 5} || len(bad.got()) != 0 {
		t.Fatalf("enforced policy, bad certificate: %+v, delivered %d", res[0], len(bad.got()))
	}

	// An MX the policy does not list is not used.
	w3 := newWorld(t, append(records[2:], "angiang.gov.vn. MX 10 evil.example.", "evil.example. A 127.0.0.1")...)
	c3 := w3.client(Config{Port: dest.port(), RootCAs: ca.pool, MTASTS: true, MTASTSPort: httpsPort})
	res = c3.Deliver(context.Background(), delivery("vanthu@angiang.gov.vn"))
	if e := res[0].Err; e == nil || !e.Temporary || !strings.Contains(e.Error(), "not listed in the MTA-STS policy") {
		t.Fatalf("MX outside policy: %+v", res[0])
	}
}

func TestSmarthost(t *testing.T) {
	ca := newCA(t)
	cert := ca.leaf(t, "relay.khanhhoa.gov.vn")
	dest := startDestination(t, &cert, "127.0.0.1:0", func(d *destination) { d.user, d.pass = "congvu", "relay-secret" })
	w := newWorld(t, "relay.khanhhoa.gov.vn. A 127.0.0.1")
	c := w.client(Config{Smarthost: fmt.Sprintf("relay.khanhhoa.gov.vn:%d", dest.port()), RootCAs: ca.pool,
		SmarthostUsername: "congvu", SmarthostPassword: "relay-secret"})
	res := c.Deliver(context.Background(), delivery("someone@gmail.com"))
	if res[0].Err != nil || !strings.Contains(res[0].Security, "(smarthost)") {
		t.Fatalf("%+v", res[0])
	}
	if got := dest.got(); len(got) != 1 || !got[0].authn || !got[0].tls {
		t.Fatalf("smarthost got %+v", got)
	}
	// A smarthost whose certificate does not verify gets nothing.
	c2 := w.client(Config{Smarthost: fmt.Sprintf("relay.khanhhoa.gov.vn:%d", dest.port()), RootCAs: newCA(t).pool,
		SmarthostUsername: "congvu", SmarthostPassword: "relay-secret"})
	if e := c2.Deliver(context.Background(), delivery("someone@gmail.com"))[0].Err; e == nil || !e.Temporary {
		t.Fatalf("unverified smarthost: %v", e)
	}
}

func TestParseSTSPolicy(t *testing.T) {
	p, err := parseSTSPolicy(strings.NewReader("version: STSv1\r\nmode: testing\r\nmx: *.angiang.gov.vn\r\nmax_age: 999999999\r\n"))
	if err != nil || p.Mode != "testing" || p.MaxAge != stsMaxAge {
		t.Fatalf("%+v %v", p, err)
	}
	if !p.matches("mx1.angiang.gov.vn.") || p.matches("a.b.angiang.gov.vn") || p.matches("angiang.gov.vn") {
		t.Error("wildcard must match exactly one label")
	}
	for _, bad := range []string{"mode: enforce\nmx: a\nmax_age: 1\n", "version: STSv1\nmode: enforce\nmax_age: 1\n", "version: STSv1\nmode: strict\nmx: a\nmax_age: 1\n"} {
		if _, err := parseSTSPolicy(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}
