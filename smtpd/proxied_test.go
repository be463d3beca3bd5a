package smtpd

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"congvu/internal/frontend"
)

// Behind nginx (listen.submission_proxy) the client's TLS ended at the
// proxy: after XCLIENT the session offers AUTH without a TLS layer of its
// own and without STARTTLS, the Received field names the client's address
// and says ESMTPSA without claiming a cipher it did not see; a connection
// that did not come through frontend.Listen gets no AUTH (538).
func TestServeSubmissionsProxied(t *testing.T) {
	e := newEnv(t, envOptions{})
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := frontend.Listen(inner, frontend.ListenerConfig{Handshake: frontend.XCLIENT, Hostname: testHost,
		Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	go e.srv.ServeSubmissionsProxied(fl)

	r := dialRaw(t, inner.Addr().String(), nil) // the listener's 220
	r.cmd(250, "", "EHLO nginx.khanhhoa.gov.vn")
	r.cmd(220, "", "XCLIENT ADDR=203.0.113.9 NAME=[UNAVAILABLE]") // the daemon's greeting
	exts := r.ehlo()
	if !slices.Contains(exts, "AUTH PLAIN LOGIN") || slices.Contains(exts, "STARTTLS") {
		t.Errorf("EHLO behind the proxy: %v; want AUTH, no STARTTLS", exts)
	}
	r.authPlain(235, "2.0.0", thanh, thanhPass)
	r.cmd(250, "2.0.0", "MAIL FROM:<%s>", thanh)
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", mai)
	msg := message(thanh, mai, "Qua nginx", "Gửi qua máy chủ proxy.")
	r.data(250, "2.0.0", msg)
	got := e.inbox(mai)
	if len(got) != 1 {
		t.Fatalf("INBOX has %d messages", len(got))
	}
	trace := checkStored(t, got[0], msg, thanh)
	if !strings.Contains(trace, "[203.0.113.9]") || !strings.Contains(trace, " with ESMTPSA id ") || strings.Contains(trace, "cipher") {
		t.Errorf("trace behind the proxy:\n%s", trace)
	}

	plainL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.srv.ServeSubmissionsProxied(plainL)
	p := dialRaw(t, plainL.Addr().String(), nil)
	for _, ext := range p.ehlo() {
		if strings.HasPrefix(ext, "AUTH") {
			t.Errorf("a connection not from the proxy listener was offered %q", ext)
		}
	}
	p.authPlain(538, "5.7.11", thanh, thanhPass)
}
