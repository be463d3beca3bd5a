package sieve

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/storage"
)

type sent struct {
	from string
	to   []string
	msg  string
}

type outbox struct {
	mu   sync.Mutex
	sent []sent
}

func (o *outbox) send(_ context.Context, from string, to []string, msg io.Reader) error {
	b, _ := io.ReadAll(msg)
	o.mu.Lock()
	o.sent = append(o.sent, sent{from, to, string(b)})
	o.mu.Unlock()
	return nil
}

func (o *outbox) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.sent)
}

// stateOnly allows forwarding into *.gov.vn, as the policy engine's rule.
type stateOnly struct{}

func (stateOnly) ForwardTargets(_ context.Context, acct *directory.Account, target string, _ []string) ([]string, []byte, error) {
	if strings.HasSuffix(target, ".gov.vn") {
		return []string{target}, []byte("Delivered-To: " + acct.Address + "\r\n"), nil
	}
	return nil, nil, mailerr.ErrForwardOutside
}

type fixture struct {
	t     *testing.T
	store *Store
	mail  *storage.FileStore
	out   *outbox
	d     *Deliverer
	acct  *directory.Account
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := OpenStore(t.TempDir(), Limits{MaxScriptBytes: 64 << 10, MaxScripts: 5})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ms.Close() })
	f := &fixture{t: t, store: st, mail: ms, out: &outbox{}, now: time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC),
		acct: &directory.Account{Address: "thanhnn.skhcn@khanhhoa.gov.vn", Aliases: []string{"thanh.nguyen@khanhhoa.gov.vn"},
			DisplayName: "Nguyễn Ngọc Thành"}}
	f.d = NewDeliverer(DelivererOptions{Store: st, Mail: ms, Send: f.out.send, Forward: stateOnly{}, Hostname: "mail.khanhhoa.gov.vn",
		MaxRedirects: 4, VacationDefaultDays: 7, VacationMinDays: 1, Now: func() time.Time { return f.now }})
	return f
}

func (f *fixture) activate(src string) {
	f.t.Helper()
	if err := f.store.Put(f.acct.Address, "rules", src); err != nil {
		f.t.Fatal(err)
	}
	if err := f.store.SetActive(f.acct.Address, "rules"); err != nil {
		f.t.Fatal(err)
	}
}

// deliver plans, stores as smtpd does, and finishes.
func (f *fixture) deliver(from, header string) *Plan {
	f.t.Helper()
	raw := strings.ReplaceAll(header, "\n", "\r\n") + "\r\n\r\nNội dung.\r\n"
	ctx := context.Background()
	p := f.d.Plan(ctx, Delivery{Account: f.acct, EnvelopeFrom: from, EnvelopeTo: f.acct.Address, Header: []byte(raw),
		Size: int64(len(raw)), Open: func() io.Reader { return strings.NewReader(raw) }})
	var rcpts []storage.Recipient
	for _, tg := range p.Targets {
		rcpts = append(rcpts, storage.Recipient{User: f.acct.Address, Folder: tg.Folder, Flags: tg.Flags})
	}
	if len(rcpts) > 0 {
		res, err := f.mail.Deliver(ctx, strings.NewReader(raw), rcpts)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				f.t.Fatal(r.Err)
			}
		}
	}
	f.d.Finish(ctx, p)
	return p
}

func (f *fixture) folder(name string) []storage.MessageInfo {
	f.t.Helper()
	mb, err := f.mail.Mailbox(context.Background(), f.acct.Address, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	msgs, err := mb.Messages(context.Background(), name)
	if err != nil {
		f.t.Fatalf("%s: %v", name, err)
	}
	return msgs
}

func TestDeliverFileintoFlagsAndCreate(t *testing.T) {
	f := newFixture(t)
	f.activate(`require ["fileinto", "imap4flags", "mailbox", "envelope"];
if address :domain :is "from" "bocongan.gov.vn" { fileinto :create :flags ["\\Flagged", "$CongVan"] "Công văn/Bộ Công an"; stop; }
if header :contains "subject" "[quảng cáo]" { discard; stop; }
if envelope :is "from" "noexist@x.gov.vn" { fileinto "Không có"; }`)
	f.deliver("a@bocongan.gov.vn", "From: A <a@bocongan.gov.vn>\nTo: thanhnn.skhcn@khanhhoa.gov.vn\nSubject: Công văn số 12")
	msgs := f.folder("Công văn/Bộ Công an")
	if len(msgs) != 1 || strings.Join(msgs[0].Flags, " ") != `$CongVan \Flagged` {
		t.Fatalf("created folder: %+v", msgs)
	}
	if n := len(f.folder("INBOX")); n != 0 {
		t.Errorf("INBOX has %d", n)
	}
	p := f.deliver("b@x.example", "From: b@x.example\nSubject: [Quảng cáo] giảm giá")
	if len(p.Targets) != 0 || len(f.folder("INBOX")) != 0 {
		t.Errorf("discard stored %+v", p.Targets)
	}
	// fileinto a folder that does not exist, without :create: INBOX.
	f.deliver("noexist@x.gov.vn", "From: noexist@x.gov.vn\nSubject: x")
	if n := len(f.folder("INBOX")); n != 1 {
		t.Errorf("INBOX has %d, want the message fileinto could not place", n)
	}
}

func TestDeliverRedirectPolicy(t *testing.T) {
	f := newFixture(t)
	f.activate(`redirect "vanthu@angiang.gov.vn"; redirect "me@gmail.com";`)
	f.deliver("a@b.gov.vn", "From: a@b.gov.vn\nSubject: chuyển")
	if f.out.count() != 1 || f.out.sent[0].to[0] != "vanthu@angiang.gov.vn" || f.out.sent[0].from != f.acct.Address ||
		!strings.HasPrefix(f.out.sent[0].msg, "Delivered-To: thanhnn.skhcn@khanhhoa.gov.vn\r\nFrom: a@b.gov.vn") {
		t.Fatalf("sent %+v", f.out.sent)
	}
	// The refused redirect to Gmail keeps the message.
	if n := len(f.folder("INBOX")); n != 1 {
		t.Errorf("INBOX has %d, want the kept copy", n)
	}
	// A message that already went through this account is not sent again.
	f2 := newFixture(t)
	f2.activate(`redirect "vanthu@angiang.gov.vn";`)
	f2.deliver("a@b.gov.vn", "Delivered-To: thanhnn.skhcn@khanhhoa.gov.vn\nFrom: a@b.gov.vn\nSubject: vòng")
	if f2.out.count() != 0 || len(f2.folder("INBOX")) != 1 {
		t.Errorf("loop: sent %d, inbox %d", f2.out.count(), len(f2.folder("INBOX")))
	}
}

func TestVacationOncePerSender(t *testing.T) {
	f := newFixture(t)
	f.activate(`require "vacation"; vacation :days 3 :subject "Nghỉ phép" "Tôi nghỉ phép đến 15/6.";`)
	to := "To: Thành <thanhnn.skhcn@khanhhoa.gov.vn>\nSubject: =?UTF-8?Q?H=E1=BB=8Dp?=\nMessage-ID: <m1@angiang.gov.vn>"
	f.deliver("vanthu@angiang.gov.vn", "From: vanthu@angiang.gov.vn\n"+to)
	if f.out.count() != 1 {
		t.Fatalf("first message: %d replies", f.out.count())
	}
	r := f.out.sent[0]
	for _, want := range []string{"Auto-Submitted: auto-replied\r\n", "In-Reply-To: <m1@angiang.gov.vn>\r\n",
		"References: <m1@angiang.gov.vn>\r\n", "To: <vanthu@angiang.gov.vn>\r\n", "Subject: =?utf-8?q?Ngh=E1=BB=89_ph=C3=A9p?=\r\n",
		"From: =?utf-8?q?Nguy=E1=BB=85n_Ng=E1=BB=8Dc_Th=C3=A0nh?= <thanhnn.skhcn@khanhhoa.gov.vn>\r\n", "Content-Type: text/plain; charset=utf-8"} {
		if !strings.Contains(r.msg, want) {
			t.Errorf("reply lacks %q:\n%s", want, r.msg)
		}
	}
	if r.from != "" || r.to[0] != "vanthu@angiang.gov.vn" {
		t.Errorf("envelope from %q to %v", r.from, r.to)
	}
	f.deliver("vanthu@angiang.gov.vn", "From: vanthu@angiang.gov.vn\n"+to)
	if f.out.count() != 1 {
		t.Errorf("second message within 3 days: %d replies", f.out.count())
	}
	// The record survives a new Store (a restart) and expires after :days.
	st2, _ := OpenStore(f.store.dir, f.store.limits)
	f.d.o.Store = st2
	f.now = f.now.Add(2 * 24 * time.Hour)
	f.deliver("vanthu@angiang.gov.vn", "From: vanthu@angiang.gov.vn\n"+to)
	if f.out.count() != 1 {
		t.Errorf("after a restart, day 2: %d replies", f.out.count())
	}
	f.now = f.now.Add(26 * time.Hour)
	f.deliver("vanthu@angiang.gov.vn", "From: vanthu@angiang.gov.vn\n"+to)
	if f.out.count() != 2 {
		t.Errorf("after 3 days: %d replies", f.out.count())
	}
	// Every message is stored whatever the replies.
	if n := len(f.folder("INBOX")); n != 4 {
		t.Errorf("INBOX has %d", n)
	}
}

func TestVacationNeverToListsOrRobots(t *testing.T) {
	f := newFixture(t)
	f.activate(`require "vacation"; vacation "Tôi nghỉ phép.";`)
	to := "\nTo: thanhnn.skhcn@khanhhoa.gov.vn\nSubject: x"
	for _, c := range []struct{ from, header string }{
		{"", "From: MAILER-DAEMON@angiang.gov.vn" + to},
		{"mailer-daemon@angiang.gov.vn", "From: x@angiang.gov.vn" + to},
		{"owner-list@lists.gov.vn", "From: a@lists.gov.vn" + to},
		{"list-request@lists.gov.vn", "From: a@lists.gov.vn" + to},
		{"a@lists.gov.vn", "From: a@lists.gov.vn\nList-Id: <tin.lists.gov.vn>" + to},
		{"a@lists.gov.vn", "From: a@lists.gov.vn\nList-Unsubscribe: <mailto:u@lists.gov.vn>" + to},
		{"a@x.gov.vn", "From: a@x.gov.vn\nPrecedence: bulk" + to},
		{"a@x.gov.vn", "From: a@x.gov.vn\nPrecedence: junk" + to},
		{"a@x.gov.vn", "From: a@x.gov.vn\nPrecedence: list" + to},
		{"a@x.gov.vn", "From: a@x.gov.vn\nAuto-Submitted: auto-generated" + to},
		{"a@x.gov.vn", "From: a@x.gov.vn\nAuto-Submitted: auto-replied (vacation)" + to},
		{"thanhnn.skhcn@khanhhoa.gov.vn", "From: thanhnn.skhcn@khanhhoa.gov.vn" + to},
		// Not addressed to the user (Bcc, or a list that relays).
		{"a@x.gov.vn", "From: a@x.gov.vn\nTo: someone@x.gov.vn\nSubject: x"},
	} {
		f.deliver(c.from, c.header)
	}
	if f.out.count() != 0 {
		t.Fatalf("replies sent: %+v", f.out.sent)
	}
	// :from naming somebody else is not used (it would be DKIM-signed as
	// theirs): the reply comes from the official's own address.
	f2 := newFixture(t)
	f2.activate(`require "vacation"; vacation :addresses ["giamdoc@khanhhoa.gov.vn"] :from "giamdoc@khanhhoa.gov.vn" "Vắng.";`)
	f2.deliver("a@x.gov.vn", "From: a@x.gov.vn\nTo: giamdoc@khanhhoa.gov.vn\nSubject: x")
	if f2.out.count() != 1 || !strings.Contains(f2.out.sent[0].msg, "<thanhnn.skhcn@khanhhoa.gov.vn>\r\nTo:") {
		t.Errorf(":from of another account: %+v", f2.out.sent)
	}
	// Auto-Submitted: no and an alias in Cc do get a reply, from the alias.
	f.deliver("a@x.gov.vn", "From: a@x.gov.vn\nAuto-Submitted: no\nTo: b@x.gov.vn\nCc: Thanh <thanh.nguyen@khanhhoa.gov.vn>\nSubject: x")
	if f.out.count() != 1 || !strings.Contains(f.out.sent[0].msg, "<thanh.nguyen@khanhhoa.gov.vn>\r\nTo:") {
		t.Errorf("alias: %+v", f.out.sent)
	}
}

func TestSettingsRoundTripWithManageSieveScript(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	user := f.acct.Address
	// A user with rules of their own, uploaded over ManageSieve.
	own := "require [\"fileinto\"];\r\n# my rules\r\nif header :contains \"subject\" \"báo cáo\" { fileinto \"Báo cáo\"; }\r\n"
	f.activate(own)
	v := Vacation{Enabled: true, Subject: `Nghỉ "phép"`, Body: "Tôi nghỉ phép.\n.Dòng bắt đầu bằng dấu chấm\nXin cảm ơn.",
		Days: 5, Start: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC)}
	if err := f.store.SetVacation(ctx, user, v); err != nil {
		t.Fatal(err)
	}
	got, err := f.store.Vacation(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Enabled || got.Subject != v.Subject || got.Body != v.Body || got.Days != 5 ||
		got.Start.Format("2006-01-02") != "2025-06-01" || got.End.Format("2006-01-02") != "2025-06-15" {
		t.Fatalf("round trip: %+v", got)
	}
	src, _ := f.store.Get(user, "rules")
	if !strings.HasPrefix(src, "require [\"fileinto\"];\n# congvu-vacation-begin") || !strings.Contains(src, "# my rules") {
		t.Errorf("the user's script was not kept around the block:\n%s", src)
	}
	// The rule applies at delivery: 2 June is inside the period.
	f.deliver("a@angiang.gov.vn", "From: a@angiang.gov.vn\nTo: thanhnn.skhcn@khanhhoa.gov.vn\nSubject: báo cáo tháng")
	if f.out.count() != 1 {
		t.Errorf("replies %d", f.out.count())
	}
	// Turned off: kept as text, no more replies.
	v.Enabled = false
	if err := f.store.SetVacation(ctx, user, v); err != nil {
		t.Fatal(err)
	}
	got, _ = f.store.Vacation(ctx, user)
	if got.Enabled || got.Body != v.Body {
		t.Errorf("off: %+v", got)
	}
	src, _ = f.store.Get(user, "rules")
	if strings.Count(src, "congvu-vacation-begin") != 1 {
		t.Errorf("block duplicated:\n%s", src)
	}
	f.deliver("b@angiang.gov.vn", "From: b@angiang.gov.vn\nTo: thanhnn.skhcn@khanhhoa.gov.vn\nSubject: x")
	if f.out.count() != 1 {
		t.Errorf("reply while off")
	}
	// A user without a script gets the managed one, active.
	other := "hieuhd.ubnd@khanhhoa.gov.vn"
	if err := f.store.SetVacation(ctx, other, Vacation{Enabled: true, Body: "Vắng mặt."}); err != nil {
		t.Fatal(err)
	}
	if list, _ := f.store.List(other); len(list) != 1 || list[0].Name != ManagedScript || !list[0].Active {
		t.Errorf("managed script: %+v", list)
	}
	if err := f.store.SetVacation(ctx, other, Vacation{Enabled: true}); !errors.Is(err, mailerr.ErrCannotDo) {
		t.Errorf("empty body: %v", err)
	}
}

func TestStoreRules(t *testing.T) {
	f := newFixture(t)
	u := f.acct.Address
	if err := f.store.Put(u, "bad", "if {"); !errors.Is(err, ErrBadScript) {
		t.Errorf("bad script stored: %v", err)
	}
	var se *SyntaxError
	if err := f.store.Put(u, "bad", "keep;\nfoo;"); !errors.As(err, &se) || se.Line != 2 {
		t.Errorf("syntax error line: %v", err)
	}
	for i := range 5 {
		if err := f.store.Put(u, string(rune('a'+i)), "keep;"); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.store.Put(u, "f", "keep;"); !errors.Is(err, ErrTooManyScripts) {
		t.Errorf("sixth script: %v", err)
	}
	if err := f.store.Put(u, "a", strings.Repeat("#", 70<<10)); !errors.Is(err, ErrScriptTooBig) {
		t.Errorf("big script: %v", err)
	}
	f.store.SetActive(u, "a")
	if err := f.store.Delete(u, "a"); !errors.Is(err, ErrActiveScript) {
		t.Errorf("delete active: %v", err)
	}
	if err := f.store.Rename(u, "a", "b"); !errors.Is(err, ErrScriptExists) {
		t.Errorf("rename onto existing: %v", err)
	}
	if err := f.store.Rename(u, "a", "Quy tắc"); err != nil {
		t.Fatal(err)
	}
	list, _ := f.store.List(u)
	var active string
	for _, s := range list {
		if s.Active {
			active = s.Name
		}
	}
	if active != "Quy tắc" {
		t.Errorf("active after rename: %+v", list)
	}
	if err := f.store.Put(u, "x\r\ny", "keep;"); !errors.Is(err, ErrBadScriptName) {
		t.Errorf("name with CRLF: %v", err)
	}
	if _, err := f.store.Get("../../etc/passwd@x", "a"); err == nil {
		t.Error("path escape")
	}
}
