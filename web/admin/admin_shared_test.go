package admin

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"congvu/directory"
	"congvu/sharing"
	"congvu/web/webtest"
)

// TestAdminSharedMailboxRights: a unit administrator sees who has rights
// on the unit's shared mailbox, gives an official of a division leader's
// rights and takes the adjustment back (both audited with the acting
// admin), and cannot reach a unit above their scope; every POST needs
// the session's CSRF token.
func TestAdminSharedMailboxRights(t *testing.T) {
	audit := &memAuditLog{}
	var opts *Options
	e := newWebEnv(t, func(o *testOptions) { o.AuditLog, opts = audit, o.Options })
	withAdmins(e)
	sh, err := sharing.Open(filepath.Join(t.TempDir(), "acl.db"), e.Dir.Writer, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sh.Close() })
	opts.Shared = sh
	e.Restart()

	b := e.Browser()
	expect(t, b.Login(skhcnAdmin, secretPW), 200)
	expect(t, b.Get("/admin/unit?code=56.skhcn"), 200, `id="shared-rights"`)
	page := "/admin/shared?unit=56.skhcn"
	r := b.Get(page)
	expect(t, r, 200, "Quyền trên hộp thư đơn vị", "skhcn@khanhhoa.gov.vn", anAddr, "<code>lrs</code>", `lang="en"`)
	if strings.Contains(r.Body, ducAddr) {
		t.Error("Đức (a division below) is listed before any grant")
	}

	set := func(who, preset, rights string) url.Values {
		return url.Values{"unit": {"56.skhcn"}, "identifier": {who}, "preset": {preset}, "rights": {rights}}
	}
	// Without the token nothing changes.
	expect(t, b.Do("POST", "/admin/shared", set(ducAddr, "leader", "")), 403)
	if got, _ := sh.Rights(t.Context(), mustLookup(t, e, ducAddr), "skhcn@khanhhoa.gov.vn"); got != "" {
		t.Fatalf("rights changed without the CSRF token: %q", got)
	}

	r = b.Post(page, "/admin/shared", set(ducAddr, "leader", ""))
	expect(t, r, 200, "Đã đổi quyền của "+ducAddr, ducAddr, "Điều chỉnh riêng")
	if got, _ := sh.Rights(t.Context(), mustLookup(t, e, ducAddr), "skhcn@khanhhoa.gov.vn"); got != "lrs" {
		t.Errorf("Đức's rights after the grant: %q", got)
	}
	if a := audit.find("acl-set", ducAddr); a == nil || a.Actor != skhcnAdmin || !strings.Contains(a.Detail, `"" -> "lrs"`) {
		t.Errorf("grant audit entry: %+v", a)
	}
	// Bad letters, unknown accounts: a readable refusal.
	expect(t, b.Post(page, "/admin/shared", set(ducAddr, "custom", "lrz")), 400, "Quyền không hợp lệ")
	expect(t, b.Post(page, "/admin/shared", set("khongco@khanhhoa.gov.vn", "leader", "")), 404, "Không có tài khoản")

	// Back to the directory's rights: none for Đức.
	r = b.Post(page, "/admin/shared", set(ducAddr, "default", ""))
	expect(t, r, 200, "Đã đổi quyền của "+ducAddr)
	if got, _ := sh.Rights(t.Context(), mustLookup(t, e, ducAddr), "skhcn@khanhhoa.gov.vn"); got != "" {
		t.Errorf("Đức's rights after the reset: %q", got)
	}
	if a := audit.find("acl-delete", ducAddr); a == nil || a.Actor != skhcnAdmin {
		t.Errorf("reset audit entry: %+v", a)
	}

	// The province's mailbox is above this admin's scope.
	expect(t, b.Get("/admin/shared?unit=56"), 403, "không thuộc phạm vi")
	expect(t, b.Post(page, "/admin/shared", url.Values{"unit": {"56"}, "identifier": {ducAddr}, "preset": {"clerk"}}), 403)
	if n := len(audit.entries); n != 2 {
		t.Errorf("%d audit entries, want the grant and the reset: %+v", n, audit.entries)
	}
}

func mustLookup(t *testing.T, e *webtest.Env, address string) *directory.Account {
	t.Helper()
	a, err := e.Dir.Lookup(t.Context(), address)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
