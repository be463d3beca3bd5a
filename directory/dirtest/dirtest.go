// Package dirtest is the conformance suite every directory implementation
// must pass (the embedded SQLite directory now, LDAP later). An
// implementation's test calls Run with a constructor of empty directories:
//
//	func TestConformance(t *testing.T) {
//		dirtest.Run(t, func(t *testing.T) directory.Writer {
//			d, err := sqldir.Open(filepath.Join(t.TempDir(), "dir.db"), sqldir.Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return d
//		})
//	}
//
// Run closes each directory at the end of the subtest that made it.
package dirtest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"congvu/directory"
	"congvu/internal/mailerr"
)

// The fixture: a small slice of Khánh Hòa's tree with its people.
const (
	domain       = "khanhhoa.gov.vn"
	provinceCode = "56"
	skhcnCode    = "56.skhcn"
	officeCode   = "56.skhcn.vp"
	communeCode  = "22366" // Phường Nha Trang, official code
	thanh        = "thanhnn.skhcn@" + domain
	thanhAlias   = "thanh.nguyen@" + domain
	thanhAlias2  = "thanhnn@khcn." + domain
	mai          = "maitt.skhcn@" + domain
	unitBox      = "skhcn@" + domain
	duc          = "ducdv.nhatrang@" + domain
	operator     = "quantri@" + domain
	thanhPass    = "Khanh-Hoa#2025a"
	maiPass      = "Tr@ngSa.9x"
	unitPass     = "HopThu!Don8Vi"
	ducPass      = "Nh@Trang2025"
	operatorPass = "QuanTri#Tinh56"
	newPass      = "Doi.MatKhau#7"
	// thanhName is the one name the fixture stores decomposed (NFD), to
	// check that implementations hand names back in NFC.
	thanhName = "Nguyễn Ngọc Thành"
)

func units() []directory.Unit {
	return []directory.Unit{
		{Code: officeCode, Name: "Văn phòng Sở", Abbr: "vanphong", Kind: directory.UnitDivision, ParentCode: skhcnCode},
		{Code: communeCode, Name: "Phường Nha Trang", Abbr: "nhatrang", Kind: directory.UnitCommune, ParentCode: provinceCode, Address: "nhatrang@" + domain},
		{Code: skhcnCode, Name: "Sở Khoa học và Công nghệ", Abbr: "skhcn", Kind: directory.UnitDepartment, ParentCode: provinceCode, Address: unitBox},
		{Code: provinceCode, Name: "Ủy ban nhân dân tỉnh Khánh Hòa", Abbr: "ubnd", Kind: directory.UnitProvince, Address: "ubnd@" + domain},
	}
}

type seeded struct {
	account  directory.Account
	password string
}

func accounts() []seeded {
	return []seeded{
		{directory.Account{Address: thanh, Aliases: []string{thanhAlias2, thanhAlias}, DisplayName: norm.NFD.String(thanhName),
			UnitCode: skhcnCode, Title: "Giám đốc", Phone: "0258 3822 000", Role: directory.RoleOfficial,
			State: directory.StateActive, QuotaBytes: 2 << 30}, thanhPass},
		{directory.Account{Address: mai, DisplayName: "Trần Thị Mai", UnitCode: officeCode, Title: "Văn thư",
			Role: directory.RoleClerk, State: directory.StateActive}, maiPass},
		{directory.Account{Address: unitBox, DisplayName: "Sở Khoa học và Công nghệ", UnitCode: skhcnCode,
			Role: directory.RoleUnit, State: directory.StateActive}, unitPass},
		{directory.Account{Address: duc, DisplayName: "Đỗ Văn Đức", UnitCode: communeCode, Title: "Chủ tịch UBND phường",
			Role: directory.RoleOfficial, State: directory.StateActive, MustChangePassword: true}, ducPass},
		{directory.Account{Address: operator, DisplayName: "Quản trị hệ thống", UnitCode: skhcnCode,
			Title: "Quản trị thư điện tử công vụ tỉnh", Role: directory.RoleOperator, State: directory.StateActive}, operatorPass},
	}
}

// Run runs the conformance suite. newDir must return a new, empty directory
// each time it is called.
func Run(t *testing.T, newDir func(t *testing.T) directory.Writer) {
	fresh := func(t *testing.T) directory.Writer {
		w := newDir(t)
		t.Cleanup(func() {
			if err := w.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return w
	}
	seed := func(t *testing.T) directory.Writer {
		t.Helper()
		w := fresh(t)
		ctx := t.Context()
		for _, u := range units() {
			if err := w.PutUnit(ctx, u); err != nil {
				t.Fatalf("PutUnit(%s): %v", u.Code, err)
			}
		}
		for _, s := range accounts() {
			if err := w.PutAccount(ctx, s.account, s.password); err != nil {
				t.Fatalf("PutAccount(%s): %v", s.account.Address, err)
			}
		}
		return w
	}

	t.Run("EmptyDirectory", func(t *testing.T) { testEmpty(t, fresh(t)) })
	t.Run("Lookup", func(t *testing.T) { testLookup(t, seed(t)) })
	t.Run("UnknownUser", func(t *testing.T) { testUnknown(t, seed(t)) })
	t.Run("Authenticate", func(t *testing.T) { testAuthenticate(t, seed(t)) })
	t.Run("Locked", func(t *testing.T) { testLocked(t, seed(t)) })
	t.Run("StateReason", func(t *testing.T) { testStateReason(t, seed(t)) })
	t.Run("MailHost", func(t *testing.T) { testMailHost(t, seed(t)) })
	t.Run("Retired", func(t *testing.T) { testRetired(t, seed(t)) })
	t.Run("SetPassword", func(t *testing.T) { testSetPassword(t, seed(t)) })
	t.Run("UpdateAccount", func(t *testing.T) { testUpdate(t, seed(t)) })
	t.Run("AddressConflicts", func(t *testing.T) { testConflicts(t, seed(t)) })
	t.Run("Units", func(t *testing.T) { testUnits(t, seed(t)) })
	t.Run("AccountsByUnit", func(t *testing.T) { testAccounts(t, seed(t)) })
	t.Run("VietnameseNFC", func(t *testing.T) { testNFC(t, seed(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, seed(t)) })
	t.Run("Certificates", func(t *testing.T) { testCertificates(t, seed(t)) })
	t.Run("RenameAccount", func(t *testing.T) { testRenameAccount(t, seed(t)) })
	t.Run("DeleteUnit", func(t *testing.T) { testDeleteUnit(t, seed(t)) })
}

// wantErr fails unless err matches target with errors.Is.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

func testEmpty(t *testing.T, w directory.Writer) {
	ctx := t.Context()
	if _, err := w.Lookup(ctx, thanh); !errors.Is(err, mailerr.ErrUnknownUser) {
		t.Errorf("Lookup in empty directory: %v", err)
	}
	if us, err := w.Units(ctx); err != nil || len(us) != 0 {
		t.Errorf("Units of empty directory = %v, %v", us, err)
	}
	if as, err := w.Accounts(ctx, ""); err != nil || len(as) != 0 {
		t.Errorf("Accounts of empty directory = %v, %v", as, err)
	}
}

func testLookup(t *testing.T, w directory.Writer) {
	ctx := t.Context()
	a, err := w.Lookup(ctx, thanh)
	if err != nil {
		t.Fatalf("Lookup(%s): %v", thanh, err)
	}
	want := directory.Account{Address: thanh, Aliases: []string{thanhAlias, thanhAlias2}, DisplayName: thanhName,
		UnitCode: skhcnCode, Title: "Giám đốc", Phone: "0258 3822 000", Role: directory.RoleOfficial,
		State: directory.StateActive, QuotaBytes: 2 << 30}
	got := *a
	got.Aliases = slices.Sorted(slices.Values(got.Aliases))
	got.StateChanged, got.PasswordChanged = time.Time{}, time.Time{}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Lookup(%s) =\n %+v\nwant\n %+v", thanh, got, want)
	}
	for _, in := range []string{
		"ThanhNN.SKHCN@KhanhHoa.Gov.VN",
		"  thanhnn.skhcn@khanhhoa.gov.vn ",
		thanhAlias,
		"Thanh.Nguyen@KHANHHOA.gov.vn",
		thanhAlias2,
	} {
		a, err := w.Lookup(ctx, in)
		if err != nil || a.Address != thanh {
			t.Errorf("Lookup(%q) = %v, %v; want %s", in, a, err, thanh)
		}
	}
	d, err := w.Lookup(ctx, duc)
	if err != nil || !d.MustChangePassword || d.Role != directory.RoleOfficial || d.UnitCode != communeCode {
		t.Errorf("Lookup(%s) = %+v, %v", duc, d, err)
	}
	u, err := w.Lookup(ctx, "SKHCN@khanhhoa.gov.vn")
	if err != nil || u.Role != directory.RoleUnit || len(u.Aliases) != 0 {
		t.Errorf("Lookup(unit mailbox) = %+v, %v", u, err)
	}
}

func testUnknown(t *testing.T, w directory.Writer) {
	ctx := t.Context()
	for _, in := range []string{"khongco.skhcn@" + domain, "thanhnn.skhcn@hanoi.gov.vn", "thanhnn.skhcn", "", "@" + domain} {
		_, err := w.Lookup(ctx, in)
		wantErr(t, fmt.Sprintf("Lookup(%q)", in), err, mailerr.ErrUnknownUser)
		if errors.Is(err, mailerr.ErrDirectoryUnavailable) {
			t.Errorf("Lookup(%q): unknown user reported as unavailable: %v", in, err)
		}
	}
	wantErr(t, "SetPassword(unknown)", w.SetPassword(ctx, "khongco@"+domain, newPass, true), mailerr.ErrUnknownUser)
	wantErr(t, "SetState(unknown)", w.SetState(ctx, "khongco@"+domain, directory.StateLocked), mailerr.ErrUnknownUser)
}

// wantAuth checks a successful login.
func wantAuth(t *testing.T, w directory.Writer, login, password, address string) {
	t.Helper()
	a, err := w.Authenticate(t.Context(), login, password)
	if err != nil || a == nil || a.Address != address {
		t.Errorf("Authenticate(%q) = %v, %v; want %s", login, a, err, address)
	}
}

// wantRefused checks a failed login of an unknown name: ErrAuthFailed and
// no account.
func wantRefused(t *testing.T, w directory.Writer, login, password string) {
	t.Helper()
	a, err := w.Authenticate(t.Context(), login, password)
	if !errors.Is(err, mailerr.ErrAuthFailed) || a != nil {
		t.Errorf("Authenticate(%q, wrong) = %v, %v; want nil, ErrAuthFailed", login, a, err)
	}
}

// wantWrongPassword checks a wrong password for a login naming an account:
// ErrAuthFailed with the account, so the policy can count the failure
// against it whatever name was typed.
func wantWrongPassword(t *testing.T, w directory.Writer, login, password, address string) {
	t.Helper()
	a, err := w.Authenticate(t.Context(), login, password)
	if !errors.Is(err, mailerr.ErrAuthFailed) || a == nil || a.Address != address {
		t.Errorf("Authenticate(%q, wrong) = %v, %v; want %s, ErrAuthFailed", login, a, err, address)
	}
}

func testAuthenticate(t *testing.T, w directory.Writer) {
	wantAuth(t, w, thanh, thanhPass, thanh)
	wantAuth(t, w, "ThanhNN.SKHCN@KhanhHoa.gov.vn", thanhPass, thanh)
	wantAuth(t, w, thanhAlias, thanhPass, thanh)
	wantAuth(t, w, unitBox, unitPass, unitBox)
	wantAuth(t, w, duc, ducPass, duc) // must-change accounts still log in
	wantWrongPassword(t, w, thanh, maiPass, thanh)
	wantWrongPassword(t, w, thanh, "khanh-hoa#2025a", thanh) // passwords are case-sensitive
	wantWrongPassword(t, w, thanh, thanhPass+" ", thanh)
	wantWrongPassword(t, w, thanh, "", thanh)
	wantWrongPassword(t, w, thanhAlias, maiPass, thanh)
	wantRefused(t, w, "khongco.skhcn@"+domain, thanhPass)
	wantRefused(t, w, "", "")
	// Unknown user and wrong password must be indistinguishable.
	_, e1 := w.Authenticate(t.Context(), "khongco.skhcn@"+domain, "x")
	_, e2 := w.Authenticate(t.Context(), thanh, "x")
	if e1 == nil || e2 == nil || e1.Error() != e2.Error() {
		t.Errorf("unknown user and wrong password differ: %v / %v", e1, e2)
	}
}

func testLocked(t *testing.T, w directory.Writer) {
	ctx := t.Context()
	before := time.Now().Add(-time.Second)
	if err := w.SetState(ctx, thanhAlias, directory.StateLocked); err != nil {
		t.Fatalf("SetState(locked) via alias: %v", err)
	}
	a, err := w.Authenticate(ctx, thanh, thanhPass)
	if !errors.Is(err, mailerr.ErrAccountDisabled) || a == nil || a.Address != thanh || a.State != directory.StateLocked {
		t.Errorf("Authenticate(locked, right password) = %v, %v; want account, ErrAccountDisabled", a, err)
	}
	wantWrongPassword(t, w, thanh, maiPass, thanh) // a wrong password does not reveal the lock
	l, err := w.Lookup(ctx, thanh)
	if err != nil || l.State != directory.StateLocked {
		t.Fatalf("Lookup(locked) = %+v, %v", l, err)
	}
	if l.StateChanged.Before(before) {
		t.Errorf("StateChanged %v not updated (before %v)", l.StateChanged, before)
	}
	changed := l.StateChanged
	if err := w.SetState(ctx, thanh, directory.StateLocked); err != nil {
		t.Fatal(err)
	}
	if l, _ := w.Lookup(ctx, thanh); !l.StateChanged.Equal(changed) {
		t.Errorf("StateChanged moved from %v to %v without a change of state", changed, l.StateChanged)
	}
	if err := w.SetState(ctx, thanh, directory.StateActive); err != nil {
		t.Fatal(err)
	}
	wantAuth(t, w, thanh, thanhPass, thanh)
	if err := w.SetState(ctx, thanh, directory.State("bogus")); err == nil {
		t.Error("SetState(bogus) accepted")
	}
}

// testStateReason: a lock records why, the reason survives a PutAccount
// that carries it, and unlocking clears it.
func testStateReason(t *testing.T, w directory.Writer) {
	ctx := t.Context()
	const reason = "Nhập sai mật khẩu 12 lần liên tiếp (imap, 127.0.0.1)"
	before := time.Now().Add(-time.Second)
	if err := w.SetStateReason(ctx, thanhAlias, directory.StateLocked, reason); err != nil {
		t.Fatalf("SetStateReason(locked): %v", err)
	}
	a, err := w.Lookup(ctx, thanh)
	if err != nil || a.State != directory.StateLocked || a.StateReason != reason || a.StateChanged.Before(before) {
		t.Fatalf("Lookup after lock = %+v, %v; want locked with reason %q", a, err, reason)
	}
	changed := a.StateChanged
	// A new reason for the same state replaces the old one without
	// moving StateChanged.
	if err := w.SetStateReason(ctx, thanh, directory.StateLocked, "Khoá theo yêu cầu"); err != nil {
		t.Fatal(err)
	}
	if a, _ := w.Lookup(ctx, thanh); a.StateReason != "Khoá theo yêu cầu" || !a.StateChanged.Equal(changed) {
		t.Errorf("relock: reason %q changed %v, want new reason and %v", a.StateReason, a.StateChanged, changed)
	}
	list, err := w.Accounts(ctx, skhcnCode)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range list {
		if x.Address == thanh && x.StateReason != "Khoá theo yêu cầu" {
			t.Errorf("Accounts lost the reason: %q", x.StateReason)
		}
	}
	if err := w.SetState(ctx, thanh, directory.StateActive); err != nil {
		t.Fatal(err)
	}
	if a, _ := w.Lookup(ctx, thanh); a.State != directory.StateActive || a.StateReason != "" {
		t.Errorf("after unlock: state %s reason %q, want active without reason", a.State, a.StateReason)
	}
	// PutAccount stores the reason it is given for a retired account.
	m, _ := w.Lookup(ctx, mai)
	m.State, m.StateReason = directory.StateRetired, "Chuyển công tác"
	if err := w.PutAccount(ctx, *m, ""); err != nil {
		t.Fatal(err)
	}
	if a, _ := w.Lookup(ctx, mai); a.State != directory.StateRetired || a.StateReason != "Chuyển công tác" {
		t.Errorf("PutAccount(retired, reason) stored %s %q", a.State, a.StateReason)
	}
}

func testRetired(t *testing.T, w directory.Writer) {
	ctx := t.Context()
	if err := w.SetState(ctx, mai, directory.StateRetired); err != nil {
		t.Fatal(err)
	}
	_, err := w.Authenticate(ctx, mai, maiPass)
	if err == nil || !errors.Is(err, mailerr.ErrAccountDisabled) && !errors.Is(err, mailerr.ErrAuthFailed) {
		t.Errorf("Authenticate(retired) error %v, want ErrAccountDisabled or ErrAuthFailed", err)
	}
	wantWrongPassword(t, w, mai, thanhPass, mai)
	// Retired accounts stay visible (retention) until deleted.
	if a, err := w.Lookup(ctx, mai); err != nil || a.State != directory.StateRetired || a.StateChanged.IsZero() {
		t.Errorf("Lookup(retired) = %+v, %v", a, err)
	}
}

func testSetPassword(t *testing.T, w directory.Writer) {
	ctx := t.Context()
	before := time.Now().Add(-time.Second)
	if err := w.SetPassword(ctx, "THANH.NGUYEN@khanhhoa.gov.vn", newPass, true); err != nil {
		t.Fatalf("SetPassword via alias: %v", err)
	}
	wantWrongPassword(t, w, thanh, thanhPass, thanh)
	wantAuth(t, w, thanh, newPass, thanh)
	a, err := w.Lookup(ctx, thanh)
	if err != nil || !a.MustChangePassword || a.PasswordChanged.Before(before) {
		t.Errorf("after SetPassword(mustChange) Lookup = %+v, %v", a, err)
	}
	if err := w.SetPassword(ctx, thanh, thanhPass, false); err != nil {
		t.Fatal(err)
	}
	wantAuth(t, w, thanh, thanhPass, thanh)
	wantWrongPassword(t, w, thanh, newPass, thanh)
	if a, _ := w.Lookup(ctx, thanh); a == nil || a.MustChangePassword {
		t.Errorf("MustChangePassword still set: %+v", a)
	}
	// The change the web makes after a forced change (mustChange false)
	// also moves PasswordChanged, from an old value.
	a, err = w.Lookup(ctx, thanh)
	if err != nil {
		t.Fatal(err)
	}
	a.PasswordChanged, a.MustChangePassword = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), true
	if err := w.PutAccount(ctx, *a, ""); err != nil {
		t.Fatal(err)
	}
	if a, _ := w.Lookup(ctx, thanh); a == nil || !a.PasswordChanged.Equal(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("PutAccount did not keep the given PasswordChanged: %+v", a)
	}
	before = time.Now().Add(-time.Second)
	if err := w.SetPassword(ctx, thanh, newPass, false); err != nil {
		t.Fatal(err)
	}
	if a, _ := w.Lookup(ctx, thanh); a == nil || a.MustChangePassword || a.PasswordChanged.Before(before) {
		t.Errorf("after SetPassword(mustChange=false) Lookup = %+v", a)
	}
	if err := w.SetPassword(ctx, thanh, thanhPass, false); err != nil {
		t.Fatal(err)
	}
	// Other accounts are untouched.
	wantAuth(t, w, mai, maiPass, mai)
	// Vietnamese passwords: precomposed and combining forms are one password.
	if err := w.SetPassword(ctx, mai, "Mật-khẩu-Đẹp9", false); err != nil {
		t.Fatal(err)
	}
	wantAuth(t, w, mai, norm.NFD.String("Mật-khẩu-Đẹp9"), mai)
	if err := w.SetPassword(ctx, mai, "", false); err == nil {
		t.Error("SetPassword(empty) accepted")
	}
}

func testUpdate(t *testing.T, w directory.Writer) {
	ctx := t.Context()
	a, err := w.Lookup(ctx, thanh)
	if err != nil {
		t.Fatal(err)
	}
	a.Title = "Phó Giám đốc"
	a.UnitCode = officeCode
	a.Aliases = []string{"Thanh.NN@" + domain}
	a.MustChangePassword = true
	if err := w.PutAccount(ctx, *a, ""); err != nil {
		t.Fatalf("PutAccount(update, no password): %v", err)
	}
	b, err := w.Lookup(ctx, "thanh.nn@"+domain)
	if err != nil || b.Address != thanh || b.Title != "Phó Giám đốc" || b.UnitCode != officeCode || !b.MustChangePassword {
		t.Fatalf("after update Lookup(new alias) = %+v, %v", b, err)
	}
	if !slices.Equal(b.Aliases, []string{"thanh.nn@" + domain}) {
		t.Errorf("aliases = %v, want only the new one, lower case", b.Aliases)
	}
	if _, err := w.Lookup(ctx, thanhAlias); !errors.Is(err, mailerr.ErrUnknownUser) {
		t.Errorf("removed alias still resolves: %v", err)
	}
	wantAuth(t, w, thanh, thanhPass, thanh) // empty password keeps the old one
	b.DisplayName = "Nguyễn Ngọc Thành (nghỉ hưu)"
	if err := w.PutAccount(ctx, *b, newPass); err != nil {
		t.Fatal(err)
	}
	wantAuth(t, w, thanh, newPass, thanh)
	wantWrongPassword(t, w, thanh, thanhPass, thanh)
	// An account created with a mixed-case address is stored in lower case.
	if err := w.PutAccount(ctx, directory.Account{Address: " HoaLT.SNV@KhanhHoa.gov.vn", DisplayName: "Lê Thị Hoa",
		UnitCode: skhcnCode, Role: directory.RoleOfficial, State: directory.StateActive}, newPass); err != nil {
		t.Fatal(err)
	}
	wantAuth(t, w, "hoalt.snv@khanhhoa.gov.vn", newPass, "hoalt.snv@khanhhoa.gov.vn")
}

func testConflicts(t *testing.T, w directory.Writer) {
	ctx := t.Context()
	// An alias that is someone else's address.
	a := directory.Account{Address: "moi.skhcn@" + domain, Aliases: []string{mai}, DisplayName: "Mới",
		UnitCode: skhcnCode, Role: directory.RoleOfficial, State: directory.StateActive}
	wantErr(t, "alias = other's address", w.PutAccount(ctx, a, newPass), directory.ErrAddressTaken)
	// An alias that is someone else's alias.
	a.Aliases = []string{"Thanh.Nguyen@" + domain}
	wantErr(t, "alias = other's alias", w.PutAccount(ctx, a, newPass), directory.ErrAddressTaken)
	// An address that is someone else's alias.
	a.Address, a.Aliases = thanhAlias, nil
	wantErr(t, "address = other's alias", w.PutAccount(ctx, a, newPass), directory.ErrAddressTaken)
	if _, err := w.Lookup(ctx, "moi.skhcn@"+domain); !errors.Is(err, mailerr.ErrUnknownUser) {
		t.Errorf("refused account was stored: %v", err)
	}
	if got, _ := w.Lookup(ctx, thanhAlias); got == nil || got.Address != thanh {
		t.Errorf("alias lost after refused PutAccount: %v", got)
	}
	for _, bad := range []string{"", "khong-co-a-cong", "a@b@c", "@" + domain, "ten co dau@" + domain, "x@"} {
		a := directory.Account{Address: bad, DisplayName: "X", Role: directory.RoleOfficial, State: directory.StateActive}
		if err := w.PutAccount(ctx, a, newPass); err == nil {
			t.Errorf("PutAccount(%q) accepted a malformed address", bad)
		}
	}
	a = directory.Account{Address: "x.skhcn@" + domain, Role: directory.Role("boss"), State: directory.StateActive}
	if err := w.PutAccount(ctx, a, newPass); err == nil {
		t.Error("PutAccount accepted an unknown role")
	}
}

func testUnits(t *testing.T, w directory.Writer) {
	ctx := t.Context()
	list, err := w.Units(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkTreeOrder(t, list)
	want := units()
	if len(list) != len(want) {
		t.Fatalf("Units() has %d units, want %d: %+v", len(list), len(want), list)
	}
	for _, u := range want {
		i := slices.IndexFunc(list, func(g directory.Unit) bool { return g.Code == u.Code })
		if i < 0 || list[i] != u {
			t.Errorf("unit %s: got %+v, want %+v", u.Code, list, u)
		}
	}
	// Rename and move: still parents first.
	mv := directory.Unit{Code: "56.snv", Name: "Sở Nội vụ", Abbr: "snv", Kind: directory.UnitDepartment, ParentCode: provinceCode}
	if err := w.PutUnit(ctx, mv); err != nil {
		t.Fatal(err)
	}
	office := want[0]
	office.ParentCode, office.Name = "56.snv", "Văn phòng Sở Nội vụ"
	if err := w.PutUnit(ctx, office); err != nil {
		t.Fatal(err)
	}
	list, _ = w.Units(ctx)
	checkTreeOrder(t, list)
	if i := slices.IndexFunc(list, func(g directory.Unit) bool { return g.Code == officeCode }); i < 0 || list[i] != office {
		t.Errorf("moved unit = %+v", list)
	}
	if len(list) != len(want)+1 {
		t.Errorf("Units() after update has %d units, want %d", len(list), len(want)+1)
	}
	if err := w.PutUnit(ctx, directory.Unit{Code: "x", Name: "X", Kind: directory.UnitKind("bogus")}); err == nil {
		t.Error("PutUnit accepted an unknown kind")
	}
}

// checkTreeOrder fails unless each unit's parent (when listed) comes first.
func checkTreeOrder(t *testing.T, list []directory.Unit) {
	t.Helper()
	pos := make(map[string]int, len(list))
	for i, u := range list {
		pos[u.Code] = i
	}
	for i, u := range list {
		if p, ok := pos[u.ParentCode]; ok && p > i {
			t.Errorf("unit %s listed at %d before its parent %s at %d", u.Code, i, u.ParentCode, p)
		}
	}
}

func addresses(list []directory.Account) []string {
	var out []string
	for _, a := range list {
		out = append(out, a.Address)
	}
	return out
}

func testAccounts(t *testing.T, w directory.Writer) {
	ctx := t.Context()
	got, err := w.Accounts(ctx, skhcnCode)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{operator, unitBox, thanh}; !slices.Equal(addresses(got), want) {
		t.Errorf("Accounts(%s) = %v, want %v (ordered by address, not sub-units)", skhcnCode, addresses(got), want)
	}
	for _, a := range got {
		if a.Address == thanh && len(a.Aliases) != 2 {
			t.Errorf("Accounts lost aliases: %+v", a)
		}
	}
	all, err := w.Accounts(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{duc, mai, operator, unitBox, thanh}; !slices.Equal(addresses(all), want) {
		t.Errorf("Accounts(\"\") = %v, want %v", addresses(all), want)
	}
	if none, err := w.Accounts(ctx, "99999"); err != nil || len(none) != 0 {
		t.Errorf("Accounts(unknown unit) = %v, %v", none, err)
	}
}

func testNFC(t *testing.T, w directory.Writer) {
	ctx := t.Context()
	names := []string{"Nguyễn Thị Ánh Tuyết", "Đặng Thùy Trâm", "Hoàng Ưng Quỳnh", "Lữ Thị Ngọc Hường", "Y Khoa Niê", "Ông Ích Khiêm"}
	for i, name := range names {
		in := name
		if i%2 == 1 {
			in = norm.NFD.String(name) // some clients send combining marks
		}
		addr := fmt.Sprintf("canbo%d.nhatrang@%s", i, domain)
		a := directory.Account{Address: addr, DisplayName: in, UnitCode: communeCode, Title: norm.NFD.String("Phó Chủ tịch"),
			Role: directory.RoleOfficial, State: directory.StateActive}
		if err := w.PutAccount(ctx, a, ""); err != nil {
			t.Fatal(err)
		}
		got, err := w.Lookup(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		if got.DisplayName != name || got.Title != "Phó Chủ tịch" {
			t.Errorf("name %q stored as %q (%x), title %q; want NFC %q", in, got.DisplayName, got.DisplayName, got.Title, name)
		}
	}
	// The fixture stored Nguyễn Ngọc Thành decomposed.
	if a, _ := w.Lookup(ctx, thanh); a == nil || a.DisplayName != thanhName || !norm.NFC.IsNormalString(a.DisplayName) {
		t.Errorf("NFD display name not returned as NFC: %+v", a)
	}
	u := directory.Unit{Code: "22390", Name: norm.NFD.String("Phường Tây Nha Trang"), Abbr: "taynhatrang",
		Kind: directory.UnitCommune, ParentCode: provinceCode}
	if err := w.PutUnit(ctx, u); err != nil {
		t.Fatal(err)
	}
	list, _ := w.Units(ctx)
	if i := slices.IndexFunc(list, func(g directory.Unit) bool { return g.Code == "22390" }); i < 0 || list[i].Name != "Phường Tây Nha Trang" {
		t.Errorf("unit name not NFC: %+v", list)
	}
}

func testConcurrent(t *testing.T, w directory.Writer) {
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 4 {
		wg.Go(func() {
			for j := range 10 {
				if _, err := w.Lookup(ctx, thanhAlias); err != nil {
					errs <- fmt.Errorf("Lookup: %w", err)
				}
				if _, err := w.Accounts(ctx, skhcnCode); err != nil {
					errs <- fmt.Errorf("Accounts: %w", err)
				}
				state := directory.StateActive
				if (i+j)%2 == 0 {
					state = directory.StateLocked
				}
				if err := w.SetState(ctx, duc, state); err != nil {
					errs <- fmt.Errorf("SetState: %w", err)
				}
			}
			if _, err := w.Authenticate(ctx, mai, maiPass); err != nil {
				errs <- fmt.Errorf("Authenticate: %w", err)
			}
			a := directory.Account{Address: fmt.Sprintf("song%d.skhcn@%s", i, domain), DisplayName: "Song song",
				UnitCode: skhcnCode, Role: directory.RoleOfficial, State: directory.StateActive}
			if err := w.PutAccount(ctx, a, newPass); err != nil {
				errs <- fmt.Errorf("PutAccount: %w", err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := range 4 {
		wantAuth(t, w, fmt.Sprintf("song%d.skhcn@%s", i, domain), newPass, fmt.Sprintf("song%d.skhcn@%s", i, domain))
	}
}

// testMailHost: the home node is stored and listed, a PutAccount that
// leaves it empty (an import, an admin edit) keeps it, a move changes it.
func testMailHost(t *testing.T, w directory.Writer) {
	ctx := t.Context()
	a, err := w.Lookup(ctx, thanh)
	if err != nil {
		t.Fatal(err)
	}
	if a.MailHost != "" {
		t.Errorf("seeded account has MailHost %q, want none", a.MailHost)
	}
	a.MailHost = "Node2"
	if err := w.PutAccount(ctx, *a, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := w.Lookup(ctx, thanhAlias); got == nil || got.MailHost != "node2" {
		t.Fatalf("after PutAccount(MailHost Node2) Lookup has %+v, want node2 (lower case)", got)
	}
	b := *a
	b.MailHost, b.Title = "", "Phó Giám đốc"
	if err := w.PutAccount(ctx, b, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := w.Lookup(ctx, thanh); got.MailHost != "node2" || got.Title != "Phó Giám đốc" {
		t.Errorf("PutAccount without a mail host: MailHost %q title %q, want node2 kept and the new title", got.MailHost, got.Title)
	}
	b.MailHost = "node3"
	if err := w.PutAccount(ctx, b, ""); err != nil {
		t.Fatal(err)
	}
	all, err := w.Accounts(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range all {
		if x.Address == thanh && x.MailHost != "node3" {
			t.Errorf("Accounts lists MailHost %q after the move, want node3", x.MailHost)
		}
	}
	b.MailHost = "node 4"
	if err := w.PutAccount(ctx, b, ""); err == nil {
		t.Error("a mail host with a space was accepted")
	}
}

// testCertificates: a published S/MIME certificate comes back byte for
// byte, through an alias too, is replaced and removed; an unknown address
// is ErrUnknownUser.
func testCertificates(t *testing.T, w directory.Writer) {
	cs, ok := w.(directory.Certificates)
	if !ok {
		t.Fatal("backend does not publish certificates (directory.Certificates)")
	}
	ctx := context.Background()
	der := testCertificate(t)
	if got, err := cs.Certificate(ctx, thanh); err != nil || got != nil {
		t.Fatalf("before: %v %d bytes", err, len(got))
	}
	if err := cs.PutCertificate(ctx, thanh, der); err != nil {
		t.Fatal(err)
	}
	got, err := cs.Certificate(ctx, thanh)
	if err != nil || !bytes.Equal(got, der) {
		t.Fatalf("after put: %v, %d bytes, want %d", err, len(got), len(der))
	}
	if got, err := cs.Certificate(ctx, thanhAlias); err != nil || !bytes.Equal(got, der) {
		t.Fatalf("through an alias: %v", err)
	}
	all, err := cs.AllCertificates(ctx)
	if err != nil || len(all) != 1 || !bytes.Equal(all[thanh], der) {
		t.Fatalf("all certificates: %v, %d entries, %s present %v", err, len(all), thanh, all[thanh] != nil)
	}
	if err := cs.PutCertificate(ctx, strings.ToUpper(thanh), nil); err != nil {
		t.Fatal(err)
	}
	if got, err := cs.Certificate(ctx, thanh); err != nil || got != nil {
		t.Fatalf("after removal: %v %d bytes", err, len(got))
	}
	if all, err := cs.AllCertificates(ctx); err != nil || len(all) != 0 {
		t.Fatalf("all certificates after removal: %v, %d entries", err, len(all))
	}
	wantErr(t, "unknown address", cs.PutCertificate(ctx, "khongco@khanhhoa.gov.vn", der), mailerr.ErrUnknownUser)
}

// testCertificate makes a self-signed certificate (DER).
func testCertificate(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Nguyễn Ngọc Thành"},
		EmailAddresses: []string{thanh}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
