package dirtest

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"congvu/directory"
	"congvu/internal/mailerr"
)

// testRenameAccount: a transfer gives thanh a new primary address in
// another unit; the old one and the aliases still resolve to the same
// account, the password and certificate are kept; an address of another
// account or an unknown account is refused.
func testRenameAccount(t *testing.T, w directory.Writer) {
	rn, ok := w.(directory.Renamer)
	if !ok {
		t.Fatal("backend cannot rename accounts (directory.Renamer)")
	}
	ctx := context.Background()
	der := testCertificate(t)
	if cs, ok := w.(directory.Certificates); ok {
		if err := cs.PutCertificate(ctx, thanh, der); err != nil {
			t.Fatal(err)
		}
	}
	a, err := w.Lookup(ctx, thanh)
	if err != nil {
		t.Fatal(err)
	}
	moved := "thanhnn.nhatrang@" + domain
	a.Aliases = append(a.Aliases, thanh)
	a.Address, a.UnitCode = moved, communeCode
	if err := rn.RenameAccount(ctx, thanh, *a); err != nil {
		t.Fatalf("RenameAccount: %v", err)
	}
	for _, addr := range []string{moved, thanh, thanhAlias, thanhAlias2} {
		got, err := w.Lookup(ctx, addr)
		if err != nil || got.Address != moved || got.UnitCode != communeCode || got.Title != "Giám đốc" ||
			!slices.Equal(got.Aliases, []string{thanhAlias, thanh, thanhAlias2}) {
			t.Errorf("Lookup(%s) after rename = %+v, %v", addr, got, err)
		}
	}
	wantAuth(t, w, moved, thanhPass, moved)
	wantAuth(t, w, thanh, thanhPass, moved)
	if cs, ok := w.(directory.Certificates); ok {
		if got, err := cs.Certificate(ctx, moved); err != nil || !bytes.Equal(got, der) {
			t.Errorf("certificate after rename: %v, %d bytes", err, len(got))
		}
	}
	list, err := w.Accounts(ctx, skhcnCode)
	if err != nil || slices.Contains(addresses(list), thanh) || slices.Contains(addresses(list), moved) {
		t.Errorf("old unit still lists the account: %v %v", addresses(list), err)
	}
	b := *a
	b.Address, b.Aliases = mai, nil
	wantErr(t, "rename onto another account", rn.RenameAccount(ctx, moved, b), directory.ErrAddressTaken)
	b.Address = "khongco2@" + domain
	wantErr(t, "rename of an unknown account", rn.RenameAccount(ctx, "khongco@"+domain, b), mailerr.ErrUnknownUser)
}

// testDeleteUnit: a unit with accounts or sub-units stays; once empty it
// goes.
func testDeleteUnit(t *testing.T, w directory.Writer) {
	rm, ok := w.(directory.UnitRemover)
	if !ok {
		t.Fatal("backend cannot delete units (directory.UnitRemover)")
	}
	ctx := context.Background()
	wantErr(t, "unit with sub-units and accounts", rm.DeleteUnit(ctx, skhcnCode), directory.ErrInvalid)
	wantErr(t, "unit with an account", rm.DeleteUnit(ctx, officeCode), directory.ErrInvalid)
	a, err := w.Lookup(ctx, mai)
	if err != nil {
		t.Fatal(err)
	}
	a.UnitCode = skhcnCode
	if err := w.PutAccount(ctx, *a, ""); err != nil {
		t.Fatal(err)
	}
	if err := rm.DeleteUnit(ctx, officeCode); err != nil {
		t.Fatalf("DeleteUnit of an empty unit: %v", err)
	}
	units, err := w.Units(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		if u.Code == officeCode {
			t.Errorf("deleted unit still listed")
		}
	}
}
