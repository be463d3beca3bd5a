package reorg

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"congvu/directory"
	"congvu/directory/orgdb"
	"congvu/directory/sqldir"
	"congvu/internal/mailerr"
	"congvu/policy"
	"congvu/storage"
)

const domain = "khanhhoa.gov.vn"

type env struct {
	t     *testing.T
	dir   *orgdb.Resolver
	org   *orgdb.DB
	store *storage.FileStore
	audit *policy.DB
	svc   *Service
	now   time.Time
}

// newEnv: a province with two departments and two communes, their
// mailboxes and officials.
func newEnv(t *testing.T) *env {
	tmp := t.TempDir()
	d, err := sqldir.Open(filepath.Join(tmp, "dir.db"), sqldir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	org, err := orgdb.Open(filepath.Join(tmp, "org.db"))
	if err != nil {
		t.Fatal(err)
	}
	r := orgdb.NewResolver(d, org, nil)
	st, err := storage.Open(filepath.Join(tmp, "mail"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pdb, err := policy.OpenDB(filepath.Join(tmp, "policy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(); r.Close(); pdb.Close() })
	ctx := context.Background()
	for _, u := range []directory.Unit{
		{Code: "56", Name: "UBND tỉnh Khánh Hòa", Abbr: "ubnd", Kind: directory.UnitProvince, Address: "ubnd@" + domain},
		{Code: "56.skhcn", Name: "Sở Khoa học và Công nghệ", Abbr: "skhcn", Kind: directory.UnitDepartment, ParentCode: "56", Address: "skhcn@" + domain},
		{Code: "56.snv", Name: "Sở Nội vụ", Abbr: "snv", Kind: directory.UnitDepartment, ParentCode: "56", Address: "snv@" + domain},
		{Code: "22366", Name: "Phường Nha Trang", Abbr: "nhatrang", Kind: directory.UnitCommune, ParentCode: "56", Address: "nhatrang@" + domain},
		{Code: "22369", Name: "Phường Bắc Nha Trang", Abbr: "bacnhatrang", Kind: directory.UnitCommune, ParentCode: "56", Address: "bacnhatrang@" + domain},
	} {
		if err := r.PutUnit(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := r.PutAccount(ctx, directory.Account{Address: u.Address, DisplayName: u.Name, UnitCode: u.Code, Role: directory.RoleUnit}, "HopThu!Don8Vi"); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []directory.Account{
		{Address: "thanhnn.skhcn@" + domain, DisplayName: "Nguyễn Ngọc Thành", UnitCode: "56.skhcn", Title: "Giám đốc"},
		{Address: "maitt.skhcn@" + domain, DisplayName: "Trần Thị Mai", UnitCode: "56.skhcn", Role: directory.RoleClerk},
		{Address: "ducdv.bacnhatrang@" + domain, DisplayName: "Đỗ Văn Đức", UnitCode: "22369"},
		{Address: "ducdv.nhatrang@" + domain, DisplayName: "Đỗ Văn Đức", UnitCode: "22366"},
		{Address: "hoalt.snv@" + domain, DisplayName: "Lê Thị Hoa", UnitCode: "56.snv"},
	} {
		if err := r.PutAccount(ctx, a, "Khanh-Hoa#2025a"); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{t: t, dir: r, org: org, store: st, audit: pdb, now: time.Now()}
	e.svc = New(Config{}, Deps{Dir: r, Org: org, Mail: st, Audit: pdb, Stores: []AddressStore{pdb},
		Now: func() time.Time { return e.now }})
	return e
}

func (e *env) deliver(to, subject string) {
	e.t.Helper()
	a, err := e.dir.Lookup(context.Background(), to)
	if err != nil {
		e.t.Fatalf("Lookup(%s): %v", to, err)
	}
	msg := "From: <vanthu@bocongan.gov.vn>\r\nSubject: " + subject + "\r\n\r\nx\r\n"
	res, err := e.store.Deliver(context.Background(), strings.NewReader(msg), []storage.Recipient{{User: a.Address}})
	if err != nil || res[0].Err != nil {
		e.t.Fatalf("deliver to %s: %v %v", to, err, res)
	}
}

func (e *env) inbox(user string) int {
	e.t.Helper()
	mb, err := e.store.Mailbox(context.Background(), user, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	msgs, err := mb.Messages(context.Background(), storage.Inbox)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(msgs)
}

func (e *env) lookup(address string) *directory.Account {
	e.t.Helper()
	a, err := e.dir.Lookup(context.Background(), address)
	if err != nil {
		e.t.Fatalf("Lookup(%s): %v", address, err)
	}
	return a
}

// A transferred official keeps mailbox, password and history under a new
// address by the convention; the old address delivers to it until the
// transitional period ends; the move is audited with before and after.
func TestMoveAccount(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.deliver("thanhnn.skhcn@"+domain, "truoc")
	res, err := e.svc.MoveAccount(ctx, "admin@"+domain, "thanhnn.skhcn@"+domain, "22366", "điều động")
	if err != nil {
		t.Fatal(err)
	}
	moved := "thanhnn.nhatrang@" + domain
	if len(res.Changes) != 1 || res.Changes[0].NewAddress != moved {
		t.Fatalf("result %+v", res)
	}
	a := e.lookup("thanhnn.skhcn@" + domain)
	if a.Address != moved || a.UnitCode != "22366" || a.Title != "Giám đốc" || !slices.Contains(a.Aliases, "thanhnn.skhcn@"+domain) {
		t.Errorf("account after move: %+v", a)
	}
	if _, err := e.dir.Authenticate(ctx, moved, "Khanh-Hoa#2025a"); err != nil {
		t.Errorf("password after move: %v", err)
	}
	e.deliver("thanhnn.skhcn@"+domain, "sau")
	if n := e.inbox(moved); n != 2 {
		t.Errorf("mailbox after move has %d messages, want 2", n)
	}
	if tr, ok, _ := e.org.TransitionalAddress(ctx, "thanhnn.skhcn@"+domain); !ok || tr.Account != moved ||
		tr.Expires.Before(e.now.AddDate(0, 12, 0).Add(-time.Minute)) {
		t.Errorf("transitional record %+v %v", tr, ok)
	}
	list, _ := e.audit.Audit(ctx, policy.AuditQuery{Action: policy.ActionMove})
	if len(list) != 1 || !strings.Contains(list[0].Detail, "thanhnn.skhcn@"+domain+" (56.skhcn) → "+moved+" (22366)") {
		t.Errorf("audit %+v", list)
	}
	// A namesake's address is not taken over.
	if _, err := e.svc.MoveAccount(ctx, "admin", "ducdv.bacnhatrang@"+domain, "22366", "x"); err != nil {
		t.Fatal(err)
	}
	if a := e.lookup("ducdv.bacnhatrang@" + domain); a.Address != "ducdv2.nhatrang@"+domain {
		t.Errorf("namesake got %s", a.Address)
	}
	if _, err := e.svc.MoveAccount(ctx, "admin", moved, "22366", "x"); !errors.Is(err, ErrReorg) {
		t.Errorf("move into its own unit: %v", err)
	}
	// The transitional period ends: the old address is refused again.
	e.now = e.now.AddDate(1, 0, 1)
	if n, err := e.svc.ExpireTransitional(ctx); err != nil || n != 2 {
		t.Fatalf("ExpireTransitional: %d, %v", n, err)
	}
	if _, err := e.dir.Lookup(ctx, "thanhnn.skhcn@"+domain); !errors.Is(err, mailerr.ErrUnknownUser) {
		t.Errorf("old address after the period: %v", err)
	}
}

// Two communes merge: the officials of the first get the second's
// addresses (old ones delivering), its mailbox stays as a mailbox of the
// second, the first unit is gone, and the directory as of before the
// merger still shows it with its officials at their old addresses.
func TestMergeUnits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.deliver("ducdv.bacnhatrang@"+domain, "don thu")
	before := e.now
	e.now = e.now.Add(time.Hour)
	res, err := e.svc.MergeUnits(ctx, "admin", "22369", "22366")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("merge:\n%s", res)
	if a := e.lookup("ducdv.bacnhatrang@" + domain); a.Address != "ducdv2.nhatrang@"+domain || a.UnitCode != "22366" {
		t.Errorf("official after merge: %+v", a)
	}
	if n := e.inbox("ducdv2.nhatrang@" + domain); n != 1 {
		t.Errorf("official's mailbox after merge: %d messages", n)
	}
	if a := e.lookup("bacnhatrang@" + domain); a.Address != "bacnhatrang@"+domain || a.UnitCode != "22366" {
		t.Errorf("merged unit's mailbox: %+v", a)
	}
	units, _ := e.dir.Units(ctx)
	if slices.ContainsFunc(units, func(u directory.Unit) bool { return u.Code == "22369" }) {
		t.Error("merged unit still in the directory")
	}
	then := e.org.AsOf(e.dir, before)
	units, _ = then.Units(ctx)
	if !slices.ContainsFunc(units, func(u directory.Unit) bool { return u.Code == "22369" && u.Name == "Phường Bắc Nha Trang" }) {
		t.Errorf("units as of before the merger lack the merged one: %+v", units)
	}
	accounts, _ := then.Accounts(ctx, "22369")
	if len(accounts) != 2 || !slices.ContainsFunc(accounts, func(a directory.Account) bool { return a.Address == "ducdv.bacnhatrang@"+domain }) {
		t.Errorf("accounts of the merged unit as of before: %+v", accounts)
	}
	if list, _ := e.audit.Audit(ctx, policy.AuditQuery{Action: policy.ActionMerge}); len(list) != 1 {
		t.Errorf("audit %+v", list)
	}
}

// A department moved under another as a division: its officials' and its
// mailbox's addresses take the new agency; the old ones deliver.
func TestMoveUnitAsDivision(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res, err := e.svc.MoveUnit(ctx, "admin", "56.skhcn", "56.snv", directory.UnitDivision)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("move:\n%s", res)
	for old, want := range map[string]string{
		"thanhnn.skhcn@" + domain: "thanhnn.snv@" + domain,
		"maitt.skhcn@" + domain:   "maitt.snv@" + domain,
		"skhcn@" + domain:         "skhcn.snv@" + domain,
	} {
		if a := e.lookup(old); a.Address != want {
			t.Errorf("%s is now %s, want %s", old, a.Address, want)
		}
	}
	units, _ := e.dir.Units(ctx)
	for _, u := range units {
		if u.Code == "56.skhcn" && (u.ParentCode != "56.snv" || u.Kind != directory.UnitDivision || u.Address != "skhcn.snv@"+domain) {
			t.Errorf("moved unit: %+v", u)
		}
	}
	if _, err := e.svc.MoveUnit(ctx, "admin", "56.snv", "56.skhcn", ""); !errors.Is(err, ErrReorg) {
		t.Errorf("a unit under its own sub-unit: %v", err)
	}
}

// The old province's domain: its accounts move to the new domain and
// anything@old resolves (and logs in) as anything@new.
func TestDomainAlias(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.dir.PutAccount(ctx, directory.Account{Address: "vanthu@ninhthuan.gov.vn", DisplayName: "Văn thư", UnitCode: "56"}, "Ninh-Thuan#2025"); err != nil {
		t.Fatal(err)
	}
	e.deliver("vanthu@ninhthuan.gov.vn", "cu")
	if _, err := e.svc.AddDomainAlias(ctx, "admin", "NinhThuan.gov.vn", domain); err != nil {
		t.Fatal(err)
	}
	if a := e.lookup("vanthu@ninhthuan.gov.vn"); a.Address != "vanthu@"+domain {
		t.Errorf("old domain address resolves to %s", a.Address)
	}
	if a := e.lookup("thanhnn.skhcn@ninhthuan.gov.vn"); a.Address != "thanhnn.skhcn@"+domain {
		t.Errorf("any local part at the old domain: %s", a.Address)
	}
	if _, err := e.dir.Authenticate(ctx, "vanthu@ninhthuan.gov.vn", "Ninh-Thuan#2025"); err != nil {
		t.Errorf("login with the old domain: %v", err)
	}
	if n := e.inbox("vanthu@" + domain); n != 1 {
		t.Errorf("mailbox moved with %d messages", n)
	}
	if !e.dir.IsAliasDomain("ninhthuan.gov.vn") || e.dir.IsAliasDomain("hue.gov.vn") {
		t.Error("IsAliasDomain")
	}
	if _, err := e.svc.AddDomainAlias(ctx, "admin", domain, "ninhthuan.gov.vn"); !errors.Is(err, orgdb.ErrDomainAlias) {
		t.Errorf("a chain of aliases: %v", err)
	}
}
