package provision

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"congvu/directory"
	"congvu/directory/importer"
	"congvu/directory/orgdb"
	"congvu/directory/sqldir"
	"congvu/policy"
	"congvu/reorg"
)

const domain = "khanhhoa.gov.vn"

type states struct {
	dir directory.Writer
	db  *policy.DB
}

func (s states) SetAccountState(ctx context.Context, actor, address string, st directory.State, reason string) error {
	return policy.SetAccountState(ctx, s.dir, s.db, actor, address, st, reason)
}

type env struct {
	tmp   string // holds dir.db, org.db, policy.db
	dir   *orgdb.Resolver
	org   *orgdb.DB
	audit *policy.DB
	svc   *Service
	now   time.Time
}

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
	pdb, err := policy.OpenDB(filepath.Join(tmp, "policy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); pdb.Close() })
	ctx := context.Background()
	for _, u := range []directory.Unit{
		{Code: "56", Name: "UBND tỉnh Khánh Hòa", Abbr: "ubnd", Kind: directory.UnitProvince, Address: "ubnd@" + domain},
		{Code: "56.skhcn", Name: "Sở Khoa học và Công nghệ", Abbr: "skhcn", Kind: directory.UnitDepartment, ParentCode: "56", Address: "skhcn@" + domain},
		{Code: "56.snv", Name: "Sở Nội vụ", Abbr: "snv", Kind: directory.UnitDepartment, ParentCode: "56", Address: "snv@" + domain},
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
		{Address: "hoalt.snv@" + domain, DisplayName: "Lê Thị Hoa", UnitCode: "56.snv"},
	} {
		if err := r.PutAccount(ctx, a, "Khanh-Hoa#2025a"); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{tmp: tmp, dir: r, org: org, audit: pdb, now: at("2026-02-12 10:00")}
	rs := reorg.New(reorg.Config{}, reorg.Deps{Dir: r, Org: org, Audit: pdb, Now: func() time.Time { return e.now }})
	e.svc = New(Config{Domains: []string{domain}}, Deps{Dir: r, Org: org, Audit: pdb, States: states{r, pdb}, Reorg: rs,
		Now: func() time.Time { return e.now }})
	return e
}

var (
	unitAdmin = Actor{Address: "quantri.skhcn@" + domain, IP: "192.0.2.10", Protocol: policy.Web}
	operator  = Actor{Address: "quantri@" + domain, IP: "192.0.2.20", Protocol: policy.Web, Operator: true}
)

func skhcnOnly(u string) bool { return u == "56.skhcn" }

func (e *env) auditActions(t *testing.T, subject string) []policy.AuditEntry {
	t.Helper()
	got, err := e.audit.Audit(context.Background(), policy.AuditQuery{Subject: subject})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestNewAccountsRequestApproved(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rows := []importer.Row{
		{Line: 2, FullName: "Nguyễn Ngọc Thành", Unit: "56.skhcn", Title: "Chuyên viên"}, // a namesake: thanhnn2
		{Line: 3, FullName: "Phạm Văn Bình", Unit: "Sở Khoa học và Công nghệ"},
		{Line: 4, FullName: "Lê Thị Lan", Unit: "skhcn", Phone: "0258 3822 111"},
	}
	prev, err := e.svc.Preview(ctx, "56.skhcn", rows)
	if err != nil {
		t.Fatal(err)
	}
	if len(prev.Created) != 3 || prev.Created[0].Address != "thanhnn2.skhcn@"+domain || len(prev.Collisions) != 1 || prev.Created[0].Password != "" {
		t.Fatalf("preview: %+v", prev)
	}
	id, err := e.svc.File(ctx, unitAdmin, Draft{Kind: KindNew, UnitCode: "56.skhcn", Body: Payload{Rows: rows}}, skhcnOnly)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.svc.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// Filed Thursday 12/02/2026 before Tết: due at the end of Tue 24/02.
	if want := at("2026-02-25 00:00"); !r.Due.Equal(want) || r.State != orgdb.RequestPending || r.FiledIP != "192.0.2.10" {
		t.Fatalf("filed request: %+v", r.Request)
	}
	// Nothing exists before approval.
	if _, err := e.dir.Lookup(ctx, "binhpv.skhcn@"+domain); err == nil {
		t.Fatal("an account exists before approval")
	}
	// A unit administrator cannot approve.
	if _, err := e.svc.Approve(ctx, unitAdmin, id); !errors.Is(err, ErrNotOperator) {
		t.Fatalf("unit admin approval: %v", err)
	}
	// Overdue once the due day has passed, not during it.
	e.now = at("2026-02-24 23:59")
	if od, _ := e.svc.Overdue(ctx, nil); len(od) != 0 {
		t.Fatalf("overdue on its due day: %d", len(od))
	}
	e.now = at("2026-02-25 00:00")
	if od, _ := e.svc.Overdue(ctx, []string{"56.skhcn"}); len(od) != 1 {
		t.Fatalf("not overdue after its due day: %d", len(od))
	}
	if od, _ := e.svc.Overdue(ctx, []string{"56.snv"}); len(od) != 0 {
		t.Fatal("another unit's request shown as overdue")
	}
	out, err := e.svc.Approve(ctx, operator, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Created) != 3 {
		t.Fatalf("created %+v", out.Created)
	}
	for _, c := range out.Created {
		a, err := e.dir.Lookup(ctx, c.Address)
		if err != nil || !a.MustChangePassword || a.UnitCode != "56.skhcn" {
			t.Fatalf("%s: %+v %v", c.Address, a, err)
		}
		if _, err := e.dir.Authenticate(ctx, c.Address, c.Password); err != nil {
			t.Fatalf("%s: initial password refused: %v", c.Address, err)
		}
		if got := e.auditActions(t, c.Address); len(got) != 1 || got[0].Action != policy.ActionCreate || got[0].Actor != operator.Address || got[0].IP != operator.IP {
			t.Fatalf("audit of %s: %+v", c.Address, got)
		}
	}
	// The first holder of the name keeps their account.
	if a, _ := e.dir.Lookup(ctx, "thanhnn.skhcn@"+domain); a.Title != "Giám đốc" {
		t.Fatalf("namesake changed: %+v", a)
	}
	// A second decision is refused; the passwords are handed over once.
	if _, err := e.svc.Approve(ctx, operator, id); !errors.Is(err, orgdb.ErrRequestDecided) {
		t.Fatalf("second approval: %v", err)
	}
	csv, ok, err := e.svc.TakePasswords(ctx, unitAdmin, id)
	if err != nil || !ok || !strings.Contains(csv, out.Created[1].Address+","+out.Created[1].Password) {
		t.Fatalf("passwords: %v %v %q", ok, err, csv)
	}
	if _, ok, _ := e.svc.TakePasswords(ctx, unitAdmin, id); ok {
		t.Fatal("passwords handed over twice")
	}
	var actions []string
	for _, a := range e.auditActions(t, Subject(id)) {
		actions = append(actions, a.Action+"/"+a.Actor)
	}
	want := []string{"passwords-fetched/" + unitAdmin.Address, "request-executed/" + operator.Address,
		policy.ActionApprove + "/" + operator.Address, policy.ActionRequest + "/" + unitAdmin.Address}
	if strings.Join(actions, " ") != strings.Join(want, " ") {
		t.Fatalf("request audit %v, want %v", actions, want)
	}
}

func TestScopeChecks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for name, d := range map[string]Draft{
		"other unit":         {Kind: KindNew, UnitCode: "56.snv", Body: Payload{Rows: []importer.Row{{FullName: "A B", Unit: "56.snv"}}}},
		"row outside":        {Kind: KindNew, UnitCode: "56.skhcn", Body: Payload{Rows: []importer.Row{{Line: 2, FullName: "A B", Unit: "56.snv"}}}},
		"lock outside":       {Kind: KindLock, UnitCode: "56.skhcn", Body: Payload{Address: "hoalt.snv@" + domain, Reason: "nghỉ việc"}},
		"lock no reason":     {Kind: KindLock, UnitCode: "56.skhcn", Body: Payload{Address: "thanhnn.skhcn@" + domain}},
		"unit mailbox":       {Kind: KindLock, UnitCode: "56.skhcn", Body: Payload{Address: "skhcn@" + domain, Reason: "x"}},
		"unknown unit":       {Kind: KindNew, UnitCode: "99", Body: Payload{Rows: []importer.Row{{FullName: "A B", Unit: "99"}}}},
		"no rows":            {Kind: KindNew, UnitCode: "56.skhcn"},
		"bad kind":           {Kind: "delete", UnitCode: "56.skhcn"},
		"transfer same unit": {Kind: KindTransfer, UnitCode: "56.skhcn", Body: Payload{Address: "thanhnn.skhcn@" + domain, Unit: "56.skhcn"}},
		"bad delivery":       {Kind: KindLock, UnitCode: "56.skhcn", Delivery: "mail", Body: Payload{Address: "thanhnn.skhcn@" + domain, Reason: "x"}},
	} {
		if _, err := e.svc.File(ctx, unitAdmin, d, skhcnOnly); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: filed (%v)", name, err)
		}
	}
	if list, _ := e.svc.List(ctx, orgdb.RequestQuery{}); len(list) != 0 {
		t.Fatalf("refused drafts were recorded: %d", len(list))
	}
	// An operator may file for any unit; a unit administrator sees only
	// their units' requests.
	if _, err := e.svc.File(ctx, operator, Draft{Kind: KindLock, UnitCode: "56.snv", Body: Payload{Address: "hoalt.snv@" + domain, Reason: "nghỉ hưu"}}, nil); err != nil {
		t.Fatal(err)
	}
	if list, _ := e.svc.List(ctx, orgdb.RequestQuery{Units: []string{"56.skhcn"}}); len(list) != 0 {
		t.Fatalf("a unit admin sees another unit's request")
	}
	if list, _ := e.svc.List(ctx, orgdb.RequestQuery{Units: []string{}}); len(list) != 0 {
		t.Fatalf("an empty scope sees requests")
	}
}

func TestChangeTransferLockAndReject(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	file := func(d Draft) int64 {
		t.Helper()
		id, err := e.svc.File(ctx, unitAdmin, d, skhcnOnly)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	thanh := "thanhnn.skhcn@" + domain
	edit := file(Draft{Kind: KindEdit, UnitCode: "56.skhcn", Body: Payload{Address: thanh, Title: "Phó Giám đốc"}})
	if _, err := e.svc.Approve(ctx, operator, edit); err != nil {
		t.Fatal(err)
	}
	if a, _ := e.dir.Lookup(ctx, thanh); a.Title != "Phó Giám đốc" || a.DisplayName != "Nguyễn Ngọc Thành" {
		t.Fatalf("edit: %+v", a)
	}
	if got := e.auditActions(t, thanh); len(got) != 1 || got[0].Action != policy.ActionEdit || !strings.Contains(got[0].Detail, `"Giám đốc"`) {
		t.Fatalf("edit audit: %+v", got)
	}
	// Rejected: with a reason only, and nothing happens.
	lock := file(Draft{Kind: KindLock, UnitCode: "56.skhcn", Body: Payload{Address: thanh, Reason: "Nghỉ hưu từ 01/03"}})
	if err := e.svc.Reject(ctx, operator, lock, "  "); !errors.Is(err, ErrInvalid) {
		t.Fatalf("reject without reason: %v", err)
	}
	if err := e.svc.Reject(ctx, unitAdmin, lock, "x"); !errors.Is(err, ErrNotOperator) {
		t.Fatalf("reject by unit admin: %v", err)
	}
	if err := e.svc.Reject(ctx, operator, lock, "Thiếu quyết định nghỉ hưu"); err != nil {
		t.Fatal(err)
	}
	r, _ := e.svc.Get(ctx, lock)
	if r.State != orgdb.RequestRejected || r.Reason != "Thiếu quyết định nghỉ hưu" || r.DecidedIP != operator.IP {
		t.Fatalf("rejected: %+v", r.Request)
	}
	if a, _ := e.dir.Lookup(ctx, thanh); a.State != directory.StateActive {
		t.Fatal("a rejected lock locked")
	}
	if _, err := e.svc.Approve(ctx, operator, lock); !errors.Is(err, orgdb.ErrRequestDecided) {
		t.Fatalf("approving a rejected request: %v", err)
	}
	lock = file(Draft{Kind: KindLock, UnitCode: "56.skhcn", Body: Payload{Address: thanh, Reason: "Nghỉ hưu"}})
	if _, err := e.svc.Approve(ctx, operator, lock); err != nil {
		t.Fatal(err)
	}
	if a, _ := e.dir.Lookup(ctx, thanh); a.State != directory.StateLocked || !strings.Contains(a.StateReason, "Nghỉ hưu") {
		t.Fatalf("lock: %+v", a)
	}
	// The lock's own entry (written by the policy code) names the
	// approver and their IP.
	if got := e.auditActions(t, thanh); got[0].Action != policy.ActionLock || got[0].Actor != operator.Address || got[0].IP != operator.IP {
		t.Fatalf("lock audit: %+v", got[0])
	}
	// A transfer goes through reorg: new address, the old one an alias.
	e2 := newEnv(t)
	id, err := e2.svc.File(ctx, unitAdmin, Draft{Kind: KindTransfer, UnitCode: "56.skhcn", Body: Payload{Address: thanh, Unit: "56.snv"}}, skhcnOnly)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e2.svc.Approve(ctx, operator, id); err != nil {
		t.Fatal(err)
	}
	a, err := e2.dir.Lookup(ctx, thanh)
	if err != nil || a.Address != "thanhnn.snv@"+domain || a.UnitCode != "56.snv" {
		t.Fatalf("transfer: %+v %v", a, err)
	}
	if got := e2.auditActions(t, "thanhnn.snv@"+domain); len(got) == 0 || got[0].Action != policy.ActionMove || got[0].IP != operator.IP {
		t.Fatalf("transfer audit: %+v", got)
	}
}
