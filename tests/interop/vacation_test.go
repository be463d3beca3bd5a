package interop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testVacation: an official sets a vacation rule over ManageSieve; mail
// from Postfix's users gets one reply per sender (RFC 5230), sent back
// through the outbound queue, DKIM-signed, with the null reverse-path and
// Auto-Submitted: auto-replied (RFC 3834); a list message and a bounce get
// none.
func testVacation(t *testing.T, p *province) {
	s := p.congvu
	official := s.user(3)
	script := filepath.Join(t.TempDir(), "vacation.sieve")
	os.WriteFile(script, []byte("require [\"vacation\"];\r\nvacation :days 1 :subject \"Nghỉ phép\" text:\r\nTôi nghỉ phép đến hết tuần.\r\nViệc gấp xin liên hệ văn thư.\r\n.\r\n;\r\n"), 0o600)
	sieveConnect(t, s, official, "--upload", "--localsieve", script, "--remotesieve", "nghi-phep")
	sieveConnect(t, s, official, "--activate", "--remotesieve", "nghi-phep")

	replies := func(addr string) []string {
		var out []string
		for _, m := range p.postfixMail(addr) {
			if strings.Contains(m, "Auto-Submitted: auto-replied") {
				out = append(out, m)
			}
		}
		return out
	}
	waitInbox := func(subject string) {
		t.Helper()
		got := s.waitFor(official, "INBOX", func(ms []fetched) bool {
			for _, m := range ms {
				if strings.Contains(string(m.Raw), "Subject: "+subject) {
					return true
				}
			}
			return false
		})
		for _, m := range got {
			if strings.Contains(string(m.Raw), "Subject: "+subject) {
				return
			}
		}
		t.Fatalf("%q not delivered to %s", subject, official.Address)
	}
	list := "giamdoc@" + otherDomain
	before, beforeList := len(replies(otherUser)), len(replies(list))

	p.sendViaPostfix(otherUser, official.Address, simpleMessage(otherUser, official.Address, "Hoi ve cong van 12", "Xin hoi"))
	waitInbox("Hoi ve cong van 12")
	deadline := time.Now().Add(30 * time.Second)
	for len(replies(otherUser)) == before && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	got := replies(otherUser)
	if len(got) != before+1 {
		t.Fatalf("vacation replies at Postfix: %d, want %d", len(got), before+1)
	}
	reply := got[len(got)-1]
	for _, want := range []string{"Return-Path: <>", "From: ", "<" + official.Address + ">", "To: <" + otherUser + ">",
		"Subject: =?utf-8?q?Ngh=E1=BB=89_ph=C3=A9p?=", "In-Reply-To: <", "d=" + demoDomain} {
		if !strings.Contains(reply, want) {
			t.Errorf("reply lacks %q:\n%.2000s", want, reply)
		}
	}
	if out, err := p.opendkimVerify(reply); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("opendkim-testmsg rejects the vacation reply: %v\n%s", err, out)
	}

	// The same sender again within :days: no second reply.
	p.sendViaPostfix(otherUser, official.Address, simpleMessage(otherUser, official.Address, "Hoi lan hai", "Xin hoi lai"))
	waitInbox("Hoi lan hai")
	// A list message and a bounce (null reverse-path) from Postfix.
	listMsg := []byte("From: " + list + "\r\nTo: " + official.Address + "\r\nSubject: Ban tin tuan\r\nList-Id: <bantin.angiang.gov.vn>\r\nPrecedence: list\r\nMessage-ID: <bt1@angiang.gov.vn>\r\n\r\nBan tin\r\n")
	p.sendViaPostfix(list, official.Address, listMsg)
	waitInbox("Ban tin tuan")
	// Postfix's bounces authenticate by the SPF of its HELO name (RFC 7208
	// 2.3), as any MTA's should, so DMARC lets them in.
	p.addDNS(otherMX + `. TXT "v=spf1 ip4:127.0.0.1 -all"`)
	bounce := []byte("From: MAILER-DAEMON@" + otherMX + "\r\nTo: " + official.Address + "\r\nSubject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <b1@" + otherMX + ">\r\n\r\nKhong gui duoc\r\n")
	p.sendViaPostfix("<>", official.Address, bounce)
	waitInbox("Undelivered Mail Returned to Sender")
	waitQueueEmpty(t, p)
	time.Sleep(2 * time.Second) // a wrongly sent reply would be at Postfix by now
	waitQueueEmpty(t, p)
	if n := len(replies(otherUser)); n != before+1 {
		t.Errorf("replies to %s after a second message: %d, want %d", otherUser, n, before+1)
	}
	if n := len(replies(list)); n != beforeList {
		t.Errorf("a list message got %d vacation replies", n-beforeList)
	}
}
