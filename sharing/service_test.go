package sharing

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"congvu/directory"
	"congvu/directory/sqldir"
)

func testDir(t *testing.T) *sqldir.DB {
	t.Helper()
	d, err := sqldir.Open(filepath.Join(t.TempDir(), "dir.db"), sqldir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ctx := context.Background()
	for _, u := range []directory.Unit{
		{Code: "56", Name: "UBND tỉnh", Abbr: "ubnd", Kind: directory.UnitProvince, Address: "ubnd@kh.gov.vn"},
		{Code: "56.skhcn", Name: "Sở KHCN", Abbr: "skhcn", Kind: directory.UnitDepartment, ParentCode: "56", Address: "skhcn@kh.gov.vn"},
	} {
		if err := d.PutUnit(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []directory.Account{
		{Address: "skhcn@kh.gov.vn", UnitCode: "56.skhcn", Role: directory.RoleUnit},
		{Address: "vanthu1@kh.gov.vn", UnitCode: "56.skhcn", Role: directory.RoleClerk, Title: "Văn thư"},
		{Address: "giamdoc@kh.gov.vn", UnitCode: "56.skhcn", Role: directory.RoleOfficial, Title: "Giám đốc"},
		{Address: "chuyenvien@kh.gov.vn", UnitCode: "56.skhcn", Role: directory.RoleOfficial, Title: "Chuyên viên"},
		{Address: "qtskhcn@kh.gov.vn", UnitCode: "56.skhcn", Role: directory.RoleAdmin},
		{Address: "qttinh@kh.gov.vn", UnitCode: "56", Role: directory.RoleAdmin},
		{Address: "khac@kh.gov.vn", UnitCode: "56", Role: directory.RoleClerk},
	} {
		a.State = directory.StateActive
		if err := d.PutAccount(ctx, a, ""); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func TestRightsFromDirectoryAndSetACL(t *testing.T) {
	d := testDir(t)
	s, err := Open(filepath.Join(t.TempDir(), "acl.db"), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	acct := func(addr string) *directory.Account {
		a, err := d.Lookup(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for addr, want := range map[string]string{
		"vanthu1@kh.gov.vn": ClerkRights, "giamdoc@kh.gov.vn": LeaderRights, "chuyenvien@kh.gov.vn": "",
		"qtskhcn@kh.gov.vn": AdminRights, "qttinh@kh.gov.vn": AdminRights, "khac@kh.gov.vn": "",
	} {
		if r, err := s.Rights(ctx, acct(addr), "skhcn@kh.gov.vn"); err != nil || r != want {
			t.Errorf("%s: %q %v, want %q", addr, r, err, want)
		}
	}
	boxes, err := s.Boxes(ctx, acct("vanthu1@kh.gov.vn"))
	if err != nil || len(boxes) != 1 || boxes[0].Name != "skhcn" {
		t.Fatalf("clerk's boxes %+v %v", boxes, err)
	}
	// A clerk may not be made by a leader; the unit admin may.
	if _, _, err := s.SetACL(ctx, acct("giamdoc@kh.gov.vn"), "skhcn@kh.gov.vn", "chuyenvien@kh.gov.vn", ClerkRights, false); !errors.Is(err, ErrNotAdmin) {
		t.Fatalf("leader's SETACL: %v", err)
	}
	v := s.Version()
	before, after, err := s.SetACL(ctx, acct("qtskhcn@kh.gov.vn"), "skhcn@kh.gov.vn", "chuyenvien@kh.gov.vn", "lrswipkxtecda", false)
	if err != nil || before != "" || after != ClerkRights || s.Version() == v {
		t.Fatalf("SETACL: %q → %q %v", before, after, err)
	}
	if _, after, _ := s.SetACL(ctx, acct("qtskhcn@kh.gov.vn"), "skhcn@kh.gov.vn", "giamdoc@kh.gov.vn", "-s", false); after != "lr" {
		t.Errorf("SETACL -s: %q", after)
	}
	if _, after, _ := s.SetACL(ctx, acct("qtskhcn@kh.gov.vn"), "skhcn@kh.gov.vn", "giamdoc@kh.gov.vn", "", true); after != LeaderRights {
		t.Errorf("DELETEACL gives back the directory's rights: %q", after)
	}
	acl, err := s.ACL(ctx, "skhcn@kh.gov.vn")
	if err != nil || len(acl) != 4 {
		t.Fatalf("ACL %+v %v", acl, err)
	}
	if _, _, err := s.SetACL(ctx, acct("qtskhcn@kh.gov.vn"), "skhcn@kh.gov.vn", "khongco@kh.gov.vn", "lr", false); !errors.Is(err, ErrUnknownIdentifier) {
		t.Errorf("unknown identifier: %v", err)
	}
}

func TestRightsHelpers(t *testing.T) {
	for in, want := range map[string]string{"rl": "lr", "d": "xted", "kxte": "kxtecd", "lrswipkxtecda": ClerkRights} {
		if got := Canonical(in); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Modify("lrswipkxtecda", "-d"); got != "lrswipkca" {
		t.Errorf("Modify -d: %q", got)
	}
	for title, want := range map[string]bool{"Giám đốc": true, "Phó Chủ tịch UBND xã": true, "Chuyên viên": false, "Trưởng phòng": true, "Văn thư": false} {
		if IsLeaderTitle(title) != want {
			t.Errorf("IsLeaderTitle(%q) != %v", title, want)
		}
	}
}
