package core_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"congvu/directory"
	"congvu/web/core"
	"congvu/web/webtest"
)

var clusterSecret = []byte("a-secret-every-node-shares-2026")

// twoNodes is node 1 (sessions of the test's browsers) forwarding every
// official's mailbox pages to node 2, both on one directory.
type twoNodes struct {
	n1, n2  *webtest.Env
	tickets []string // the tickets node 2 received, in order
	mu      sync.Mutex
}

func startTwoNodes(t *testing.T) *twoNodes {
	tn := &twoNodes{}
	var n2addr string
	pool := x509.NewCertPool()
	homes := func(self string, peer func() string) func(*core.Options) {
		return func(o *core.Options) {
			p, err := core.NewHomeProxy(core.HomeConfig{Self: self, Secret: clusterSecret, TLS: &tls.Config{RootCAs: pool},
				HomeOf: func(*directory.Account) string { return "node2" },
				WebAddr: func(node string) (string, string, bool) {
					return peer(), "example.com", node == "node2" && peer() != ""
				}})
			if err != nil {
				t.Fatal(err)
			}
			o.Home = p
		}
	}
	room := func(node string) func(*core.Site) {
		return func(s *core.Site) {
			s.HandleFunc("GET /mail", s.Authed(func(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
				notice := ""
				if n := s.Page(c, "", "", nil).Notice; n != nil {
					notice = n.VI
				}
				fmt.Fprintf(w, "mailbox of %s on %s from %s q=%s notice=%q csrf=%s", c.Acct.Address, node, core.ClientIP(r), r.URL.RawQuery, notice, c.Session.CSRF)
			}))
			s.HandleFunc("POST /mail/compose", s.Authed(func(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
				mr := core.Multipart(r)
				if mr == nil {
					http.Error(w, "no form", 400)
					return
				}
				var got []string
				for {
					p, err := mr.NextPart()
					if err != nil {
						break
					}
					b, _ := io.ReadAll(p)
					got = append(got, p.FormName()+"="+string(b))
				}
				s.FlashAndGo(w, r, c, "/mail?sent=1", &core.Notice{Kind: "ok", VI: "Đã gửi thư: " + strings.Join(got, ","), EN: "Sent."})
			}))
		}
	}
	tn.n2 = webtest.New(t, homes("node2", func() string { return "" }), room("node2"))
	tn.n1 = webtest.New(t, func(o *core.Options) {
		o.Dir = tn.n2.Dir // the directory both nodes share
		homes("node1", func() string { return n2addr })(o)
	}, room("node1"))
	pool.AddCert(tn.n2.Srv.Certificate())
	inner := tn.n2.Srv.Config.Handler
	tn.n2.Srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get(core.HomeTicketHeader); v != "" {
			tn.mu.Lock()
			tn.tickets = append(tn.tickets, v)
			tn.mu.Unlock()
		}
		inner.ServeHTTP(w, r)
	})
	n2addr = strings.TrimPrefix(tn.n2.Srv.URL, "https://")
	return tn
}

func (tn *twoNodes) lastTicket(t *testing.T) string {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	if len(tn.tickets) == 0 {
		t.Fatal("node 2 received no ticket")
	}
	return tn.tickets[len(tn.tickets)-1]
}

// An official signed in on node 1 reads and posts on node 2, where the
// mailbox is; node 2's notice comes back to node 1's session.
func TestHomeProxyForwardsMailboxPages(t *testing.T) {
	tn := startTwoNodes(t)
	b := tn.n1.Browser()
	webtest.Expect(t, b.Login("anv.skhcn@khanhhoa.gov.vn", webtest.SecretPW), 200)
	r := b.Get("/mail?folder=INBOX")
	webtest.Expect(t, r, 200, "mailbox of anv.skhcn@khanhhoa.gov.vn on node2 from 127.0.0.1 q=folder=INBOX")
	csrf := b.CSRF("/password")
	if !strings.Contains(r.Body, "csrf="+csrf) {
		t.Errorf("node 2 did not get node 1's session token %s: %s", csrf, r.Body)
	}

	// A multipart POST reaches node 2 whole; the notice it sets shows on
	// the next page.
	r = b.PostMultipart("/password", "/mail/compose", [][2]string{{"to", "tramdt.nhatrang@khanhhoa.gov.vn"}, {"subject", "Họp giao ban"}}, nil)
	webtest.Expect(t, r, 200, "on node2", "q=sent=1", "Đã gửi thư: to=tramdt.nhatrang@khanhhoa.gov.vn,subject=Họp giao ban")
	if csp := r.Header.Values("Content-Security-Policy"); len(csp) != 1 {
		t.Errorf("a forwarded page has %d CSP headers: %q", len(csp), csp)
	}
	for _, c := range r.Header.Values("Set-Cookie") {
		t.Errorf("a forwarded answer set a cookie: %s", c)
	}

	// A POST without the session's token stops at node 1.
	before := len(tn.tickets)
	r = b.Do("POST", "/mail/compose", url.Values{"csrf": {"wrong"}, "to": {"x@y.vn"}})
	webtest.Expect(t, r, 403, "CSRF")
	if len(tn.tickets) != before {
		t.Error("a POST with a wrong token was forwarded")
	}
}

// Tickets stand for a session only as node 1 issued them: never one a
// client makes up, never twice, never for another path.
func TestHomeProxyRefusesBadTickets(t *testing.T) {
	tn := startTwoNodes(t)
	b := tn.n1.Browser()
	webtest.Expect(t, b.Login("anv.skhcn@khanhhoa.gov.vn", webtest.SecretPW), 200)
	webtest.Expect(t, b.Get("/mail"), 200, "on node2")
	real := tn.lastTicket(t)

	direct := tn.n2.Browser()
	for name, tc := range map[string]struct{ path, ticket string }{
		"made up":      {"/mail", "eyJhIjoibnZhQHNvdHR0dC5raGFuaGhvYS5nb3Yudm4ifQ.c2lnbmF0dXJl"},
		"garbage":      {"/mail", "x"},
		"replayed":     {"/mail", real},
		"another path": {"/mail?folder=Sent", real},
		"tampered":     {"/mail", "A" + real[1:]},
	} {
		direct.Header.Set(core.HomeTicketHeader, tc.ticket)
		r := direct.Get(tc.path)
		if r.StatusCode != 403 || strings.Contains(r.Body, "mailbox of") || !strings.Contains(r.Body, "không hợp lệ") {
			t.Errorf("%s ticket: %d %.300s", name, r.StatusCode, r.Body)
		}
	}
	// A client's header sent to node 1 is not passed on as a ticket.
	b.Header.Set(core.HomeTicketHeader, real)
	if r := b.Get("/mail"); r.StatusCode != 403 {
		t.Errorf("client ticket header on node 1: %d", r.StatusCode)
	}
}

// With the home node down, node 1 says so in Vietnamese; other pages work.
func TestHomeProxyHomeDown(t *testing.T) {
	tn := startTwoNodes(t)
	b := tn.n1.Browser()
	webtest.Expect(t, b.Login("anv.skhcn@khanhhoa.gov.vn", webtest.SecretPW), 200)
	tn.n2.Srv.Close()
	r := b.Get("/mail")
	webtest.Expect(t, r, 503, "Hộp thư của bạn tạm thời không truy cập được")
	if r.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	webtest.Expect(t, b.Get("/password"), 200)
}
