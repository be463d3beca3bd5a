package server

import (
	"bufio"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"congvu/internal/config"
)

// startAll starts the whole server with every listener on a free port.
func startAll(t *testing.T, edit func(*config.Config)) *Running {
	t.Helper()
	cfg := config.Default()
	cfg.Server.DataDir = t.TempDir()
	cfg.Server.LocalDomains = []string{"khanhhoa.gov.vn"}
	l := &cfg.Listen
	for _, a := range []*string{&l.SMTP, &l.Submission, &l.Submissions, &l.IMAP, &l.IMAPS, &l.POP3, &l.POP3S, &l.HTTP, &l.HTTPS, &l.Admin, &l.LDAP, &l.LDAPS, &l.ManageSieve} {
		*a = "127.0.0.1:0"
	}
	if edit != nil {
		edit(&cfg)
	}
	r, err := Start(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// startTLS connects to a plain listener and asks for STARTTLS the way the
// protocol does, returning the connection ready for the handshake.
func startTLS(t *testing.T, addr, proto string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	line := func() string {
		s, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("%s %s: %v", proto, addr, err)
		}
		return s
	}
	switch proto {
	case "smtp":
		line()
		c.Write([]byte("EHLO test.example\r\n"))
		for s := line(); !strings.HasPrefix(s, "250 "); s = line() {
		}
		c.Write([]byte("STARTTLS\r\n"))
		if s := line(); !strings.HasPrefix(s, "220") {
			t.Fatalf("%s STARTTLS: %q", addr, s)
		}
	case "imap":
		line()
		c.Write([]byte("a STARTTLS\r\n"))
		if s := line(); !strings.HasPrefix(s, "a OK") {
			t.Fatalf("%s STARTTLS: %q", addr, s)
		}
	case "pop3":
		line()
		c.Write([]byte("STLS\r\n"))
		if s := line(); !strings.HasPrefix(s, "+OK") {
			t.Fatalf("%s STLS: %q", addr, s)
		}
	case "sieve":
		for s := line(); !strings.HasPrefix(s, "OK"); s = line() {
		}
		c.Write([]byte("STARTTLS\r\n"))
		if s := line(); !strings.HasPrefix(s, "OK") {
			t.Fatalf("%s STARTTLS: %q", addr, s)
		}
	}
	if br.Buffered() > 0 {
		t.Fatalf("%s: data after the STARTTLS reply", addr)
	}
	return c
}

// TestTLSEveryListenerAEADOnly checks the TLS floor on every TLS listener,
// implicit and STARTTLS: TLS 1.1 and TLS 1.2 CBC suites are refused, TLS
// 1.2 with AES-GCM and TLS 1.3 are accepted (RFC 7525 §4.2, issue 15 §13).
func TestTLSEveryListenerAEADOnly(t *testing.T) {
	r := startAll(t, nil)
	listeners := []struct{ name, proto string }{
		{"smtp", "smtp"}, {"submission", "smtp"}, {"submissions", ""},
		{"imap", "imap"}, {"imaps", ""}, {"pop3", "pop3"}, {"pop3s", ""}, {"https", ""},
		{"managesieve", "sieve"}, {"ldaps", ""},
	}
	cases := []struct {
		name string
		cfg  *tls.Config
		ok   bool
	}{
		{"TLS1.1", &tls.Config{MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10}, false},
		{"TLS1.2-CBC", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA}}, false},
		{"TLS1.2-GCM", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, true},
		{"TLS1.3", &tls.Config{MinVersion: tls.VersionTLS13}, true},
	}
	for _, l := range listeners {
		for _, tc := range cases {
			var c net.Conn
			if l.proto == "" {
				var err error
				if c, err = net.DialTimeout("tcp", r.Addrs[l.name], 5*time.Second); err != nil {
					t.Fatal(err)
				}
			} else {
				c = startTLS(t, r.Addrs[l.name], l.proto)
			}
			cfg := tc.cfg.Clone()
			cfg.InsecureSkipVerify = true
			conn := tls.Client(c, cfg)
			err := conn.Handshake()
			conn.Close()
			if (err == nil) != tc.ok {
				t.Errorf("%s with %s: handshake error %v, want success %v", l.name, tc.name, err, tc.ok)
			}
		}
	}
}

// TestStartBusyPort: a listener whose port is taken fails start-up with an
// error naming the listener and address, without a panic, and releases
// what it had opened, so a second start on free ports works at once
// (issue 15 §7).
func TestStartBusyPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := config.Default()
	cfg.Server.DataDir = t.TempDir()
	cfg.Server.LocalDomains = []string{"khanhhoa.gov.vn"}
	l := &cfg.Listen
	for _, a := range []*string{&l.SMTP, &l.Submission, &l.Submissions, &l.IMAP, &l.IMAPS, &l.POP3, &l.POP3S, &l.HTTP, &l.HTTPS, &l.Admin, &l.LDAP, &l.LDAPS, &l.ManageSieve} {
		*a = "127.0.0.1:0"
	}
	l.IMAPS = busy.Addr().String()
	r, err := Start(cfg, slog.New(slog.DiscardHandler))
	if err == nil {
		r.Close()
		t.Fatal("start succeeded on a busy port")
	}
	if r != nil {
		t.Error("Start returned a Running with its error")
	}
	if !strings.Contains(err.Error(), "imaps") || !strings.Contains(err.Error(), busy.Addr().String()) {
		t.Errorf("error %q does not name the listener and its address", err)
	}
	// The store and directory were closed: the same data directory opens again.
	l.IMAPS = "127.0.0.1:0"
	r, err = Start(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("second start: %v", err)
	}
	r.Close()
}

// TestConnectionCaps: one address holding connections_per_ip connections
// on a listener gets the protocol's refusal on the next one, in its own
// words, and a slot frees when a connection closes; exempt networks are not
// held to the cap (issue 15 §5).
func TestConnectionCaps(t *testing.T) {
	r := startAll(t, func(c *config.Config) { c.Limits.ConnectionsPerIP = 3 })
	for _, l := range []struct{ name, greeting, refusal string }{
		{"smtp", "220 ", "421 4.7.0"},
		{"submission", "220 ", "421 4.7.0"},
		{"imap", "* OK", "* BYE [UNAVAILABLE]"},
		{"pop3", "+OK", "-ERR [SYS/TEMP]"},
	} {
		var held []net.Conn
		for range 3 {
			c := dialRead(t, r.Addrs[l.name], l.greeting)
			held = append(held, c)
		}
		c := dialRead(t, r.Addrs[l.name], l.refusal)
		c.Close()
		held[0].Close()
		waitFor(t, func() bool {
			c, err := net.Dial("tcp", r.Addrs[l.name])
			if err != nil {
				return false
			}
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			return strings.HasPrefix(line, l.greeting)
		})
		for _, c := range held[1:] {
			c.Close()
		}
	}
	// HTTP: a 503 with the reason.
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", r.Addrs["http"])
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	c := dialRead(t, r.Addrs["http"], "HTTP/1.1 503")
	c.Close()
	for _, c := range held {
		c.Close()
	}
	if got := counterValue(t, r, "congvu_connections_refused_total"); got < 5 {
		t.Errorf("congvu_connections_refused_total = %v, want >= 5", got)
	}

	exempt := startAll(t, func(c *config.Config) {
		c.Limits.ConnectionsPerIP = 2
		c.Limits.ExemptNetworks = []string{"127.0.0.0/8"}
	})
	for range 5 {
		defer dialRead(t, exempt.Addrs["imap"], "* OK").Close()
	}
}

// dialRead connects and checks the first line starts with want.
func dialRead(t *testing.T, addr, want string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	c.SetReadDeadline(time.Time{})
	if !strings.HasPrefix(line, want) {
		t.Fatalf("%s: first line %q (%v), want %q", addr, line, err, want)
	}
	return c
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatal("condition not met within 5 s")
}

func counterValue(t *testing.T, r *Running, name string) float64 {
	t.Helper()
	mfs, err := r.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// TestMetricsOnAdminListenerOnly: /metrics is served to operators on the
// admin listener, not on the public HTTP one; it carries the build info,
// web logins and the SMTP DATA latency histogram (issue 15).
func TestMetricsOnAdminListenerOnly(t *testing.T) {
	r := startAll(t, nil)
	get := func(url string) (int, string) {
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, _ := get("http://" + r.Addrs["http"] + "/metrics"); code != http.StatusNotFound {
		t.Errorf("public /metrics: %d, want 404", code)
	}
	if code, body := get("http://" + r.Addrs["http"] + "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("public /healthz: %d %q", code, body)
	}
	code, body := get("http://" + r.Addrs["admin"] + "/metrics")
	if code != 200 {
		t.Fatalf("admin /metrics: %d", code)
	}
	for _, want := range []string{"congvu_build_info{", "go1."} {
		if !strings.Contains(body, want) {
			t.Errorf("admin /metrics lacks %q", want)
		}
	}
}
