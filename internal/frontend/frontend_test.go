package frontend

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"congvu/directory"
	"congvu/internal/authcache"
	"congvu/internal/mailerr"
	"congvu/policy"
)

func TestReadProxyHeader(t *testing.T) {
	v2 := func(cmd, fam byte, body []byte) string {
		h := append([]byte{}, v2Signature...)
		h = append(h, 0x20|cmd, fam, 0, 0)
		binary.BigEndian.PutUint16(h[14:], uint16(len(body)))
		return string(append(h, body...))
	}
	v4 := []byte{203, 0, 113, 7, 10, 0, 0, 1, 0xc3, 0x50, 0x03, 0xe1} // 203.0.113.7:50000 → 10.0.0.1:993
	v6 := make([]byte, 36)
	copy(v6, netip.MustParseAddr("2001:db8::7").AsSlice())
	copy(v6[16:], netip.MustParseAddr("2001:db8::1").AsSlice())
	binary.BigEndian.PutUint16(v6[32:], 40000)
	binary.BigEndian.PutUint16(v6[34:], 143)
	for _, c := range []struct {
		name, in, src string
		local         bool
		err           bool
		rest          string
	}{
		{"v1 tcp4", "PROXY TCP4 203.0.113.7 10.0.0.1 50000 993\r\na1 LOGIN", "203.0.113.7:50000", false, false, "a1 LOGIN"},
		{"v1 tcp6", "PROXY TCP6 2001:db8::7 2001:db8::1 40000 143\r\n", "[2001:db8::7]:40000", false, false, ""},
		{"v1 unknown", "PROXY UNKNOWN whatever\r\nx", "", true, false, "x"},
		// nginx's mail module behind its stream module on a Unix socket.
		{"v1 unix destination", "PROXY TCP4 203.0.113.7 unix:/run/congvu-mail/imap.sock 50000 0\r\n", "203.0.113.7:50000", false, false, ""},
		{"v1 other destination", "PROXY TCP4 203.0.113.7 pipe:/x 50000 0\r\n", "", false, true, ""},
		{"v1 family mismatch", "PROXY TCP4 2001:db8::7 10.0.0.1 1 2\r\n", "", false, true, ""},
		{"v1 leading zero port", "PROXY TCP4 1.2.3.4 5.6.7.8 080 1\r\n", "", false, true, ""},
		{"v1 no CRLF", "PROXY TCP4 1.2.3.4 5.6.7.8 80 1\n", "", false, true, ""},
		{"v1 too long", "PROXY TCP4 " + strings.Repeat("1", 200) + "\r\n", "", false, true, ""},
		{"v2 tcp4", v2(1, 0x11, v4) + "rest", "203.0.113.7:50000", false, false, "rest"},
		{"v2 tcp6 with TLV", v2(1, 0x21, append(v6, 0x04, 0, 1, 'x')), "[2001:db8::7]:40000", false, false, ""},
		{"v2 local", v2(0, 0x00, nil), "", true, false, ""},
		{"v2 short", v2(1, 0x11, v4[:6]), "", false, true, ""},
		{"v2 udp", v2(1, 0x12, v4), "", false, true, ""},
		{"not proxy", "a1 LOGIN x y\r\n", "", false, true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := bufio.NewReader(strings.NewReader(c.in))
			h, err := ReadProxyHeader(r)
			if c.err {
				if err == nil {
					t.Fatalf("accepted %q as %+v", c.in, h)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Local != c.local || (!c.local && h.Source.String() != c.src) {
				t.Errorf("got %+v, want source %s local %v", h, c.src, c.local)
			}
			if rest, _ := io.ReadAll(r); string(rest) != c.rest {
				t.Errorf("left %q after the header, want %q", rest, c.rest)
			}
		})
	}
}

// FuzzReadProxyHeader: no input panics, reads past its header or accepts
// an address that does not round-trip.
func FuzzReadProxyHeader(f *testing.F) {
	f.Add([]byte("PROXY TCP4 203.0.113.7 10.0.0.1 50000 993\r\n"))
	f.Add([]byte("PROXY TCP6 2001:db8::7 2001:db8::1 40000 143\r\nabc"))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add([]byte("PROXY TCP4 203.0.113.7 unix:/run/nginx-congvu-imaps.sock 50000 0\r\n"))
	f.Add(append(append([]byte{}, v2Signature...), 0x21, 0x11, 0, 12, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2))
	f.Add(append(append([]byte{}, v2Signature...), 0x21, 0x21, 0xff, 0xff))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReader(strings.NewReader(string(in)))
		h, err := ReadProxyHeader(r)
		if err != nil || h.Local {
			return
		}
		// The destination may be nginx's Unix socket (not an address).
		if !h.Source.IsValid() || (!h.Dst.IsValid() && !strings.Contains(string(in), " unix:")) {
			t.Fatalf("accepted %q with invalid addresses %+v", in, h)
		}
		if h.Source.Addr().Zone() != "" {
			t.Fatalf("accepted a zone: %v", h.Source)
		}
	})
}

func TestParseXCLIENT(t *testing.T) {
	for in, want := range map[string]string{
		"ADDR=203.0.113.7 LOGIN=nva+40angiang.gov.vn NAME=[UNAVAILABLE]": "203.0.113.7:0",
		"ADDR=IPV6:2001:db8::7 NAME=host.example":                        "[2001:db8::7]:0",
		"NAME=x ADDR=192.0.2.1 PORT=4242":                                "192.0.2.1:4242",
	} {
		got, err := ParseXCLIENT(in)
		if err != nil || got.String() != want {
			t.Errorf("ParseXCLIENT(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "NAME=x", "ADDR=not-an-ip", "ADDR=1.2.3.4 PORT=99999", "ADDR=1.2.3.4+4", "ADDR"} {
		if got, err := ParseXCLIENT(bad); err == nil {
			t.Errorf("ParseXCLIENT(%q) accepted: %v", bad, got)
		}
	}
}

// echoProxied serves l like a daemon's ServeProxied: it reports the
// remote address it sees and whether the connection says the proxy ended
// the client's TLS, then echoes lines.
func echoProxied(t *testing.T, l net.Listener) {
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fmt.Fprintf(c, "* OK from %s secured=%v\r\n", c.RemoteAddr(), SecuredByProxy(c))
				io.Copy(c, c)
			}()
		}
	}()
}

func TestListenerProxyProtocol(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Listen(raw, ListenerConfig{Handshake: ProxyProtocol, Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Hostname: "mail.angiang.gov.vn", Timeout: 2 * time.Second})
	defer l.Close()
	echoProxied(t, l)

	c, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "PROXY TCP4 203.0.113.7 127.0.0.1 50000 993\r\n")
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || line != "* OK from 203.0.113.7:50000 secured=true\r\n" {
		t.Fatalf("daemon saw %q, %v; want the client's address from the header", line, err)
	}
	fmt.Fprint(c, "a1 NOOP\r\n")
	if line, _ := br.ReadString('\n'); line != "a1 NOOP\r\n" {
		t.Errorf("plain text through the listener: %q", line)
	}

	// A command sent with the header, in one packet, is not lost.
	c3, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	fmt.Fprint(c3, "PROXY TCP4 203.0.113.8 127.0.0.1 50001 993\r\na2 NOOP\r\n")
	br3 := bufio.NewReader(c3)
	if line, _ := br3.ReadString('\n'); !strings.HasPrefix(line, "* OK from 203.0.113.8:50001") {
		t.Fatalf("greeting %q", line)
	}
	if line, _ := br3.ReadString('\n'); line != "a2 NOOP\r\n" {
		t.Errorf("the command sent with the PROXY header came through as %q", line)
	}

	// Without a header: closed.
	c2, _ := net.Dial("tcp", raw.Addr().String())
	defer c2.Close()
	fmt.Fprint(c2, "a1 LOGIN x y\r\n")
	c2.SetReadDeadline(time.Now().Add(3 * time.Second))
	if b, err := io.ReadAll(c2); len(b) != 0 || err != nil && !isClosedErr(err) {
		t.Errorf("connection without PROXY header got %q, %v; want it closed", b, err)
	}
}

func isClosedErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || strings.Contains(err.Error(), "reset")
}

func TestListenerRefusesUntrustedAddresses(t *testing.T) {
	raw, _ := net.Listen("tcp", "127.0.0.1:0")
	l := Listen(raw, ListenerConfig{Handshake: ProxyProtocol, Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	defer l.Close()
	echoProxied(t, l)
	c, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "PROXY TCP4 203.0.113.7 127.0.0.1 50000 993\r\n")
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if b, _ := io.ReadAll(c); len(b) != 0 {
		t.Errorf("a connection from outside the proxy networks was served: %q", b)
	}
}

func TestListenerXCLIENT(t *testing.T) {
	raw, _ := net.Listen("tcp", "127.0.0.1:0")
	l := Listen(raw, ListenerConfig{Handshake: XCLIENT, Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Hostname: "mail.angiang.gov.vn", Timeout: 2 * time.Second})
	defer l.Close()
	echoProxied(t, l)
	c, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	expect := func(prefix string) {
		t.Helper()
		line, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, prefix) {
			t.Fatalf("got %q, %v; want %s…", line, err, prefix)
		}
	}
	expect("220 mail.angiang.gov.vn")
	fmt.Fprint(c, "EHLO nginx.angiang.gov.vn\r\n")
	expect("250-mail.angiang.gov.vn")
	expect("250 XCLIENT")
	fmt.Fprint(c, "XCLIENT ADDR=198.51.100.9 LOGIN=x NAME=[UNAVAILABLE]\r\n")
	// The daemon's greeting answers XCLIENT.
	expect("* OK from 198.51.100.9:0 secured=true")
}

type fakeDir struct{ accts map[string]*directory.Account }

func (d fakeDir) Lookup(_ context.Context, a string) (*directory.Account, error) {
	if x := d.accts[a]; x != nil {
		return x, nil
	}
	return nil, mailerr.ErrUnknownUser
}
func (d fakeDir) Authenticate(_ context.Context, login, pass string) (*directory.Account, error) {
	a := d.accts[login]
	switch {
	case login == "down@angiang.gov.vn":
		return nil, mailerr.ErrDirectoryUnavailable
	case a == nil:
		return nil, mailerr.ErrAuthFailed
	case pass != "Đúng-mật-khẩu 1+2%":
		return a, mailerr.ErrAuthFailed
	case a.State != directory.StateActive:
		return a, mailerr.ErrAccountDisabled
	}
	return a, nil
}
func (fakeDir) Units(context.Context) ([]directory.Unit, error) { return nil, nil }
func (fakeDir) Accounts(context.Context, string) ([]directory.Account, error) {
	return nil, nil
}

// recordingPolicy records the hooks called and throttles one address.
type recordingPolicy struct {
	policy.Nop
	calls []string
}

func (p *recordingPolicy) Connect(_ context.Context, c policy.Conn) policy.Decision {
	p.calls = append(p.calls, "connect "+c.IP.String())
	if c.IP.String() == "192.0.2.66" {
		return policy.Decision{Verdict: policy.Reject, Reason: mailerr.ErrConnectionRefused}
	}
	return policy.Decision{}
}
func (p *recordingPolicy) BeforeAuth(_ context.Context, a policy.AuthAttempt) policy.Decision {
	p.calls = append(p.calls, fmt.Sprintf("before %s %s %s", a.Protocol, a.IP, a.Login))
	if a.IP.String() == "192.0.2.99" {
		return policy.Decision{Verdict: policy.Defer, Reason: mailerr.ErrLoginThrottled}
	}
	return policy.Decision{}
}
func (p *recordingPolicy) AfterAuth(_ context.Context, o policy.AuthOutcome) policy.Decision {
	p.calls = append(p.calls, fmt.Sprintf("after %s %d", o.Login, o.Result))
	return policy.Decision{}
}

func TestAuthHTTP(t *testing.T) {
	dir := fakeDir{accts: map[string]*directory.Account{
		"nva@angiang.gov.vn":    {Address: "nva@angiang.gov.vn", State: directory.StateActive, MailHost: "node2"},
		"locked@angiang.gov.vn": {Address: "locked@angiang.gov.vn", State: directory.StateLocked},
	}}
	pol := &recordingPolicy{}
	tickets := NewTickets(nil)
	h := AuthHTTP(AuthDeps{Dir: dir, Policy: pol, Wait: 2 * time.Second, Tickets: tickets,
		Route: func(_ context.Context, a *directory.Account, proto string) (netip.AddrPort, error) {
			if a.MailHost == "node2" && proto == "imap" {
				return netip.MustParseAddrPort("10.0.0.12:1143"), nil
			}
			return netip.AddrPort{}, errors.New("down")
		}})
	ask := func(proto, user, pass, ip string) http.Header {
		r := httptest.NewRequest("GET", "/auth", nil)
		r.Header.Set("Auth-Method", "plain")
		r.Header.Set("Auth-Protocol", proto)
		r.Header.Set("Auth-User", user)
		r.Header.Set("Auth-Pass", pass)
		r.Header.Set("Client-IP", ip)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			t.Fatalf("status %d", w.Code)
		}
		return w.Header()
	}
	// nginx escapes % and spaces in the user name and password.
	good := "%C4%90%C3%BAng-m%E1%BA%ADt-kh%E1%BA%A9u%201+2%25"
	got := ask("imap", "nva@angiang.gov.vn", good, "203.0.113.7")
	if got.Get("Auth-Status") != "OK" || got.Get("Auth-Server") != "10.0.0.12" || got.Get("Auth-Port") != "1143" {
		t.Errorf("good login: %v", got)
	}
	if got.Get("Auth-User") != "nva@angiang.gov.vn" || !tickets.Check("nva@angiang.gov.vn", got.Get("Auth-Pass")) {
		t.Errorf("good login: nginx is not given a ticket for the node: %v", got)
	}
	if strings.Join(pol.calls, "; ") != "connect 203.0.113.7; before imap 203.0.113.7 nva@angiang.gov.vn; after nva@angiang.gov.vn 0" {
		t.Errorf("policy hooks: %q", pol.calls)
	}
	got = ask("imap", "nva@angiang.gov.vn", "wrong", "203.0.113.7")
	if !strings.HasPrefix(got.Get("Auth-Status"), "[AUTHENTICATIONFAILED]") || got.Get("Auth-Wait") != "2" {
		t.Errorf("wrong password: %v", got)
	}
	got = ask("smtp", "nva@angiang.gov.vn", "wrong", "203.0.113.7")
	if got.Get("Auth-Error-Code") != "535 5.7.8" {
		t.Errorf("wrong password over SMTP: %v", got)
	}
	got = ask("pop3", "locked@angiang.gov.vn", good, "203.0.113.7")
	if got.Get("Auth-Status") == "OK" || got.Get("Auth-Wait") != "" {
		t.Errorf("locked account: %v (no retry: Auth-Wait must be absent)", got)
	}
	got = ask("imap", "nva@angiang.gov.vn", good, "192.0.2.99")
	if got.Get("Auth-Status") == "OK" || got.Get("Auth-Wait") == "" || !strings.Contains(pol.calls[len(pol.calls)-1], "before") {
		t.Errorf("throttled address: %v; the password must not be checked (calls %q)", got, pol.calls)
	}
	got = ask("imap", "nva@angiang.gov.vn", good, "192.0.2.66")
	if got.Get("Auth-Status") == "OK" {
		t.Errorf("denied network logged in: %v", got)
	}
	got = ask("imap", "down@angiang.gov.vn", "x", "203.0.113.7")
	if !strings.HasPrefix(got.Get("Auth-Status"), "[UNAVAILABLE]") || got.Get("Auth-Wait") == "" {
		t.Errorf("directory down: %v", got)
	}
	got = ask("pop3", "nva@angiang.gov.vn", good, "203.0.113.7") // home node down for POP3
	if got.Get("Auth-Status") == "OK" || got.Get("Auth-Wait") == "" {
		t.Errorf("home node down: %v", got)
	}
}

func TestTickets(t *testing.T) {
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	tk := NewTickets([]byte("the cluster secret"))
	tk.now = func() time.Time { return now }
	a := tk.Issue("NVA@angiang.gov.vn")
	if !IsTicket(a) || strings.ContainsAny(a, " \r\n") {
		t.Fatalf("ticket %q", a)
	}
	if tk.Check("other@angiang.gov.vn", a) {
		t.Error("a ticket for one address opened another")
	}
	if !tk.Check("nva@angiang.gov.vn", a) {
		t.Fatal("a fresh ticket was refused")
	}
	if tk.Check("nva@angiang.gov.vn", a) {
		t.Error("a ticket was accepted twice")
	}
	other := NewTickets([]byte("another secret"))
	if other.Check("nva@angiang.gov.vn", tk.Issue("nva@angiang.gov.vn")) {
		t.Error("a ticket made with another key was accepted")
	}
	b := tk.Issue("nva@angiang.gov.vn")
	now = now.Add(2 * time.Minute)
	if tk.Check("nva@angiang.gov.vn", b) {
		t.Error("an expired ticket was accepted")
	}
	// Used nonces are forgotten once their tickets expired, not before.
	fresh := NewTickets([]byte("the cluster secret"))
	fresh.now = func() time.Time { return now }
	for range 3 {
		fresh.Check("nva@angiang.gov.vn", fresh.Issue("nva@angiang.gov.vn"))
		now = now.Add(2 * time.Second)
	}
	if len(fresh.used) != 3 {
		t.Fatalf("%d of 3 unexpired nonces kept", len(fresh.used))
	}
	now = now.Add(2 * time.Minute)
	fresh.Check("nva@angiang.gov.vn", fresh.Issue("nva@angiang.gov.vn"))
	if len(fresh.used) != 1 {
		t.Errorf("%d nonces kept after their tickets expired, want 1", len(fresh.used))
	}
	tampered := tk.Issue("nva@angiang.gov.vn")
	if tk.Check("nva@angiang.gov.vn", tampered[:len(tampered)-2]+"AA") {
		t.Error("a tampered ticket was accepted")
	}

	dir := TicketDirectory{Tickets: tk, Directory: fakeDir{accts: map[string]*directory.Account{
		"nva@angiang.gov.vn":    {Address: "nva@angiang.gov.vn", State: directory.StateActive},
		"locked@angiang.gov.vn": {Address: "locked@angiang.gov.vn", State: directory.StateLocked},
	}}}
	ctx := context.Background()
	if acct, err := dir.Authenticate(ctx, "nva@angiang.gov.vn", tk.Issue("nva@angiang.gov.vn")); err != nil || acct.Address != "nva@angiang.gov.vn" {
		t.Errorf("ticket login: %v, %v", acct, err)
	}
	if _, err := dir.Authenticate(ctx, "locked@angiang.gov.vn", tk.Issue("locked@angiang.gov.vn")); !errors.Is(err, mailerr.ErrAccountDisabled) {
		t.Errorf("ticket of an account locked since: %v", err)
	}
	if _, err := dir.Authenticate(ctx, "nva@angiang.gov.vn", "congvu-ticket:v1:forged"); !errors.Is(err, mailerr.ErrAuthFailed) {
		t.Errorf("forged ticket: %v", err)
	}
	if _, err := dir.Authenticate(ctx, "nva@angiang.gov.vn", "Đúng-mật-khẩu 1+2%"); err != nil {
		t.Errorf("password still works: %v", err)
	}
}

// countingDir counts password checks.
type countingDir struct {
	fakeDir
	checks *int
}

func (d countingDir) Authenticate(ctx context.Context, login, pass string) (*directory.Account, error) {
	*d.checks++
	return d.fakeDir.Authenticate(ctx, login, pass)
}

// Behind nginx every client connection is an auth_http request: a
// verified password is remembered (as the IMAP server does), so a mail
// client reconnecting does not pay argon2id each time, while the policy
// still sees every login and a wrong or changed password goes to the
// directory.
func TestAuthHTTPRemembersVerifiedPasswords(t *testing.T) {
	changed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	acct := &directory.Account{Address: "nva@angiang.gov.vn", State: directory.StateActive, PasswordChanged: changed}
	checks := 0
	dir := countingDir{fakeDir{accts: map[string]*directory.Account{acct.Address: acct}}, &checks}
	pol := &recordingPolicy{}
	h := AuthHTTP(AuthDeps{Dir: dir, Policy: pol, Creds: authcache.New(time.Minute, 10),
		Route: func(context.Context, *directory.Account, string) (netip.AddrPort, error) {
			return netip.MustParseAddrPort("10.0.0.12:1143"), nil
		}})
	ask := func(pass string) string {
		r := httptest.NewRequest("GET", "/auth", nil)
		for k, v := range map[string]string{"Auth-Method": "plain", "Auth-Protocol": "imap", "Auth-User": acct.Address,
			"Auth-Pass": pass, "Client-IP": "203.0.113.7"} {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Header().Get("Auth-Status")
	}
	good := "%C4%90%C3%BAng-m%E1%BA%ADt-kh%E1%BA%A9u%201+2%25"
	for i := range 3 {
		if st := ask(good); st != "OK" {
			t.Fatalf("login %d: %q", i, st)
		}
	}
	if checks != 1 {
		t.Errorf("three logins with the same password: %d password checks, want 1", checks)
	}
	if n := strings.Count(strings.Join(pol.calls, ";"), "after "); n != 3 {
		t.Errorf("the policy saw %d of 3 logins: %q", n, pol.calls)
	}
	if st := ask("wrong"); st == "OK" || checks != 2 {
		t.Errorf("wrong password: %q after %d checks (it must reach the directory)", st, checks)
	}
	acct.PasswordChanged = changed.Add(time.Hour) // changed on the web since
	if st := ask(good); st != "OK" || checks != 3 {
		t.Errorf("after a password change: %q after %d checks (the old entry must not be used)", st, checks)
	}
	acct.State = directory.StateLocked
	if st := ask(good); st == "OK" {
		t.Errorf("locked account logged in from the cache: %q", st)
	}
}

func TestSecuredByProxyOnlyForProxiedConnections(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if SecuredByProxy(a) {
		t.Error("a plain connection claims the proxy ended its TLS")
	}
	if !SecuredByProxy(wrapped{&proxiedConn{Conn: a}}) {
		t.Error("a proxied connection behind a wrapper (connlimit) is not recognised")
	}
}

// wrapped is what connlimit does to a connection.
type wrapped struct{ net.Conn }

func (w wrapped) Unwrap() net.Conn { return w.Conn }
