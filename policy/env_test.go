package policy

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"congvu/directory"
	"congvu/directory/sqldir"
	"congvu/internal/config"
	"congvu/storage"
)

const domain = "khanhhoa.gov.vn"

// The fixture: the province, a department with a division, a commune.
const (
	provinceCode = "56"
	skhcnCode    = "56.skhcn"
	divisionCode = "56.skhcn.vp"
	communeCode  = "22366"
	thanh        = "thanhnn.skhcn@" + domain
	mai          = "maitt.skhcn@" + domain
	lan          = "lanpt.skhcn@" + domain // in the division
	admin        = "quantri.skhcn@" + domain
	duc          = "ducdv.nhatrang@" + domain
	ducAdmin     = "quantri.nhatrang@" + domain
	operator     = "quantri@" + domain
	password     = "Khanh-Hoa#2025a"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t      *testing.T
	dir    *sqldir.DB
	store  *storage.FileStore
	engine *Engine
	clock  *clock
	cfg    config.Policy
	dbPath string
}

// ict is Asia/Ho_Chi_Minh.
func ict(t testing.TB) *time.Location {
	loc, err := LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func testConfig() config.Policy {
	c := config.DefaultPolicy()
	c.DigestHour = -1 // tests send digests explicitly
	return c
}

// newEnv seeds a directory and starts an engine at 2025-06-02 10:00 ICT.
func newEnv(t *testing.T, cfg config.Policy) *env {
	t.Helper()
	tmp := t.TempDir()
	d, err := sqldir.Open(filepath.Join(tmp, "dir.db"), sqldir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ctx := context.Background()
	for _, u := range []directory.Unit{
		{Code: provinceCode, Name: "Ủy ban nhân dân tỉnh Khánh Hòa", Abbr: "ubnd", Kind: directory.UnitProvince},
		{Code: skhcnCode, Name: "Sở Khoa học và Công nghệ", Abbr: "skhcn", Kind: directory.UnitDepartment, ParentCode: provinceCode},
		{Code: divisionCode, Name: "Văn phòng Sở", Abbr: "vp", Kind: directory.UnitDivision, ParentCode: skhcnCode},
		{Code: communeCode, Name: "Phường Nha Trang", Abbr: "nhatrang", Kind: directory.UnitCommune, ParentCode: provinceCode},
	} {
		if err := d.PutUnit(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	var writes []directory.AccountWrite
	for _, a := range []directory.Account{
		{Address: thanh, DisplayName: "Nguyễn Ngọc Thành", UnitCode: skhcnCode, Title: "Giám đốc"},
		{Address: mai, DisplayName: "Trần Thị Mai", UnitCode: skhcnCode, Title: "Văn thư", Role: directory.RoleClerk},
		{Address: lan, DisplayName: "Phạm Thị Lan", UnitCode: divisionCode, Title: "Chuyên viên"},
		{Address: admin, DisplayName: "Quản trị Sở KH&CN", UnitCode: skhcnCode, Role: directory.RoleAdmin},
		{Address: duc, DisplayName: "Đỗ Văn Đức", UnitCode: communeCode, Title: "Chủ tịch UBND phường"},
		{Address: ducAdmin, DisplayName: "Quản trị phường", UnitCode: communeCode, Role: directory.RoleAdmin},
		{Address: operator, DisplayName: "Quản trị hệ thống", UnitCode: provinceCode, Role: directory.RoleOperator},
	} {
		writes = append(writes, directory.AccountWrite{Account: a, Password: password})
	}
	if err := directory.PutAccounts(ctx, d, writes); err != nil {
		t.Fatal(err)
	}
	st, err := storage.Open(filepath.Join(tmp, "mail"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, dir: d, store: st, cfg: cfg, dbPath: filepath.Join(tmp, "policy.db"),
		clock: &clock{t: time.Date(2025, 6, 2, 10, 0, 0, 0, ict(t))}}
	e.start()
	return e
}

func (e *env) start() {
	e.t.Helper()
	eng, err := New(Options{Config: e.cfg, LocalDomains: []string{domain}, Hostname: "mail." + domain, DBPath: e.dbPath,
		Dir: e.dir, Writer: e.dir, Store: e.store, Now: e.clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		e.t.Fatal(err)
	}
	e.engine = eng
	e.t.Cleanup(func() { eng.Close() })
}

func (e *env) restart() {
	e.t.Helper()
	if err := e.engine.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.start()
}

func (e *env) account(address string) *directory.Account {
	e.t.Helper()
	a, err := e.dir.Lookup(context.Background(), address)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

var (
	ip1 = netip.MustParseAddr("203.0.113.7")
	ip2 = netip.MustParseAddr("198.51.100.20")
)

// failLogin reports a wrong password for login.
func (e *env) failLogin(p Protocol, ip netip.Addr, login string) Decision {
	ctx := context.Background()
	if d := e.engine.BeforeAuth(ctx, AuthAttempt{Protocol: p, IP: ip, Login: login}); d.Refused() {
		return d
	}
	return e.engine.AfterAuth(ctx, AuthOutcome{AuthAttempt: AuthAttempt{Protocol: p, IP: ip, Login: login}, Result: AuthFailed})
}

// login reports a successful login of address at the clock's time.
func (e *env) login(p Protocol, ip netip.Addr, address string) Decision {
	ctx := context.Background()
	if d := e.engine.BeforeAuth(ctx, AuthAttempt{Protocol: p, IP: ip, Login: address}); d.Refused() {
		return d
	}
	return e.engine.AfterAuth(ctx, AuthOutcome{AuthAttempt: AuthAttempt{Protocol: p, IP: ip, Login: address},
		Result: AuthOK, Account: e.account(address)})
}

func (e *env) audit(q AuditQuery) []AuditEntry {
	e.t.Helper()
	if err := e.engine.Flush(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	list, err := e.engine.DB().Audit(context.Background(), q)
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

// inbox returns the raw messages in a user's INBOX.
func (e *env) inbox(user string) []string {
	e.t.Helper()
	ctx := context.Background()
	mb, err := e.store.Mailbox(ctx, user, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	msgs, err := mb.Messages(ctx, storage.Inbox)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		r, err := mb.Open(ctx, storage.Inbox, m.UID)
		if err != nil {
			e.t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		out = append(out, string(b))
	}
	return out
}

func msgReader(s string) func() io.Reader {
	return func() io.Reader { return strings.NewReader(s) }
}
