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
	e := webtest.New(t, nil, func(s *core.Site) { Register(s, opts) })
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
	// A target outside the unit's mailbox (the clerk's own folder) is refused.
	archive := "/mail?" + url.Values{"folder": {"Shared/skhcn/Archive"}}.Encode()
	f := url.Values{"folder": {"Shared/skhcn/Archive"}, "uid": {fmt.Sprint(arch[0].UID)}, "action": {"move"}, "to": {"INBOX"}}
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
