package mail

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"congvu/directory"
	"congvu/sharing"
	"congvu/smtpd"
	"congvu/storage"
	"congvu/web/core"
	"congvu/web/webtest"
)

const (
	unitBox   = "skhcn@khanhhoa.gov.vn" // the Sở's shared mailbox in webtest.Seed
	clerkAddr = "vanthu.skhcn@khanhhoa.gov.vn"
)

// newSharedEnv is the web with the store and the sharing service: An
// (Giám đốc) is a leader of the Sở (lrs), a clerk runs its mailbox
// (all rights), Đức is in a division below and has none.
func newSharedEnv(t *testing.T) *mailEnv {
	t.Helper()
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var opts Options
	spool := t.TempDir()
	e := webtest.New(t, nil, func(s *core.Site) {
		o := opts
		if o.Mail != nil {
			// The real submission path, for replies from the unit's mailbox.
			srv := smtpd.New(smtpd.Config{Hostname: "mail.khanhhoa.gov.vn", LocalDomains: []string{"khanhhoa.gov.vn"}, SpoolDir: spool},
				smtpd.Deps{Store: st, Dir: s.Dir()})
			t.Cleanup(func() { srv.Close() })
			o.Send, o.SpoolDir = submitSender{srv}, spool
		}
		Register(s, o)
	})
	if err := e.Dir.Writer.PutAccount(t.Context(), directory.Account{Address: clerkAddr, DisplayName: "Phạm Thị Văn Thư",
		UnitCode: "56.skhcn", Title: "Văn thư", Role: directory.RoleClerk, State: directory.StateActive}, secretPW); err != nil {
		t.Fatal(err)
	}
	sh, err := sharing.Open(filepath.Join(t.TempDir(), "acl.db"), e.Dir.Writer, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sh.Close() })
	opts = Options{Mail: st, Sharing: sh, SharedMail: st}
	e.Restart()
	return &mailEnv{Env: e, store: st}
}

// sharedFlags returns reader's flags of a message in the unit mailbox's
// folder (nil when it is not there).
func (e *mailEnv) sharedFlags(reader, folder string, uid uint32) []string {
	e.T.Helper()
	mb, err := e.store.SharedMailbox(e.T.Context(), unitBox, reader, 0)
	if err != nil {
		e.T.Fatal(err)
	}
	msgs, err := mb.Messages(e.T.Context(), folder)
	if err != nil {
		e.T.Fatal(err)
	}
	for _, m := range msgs {
		if m.UID == uid {
			return append([]string{"present"}, m.Flags...)
		}
	}
	return nil
}

func TestSharedMailboxLeaderReadsClerkMoves(t *testing.T) {
	e := newSharedEnv(t)
	uid := e.appendMsg(unitBox, "INBOX", `
From: UBND tinh <ubnd@khanhhoa.gov.vn>
To: skhcn@khanhhoa.gov.vn
Subject: Cong van so 123

Noi dung cong van den.
`)
	inbox := "/mail?" + url.Values{"folder": {"Shared/skhcn"}}.Encode()
	msg := "/mail/msg?" + url.Values{"folder": {"Shared/skhcn"}, "uid": {fmt.Sprint(uid)}}.Encode()
	action := func(from string, action string, extra ...string) url.Values {
		f := url.Values{"folder": {"Shared/skhcn"}, "uid": {fmt.Sprint(uid)}, "action": {action}}
		for i := 0; i+1 < len(extra); i += 2 {
			f.Set(extra[i], extra[i+1])
		}
		return f
	}

	leader := e.Browser()
	expect(t, leader.Login(anAddr, secretPW), 200)
	// The unit's mailbox is its own group in the folder list.
	r := leader.Get("/mail")
	expect(t, r, 200, "Hộp thư đơn vị: Sở Khoa học và Công nghệ", `href="`+strings.ReplaceAll(inbox, "&", "&amp;")+`"`)
	r = leader.Get(inbox)
	expect(t, r, 200, "Cong van so 123")
	if strings.Contains(r.Body, `value="delete"`) || strings.Contains(r.Body, `value="move"`) {
		t.Error("a leader (lrs) is offered delete or move")
	}
	expect(t, leader.Get(msg), 200, "Noi dung cong van den.")
	// Search within the unit's INBOX finds it, with a link into the unit's mailbox.
	r = leader.Get("/mail/search?" + url.Values{"folder": {"Shared/skhcn"}, "q": {"123"}}.Encode())
	expect(t, r, 200, "Cong van so 123", strings.ReplaceAll(msg, "&", "&amp;"))
	// \Seen is per user: the leader has read it, the clerk has not.
	if f := e.sharedFlags(anAddr, "INBOX", uid); !slices.Contains(f, flagSeen) {
		t.Errorf("leader's flags after reading: %v", f)
	}
	if f := e.sharedFlags(clerkAddr, "INBOX", uid); f == nil || slices.Contains(f, flagSeen) {
		t.Errorf("clerk's flags after the leader read: %v", f)
	}
	// A leader cannot delete, move or flag: refused in Vietnamese, never a 500.
	for _, a := range []url.Values{action(inbox, "delete"), action(inbox, "move", "to", "Shared/skhcn/Archive"), action(inbox, "flag")} {
		r = leader.Post(inbox, "/mail/action", a)
		expect(t, r, 403, "Bạn không có quyền thực hiện thao tác này trên hộp thư đơn vị", `lang="en"`)
	}
	if f := e.sharedFlags(anAddr, "INBOX", uid); f == nil || slices.Contains(f, flagFlagged) {
		t.Errorf("the leader's refused actions changed the message: %v", f)
	}
	// Marking unread needs only s, which a leader has.
	expect(t, leader.Post(inbox, "/mail/action", action(inbox, "unread")), 200, "Đã đánh dấu 1 thư là chưa đọc.")

	// The clerk moves it to the unit's Archive, then deletes it (to the unit's Trash).
	clerk := e.Browser()
	expect(t, clerk.Login(clerkAddr, secretPW), 200)
	r = clerk.Get(inbox)
	expect(t, r, 200, "Cong van so 123", `value="delete"`)
	r = clerk.Post(inbox, "/mail/action", action(inbox, "move", "to", "Shared/skhcn/Archive"))
	expect(t, r, 200, "Đã chuyển 1 thư vào Lưu trữ.")
	mb := e.mailbox(unitBox)
	arch, err := mb.Messages(t.Context(), "Archive")
	if err != nil || len(arch) != 1 {
		t.Fatalf("unit Archive after the clerk's move: %v %v", arch, err)
	}
	if own := e.flagsOf(clerkAddr, "Archive", arch[0].UID); own != nil {
		t.Error("the move landed in the clerk's own Archive")
	}
	// A folder neither in the unit's mailbox nor the clerk's own is refused.
	archive := "/mail?" + url.Values{"folder": {"Shared/skhcn/Archive"}}.Encode()
	f := url.Values{"folder": {"Shared/skhcn/Archive"}, "uid": {fmt.Sprint(arch[0].UID)}, "action": {"move"}, "to": {"Nowhere"}}
	expect(t, clerk.Post(archive, "/mail/action", f), 404)
	f.Set("action", "delete")
	expect(t, clerk.Post(archive, "/mail/action", f), 200, "Đã chuyển 1 thư vào Thùng rác.")
	if trash, err := mb.Messages(t.Context(), "Trash"); err != nil || len(trash) != 1 {
		t.Fatalf("unit Trash after the clerk's delete: %v %v", trash, err)
	}
}

func TestSharedMailboxHiddenWithoutRights(t *testing.T) {
	e := newSharedEnv(t)
	e.appendMsg(unitBox, "INBOX", "\nSubject: Mat\n\nx\n")
	duc := e.Browser()
	expect(t, duc.Login(ducAddr, secretPW), 200)
	r := duc.Get("/mail")
	expect(t, r, 200)
	if strings.Contains(r.Body, "Hộp thư đơn vị") {
		t.Error("an official without rights sees the unit's mailbox")
	}
	expect(t, duc.Get("/mail?folder=Shared/skhcn"), 404)
	expect(t, duc.Get("/mail/msg?folder=Shared/skhcn&uid=1"), 404)
}

func TestSharedNameNotAnOwnFolder(t *testing.T) {
	e := newSharedEnv(t)
	b := e.Browser()
	expect(t, b.Login(anAddr, secretPW), 200)
	r := b.Post("/mail/folders", "/mail/folders", url.Values{"action": {"create"}, "name": {"Shared/skhcn"}})
	expect(t, r, 200, "dành cho hộp thư đơn vị")
	if _, err := e.mailbox(anAddr).Status(t.Context(), "Shared/skhcn"); err == nil {
		t.Error("an own folder named like the unit's mailbox was created")
	}
}

// From the unit's mailbox an official answers and forwards, copies into
// their own folders (a clerk also moves), searches all folders at once
// and empties the unit's Trash — each as far as their rights (RFC 4314)
// from package sharing allow, with a Vietnamese refusal beyond them.
func TestSharedMailboxReplyCopyMoveSearchEmpty(t *testing.T) {
	e := newSharedEnv(t)
	uid := e.appendMsg(unitBox, "INBOX", `
From: Le Van Duc <`+ducAddr+`>
To: skhcn@khanhhoa.gov.vn
Subject: Cong van so 456
Message-ID: <cv456@khanhhoa.gov.vn>

Noi dung cong van den, chuyen phat nhanh.
`)
	msg := "/mail/msg?" + url.Values{"folder": {"Shared/skhcn"}, "uid": {fmt.Sprint(uid)}}.Encode()
	act := func(folder, action string, uid uint32, to string) url.Values {
		return url.Values{"folder": {folder}, "uid": {fmt.Sprint(uid)}, "action": {action}, "to": {to}}
	}

	leader := e.Browser()
	expect(t, leader.Login(anAddr, secretPW), 200)
	// The view offers reply and forward, and a copy into one's own folders.
	r := leader.Get(msg)
	expect(t, r, 200, `id="reply"`, `id="forward"`, "Hộp thư của tôi › Lưu trữ", `value="copy"`)
	if strings.Contains(r.Body, `value="move"`) {
		t.Error("a leader (lrs) is offered a move out of the unit's mailbox")
	}
	// A reply from the unit's mailbox: the original is quoted and threaded.
	r = leader.Get("/mail/compose?" + url.Values{"mode": {"reply"}, "folder": {"Shared/skhcn"}, "uid": {fmt.Sprint(uid)}}.Encode())
	expect(t, r, 200, "Re: Cong van so 456", ducAddr, "cv456@khanhhoa.gov.vn")
	// Sent, it reaches the colleague and leaves the unit's message unflagged
	// (\Answered is a shared flag: w, which a leader lacks).
	fields := append(formFields(r.Body), [2]string{"action", "send"})
	expect(t, leader.PostMultipart(r.Request.URL.RequestURI(), "/mail/compose", fields, nil), 200, "Đã gửi thư.")
	if got := e.messages(ducAddr, "INBOX"); len(got) != 1 || !strings.Contains(got[0], "In-Reply-To: <cv456@khanhhoa.gov.vn>") {
		t.Fatalf("the reply at the colleague: %q", got)
	}
	if f := e.sharedFlags(anAddr, "INBOX", uid); slices.Contains(f, flagAnswered) {
		t.Errorf("a leader's reply set a shared flag: %v", f)
	}
	// Copy into the leader's own Archive: the unit keeps its message.
	expect(t, leader.Post(msg, "/mail/action", act("Shared/skhcn", "copy", uid, "Archive")), 200, "Đã sao chép 1 thư vào Hộp thư của tôi › Lưu trữ.")
	if own := e.messages(anAddr, "Archive"); len(own) != 1 || !strings.Contains(own[0], "Cong van so 456") {
		t.Fatalf("the leader's own Archive after the copy: %q", own)
	}
	// A move out needs t and e: refused in Vietnamese, nothing moved.
	expect(t, leader.Post(msg, "/mail/action", act("Shared/skhcn", "move", uid, "INBOX")), 403, "Bạn không có quyền thực hiện thao tác này trên hộp thư đơn vị")
	if f := e.sharedFlags(anAddr, "INBOX", uid); f == nil {
		t.Fatal("a refused move took the message out of the unit's mailbox")
	}
	// Searching all folders finds it in the unit's mailbox and in one's own.
	r = leader.Get("/mail/search?" + url.Values{"scope": {"all"}, "q": {"chuyen phat nhanh"}}.Encode())
	expect(t, r, 200, "Sở Khoa học và Công nghệ › Hộp thư đến", "Lưu trữ", strings.ReplaceAll(msg, "&", "&amp;"))
	if n := strings.Count(r.Body, `">Cong van so 456</a>`); n != 2 { // and the reply in Sent
		t.Errorf("all-folder search found it %d times, want 2 (unit INBOX, own Archive)", n)
	}

	// The clerk moves it into their own Inbox: gone from the unit's.
	clerk := e.Browser()
	expect(t, clerk.Login(clerkAddr, secretPW), 200)
	expect(t, clerk.Get(msg), 200, `value="move"`, "Hộp thư của tôi › Hộp thư đến")
	expect(t, clerk.Post(msg, "/mail/action", act("Shared/skhcn", "move", uid, "INBOX")), 200, "Đã chuyển 1 thư vào Hộp thư của tôi › Hộp thư đến.")
	if own := e.messages(clerkAddr, "INBOX"); len(own) != 1 || !strings.Contains(own[0], "Cong van so 456") {
		t.Fatalf("the clerk's own Inbox after the move: %q", own)
	}
	if f := e.sharedFlags(clerkAddr, "INBOX", uid); f != nil {
		t.Error("the moved message is still in the unit's Inbox")
	}

	// Emptying the unit's Trash: the clerk (t, e) may, the leader may not.
	e.appendMsg(unitBox, "Trash", "\nSubject: Rac\n\nx\n")
	trash := "/mail?" + url.Values{"folder": {"Shared/skhcn/Trash"}}.Encode()
	if r := leader.Get(trash); strings.Contains(r.Body, `id="empty"`) {
		t.Error("the leader is offered to empty the unit's Trash")
	}
	empty := url.Values{"folder": {"Shared/skhcn/Trash"}, "confirm": {"yes"}}
	expect(t, leader.Post(trash, "/mail/empty", empty), 403, "Bạn không có quyền")
	if got := e.messages(unitBox, "Trash"); len(got) != 1 {
		t.Fatalf("the unit's Trash after the leader's refused emptying: %d messages", len(got))
	}
	expect(t, clerk.Get(trash), 200, `id="empty"`)
	expect(t, clerk.Post(trash, "/mail/empty", empty), 200, "Đã xoá vĩnh viễn 1 thư.")
	if got := e.messages(unitBox, "Trash"); len(got) != 0 {
		t.Errorf("the unit's Trash after the clerk emptied it: %d messages", len(got))
	}
}
