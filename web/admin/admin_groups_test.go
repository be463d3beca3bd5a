package admin

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"congvu/directory/orgdb"
	"congvu/groups"
	"congvu/policy"
)

type groupAudit struct{ entries []policy.AuditEntry }

func (g *groupAudit) AppendAudit(_ context.Context, es ...policy.AuditEntry) error {
	g.entries = append(g.entries, es...)
	return nil
}

// TestAdminGroupsAndPublishing: a unit administrator creates a group of
// their unit, adds and removes members, changes who may send, withholds
// an official's phone from the danh bạ; each change is audited with
// the administrator and IP; a unit above their scope and a POST without
// the CSRF token are refused, a bad member gets a readable reason.
func TestAdminGroupsAndPublishing(t *testing.T) {
	var opts *Options
	e := newWebEnv(t, func(o *testOptions) { opts = o.Options })
	withAdmins(e)
	org, err := orgdb.Open(filepath.Join(t.TempDir(), "org.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { org.Close() })
	audit := &groupAudit{}
	opts.Groups = &groups.Admin{Dir: e.Dir, Org: org, Audit: audit, LocalDomains: []string{"khanhhoa.gov.vn"}}
	e.Restart()

	b := e.Browser()
	expect(t, b.Login(skhcnAdmin, secretPW), 200)
	expect(t, b.Get("/admin/unit?code=56.skhcn"), 200, `id="groups"`)
	page := "/admin/groups?unit=56.skhcn"
	expect(t, b.Get(page), 200, "Nhóm thư của đơn vị", "Đơn vị chưa có nhóm thư", `lang="en"`)

	create := url.Values{"unit": {"56.skhcn"}, "action": {"create"}, "address": {"lanhdao.skhcn@khanhhoa.gov.vn"},
		"name": {"Lãnh đạo Sở"}, "kind": {"custom"}, "policy": {"members"}, "members": {anAddr}}
	expect(t, b.Do("POST", "/admin/groups", create), 403)
	if gs, _ := org.Groups(t.Context()); len(gs) != 0 {
		t.Fatal("a group created without the CSRF token")
	}
	expect(t, b.Post(page, "/admin/groups", create), 200, "Đã tạo nhóm thư lanhdao.skhcn@khanhhoa.gov.vn", "Lãnh đạo Sở", anAddr)
	member := func(action, m string) url.Values {
		return url.Values{"unit": {"56.skhcn"}, "action": {action}, "group": {"lanhdao.skhcn@khanhhoa.gov.vn"}, "member": {m}}
	}
	expect(t, b.Post(page, "/admin/groups", member("add-member", ducAddr)), 200, ducAddr)
	expect(t, b.Post(page, "/admin/groups", member("add-member", "khongco@khanhhoa.gov.vn")), 400, "Nhóm thư không hợp lệ", "khongco@khanhhoa.gov.vn")
	expect(t, b.Post(page, "/admin/groups", member("remove-member", anAddr)), 200, "Đã bớt")
	expect(t, b.Post(page, "/admin/groups", url.Values{"unit": {"56.skhcn"}, "action": {"update"}, "group": {"lanhdao.skhcn@khanhhoa.gov.vn"},
		"name": {"Lãnh đạo Sở KH&CN"}, "policy": {"state"}}), 200, "mọi địa chỉ công vụ")
	g, _ := org.GetGroup(t.Context(), "lanhdao.skhcn@khanhhoa.gov.vn")
	if g == nil || g.Policy != orgdb.PolicyState || strings.Join(g.Members, ",") != ducAddr {
		t.Errorf("group after the changes: %+v", g)
	}
	expect(t, b.Post(page, "/admin/groups", url.Values{"unit": {"56.skhcn"}, "action": {"withhold"}, "attribute": {"phone"},
		"address": {anAddr}}), 200, "Đã lưu thiết lập công bố", anAddr, "điện thoại / phone")
	if ws, _ := org.WithheldAll(t.Context()); len(ws) != 1 || ws[0].Key != anAddr || ws[0].Attribute != orgdb.AttrPhone {
		t.Errorf("withheld: %+v", ws)
	}

	// Above the admin's scope: the province's page, its groups, its people.
	expect(t, b.Get("/admin/groups?unit=56"), 403, "không thuộc phạm vi")
	expect(t, b.Post(page, "/admin/groups", url.Values{"unit": {"56"}, "action": {"create"}, "address": {"x@khanhhoa.gov.vn"},
		"name": {"x"}, "kind": {"unit"}, "policy": {"anyone"}}), 403)
	expect(t, b.Post(page, "/admin/groups", url.Values{"unit": {"56.skhcn"}, "action": {"withhold"}, "attribute": {"entry"},
		"address": {tramAddr}}), 404)

	if len(audit.entries) != 5 {
		t.Fatalf("%d audit entries, want 5: %+v", len(audit.entries), audit.entries)
	}
	for _, en := range audit.entries {
		if en.Actor != skhcnAdmin || en.IP == "" {
			t.Errorf("audit entry without the admin or IP: %+v", en)
		}
	}
	if d := audit.entries[3].Detail; !strings.Contains(d, "policy=members") || !strings.Contains(d, "→") || !strings.Contains(d, "policy=state") {
		t.Errorf("policy change not audited before → after: %q", d)
	}
	if en := audit.entries[4]; en.Action != policy.ActionPublication || en.Subject != anAddr {
		t.Errorf("publishing audit: %+v", en)
	}
}
