package orgdb

import (
	"errors"
	"path/filepath"
	"testing"

	"congvu/directory"
	"congvu/directory/sqldir"
	"congvu/internal/mailerr"
)

const (
	domain = "khanhhoa.gov.vn"
	thanh  = "thanhnn.skhcn@" + domain
	pass   = "Khanh-Hoa#2025a"
)

// openOverlay lays a fresh store over a SQLite directory standing in for
// a read-only one.
func openOverlay(t *testing.T) (*Overlay, *sqldir.DB) {
	t.Helper()
	dir := t.TempDir()
	d, err := sqldir.Open(filepath.Join(dir, "dir.db"), sqldir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.PutAccount(t.Context(), directory.Account{Address: thanh, Aliases: []string{"thanh@" + domain},
		DisplayName: "Nguyễn Ngọc Thành", UnitCode: "56.skhcn"}, pass); err != nil {
		t.Fatal(err)
	}
	db, err := Open(filepath.Join(dir, "org.db"))
	if err != nil {
		t.Fatal(err)
	}
	o := NewOverlay(d, db, d.Close, nil)
	t.Cleanup(func() { o.Close(); db.Close() })
	return o, d
}

// A lock kept in the store holds over the directory's "active" (and its
// reason and date show), the right password is then answered
// ErrAccountDisabled, unlocking removes it; a lock in the directory itself
// wins over the store's "active"; a retirement over a lock.
func TestOverlayStates(t *testing.T) {
	o, d := openOverlay(t)
	ctx := t.Context()
	if err := o.SetStateReason(ctx, "thanh@"+domain, directory.StateLocked, " chuyển công tác "); err != nil {
		t.Fatal(err)
	}
	a, err := o.Lookup(ctx, thanh)
	if err != nil || a.State != directory.StateLocked || a.StateReason != "chuyển công tác" || a.StateChanged.IsZero() {
		t.Fatalf("Lookup: %+v, %v", a, err)
	}
	changed := a.StateChanged
	o.SetStateReason(ctx, thanh, directory.StateLocked, "lý do khác")
	if a, _ := o.Lookup(ctx, thanh); !a.StateChanged.Equal(changed) || a.StateReason != "lý do khác" {
		t.Errorf("same state again moved the date or kept the reason: %+v", a)
	}
	if a, err := o.Authenticate(ctx, thanh, pass); !errors.Is(err, mailerr.ErrAccountDisabled) || a == nil {
		t.Errorf("right password while locked: %v, %v", a, err)
	}
	if a, err := o.Authenticate(ctx, thanh, "sai"); !errors.Is(err, mailerr.ErrAuthFailed) || a == nil {
		t.Errorf("wrong password: %v, %v", a, err)
	}
	if list, _ := o.Accounts(ctx, ""); len(list) != 1 || list[0].State != directory.StateLocked {
		t.Errorf("Accounts: %+v", list)
	}
	o.SetStateReason(ctx, thanh, directory.StateRetired, "nghỉ hưu")
	if _, err := o.Authenticate(ctx, thanh, pass); !errors.Is(err, mailerr.ErrAccountDisabled) || mailerr.As(err).Message != "Account is closed" {
		t.Errorf("retired: %v", err)
	}
	if err := o.SetState(ctx, thanh, directory.StateActive); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Authenticate(ctx, thanh, pass); err != nil {
		t.Errorf("after unlock: %v", err)
	}
	d.SetStateReason(ctx, thanh, directory.StateLocked, "khoá trong danh bạ")
	if a, _ := o.Lookup(ctx, thanh); a.State != directory.StateLocked || a.StateReason != "khoá trong danh bạ" {
		t.Errorf("the directory's own lock: %+v", a)
	}
	if err := o.SetStateReason(ctx, "khongco@"+domain, directory.StateLocked, "x"); !errors.Is(err, mailerr.ErrUnknownUser) {
		t.Errorf("unknown account: %v", err)
	}
	if err := o.SetPassword(ctx, thanh, "Moi#MatKhau99", false); !errors.Is(err, ErrManagedElsewhere) {
		t.Errorf("SetPassword: %v", err)
	}
}

// Units live in the store with the backends' rules: no cycles, known
// kinds, parents before children.
func TestOverlayUnits(t *testing.T) {
	o, _ := openOverlay(t)
	ctx := t.Context()
	for _, u := range []directory.Unit{
		{Code: "56.skhcn.vp", Name: "Văn phòng Sở", Kind: directory.UnitDivision, ParentCode: "56.skhcn"},
		{Code: "56.skhcn", Name: "Sở Khoa học và Công nghệ", Abbr: "SKHCN", Kind: directory.UnitDepartment, ParentCode: "56"},
		{Code: "56", Name: "UBND tỉnh Khánh Hòa", Kind: directory.UnitProvince},
	} {
		if err := o.PutUnit(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	list, err := o.Units(ctx)
	if err != nil || len(list) != 3 || list[0].Code != "56" || list[2].Code != "56.skhcn.vp" || list[1].Abbr != "skhcn" {
		t.Fatalf("Units = %+v, %v", list, err)
	}
	if err := o.PutUnit(ctx, directory.Unit{Code: "56", Name: "x", Kind: directory.UnitProvince, ParentCode: "56.skhcn.vp"}); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("cycle: %v", err)
	}
	if err := o.PutUnit(ctx, directory.Unit{Code: "x", Name: "x", Kind: "bogus"}); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("bad kind: %v", err)
	}
}
