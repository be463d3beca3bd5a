package mail

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestMailFoldersMoveCopyEmpty(t *testing.T) {
	e := newMailEnv(t)
	var uids []string
	for i := range 3 {
		uids = append(uids, fmt.Sprint(e.appendMsg(anAddr, "INBOX", fmt.Sprintf("\nSubject: Thư %d\nFrom: %s\n\nNội dung %d\n", i, ducAddr, i))))
	}
	b := e.Browser()
	expect(t, b.Login(anAddr, secretPW), 200)
	expect(t, b.Get("/mail/folders"), 200, "Tạo thư mục", "Hộp thư đến", "Thùng rác")

	// Create, nested, and a name storage refuses.
	expect(t, b.Post("/mail/folders", "/mail/folders", url.Values{"action": {"create"}, "name": {"Dự án chuyển đổi số"}}), 200,
		"Đã tạo thư mục «Dự án chuyển đổi số».")
	expect(t, b.Post("/mail/folders", "/mail/folders", url.Values{"action": {"create"}, "name": {"2026"}, "parent": {"Dự án chuyển đổi số"}}), 200,
		"Đã tạo thư mục «Dự án chuyển đổi số/2026».")
	expect(t, b.Post("/mail/folders", "/mail/folders", url.Values{"action": {"create"}, "name": {"Dự án chuyển đổi số"}}), 200,
		"notice error")
	expect(t, b.Post("/mail/folders", "/mail/folders", url.Values{"action": {"rename"}, "folder": {"Trash"}, "name": {"Rac"}}), 200,
		"thư mục của hệ thống")

	// Move two, copy one, from the list's toolbar.
	r := b.Post("/mail", "/mail/action", url.Values{"folder": {"INBOX"}, "uid": {uids[0], uids[1]}, "action": {"move"}, "to": {"Dự án chuyển đổi số/2026"}})
	expect(t, r, 200, "Đã chuyển 2 thư vào Dự án chuyển đổi số/2026.")
	r = b.Post("/mail", "/mail/action", url.Values{"folder": {"INBOX"}, "uid": {uids[2]}, "action": {"copy"}, "to": {"Dự án chuyển đổi số"}})
	expect(t, r, 200, "Đã sao chép 1 thư vào Dự án chuyển đổi số.")
	if n := len(e.messages(anAddr, "INBOX")); n != 1 {
		t.Errorf("INBOX has %d messages", n)
	}
	if n := len(e.messages(anAddr, "Dự án chuyển đổi số/2026")); n != 2 {
		t.Errorf("the new folder has %d messages", n)
	}
	expect(t, b.Post("/mail", "/mail/action", url.Values{"folder": {"INBOX"}, "uid": {uids[2]}, "action": {"move"}, "to": {"Không có"}}), 404)

	// Rename in place; delete moves the messages to Trash.
	expect(t, b.Post("/mail/folders", "/mail/folders", url.Values{"action": {"rename"}, "folder": {"Dự án chuyển đổi số/2026"}, "name": {"Năm 2026"}}), 200,
		"Đã đổi tên thư mục thành «Dự án chuyển đổi số/Năm 2026».")
	expect(t, b.Post("/mail/folders", "/mail/folders", url.Values{"action": {"delete"}, "folder": {"Dự án chuyển đổi số/Năm 2026"}}), 200,
		"Hãy đánh dấu ô xác nhận")
	expect(t, b.Post("/mail/folders", "/mail/folders", url.Values{"action": {"delete"}, "folder": {"Dự án chuyển đổi số/Năm 2026"}, "confirm": {"yes"}}), 200,
		"2 thư trong đó đã được chuyển vào Thùng rác")
	if n := len(e.messages(anAddr, "Trash")); n != 2 {
		t.Errorf("Trash has %d messages", n)
	}

	// Empty Trash, with the confirmation; INBOX cannot be emptied.
	r = b.Get("/mail?folder=Trash")
	expect(t, r, 200, `action="/mail/empty"`, "Dọn sạch")
	expect(t, b.Post("/mail?folder=Trash", "/mail/empty", url.Values{"folder": {"Trash"}}), 200, "Hãy đánh dấu ô xác nhận")
	expect(t, b.Post("/mail?folder=Trash", "/mail/empty", url.Values{"folder": {"Trash"}, "confirm": {"yes"}}), 200, "Đã xoá vĩnh viễn 2 thư.")
	if n := len(e.messages(anAddr, "Trash")); n != 0 {
		t.Errorf("Trash has %d messages after emptying", n)
	}
	expect(t, b.Post("/mail", "/mail/empty", url.Values{"folder": {"INBOX"}, "confirm": {"yes"}}), 400, "Chỉ dọn sạch được Thùng rác và Thư rác")
	if n := len(e.messages(anAddr, "INBOX")); n != 1 {
		t.Errorf("INBOX has %d messages", n)
	}
	if r := b.Get("/mail/folders"); strings.Contains(r.Body, "Năm 2026") {
		t.Error("the deleted folder is still listed")
	}
}
