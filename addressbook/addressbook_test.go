package addressbook_test

import (
	"path/filepath"
	"testing"
	"time"

	"congvu/addressbook"
	"congvu/directory/orgdb"
	"congvu/web/webtest"
)

const dom = "@khanhhoa.gov.vn"

// The publishing controls and groups apply to the very next snapshot,
// long before the TTL: the danh bạ, LDAP and CardDAV all read it.
func TestPublishingControlsApplyAtOnce(t *testing.T) {
	ctx := t.Context()
	org, err := orgdb.Open(filepath.Join(t.TempDir(), "org.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer org.Close()
	now := time.Unix(1_800_000_000, 0)
	book := addressbook.New(webtest.Seed(t, 0), addressbook.Options{TTL: time.Hour, Now: func() time.Time { return now },
		Controls: org})
	snap := func() *addressbook.Snapshot {
		t.Helper()
		s, err := book.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := snap()
	if e, _ := first.Lookup("anv.skhcn" + dom); e.Phone != "0258 3822 000" || e.Title != "Giám đốc" {
		t.Fatalf("before: %+v", e)
	}
	if snap() != first {
		t.Error("unchanged controls: a new snapshot within the TTL")
	}

	set := func(scope, key, attr string, on bool) {
		t.Helper()
		if _, err := org.SetWithheld(ctx, orgdb.Withheld{Scope: scope, Key: key, Attribute: attr, Actor: "test"}, on); err != nil {
			t.Fatal(err)
		}
	}
	set(orgdb.ScopeAccount, "anv.skhcn"+dom, orgdb.AttrPhone, true)
	set(orgdb.ScopeUnit, "56.skhcn", orgdb.AttrTitle, true) // and its division
	set(orgdb.ScopeUnit, "22333", orgdb.AttrEntry, true)
	if err := org.AddGroup(ctx, orgdb.Group{Address: "lanhdao.skhcn" + dom, Name: "Lãnh đạo Sở", Kind: orgdb.GroupCustom,
		UnitCode: "56.skhcn", Policy: orgdb.PolicyMembers, Members: []string{"anv.skhcn" + dom}}); err != nil {
		t.Fatal(err)
	}
	s := snap()
	if e, _ := s.Lookup("anv.skhcn" + dom); e.Phone != "" || e.Title != "" {
		t.Errorf("withheld phone and unit title still published: %+v", e)
	}
	if e, _ := s.Lookup("duclv.vanphong.skhcn" + dom); e.Title != "" || e.Phone == "" {
		t.Errorf("sub-unit: title should follow the unit's control, phone stay: %+v", e)
	}
	if _, ok := s.Lookup("tramdt.nhatrang" + dom); ok {
		t.Error("official of a hidden unit still listed")
	}
	if _, ok := s.Units["22333"]; ok {
		t.Error("hidden unit still in the tree")
	}
	g, ok := s.Lookup("lanhdao.skhcn" + dom)
	if !ok || !g.IsGroup || g.Unit != "Sở Khoa học và Công nghệ" || len(g.Members) != 1 {
		t.Errorf("group entry: %+v", g)
	}

	set(orgdb.ScopeAccount, "anv.skhcn"+dom, orgdb.AttrPhone, false)
	if e, _ := snap().Lookup("anv.skhcn" + dom); e.Phone != "0258 3822 000" {
		t.Errorf("published again: %+v", e)
	}
}
