package admin

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"congvu/directory"
)

// memAuditLog keeps the admins' audit entries.
type memAuditLog struct {
	mu      sync.Mutex
	entries []AuditEntry
}

func (m *memAuditLog) AppendAdminAudit(_ context.Context, e AuditEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries = append(m.entries, e)
	return nil
}

func (m *memAuditLog) find(action, subject string) *AuditEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.entries {
		if m.entries[i].Action == action && m.entries[i].Subject == subject {
			return &m.entries[i]
		}
	}
	return nil
}

// TestAdminSearchEditLockReason: a unit admin finds "nguyen van" in their
// scope (diacritics and case ignored, other units not shown), edits a
// title and a phone (audited with before and after), must give a reason
// to lock, and the reason shows on the account; resets and creations are
// audited; each POST needs the session's CSRF token.
func TestAdminSearchEditLockReason(t *testing.T) {
	audit := &memAuditLog{}
	e := newWebEnv(t, func(o *testOptions) { o.AuditLog = audit })
	withAdmins(e)
	b := e.Browser()
	expect(t, b.Login(skhcnAdmin, secretPW), 200)

	r := b.Get("/admin/find?q=" + url.QueryEscape("nguyen van"))
	expect(t, r, 200, "Nguyễn Văn An", anAddr)
	if strings.Contains(r.Body, "Nguyễn Ngọc Thành") || strings.Contains(r.Body, "Đặng Thùy Trâm") {
		t.Error("the search shows people not matching or outside the scope")
	}
	expect(t, b.Get("/admin/find?q="+url.QueryEscape("ĐẶNG thùy")), 200, "Không tìm thấy")
	expect(t, b.Get("/admin/find?q="+url.QueryEscape("chuyen vien van phong")), 200, "Không tìm thấy")
	expect(t, b.Get("/admin/find?q="+url.QueryEscape("van phong duc")), 200, "Lê Văn Đức")

	page := "/admin/account?address=" + url.QueryEscape(anAddr)
	expect(t, b.Get(page), 200, `id="edit-title"`, `id="reason_kind"`, "Chuyển công tác")
	edit := url.Values{"address": {anAddr}, "full_name": {"Nguyễn Văn An"}, "title": {"Phó Giám đốc"}, "phone": {"0258 3822 111"}, "role": {"official"}}
	expect(t, b.Do("POST", "/admin/edit", edit), http.StatusForbidden, "CSRF")
	expect(t, b.Post(page, "/admin/edit", edit), 200, "Đã lưu thay đổi")
	if a, _ := e.Dir.Lookup(t.Context(), anAddr); a.Title != "Phó Giám đốc" || a.Phone != "0258 3822 111" || a.DisplayName != "Nguyễn Văn An" {
		t.Errorf("after the edit: %+v", a)
	}
	if en := audit.find("edit", anAddr); en == nil || en.Actor != skhcnAdmin || !strings.Contains(en.Detail, `"Giám đốc" → "Phó Giám đốc"`) || en.IP == "" {
		t.Errorf("edit audit entry: %+v", en)
	}
	edit.Set("role", "operator")
	expect(t, b.Post(page, "/admin/edit", edit), http.StatusBadRequest, "Vai trò không hợp lệ")
	edit.Set("role", "official")
	edit.Set("full_name", "  ")
	expect(t, b.Post(page, "/admin/edit", edit), http.StatusBadRequest, "họ và tên")

	expect(t, b.Post(page, "/admin/lock", adminForm(anAddr)), http.StatusBadRequest, "chọn lý do")
	if stateOf(e, anAddr) != directory.StateActive {
		t.Fatal("locked without a reason")
	}
	expect(t, b.Post(page, "/admin/lock", lockForm(anAddr)), 200, "Đã khoá", "Chuyển công tác / transferred: Quyết định 12/QĐ")

	expect(t, b.Post(page, "/admin/reset", adminForm(ducAddr)), 200, "Đã cấp lại mật khẩu")
	if audit.find("reset", ducAddr) == nil {
		t.Error("the reset is not audited")
	}
	newPage := "/admin/new?unit=56.skhcn"
	expect(t, b.Post(newPage, "/admin/new", url.Values{"unit": {"56.skhcn"}, "full_name": {"Hồ Thị Mới"}, "role": {"official"}}), 200, "Đã tạo tài khoản")
	if en := audit.find("create", "moiht.skhcn@khanhhoa.gov.vn"); en == nil || !strings.Contains(en.Detail, "Hồ Thị Mới") {
		t.Errorf("the creation is not audited: %+v", audit.entries)
	}
}

// An administrator adds and removes an account's aliases in the web: the
// alias must be at a local domain and free, the change is audited, and mail
// to the alias then reaches the account (directory lookup).
func TestAdminEditAliases(t *testing.T) {
	audit := &memAuditLog{}
	e := newWebEnv(t, func(o *testOptions) { o.AuditLog = audit })
	withAdmins(e)
	b := e.Browser()
	expect(t, b.Login(skhcnAdmin, secretPW), 200)
	page := "/admin/account?address=" + url.QueryEscape(anAddr)
	expect(t, b.Get(page), 200, `id="edit-aliases"`)
	acct, err := e.Dir.Lookup(t.Context(), anAddr)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(aliases string) url.Values {
		return url.Values{"address": {anAddr}, "full_name": {acct.DisplayName}, "title": {acct.Title}, "phone": {acct.Phone},
			"role": {string(acct.Role)}, "aliases": {aliases}}
	}
	expect(t, b.Post(page, "/admin/edit", edit("an.nguyen@gmail.com")), http.StatusBadRequest, "không hợp lệ")
	expect(t, b.Post(page, "/admin/edit", edit(ducAddr)), http.StatusBadRequest, "đã thuộc tài khoản "+ducAddr)
	expect(t, b.Post(page, "/admin/edit", edit("ANV.Tiepdan@KhanhHoa.gov.vn\nnguyenvanan.skhcn@khanhhoa.gov.vn, "+anAddr)), 200, "Đã lưu thay đổi")
	got, err := e.Dir.Lookup(t.Context(), "anv.tiepdan@khanhhoa.gov.vn")
	if err != nil || got.Address != anAddr {
		t.Fatalf("the new alias does not reach the account: %v, %v", got, err)
	}
	if en := audit.find("edit", anAddr); en == nil || !strings.Contains(en.Detail, "anv.tiepdan@khanhhoa.gov.vn") || en.IP == "" {
		t.Errorf("alias audit entry: %+v", en)
	}
	expect(t, b.Post(page, "/admin/edit", edit("nguyenvanan.skhcn@khanhhoa.gov.vn")), 200, "Đã lưu thay đổi")
	if _, err := e.Dir.Lookup(t.Context(), "anv.tiepdan@khanhhoa.gov.vn"); err == nil {
		t.Error("a removed alias still reaches the account")
	}
}
