package account_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"congvu/internal/mailerr"
	"congvu/policy/password"
	"congvu/web/core"
	"congvu/web/webtest"
)

// mustChange sets MustChangePassword on an account, as an import or an
// admin reset does.
func mustChange(e *webtest.Env, address string) {
	e.T.Helper()
	a, err := e.Dir.Lookup(e.T.Context(), address)
	if err != nil {
		e.T.Fatal(err)
	}
	a.MustChangePassword = true
	if err := e.Dir.PutAccount(e.T.Context(), *a, ""); err != nil {
		e.T.Fatal(err)
	}
}

func changeForm(current, next, again string) url.Values {
	return url.Values{"current": {current}, "new": {next}, "confirm": {again}}
}

func TestForcedPasswordChange(t *testing.T) {
	e := newWebEnv(t, nil)
	mustChange(e, ducAddr)
	other := e.Browser() // a second session of the same official
	expect(t, other.Login(ducAddr, secretPW), 200)
	b := e.Browser()
	r := b.Login(ducAddr, secretPW)
	expect(t, r, 200, "Đây là lần đăng nhập đầu tiên hoặc mật khẩu vừa được cấp lại", "Ít nhất 9 ký tự, gồm chữ hoa, chữ thường, chữ số, ký tự đặc biệt")
	if r.Request.URL.Path != "/password" {
		t.Fatalf("first login went to %s, want /password", r.Request.URL.Path)
	}
	if strings.Contains(r.Body, `href="/admin"`) || strings.Contains(r.Body, `href="/">Tài khoản`) {
		t.Error("the forced page links elsewhere")
	}
	for _, path := range []string{"/", "/admin", "/admin/unit?code=56"} {
		if r := b.Get(path); r.Request.URL.Path != "/password" {
			t.Errorf("%s reachable before the forced change (%s)", path, r.Request.URL.Path)
		}
	}

	for _, tc := range []struct {
		form   url.Values
		status int
		wants  []string
	}{
		{changeForm("sai-mat-khau", "Mat-Khau-Moi-2026", "Mat-Khau-Moi-2026"), http.StatusForbidden, []string{"Mật khẩu hiện tại không đúng."}},
		{changeForm(secretPW, "Mat-Khau-Moi-2026", "Mat-Khau-Moi-2025"), http.StatusUnprocessableEntity, []string{"Mật khẩu mới nhập lại không khớp."}},
		{changeForm(secretPW, secretPW, secretPW), http.StatusUnprocessableEntity, []string{"Mật khẩu mới phải khác mật khẩu hiện tại."}},
		{changeForm(secretPW, "matkhau", "matkhau"), http.StatusUnprocessableEntity,
			[]string{"Mật khẩu mới chưa đạt yêu cầu:", "cần ít nhất 9 ký tự (mới có 7)", "thiếu chữ hoa", "thiếu chữ số", "thiếu ký tự đặc biệt"}},
		{changeForm(secretPW, "Lê-Văn-Đức-2026", "Lê-Văn-Đức-2026"), http.StatusUnprocessableEntity,
			[]string{"không được chứa họ tên hoặc tên"}},
		{changeForm(secretPW, "Duclv#2026xyz", "Duclv#2026xyz"), http.StatusUnprocessableEntity,
			[]string{"không được chứa tên tài khoản"}},
		{changeForm("", "", ""), http.StatusBadRequest, []string{"Vui lòng nhập mật khẩu hiện tại và mật khẩu mới."}},
	} {
		r := b.Post("/password", "/password", tc.form)
		expect(t, r, tc.status, tc.wants...)
		if strings.Contains(r.Body, tc.form.Get("new")) && tc.form.Get("new") != "" {
			t.Errorf("the page echoes the new password %q", tc.form.Get("new"))
		}
	}
	if a, _ := e.Dir.Lookup(t.Context(), ducAddr); !a.MustChangePassword {
		t.Fatal("a refused change cleared MustChangePassword")
	}

	before := time.Now()
	r = b.Post("/password", "/password", changeForm(secretPW, "Mật-khẩu-Mới-2026", "Mật-khẩu-Mới-2026"))
	expect(t, r, 200, "Đã đổi mật khẩu.", "Xin chào, Lê Văn Đức")
	a, err := e.Dir.Lookup(t.Context(), ducAddr)
	if err != nil || a.MustChangePassword || a.PasswordChanged.Before(before) {
		t.Errorf("after the change: %+v, %v", a, err)
	}
	if _, err := e.Dir.Authenticate(t.Context(), ducAddr, "Mật-khẩu-Mới-2026"); err != nil {
		t.Errorf("new password: %v", err)
	}
	if _, err := e.Dir.Authenticate(t.Context(), ducAddr, secretPW); !errors.Is(err, mailerr.ErrAuthFailed) {
		t.Errorf("old password still works: %v", err)
	}
	if r := other.Get("/"); r.Request.URL.Path != "/login" {
		t.Error("the other session survived the password change")
	}
	if r := b.Get("/admin"); r.StatusCode != http.StatusForbidden {
		t.Errorf("an official reaches /admin after the change: %d", r.StatusCode)
	}
}

func TestExpiredPassword(t *testing.T) {
	e := newWebEnv(t, nil)
	a, err := e.Dir.Lookup(t.Context(), anAddr)
	if err != nil {
		t.Fatal(err)
	}
	a.PasswordChanged = time.Now().AddDate(0, 0, -181)
	if err := e.Dir.PutAccount(t.Context(), *a, ""); err != nil {
		t.Fatal(err)
	}
	b := e.Browser()
	r := b.Login(anAddr, secretPW)
	expect(t, r, 200, "Mật khẩu của bạn đã dùng quá 180 ngày")
	if r.Request.URL.Path != "/password" {
		t.Fatalf("expired password went to %s", r.Request.URL.Path)
	}
	if r := b.Get("/"); r.Request.URL.Path != "/password" {
		t.Errorf("/ reachable with an expired password")
	}
	r = b.Post("/password", "/password", changeForm(secretPW, "Khanh-Hoa#2026a", "Khanh-Hoa#2026a"))
	expect(t, r, 200, "Đã đổi mật khẩu.", "Xin chào, Nguyễn Văn An")
	if r.Request.URL.Path != "/" {
		t.Errorf("after the change: %s", r.Request.URL.Path)
	}

	// max_age_days = 0 disables expiry.
	e2 := newWebEnv(t, func(o *core.Options) { o.Rules = password.Default(); o.Rules.MaxAgeDays = 0 })
	e2.Clock.Advance(5 * 365 * 24 * time.Hour)
	if r := e2.Browser().Login(anAddr, secretPW); r.Request.URL.Path != "/" {
		t.Errorf("max_age_days = 0 still forces a change: %s", r.Request.URL.Path)
	}
}

func TestNormalPasswordChange(t *testing.T) {
	e := newWebEnv(t, nil)
	b := e.Browser()
	expect(t, b.Login(anAddr, secretPW), 200, "Xin chào")
	r := b.Get("/password")
	expect(t, r, 200, "Mật khẩu hiện tại", "Mật khẩu mới", "Nhập lại mật khẩu mới")
	if strings.Contains(r.Body, "lần đăng nhập đầu tiên") {
		t.Error("a voluntary change is shown as forced")
	}
	expect(t, b.Post("/password", "/password", changeForm(secretPW, "Nha-Trang#2026", "Nha-Trang#2026")), 200, "Đã đổi mật khẩu.")
	expect(t, e.Browser().Login(anAddr, "Nha-Trang#2026"), 200, "Xin chào, Nguyễn Văn An")
	expect(t, e.Browser().Login(anAddr, secretPW), http.StatusUnauthorized, "Sai tên đăng nhập hoặc mật khẩu.")
}
