package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/web/core"
	"congvu/web/webtest"
)

const (
	skhcnAdmin   = "quantri.skhcn@khanhhoa.gov.vn"
	skhcnAdmin2  = "quantri2.skhcn@khanhhoa.gov.vn"
	operatorAddr = "quantri@khanhhoa.gov.vn"
	tramAddr     = "tramdt.nhatrang@khanhhoa.gov.vn"
	thanhAddr    = "thanhnn.skhcn@khanhhoa.gov.vn"
)

// withAdmins adds a unit admin of Sở KH&CN (and a second one), and the
// provincial operator.
func withAdmins(e *webtest.Env) {
	e.T.Helper()
	for _, a := range []directory.Account{
		{Address: skhcnAdmin, DisplayName: "Phạm Quản Trị", UnitCode: "56.skhcn", Title: "Quản trị mạng", Role: directory.RoleAdmin},
		{Address: skhcnAdmin2, DisplayName: "Võ Quản Trị", UnitCode: "56.skhcn", Title: "Quản trị mạng", Role: directory.RoleAdmin},
		{Address: operatorAddr, DisplayName: "Quản trị hệ thống", UnitCode: "56.skhcn", Role: directory.RoleOperator},
	} {
		if err := e.Dir.PutAccount(e.T.Context(), a, secretPW); err != nil {
			e.T.Fatal(err)
		}
	}
}

func stateOf(e *webtest.Env, address string) directory.State {
	e.T.Helper()
	a, err := e.Dir.Lookup(e.T.Context(), address)
	if err != nil {
		e.T.Fatal(err)
	}
	return a.State
}

func adminForm(address string) url.Values { return url.Values{"address": {address}} }

// lockForm is the lock form with a reason from the list.
func lockForm(address string) url.Values {
	return url.Values{"address": {address}, "reason_kind": {"transferred"}, "reason": {"Quyết định 12/QĐ"}}
}

func TestAdminScope(t *testing.T) {
	e := newWebEnv(t, nil)
	withAdmins(e)
	official := e.Browser()
	expect(t, official.Login(anAddr, secretPW), 200)
	expect(t, official.Get("/admin"), http.StatusForbidden, "Bạn không có quyền quản trị.")
	if strings.Contains(official.Get("/").Body, `href="/admin"`) {
		t.Error("an official sees the admin link")
	}

	b := e.Browser()
	expect(t, b.Login(skhcnAdmin, secretPW), 200, `href="/admin"`)
	r := b.Get("/admin")
	expect(t, r, 200, "Sở Khoa học và Công nghệ", anAddr, thanhAddr, "Đang khoá", "Văn phòng Sở", "Báo cáo truy cập")
	if r.Request.URL.RawQuery != "code=56.skhcn" {
		t.Errorf("/admin went to %s", r.Request.URL)
	}
	if strings.Contains(r.Body, `href="/admin/unit?code=56"`) {
		t.Error("the province is linked for a department admin")
	}
	expect(t, b.Get("/admin/unit?code=56.skhcn.vp"), 200, ducAddr)
	expect(t, b.Get("/admin/unit?code=22333"), http.StatusForbidden, "không thuộc phạm vi bạn quản lý")
	expect(t, b.Get("/admin/unit?code=56"), http.StatusForbidden)
	expect(t, b.Get("/admin/unit?code=nope"), http.StatusNotFound)
	expect(t, b.Get("/admin/account?address="+url.QueryEscape(tramAddr)), http.StatusForbidden)
	expect(t, b.Get("/admin/account?address="+url.QueryEscape(ducAddr)), 200, "Lê Văn Đức", "Cấp lại mật khẩu", "Khoá tài khoản")
	r = b.Get("/admin/find?q=" + url.QueryEscape(strings.ToUpper(anAddr)))
	expect(t, r, 200, "Nguyễn Văn An")

	// Refused targets: outside the scope, oneself, an operator, a peer admin.
	for _, target := range []string{tramAddr, skhcnAdmin, operatorAddr, skhcnAdmin2} {
		r := b.Post("/admin/account?address="+url.QueryEscape(ducAddr), "/admin/lock", lockForm(target))
		expect(t, r, http.StatusForbidden)
		if s := stateOf(e, target); s != directory.StateActive {
			t.Errorf("%s was locked by a refused action: %s", target, s)
		}
	}

	op := e.Browser()
	expect(t, op.Login(operatorAddr, secretPW), 200)
	r = op.Get("/admin")
	expect(t, r, 200, "Ủy ban nhân dân tỉnh Khánh Hòa", "Sở Khoa học và Công nghệ", "Phường Nha Trang")
	expect(t, op.Get("/admin/unit?code=22333"), 200, tramAddr)
	expect(t, op.Post("/admin/account?address="+url.QueryEscape(skhcnAdmin2), "/admin/lock", lockForm(skhcnAdmin2)), 200, "Đã khoá tài khoản")
}

func TestAdminActions(t *testing.T) {
	e := newWebEnv(t, nil)
	withAdmins(e)
	holder := e.Browser()
	expect(t, holder.Login(anAddr, secretPW), 200, "Xin chào")
	b := e.Browser()
	expect(t, b.Login(skhcnAdmin, secretPW), 200)
	page := "/admin/account?address=" + url.QueryEscape(anAddr)

	// Every admin action needs the session's token.
	for _, action := range []string{"/admin/reset", "/admin/lock", "/admin/retire"} {
		r := b.Do("POST", action, url.Values{"address": {anAddr}, "confirm": {"yes"}})
		expect(t, r, http.StatusForbidden, "mã chống giả mạo (CSRF)")
	}
	if _, err := e.Dir.Authenticate(t.Context(), anAddr, secretPW); err != nil {
		t.Fatalf("a POST without token changed the account: %v", err)
	}

	r := b.Post(page, "/admin/reset", adminForm(anAddr))
	expect(t, r, 200, "Đã cấp lại mật khẩu", "chỉ hiển thị một lần")
	m := regexp.MustCompile(`id="new-password">([^<]+)<`).FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatal("no new password on the page")
	}
	fresh := htmlUnescape(m[1])
	if r := holder.Get("/"); r.Request.URL.Path != "/login" {
		t.Error("the holder's session survived the reset")
	}
	expect(t, e.Browser().Login(anAddr, secretPW), http.StatusUnauthorized)
	r = e.Browser().Login(anAddr, fresh)
	expect(t, r, 200, "mật khẩu vừa được cấp lại")
	if r.Request.URL.Path != "/password" {
		t.Errorf("after a reset the holder lands on %s, want /password", r.Request.URL.Path)
	}

	expect(t, b.Post(page, "/admin/lock", lockForm(anAddr)), 200, "Đã khoá tài khoản "+anAddr, "Mở khoá")
	if stateOf(e, anAddr) != directory.StateLocked {
		t.Fatal("not locked")
	}
	expect(t, e.Browser().Login(anAddr, fresh), http.StatusForbidden, "Tài khoản đang bị khoá")
	expect(t, b.Post(page, "/admin/lock", lockForm(anAddr)), http.StatusConflict)
	expect(t, b.Post(page, "/admin/unlock", adminForm(anAddr)), 200, "Đã mở khoá tài khoản")
	if stateOf(e, anAddr) != directory.StateActive {
		t.Fatal("not unlocked")
	}
	expect(t, b.Post(page, "/admin/retire", adminForm(anAddr)), http.StatusBadRequest, "đánh dấu ô xác nhận")
	if stateOf(e, anAddr) != directory.StateActive {
		t.Fatal("retired without confirmation")
	}
	f := adminForm(anAddr)
	f.Set("confirm", "yes")
	expect(t, b.Post(page, "/admin/retire", f), 200, "Đã đóng tài khoản")
	if stateOf(e, anAddr) != directory.StateRetired {
		t.Fatal("not retired")
	}
	expect(t, e.Browser().Login(anAddr, fresh), http.StatusForbidden, "Tài khoản đã bị đóng.")
	if r := b.Get(page); strings.Contains(r.Body, `id="reset"`) || strings.Contains(r.Body, `id="lock"`) {
		t.Error("a retired account still offers reset or lock")
	}
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&#43;", "+").Replace(s)
}

func TestAdminCreate(t *testing.T) {
	e := newWebEnv(t, nil)
	withAdmins(e)
	b := e.Browser()
	expect(t, b.Login(skhcnAdmin, secretPW), 200)
	form := "/admin/new?unit=56.skhcn"
	expect(t, b.Get(form), 200, "Thêm tài khoản", `value="official"`, `value="clerk"`)
	if strings.Contains(b.Get(form).Body, `value="unitadmin"`) {
		t.Error("a unit admin is offered to create administrators")
	}
	expect(t, b.Get("/admin/new?unit=22333"), http.StatusForbidden)

	create := func(name, role, unit string) webtest.Response {
		return b.Post(form, "/admin/new", url.Values{"unit": {unit}, "full_name": {name}, "title": {"Chuyên viên"},
			"phone": {"0258 3822 111"}, "role": {role}})
	}
	expect(t, create("  ", "official", "56.skhcn"), http.StatusUnprocessableEntity, "Vui lòng nhập họ và tên.")
	expect(t, create("Ai Đó", "unitadmin", "56.skhcn"), http.StatusUnprocessableEntity, "Vai trò không hợp lệ.")
	expect(t, create("Ai Đó", "official", "22333"), http.StatusForbidden)

	// A namesake of the (locked) thanhnn.skhcn gets the next address.
	r := create("Nguyễn  Ngọc Thành", "clerk", "56.skhcn")
	expect(t, r, 200, "Đã tạo tài khoản", "thanhnn2.skhcn@khanhhoa.gov.vn", "Văn thư", thanhAddr+" đã có người dùng")
	m := regexp.MustCompile(`id="new-password">([^<]+)<`).FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatal("no initial password shown")
	}
	a, err := e.Dir.Lookup(t.Context(), "thanhnn2.skhcn@khanhhoa.gov.vn")
	if err != nil || a.Role != directory.RoleClerk || !a.MustChangePassword || a.UnitCode != "56.skhcn" ||
		a.DisplayName != "Nguyễn Ngọc Thành" || a.Phone != "0258 3822 111" {
		t.Fatalf("created %+v, %v", a, err)
	}
	r = e.Browser().Login(a.Address, htmlUnescape(m[1]))
	if r.Request.URL.Path != "/password" {
		t.Errorf("the new account's first login went to %s", r.Request.URL.Path)
	}
	expect(t, create("Trần Văn Bảo", "official", "56.skhcn.vp"), 200, "Đã tạo tài khoản", "Văn phòng Sở")

	op := e.Browser()
	expect(t, op.Login(operatorAddr, secretPW), 200)
	r = op.Post("/admin/new?unit=22333", "/admin/new", url.Values{"unit": {"22333"}, "full_name": {"Lý Thị Hoa"}, "role": {"unitadmin"}})
	expect(t, r, 200, "hoalt.nhatrang@khanhhoa.gov.vn", "Quản trị đơn vị")
}

// fakeReports renders recognisable output and records its arguments.
type fakeReports struct {
	mu         sync.Mutex
	unit       string
	from, to   time.Time
	format     ReportFormat
	period     string
	err        error
	calledWith int
}

func (f *fakeReports) AccessReport(_ context.Context, w io.Writer, format ReportFormat, unit string, from, to time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calledWith++
	f.unit, f.from, f.to, f.format = unit, from, to, format
	if f.err != nil {
		fmt.Fprint(w, "<p>partial</p>")
		return f.err
	}
	switch format {
	case FormatHTML:
		fmt.Fprintf(w, `<table id="access-report"><tr><td>%s</td></tr></table>`, unit)
	case FormatCSV:
		fmt.Fprintf(w, "\ufeffMã đơn vị,Đơn vị\r\n%s,x\r\n", unit)
	case FormatSVG:
		fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg"><title>%s</title></svg>`, unit)
	case FormatPNG:
		fmt.Fprint(w, "\x89PNG\r\n\x1a\n")
	}
	return nil
}

func (f *fakeReports) UsageReport(_ context.Context, w io.Writer, format ReportFormat, unit, period string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calledWith++
	f.unit, f.period, f.format = unit, period, format
	if f.err != nil {
		return f.err
	}
	if format == FormatCSV {
		fmt.Fprintf(w, "\ufeffMã đơn vị,Kỳ\r\n%s,%s\r\n", unit, period)
		return nil
	}
	fmt.Fprintf(w, `<table id="usage-report"><tr><td>%s %s</td></tr></table>`, unit, period)
	return nil
}

func TestAdminReports(t *testing.T) {
	reports := &fakeReports{}
	e := newWebEnv(t, func(o *testOptions) { o.Reports = reports })
	withAdmins(e)
	b := e.Browser()
	expect(t, b.Login(skhcnAdmin, secretPW), 200)
	r := b.Get("/admin/reports")
	expect(t, r, 200, `<table id="access-report"><tr><td>56.skhcn</td></tr></table>`, "— Văn phòng Sở")
	if d := reports.to.Sub(reports.from); d != 6*24*time.Hour || reports.from.Location().String() != "ICT" {
		t.Errorf("default range %v – %v", reports.from, reports.to)
	}
	expect(t, b.Get("/admin/reports?unit=56.skhcn.vp&from=2026-01-01&to=2026-01-31"), 200, "<td>56.skhcn.vp</td>")
	if want := time.Date(2026, 1, 1, 0, 0, 0, 0, core.Vietnam()); !reports.from.Equal(want) || reports.unit != "56.skhcn.vp" {
		t.Errorf("from %v unit %s", reports.from, reports.unit)
	}
	n := reports.calledWith
	expect(t, b.Get("/admin/reports?unit=22333"), http.StatusForbidden)
	expect(t, b.Get("/admin/reports?from=2026-13-01"), http.StatusBadRequest, "Ngày không hợp lệ")
	expect(t, b.Get("/admin/reports?from=2026-02-01&to=2026-01-01"), http.StatusBadRequest, "Khoảng thời gian không hợp lệ")
	if reports.calledWith != n {
		t.Error("Reports called for a refused request")
	}
	reports.err = mailerr.ErrDirectoryUnavailable.With(errors.New("boom"))
	r = b.Get("/admin/reports")
	expect(t, r, http.StatusServiceUnavailable, "Danh bạ tạm thời không truy cập được")
	if strings.Contains(r.Body, "partial") || strings.Contains(r.Body, "boom") {
		t.Error("a failed report's output or cause is shown")
	}

	e2 := newWebEnv(t, nil)
	withAdmins(e2)
	b = e2.Browser()
	expect(t, b.Login(operatorAddr, secretPW), 200)
	expect(t, b.Get("/admin/reports"), 200, "Báo cáo truy cập chưa có trên máy chủ này")
}

// TestAdminWithoutUnitManagesNothing: a unit administrator whose entry has
// no unit, or a unit the directory does not know, manages nothing — not the
// whole province (issue 15 §9).
func TestAdminWithoutUnitManagesNothing(t *testing.T) {
	e := newWebEnv(t, nil)
	withAdmins(e)
	for _, unit := range []string{"", "99.khongco"} {
		addr := "quantri.lac" + strings.TrimPrefix(unit, "99.") + "@khanhhoa.gov.vn"
		if err := e.Dir.PutAccount(t.Context(), directory.Account{Address: addr, DisplayName: "Quản Trị Lạc", UnitCode: unit,
			Role: directory.RoleAdmin}, secretPW); err != nil {
			t.Fatalf("unit %q: %v", unit, err)
		}
		b := e.Browser()
		expect(t, b.Login(addr, secretPW), 200)
		for _, code := range []string{"56", "56.skhcn", "22333"} {
			expect(t, b.Get("/admin/unit?code="+code), http.StatusForbidden)
		}
		expect(t, b.Get("/admin/account?address="+url.QueryEscape(anAddr)), http.StatusForbidden)
		expect(t, b.Get("/admin/account?address="+url.QueryEscape(skhcnAdmin)), http.StatusForbidden)
		for _, target := range []string{anAddr, skhcnAdmin} {
			r := b.Post("/", "/admin/reset", adminForm(target))
			expect(t, r, http.StatusForbidden)
		}
		if _, err := e.Dir.Authenticate(t.Context(), anAddr, secretPW); err != nil {
			t.Fatalf("admin without unit %q reset a password: %v", unit, err)
		}
		if r := b.Get("/admin/reports?unit=56"); r.StatusCode == 200 && strings.Contains(r.Body, "Sở Khoa học") {
			t.Errorf("admin without unit %q sees the province's report", unit)
		}
	}
}
