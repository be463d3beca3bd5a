package core

import (
	"net/http/httptest"
	"testing"
	"time"

	"congvu/directory"
)

// FuzzHomeTicket: whatever a client puts in the ticket header, the check
// neither panics nor accepts it, unless it is the one ticket issued for
// that request (and then once only).
func FuzzHomeTicket(f *testing.F) {
	p, err := NewHomeProxy(HomeConfig{Self: "node2", Secret: []byte("a-secret-every-node-shares-2026"),
		HomeOf:  func(*directory.Account) string { return "node2" },
		WebAddr: func(string) (string, string, bool) { return "", "", false }})
	if err != nil {
		f.Fatal(err)
	}
	issue := func(tk homeTicket) string {
		s, err := p.issue(tk)
		if err != nil {
			f.Fatal(err)
		}
		return s
	}
	valid := homeTicket{Address: "anv@khanhhoa.gov.vn", CSRF: "tok", Method: "GET", Path: "/mail?", Node: "node2",
		Expires: time.Now().Add(time.Minute).Unix(), Nonce: "n1", Notice: &Notice{Kind: "ok", VI: "Đã gửi thư."}}
	f.Add(issue(valid))
	expired := valid
	expired.Expires, expired.Nonce = 1, "n2"
	f.Add(issue(expired))
	other := valid
	other.Node, other.Nonce = "node3", "n3"
	f.Add(issue(other))
	f.Add("x")
	f.Add("")
	f.Add(".")
	f.Add("eyJhIjoiYSJ9.AAAA")
	f.Add("e30.e30.e30")
	f.Fuzz(func(t *testing.T, ticket string) {
		r := httptest.NewRequest("GET", "https://mail.example/mail", nil)
		r.Header.Set(HomeTicketHeader, ticket)
		got, err := p.verify(r)
		if err != nil {
			return
		}
		// Only a ticket this proxy signed can pass.
		payload, mac, _ := cutLast(ticket)
		if p.mac(payload) != mac || got.Node != "node2" || got.Path != "/mail?" {
			t.Fatalf("accepted %q as %+v", ticket, got)
		}
		if _, err := p.verify(r); err == nil {
			t.Fatalf("ticket %q accepted twice", ticket)
		}
	})
}

func cutLast(s string) (string, string, bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
