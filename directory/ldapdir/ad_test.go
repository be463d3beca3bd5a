package ldapdir

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"congvu/directory"
	"congvu/directory/ldapdir/sambatest"
	"congvu/directory/orgdb"
	"congvu/internal/mailerr"
)

// TestActiveDirectory runs the "ad" schema against a real Samba AD domain
// controller: lookups by mail and by proxyAddresses alias, logins by
// sAMAccountName, userPrincipalName, mail or alias (a wrong password names
// the account so the lockout counts it), the unit from department, the
// role from memberOf, userAccountControl's disabled bit, AD's "must change
// password", and congvu's own state laid over AD (orgdb.Overlay) for the
// locks AD cannot hold.
func TestActiveDirectory(t *testing.T) {
	if !sambatest.InNetns(t) {
		return
	}
	dc := sambatest.Start(t)
	const domain = "khanhhoa.gov.vn"
	dc.AddUser(t, sambatest.User{SAM: "thanhnn", Mail: "ThanhNN.skhcn@" + domain, Password: "Kh@nhHoa#2025a",
		Proxy: []string{"thanh.nguyen@" + domain}, DisplayName: "Nguyễn Ngọc Thành", Title: "Giám đốc",
		Department: "56.skhcn", Phone: "0258 3822 000"})
	dc.AddUser(t, sambatest.User{SAM: "maitt", Mail: "maitt.skhcn@" + domain, Password: "Tr@ngSa.9x-2025",
		DisplayName: "Trần Thị Mai", Department: "56.skhcn", Disabled: true})
	adminDN := dc.AddUser(t, sambatest.User{SAM: "quantri.skhcn", Mail: "quantri.skhcn@" + domain, Password: "QuanTri#Don8Vi",
		DisplayName: "Quản trị Sở KH&CN", Department: "56.skhcn"})
	ducDN := dc.AddUser(t, sambatest.User{SAM: "ducdv", Mail: "ducdv.nhatrang@" + domain, Password: "Nh@Trang2025x",
		DisplayName: "Đỗ Văn Đức", Department: "22366"})
	admins := dc.AddGroup(t, "congvu-quantri-donvi", adminDN)

	pem, err := os.ReadFile(dc.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	d, err := Open(Config{URL: dc.URL, BaseDN: sambatest.BaseDN, BindDN: dc.AdminDN, BindPassword: sambatest.AdminPassword,
		TLS: &tls.Config{RootCAs: roots}, Schema: SchemaAD, CacheTTL: -1, NegativeCacheTTL: -1,
		RoleGroups: map[string]directory.Role{admins: directory.RoleAdmin}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()

	thanh := "thanhnn.skhcn@" + domain
	for _, addr := range []string{thanh, "THANH.NGUYEN@" + domain} {
		a, err := d.Lookup(ctx, addr)
		if err != nil {
			t.Fatalf("Lookup(%s): %v", addr, err)
		}
		if a.Address != thanh || !slices.Equal(a.Aliases, []string{"thanh.nguyen@" + domain}) || a.UnitCode != "56.skhcn" ||
			a.DisplayName != "Nguyễn Ngọc Thành" || a.Title != "Giám đốc" || a.Phone != "0258 3822 000" ||
			a.Role != directory.RoleOfficial || a.State != directory.StateActive {
			t.Errorf("Lookup(%s) = %+v", addr, a)
		}
	}
	if _, err := d.Lookup(ctx, "khongco@"+domain); !errors.Is(err, mailerr.ErrUnknownUser) {
		t.Errorf("unknown address: %v", err)
	}
	for _, login := range []string{"thanhnn", "thanhnn@" + domain, thanh, "thanh.nguyen@" + domain} {
		if a, err := d.Authenticate(ctx, login, "Kh@nhHoa#2025a"); err != nil || a.Address != thanh {
			t.Errorf("Authenticate(%s) = %v, %v", login, a, err)
		}
		if a, err := d.Authenticate(ctx, login, "sai-mat-khau"); !errors.Is(err, mailerr.ErrAuthFailed) || a == nil || a.Address != thanh {
			t.Errorf("wrong password as %s: %v, %v (want the account with ErrAuthFailed)", login, a, err)
		}
	}
	if a, err := d.Authenticate(ctx, "maitt", "Tr@ngSa.9x-2025"); !errors.Is(err, mailerr.ErrAccountDisabled) || a == nil || a.State != directory.StateLocked {
		t.Errorf("disabled in AD: %v, %v", a, err)
	}
	if a, err := d.Lookup(ctx, "quantri.skhcn@"+domain); err != nil || a.Role != directory.RoleAdmin {
		t.Errorf("member of the admin group: %+v, %v", a, err)
	}
	list, err := d.Accounts(ctx, "56.skhcn")
	if err != nil || len(list) != 3 {
		t.Errorf("Accounts(56.skhcn) = %d accounts, %v", len(list), err)
	}
	// "Must change password at next logon" (pwdLastSet 0): the right
	// password gives EXPIRED, not a failure.
	dc.Replace(t, ducDN, "pwdLastSet", "0")
	if _, err := d.Authenticate(ctx, "ducdv", "Nh@Trang2025x"); !errors.Is(err, mailerr.ErrPasswordExpired) {
		t.Errorf("must change password in AD: %v, want EXPIRED", err)
	}
	// congvu does not write to AD.
	if err := d.SetStateReason(ctx, thanh, directory.StateLocked, "x"); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("SetStateReason on AD: %v", err)
	}

	// congvu's own state over AD.
	db, err := orgdb.Open(filepath.Join(t.TempDir(), "org.db"))
	if err != nil {
		t.Fatal(err)
	}
	o := orgdb.NewOverlay(d, db, d.Close, nil)
	defer o.Close()
	defer db.Close()
	reason := "Nhập sai mật khẩu 13 lần liên tiếp / 13 consecutive failed logins"
	if err := o.SetStateReason(ctx, "thanhnn", directory.StateLocked, reason); !errors.Is(err, mailerr.ErrUnknownUser) {
		t.Errorf("SetStateReason by sAMAccountName: %v (a state belongs to an address)", err)
	}
	if err := o.SetStateReason(ctx, "thanh.nguyen@"+domain, directory.StateLocked, reason); err != nil {
		t.Fatal(err)
	}
	if a, err := o.Lookup(ctx, thanh); err != nil || a.State != directory.StateLocked || a.StateReason != reason || a.StateChanged.IsZero() {
		t.Errorf("locked in congvu: %+v, %v", a, err)
	}
	if a, err := o.Authenticate(ctx, "thanhnn", "Kh@nhHoa#2025a"); !errors.Is(err, mailerr.ErrAccountDisabled) || a.StateReason != reason {
		t.Errorf("right password while locked in congvu: %v, %v", a, err)
	}
	if a, err := o.Authenticate(ctx, "thanhnn", "sai"); !errors.Is(err, mailerr.ErrAuthFailed) || a == nil {
		t.Errorf("wrong password while locked: %v, %v", a, err)
	}
	list, _ = o.Accounts(ctx, "56.skhcn")
	for _, a := range list {
		if a.Address == thanh && a.State != directory.StateLocked {
			t.Errorf("Accounts shows %s %s", a.Address, a.State)
		}
	}
	if err := o.SetState(ctx, thanh, directory.StateActive); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Authenticate(ctx, thanh, "Kh@nhHoa#2025a"); err != nil {
		t.Errorf("after unlock: %v", err)
	}
	// Unlocking in congvu does not enable what AD disabled.
	o.SetState(ctx, "maitt.skhcn@"+domain, directory.StateActive)
	if a, _ := o.Lookup(ctx, "maitt.skhcn@"+domain); a.State != directory.StateLocked {
		t.Errorf("AD-disabled account shows %s", a.State)
	}
	if err := o.PutAccount(ctx, directory.Account{Address: "moi@" + domain}, "x"); !errors.Is(err, orgdb.ErrManagedElsewhere) {
		t.Errorf("PutAccount: %v", err)
	}
	// Units live in congvu's store.
	if err := o.PutUnit(ctx, directory.Unit{Code: "56.skhcn", Name: "Sở Khoa học và Công nghệ", Abbr: "skhcn", Kind: directory.UnitDepartment}); err != nil {
		t.Fatal(err)
	}
	if u, err := o.Units(ctx); err != nil || len(u) != 1 || u[0].Abbr != "skhcn" {
		t.Errorf("Units = %+v, %v", u, err)
	}
}
