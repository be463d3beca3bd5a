package reorg

import (
	"bytes"
	"context"
	"io"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"congvu/policy"
)

type sentMail struct {
	from  string
	rcpts []string
	msg   string
}

type outbox struct {
	mu   sync.Mutex
	sent []sentMail
}

func (o *outbox) send(_ context.Context, from string, rcpts []string, msg io.Reader) error {
	b, _ := io.ReadAll(msg)
	o.mu.Lock()
	o.sent = append(o.sent, sentMail{from, rcpts, string(b)})
	o.mu.Unlock()
	return nil
}

func (o *outbox) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.sent)
}

// A sender of mail to an old address is told the new one at most once per
// period (the boundary exact), never when the message is automatic, from
// a list or the null sender; every arrival is counted per domain with its
// distinct senders; mail to an address that is not old is neither.
func TestOldAddressNotice(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	old := "thanhnn.skhcn@" + domain
	if _, err := e.svc.MoveAccount(ctx, "admin", old, "22366", "điều động"); err != nil {
		t.Fatal(err)
	}
	moved := "thanhnn.nhatrang@" + domain
	box := &outbox{}
	period := 30 * 24 * time.Hour
	o := NewOldAddresses(NoticeConfig{Notify: true, Period: period, Hostname: "mail." + domain}, e.org, box.send, nil, nil)
	defer o.Close()
	acct := e.lookup(moved)
	person := textproto.MIMEHeader{"Message-Id": {"<abc@bocongan.gov.vn>"}, "Subject": {"Cong van"}}
	arrive := func(given, sender string, h textproto.MIMEHeader, at time.Time) {
		t.Helper()
		if err := o.handle(ctx, arrival{given: given, account: acct.Address, sender: sender, header: h, at: at}); err != nil {
			t.Fatal(err)
		}
	}
	t0 := e.now.Add(time.Hour)
	arrive(old, "vanthu@bocongan.gov.vn", person, t0)
	if box.count() != 1 {
		t.Fatalf("first mail to the old address: %d notices", box.count())
	}
	n := box.sent[0]
	body := n.msg[strings.Index(n.msg, "\r\n\r\n"):]
	dec, _ := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
	if n.from != "" || len(n.rcpts) != 1 || n.rcpts[0] != "vanthu@bocongan.gov.vn" ||
		!strings.Contains(n.msg, "Auto-Submitted: auto-replied\r\n") || !strings.Contains(n.msg, "In-Reply-To: <abc@bocongan.gov.vn>\r\n") ||
		!strings.Contains(n.msg, "From: =?utf-8?") || !strings.Contains(n.msg, "<postmaster@"+domain+">") ||
		!bytes.Contains(dec, []byte("Địa chỉ thư "+old+" đã chuyển thành "+moved)) || !bytes.Contains(dec, []byte("The address "+old+" has changed to "+moved)) {
		t.Errorf("notice:\n%s\n%s", n.msg, dec)
	}
	arrive(old, "vanthu@bocongan.gov.vn", person, t0.Add(period-time.Nanosecond))
	if box.count() != 1 {
		t.Errorf("a second notice within the period: %d", box.count())
	}
	arrive(old, "VanThu@BoCongAn.gov.vn", person, t0.Add(time.Minute))
	if box.count() != 1 {
		t.Errorf("the same sender in other case got a second notice: %d", box.count())
	}
	arrive(old, "vanthu@bocongan.gov.vn", person, t0.Add(period))
	if box.count() != 2 {
		t.Errorf("after the period: %d notices, want 2", box.count())
	}
	for name, c := range map[string]struct {
		sender string
		h      textproto.MIMEHeader
	}{
		"null sender":    {"", person},
		"auto-generated": {"hethong@bocongan.gov.vn", textproto.MIMEHeader{"Auto-Submitted": {"auto-generated"}}},
		"list":           {"thongbao@hanoi.gov.vn", textproto.MIMEHeader{"List-Id": {"<tb.hanoi.gov.vn>"}}},
		"bulk":           {"tin@hanoi.gov.vn", textproto.MIMEHeader{"Precedence": {"bulk"}}},
		"daemon":         {"MAILER-DAEMON@hanoi.gov.vn", person},
		"request":        {"ds-request@hanoi.gov.vn", person},
	} {
		before := box.count()
		arrive(old, c.sender, c.h, t0)
		if box.count() != before {
			t.Errorf("%s got a notice", name)
		}
	}
	if !Answerable("an@hue.gov.vn", textproto.MIMEHeader{"Auto-Submitted": {"no"}}) {
		t.Error("Auto-Submitted: no is a person's message")
	}
	// Today's address is not old: neither counted nor answered.
	before := box.count()
	arrive(moved, "an@hue.gov.vn", person, t0)
	if box.count() != before {
		t.Error("mail to the current address got a notice")
	}
	// A notice that could not be sent is tried again by the next message.
	failing := NewOldAddresses(NoticeConfig{Notify: true, Period: period}, e.org,
		func(context.Context, string, []string, io.Reader) error { return io.ErrClosedPipe }, nil, nil)
	defer failing.Close()
	if err := failing.handle(ctx, arrival{given: old, account: acct.Address, sender: "lan@hue.gov.vn", header: person, at: t0}); err == nil {
		t.Error("a failed notice reported no error")
	}
	before = box.count()
	arrive(old, "lan@hue.gov.vn", person, t0.Add(time.Minute))
	if box.count() != before+1 {
		t.Error("after a failed notice, the next message got none")
	}
	before = box.count()
	// Off: counted, not answered.
	quiet := NewOldAddresses(NoticeConfig{}, e.org, box.send, nil, nil)
	defer quiet.Close()
	if err := quiet.handle(ctx, arrival{given: old, account: acct.Address, sender: "binh@hue.gov.vn", header: person, at: t0}); err != nil || box.count() != before {
		t.Errorf("notices off: %v, %d sent", err, box.count())
	}

	traffic, err := e.org.TrafficByDomain(ctx, t0.Truncate(24*time.Hour), t0.Add(24*time.Hour), 1)
	if err != nil {
		t.Fatal(err)
	}
	// That day: the first message, the same sender in other case, six
	// unanswerable ones, two from a sender whose first notice failed and
	// one with notices off; 9 distinct senders (the null sender is one).
	if len(traffic) != 1 || traffic[0].Domain != domain || traffic[0].Periods[0].Messages != 11 || traffic[0].Periods[0].Senders != 9 {
		t.Errorf("traffic of the day: %+v", traffic)
	}
	weeks, err := e.org.TrafficByDomain(ctx, t0.Truncate(24*time.Hour), t0.Add(35*24*time.Hour), 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(weeks) != 1 || len(weeks[0].Periods) != 6 || weeks[0].Messages != 13 || weeks[0].Senders != 9 || weeks[0].Periods[4].Messages != 2 {
		t.Errorf("traffic by week: %+v", weeks)
	}

	// Through the delivery hook: the arrival is handled before Close returns.
	o.Delivered(ctx, &policy.Message{Envelope: policy.Envelope{From: "chi@hue.gov.vn"},
		Rcpts: []policy.Recipient{{Address: acct.Address, Account: acct, Given: strings.ToUpper(old)}},
		Open:  func() io.Reader { return strings.NewReader("Subject: x\r\nMessage-ID: <q@hue>\r\n\r\nx\r\n") }})
	o.Close()
	if box.count() != before+1 || box.sent[before].rcpts[0] != "chi@hue.gov.vn" {
		t.Errorf("notice through the delivery hook: %d sent", box.count())
	}
}

// Mail to an old address is counted once per delivered message, in one
// place: looking the address up (RCPT, webmail completion, a message
// refused later) counts nothing, and the per-address list (`congvu domain
// alias list`, /admin/reorg) and the per-domain report
// (/admin/reports/old-addresses) give the same number.
func TestOldAddressTrafficCountedOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.AddDomainAlias(ctx, "admin", "ninhthuan.gov.vn", domain); err != nil {
		t.Fatal(err)
	}
	old := "thanhnn.skhcn@ninhthuan.gov.vn"
	for range 3 { // RCPT, the policy engine, a retry: lookups, not messages
		if a := e.lookup(old); a.Address != "thanhnn.skhcn@"+domain {
			t.Fatalf("%s resolves to %s", old, a.Address)
		}
	}
	o := NewOldAddresses(NoticeConfig{}, e.org, nil, nil, nil)
	acct := e.lookup("thanhnn.skhcn@" + domain)
	o.Delivered(ctx, &policy.Message{Envelope: policy.Envelope{From: "vanthu@bocongan.gov.vn"},
		Rcpts: []policy.Recipient{{Address: acct.Address, Given: old, Account: acct}}, Open: func() io.Reader { return strings.NewReader("Subject: x\r\n\r\nx\r\n") }})
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	org := e.org
	since := time.Now().AddDate(0, 0, -1)
	list, err := org.TrafficSince(ctx, since)
	if err != nil || len(list) != 1 || list[0].Address != old || list[0].Messages != 1 {
		t.Errorf("per-address traffic after one message and three lookups: %+v %v", list, err)
	}
	per, err := org.TrafficByDomain(ctx, since, time.Now().Add(24*time.Hour), 1)
	if err != nil || len(per) != 1 || per[0].Domain != "ninhthuan.gov.vn" || per[0].Messages != 1 || per[0].Senders != 1 {
		t.Errorf("per-domain traffic: %+v %v", per, err)
	}
}
