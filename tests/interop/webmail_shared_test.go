package interop

import (
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The văn thư mailbox in the webmail of the real binary: a document
// arrives for the Sở over SMTP; its leader (Giám đốc, rights lrs) sees the
// unit's mailbox as its own group, reads the document and is refused when
// deleting it; the unit's clerk deletes it (to the unit's Trash).
func TestSharedMailboxWebmail(t *testing.T) {
	s := startSystem(t, "")
	unitAddr, clerkAddr, leaderAddr := sharedUnit(t, s)
	box := "Shared/" + strings.Split(unitAddr, "@")[0]
	subject := "Cong van den so 77"
	if err := s.sendMX("vanthu@bocongan.gov.vn", []string{unitAddr}, simpleMessage("vanthu@bocongan.gov.vn", unitAddr, subject, "Noi dung.")); err != nil {
		t.Fatalf("delivery to %s: %v", unitAddr, err)
	}
	byAddr := func(a string) account {
		for _, x := range s.accounts {
			if x.Address == a {
				return x
			}
		}
		t.Fatalf("%s not in the demo accounts", a)
		return account{}
	}
	list := "/mail?" + url.Values{"folder": {box}}.Encode()
	uidOf := func(u *webUser) string {
		t.Helper()
		var p webPage
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
			if p = u.get(list); p.Status == 200 && strings.Contains(p.Body, subject) {
				m := regexp.MustCompile(`data-uid="(\d+)"`).FindStringSubmatch(p.Body)
				if m != nil {
					return m[1]
				}
			}
		}
		t.Fatalf("%s never shows the document: %d\n%.2000s", list, p.Status, p.Body)
		return ""
	}

	leader := s.signInFirst(byAddr(leaderAddr))
	if p := leader.get("/mail"); p.Status != 200 || !strings.Contains(p.Body, "Hộp thư đơn vị:") {
		t.Fatalf("the leader's folder list has no unit mailbox: %d\n%.2000s", p.Status, p.Body)
	}
	uid := uidOf(leader)
	msg := "/mail/msg?" + url.Values{"folder": {box}, "uid": {uid}}.Encode()
	if p := leader.get(msg); p.Status != 200 || !strings.Contains(p.Body, "Noi dung.") {
		t.Fatalf("the leader cannot read the document: %d\n%.2000s", p.Status, p.Body)
	}
	del := url.Values{"folder": {box}, "uid": {uid}, "action": {"delete"}}
	if p := leader.submit(list, "/mail/action", del); p.Status != 403 || !strings.Contains(p.Body, "Bạn không có quyền") {
		t.Fatalf("a leader's delete: %d\n%.2000s", p.Status, p.Body)
	}

	clerk := s.signInFirst(byAddr(clerkAddr))
	if p := clerk.get(list); !strings.Contains(p.Body, "msg unread") {
		t.Error("the leader's reading marked the document read for the clerk too")
	}
	del = url.Values{"folder": {box}, "uid": {uid}, "action": {"delete"}}
	if p := clerk.submit(list, "/mail/action", del); p.Status != 200 || !strings.Contains(p.Body, "Đã chuyển 1 thư vào Thùng rác") {
		t.Fatalf("the clerk's delete: %d\n%.2000s", p.Status, p.Body)
	}
	trash := "/mail?" + url.Values{"folder": {box + "/Trash"}}.Encode()
	if p := leader.get(trash); p.Status != 200 || !strings.Contains(p.Body, subject) {
		t.Errorf("the unit's Trash, seen by the leader: %d\n%.2000s", p.Status, p.Body)
	}
}

// sharedUnit reads the quickstart's directory for the Sở KHCN: its unit
// mailbox, its clerk (all rights) and its Giám đốc (a leader: lrs).
func sharedUnit(t *testing.T, s *system) (unitAddr, clerkAddr, leaderAddr string) {
	t.Helper()
	requireTool(t, "python3")
	out, err := run(t, nil, "python3", "-c", `import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
code, addr = db.execute("SELECT code, address FROM units WHERE abbr = 'skhcn'").fetchone()
rows = db.execute("SELECT address, role, title FROM accounts WHERE unit_code = ? ORDER BY address", (code,)).fetchall()
print(addr, next(a for a, r, t in rows if r == "clerk"), next(a for a, r, t in rows if t == "Giám đốc"))`,
		filepath.Join(s.dir, "demo", "directory.db"))
	f := strings.Fields(out)
	if err != nil || len(f) != 3 {
		t.Fatalf("reading the quickstart's directory: %v\n%s", err, out)
	}
	return f[0], f[1], f[2]
}

// In Chromium, the Sở's leader answers a document from the unit's
// mailbox: the reply reaches the colleague who wrote, over IMAP, in the
// thread. Moving it out of the unit's mailbox needs rights a leader (lrs)
// lacks: the page offers no Move, and a hand-made one is refused in
// Vietnamese with the document left where it was.
func TestSharedMailboxReplyInBrowser(t *testing.T) {
	s := startSystem(t, "")
	unitAddr, _, leaderAddr := sharedUnit(t, s)
	box := "Shared/" + strings.Split(unitAddr, "@")[0]
	colleague := s.user(0)
	const subject = "De nghi bao cao so lieu chuyen doi so"
	if err := s.submit(colleague, unitAddr, subject); err != nil {
		t.Fatalf("a colleague's message to %s: %v", unitAddr, err)
	}
	var leader account
	for _, a := range s.accounts {
		if a.Address == leaderAddr {
			leader = a
		}
	}
	base := "https://" + s.addrs["https"]
	ctx := s.browser()
	s.signIn(ctx, leader.Address, leader.Password)
	changePassword(t, ctx, leader.Password, "Lanh-Dao#2026web")
	do(t, ctx, "account page", chromedp.WaitVisible("dl.facts"))
	list := base + "/mail?" + url.Values{"folder": {box}}.Encode()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Second) {
		do(t, ctx, "the unit's mailbox", chromedp.Navigate(list), chromedp.WaitVisible("main h1"))
		if strings.Contains(text(t, ctx, "main"), subject) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the unit's mailbox never shows %q", subject)
		}
	}
	do(t, ctx, "open and reply", chromedp.Click("table.msgs td.subj a"), chromedp.WaitVisible("#reply"))
	if strings.Contains(text(t, ctx, "main form.toolbar"), "Chuyển") {
		t.Error("a leader (lrs) is offered to move the unit's document")
	}
	msgURL := runT(t, ctx, chromedp.Location())
	do(t, ctx, "reply", chromedp.Click("#reply"), chromedp.WaitVisible("#body"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#body').setSelectionRange(0,0)`),
		chromedp.SendKeys("#body", "Văn phòng Sở sẽ gửi số liệu trước thứ Sáu."), chromedp.Click("#send"),
		chromedp.WaitVisible("main [role=status]"))
	if n := text(t, ctx, "main [role=status]"); !strings.Contains(n, "Đã gửi thư") {
		t.Fatalf("after Send from the unit's mailbox: %q", n)
	}
	in := s.waitFor(colleague, "INBOX", func(m []fetched) bool { return len(m) == 1 })
	if len(in) != 1 {
		t.Fatalf("the colleague's INBOX has %d messages", len(in))
	}
	got, header, bodies := leaves(t, in[0].Raw)
	if got != "Re: "+subject || !strings.Contains(header.Get("From"), leaderAddr) || header.Get("In-Reply-To") == "" ||
		!strings.Contains(string(bodies[""]), "Văn phòng Sở sẽ gửi số liệu") {
		t.Errorf("the reply over IMAP: subject %q, From %q, In-Reply-To %q, text %q", got, header.Get("From"), header.Get("In-Reply-To"), bodies[""])
	}

	// A hand-made Move (the Copy button turned into one) is refused.
	do(t, ctx, "a hand-made move", chromedp.Navigate(msgURL), chromedp.WaitVisible(`button[value="copy"]`),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('button[value="copy"]').value = 'move'`),
		chromedp.Click(`button[value="move"]`), chromedp.WaitVisible("main .notice"))
	if n := text(t, ctx, "main .notice"); !strings.Contains(n, "Bạn không có quyền thực hiện thao tác này trên hộp thư đơn vị") {
		t.Errorf("a leader's move out of the unit's mailbox: %q", n)
	}
	do(t, ctx, "the unit's mailbox again", chromedp.Navigate(list), chromedp.WaitVisible("table.msgs"))
	if !strings.Contains(text(t, ctx, "table.msgs"), subject) {
		t.Error("the refused move took the document out of the unit's mailbox")
	}
	screenshot(t, ctx, "webmail-shared-refused")
}
