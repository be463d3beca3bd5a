package account_test

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"congvu/directory"
	"congvu/web/core"
	"congvu/web/webdb"
)

func TestLoginLogout(t *testing.T) {
	e := newWebEnv(t, nil)
	b := e.Browser()
	r := b.Get("/")
	expect(t, r, 200, "Đăng nhập", "Địa chỉ thư điện tử", `type="password"`)
	if r.Request.URL.Path != "/login" {
		t.Errorf("/ without a session went to %s, want /login", r.Request.URL.Path)
	}
	h := r.Header
	for k, want := range map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'self'",
		"X-Frame-Options":         "DENY",
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
	} {
		if !strings.Contains(h.Get(k), want) {
			t.Errorf("header %s = %q, want %q", k, h.Get(k), want)
		}
	}
	if strings.Contains(r.Body, "<script") || strings.Contains(r.Body, "style=") {
		t.Error("page has inline script or style")
	}

	r = b.Login(anAddr, "Sai-MatKhau-123")
	expect(t, r, http.StatusUnauthorized, "Sai tên đăng nhập hoặc mật khẩu.", `value="`+anAddr+`"`)
	if strings.Contains(r.Body, "Sai-MatKhau-123") {
		t.Error("the wrong password is echoed back")
	}

	// The session cookie's attributes, on the login response itself.
	form := url.Values{"login": {anAddr}, "password": {secretPW}, "csrf": {b.CSRF("/login")}}
	nofollow := *b.C
	nofollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest("POST", e.Srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := nofollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %s", res.Status)
	}
	var set string
	for _, c := range res.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "__Host-congvu-session=") {
			set = c
		}
	}
	for _, attr := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(set, attr) {
			t.Errorf("session cookie %q lacks %s", set, attr)
		}
	}
	if strings.Contains(set, "Domain=") || strings.Contains(set, "Expires") {
		t.Errorf("session cookie %q must be host-only and end with the browser session", set)
	}

	r = b.Get("/")
	expect(t, r, 200, "Xin chào, Nguyễn Văn An", "Sở Khoa học và Công nghệ", "Giám đốc", "Đăng xuất")
	if e.Site.SessionCount() != 1 {
		t.Errorf("%d sessions, want 1", e.Site.SessionCount())
	}

	r = b.Post("/", "/logout", url.Values{})
	expect(t, r, 200, "Bạn đã đăng xuất.")
	if r = b.Get("/"); r.Request.URL.Path != "/login" {
		t.Errorf("after logout / shows %s", r.Request.URL.Path)
	}
	if e.Site.SessionCount() != 0 {
		t.Errorf("%d sessions after logout", e.Site.SessionCount())
	}
}

func TestCSRF(t *testing.T) {
	e := newWebEnv(t, nil)
	b := e.Browser()
	b.Get("/login") // gets the login cookie, but the form token is left out
	r := b.Do("POST", "/login", url.Values{"login": {anAddr}, "password": {secretPW}})
	expect(t, r, http.StatusForbidden, "mã chống giả mạo CSRF")
	if r.Request.URL.Path != "/login" || e.Site.SessionCount() != 0 {
		t.Fatal("a login without the form token logged in")
	}
	// Another browser's token does not fit this browser's cookie.
	other := e.Browser().CSRF("/login")
	r = b.Do("POST", "/login", url.Values{"login": {anAddr}, "password": {secretPW}, "csrf": {other}})
	expect(t, r, http.StatusForbidden, "mã chống giả mạo CSRF")

	expect(t, b.Login(anAddr, secretPW), 200, "Xin chào")
	form := url.Values{"current": {secretPW}, "new": {"Mat-Khau-Moi-2026"}, "confirm": {"Mat-Khau-Moi-2026"}}
	r = b.Do("POST", "/password", form)
	expect(t, r, http.StatusForbidden, "Yêu cầu không hợp lệ: thiếu hoặc sai mã chống giả mạo (CSRF).")
	form.Set("csrf", "x"+b.CSRF("/password"))
	expect(t, b.Do("POST", "/password", form), http.StatusForbidden, "mã chống giả mạo (CSRF)")
	r = b.Do("POST", "/logout", url.Values{})
	expect(t, r, http.StatusForbidden, "mã chống giả mạo")

	// A right token from another site is still refused by the origin check.
	token := b.CSRF("/")
	b.Header = http.Header{"Sec-Fetch-Site": {"cross-site"}}
	expect(t, b.Do("POST", "/logout", url.Values{"csrf": {token}}), http.StatusForbidden, "không xuất phát từ trang của hệ thống")
	b.Header = http.Header{"Origin": {"https://evil.example"}}
	expect(t, b.Do("POST", "/logout", url.Values{"csrf": {token}}), http.StatusForbidden, "không xuất phát từ trang của hệ thống")
	if _, err := e.Dir.Authenticate(t.Context(), anAddr, secretPW); err != nil {
		t.Errorf("the password changed without a valid token: %v", err)
	}
	if e.Site.SessionCount() != 1 {
		t.Error("a forged logout ended the session")
	}
}

func TestLoginRefusals(t *testing.T) {
	e := newWebEnv(t, nil)
	b := e.Browser()
	expect(t, b.Login("thanhnn.skhcn@khanhhoa.gov.vn", secretPW), http.StatusForbidden,
		"Tài khoản đang bị khoá, vui lòng liên hệ quản trị.")
	expect(t, b.Login("binhtt.skhcn@khanhhoa.gov.vn", secretPW), http.StatusForbidden, "Tài khoản đã bị đóng.")
	expect(t, b.Login("khongco@khanhhoa.gov.vn", secretPW), http.StatusUnauthorized, "Sai tên đăng nhập hoặc mật khẩu.")
	expect(t, b.Login(anAddr, ""), http.StatusBadRequest, "Vui lòng nhập địa chỉ thư điện tử và mật khẩu.")
	e.Dir.Down.Store(true)
	r := b.Login(anAddr, secretPW)
	expect(t, r, http.StatusServiceUnavailable, "Danh bạ tạm thời không truy cập được, vui lòng thử lại sau.")
	if r.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	e.Dir.Down.Store(false)
	expect(t, b.Login(anAddr, secretPW), 200, "Xin chào")
	// Locked while logged in: the next click ends the session.
	if err := e.Dir.SetState(t.Context(), anAddr, directory.StateLocked); err != nil {
		t.Fatal(err)
	}
	expect(t, b.Get("/"), http.StatusForbidden, "Tài khoản đang bị khoá")
	if e.Site.SessionCount() != 0 {
		t.Error("a locked account's session survived")
	}
}

func TestLoginPolicy(t *testing.T) {
	e := newWebEnv(t, nil)
	e.Policy.Throttled = "tramdt.nhatrang@khanhhoa.gov.vn"
	e.Policy.LockAfter = 3
	b := e.Browser()
	r := b.Login("tramdt.nhatrang@khanhhoa.gov.vn", secretPW)
	expect(t, r, http.StatusServiceUnavailable, "Đăng nhập sai quá nhiều lần từ địa chỉ của bạn.")
	for i := range 3 {
		r = b.Login(anAddr, "Sai-MatKhau-123")
		if i < 2 {
			expect(t, r, http.StatusUnauthorized, "Sai tên đăng nhập hoặc mật khẩu.")
		}
	}
	expect(t, r, http.StatusForbidden, "Tài khoản đã bị khoá do nhập sai mật khẩu quá nhiều lần.")
	if ip := e.Policy.AfterIPs[0]; ip != "127.0.0.1" {
		t.Errorf("AfterLogin got IP %q", ip)
	}

	// One access per session per day: the login's, then RecordAccess
	// only when the session goes on into a new day.
	e.Policy.Failures = nil
	expect(t, b.Login(ducAddr, secretPW), 200, "Xin chào")
	b.Get("/")
	b.Get("/password")
	if n := e.Policy.AccessCount(); n != 1 {
		t.Errorf("%d accesses recorded on the first day, want 1", n)
	}
	e.Clock.Advance(20 * time.Minute)
	b.Get("/")
	e.Clock.Advance(24 * time.Hour) // idle timeout: a new login, a new day
	expect(t, b.Login(ducAddr, secretPW), 200, "Xin chào")
	if n := e.Policy.AccessCount(); n != 2 {
		t.Errorf("%d accesses recorded after a second day, want 2", n)
	}
}

func TestSessionTimeouts(t *testing.T) {
	e := newWebEnv(t, func(o *core.Options) { o.SessionIdle, o.SessionMax = 30*time.Minute, 2*time.Hour })
	b := e.Browser()
	expect(t, b.Login(anAddr, secretPW), 200, "Xin chào")
	e.Clock.Advance(29 * time.Minute)
	expect(t, b.Get("/"), 200, "Xin chào")
	e.Clock.Advance(31 * time.Minute)
	r := b.Get("/")
	expect(t, r, 200, "Phiên đăng nhập đã hết hạn")
	if r.Request.URL.Path != "/login" {
		t.Errorf("idle session still served %s", r.Request.URL.Path)
	}
	expect(t, b.Login(anAddr, secretPW), 200, "Xin chào")
	for range 6 { // active every 25 minutes: 2.5 h
		e.Clock.Advance(25 * time.Minute)
		b.Get("/")
	}
	if r := b.Get("/"); r.Request.URL.Path != "/login" {
		t.Error("session outlived its absolute timeout")
	}
}

func TestStaticAndNotFound(t *testing.T) {
	e := newWebEnv(t, nil)
	b := e.Browser()
	r := b.Get("/static/congvu.css")
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") {
		t.Errorf("css: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	expect(t, b.Get("/khong-co"), http.StatusNotFound, "Không tìm thấy trang.")
}

func TestSessionsSurviveRestart(t *testing.T) {
	db, err := webdb.Open(filepath.Join(t.TempDir(), "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := newWebEnv(t, func(o *core.Options) { o.DB = db })
	an, duc := e.Browser(), e.Browser()
	expect(t, an.Login(anAddr, secretPW), 200, "Xin chào")
	expect(t, duc.Login(ducAddr, secretPW), 200, "Xin chào")
	expect(t, duc.Post("/", "/logout", url.Values{}), 200, "Bạn đã đăng xuất.")
	token := an.CSRF("/password")

	e.Restart()
	if n := e.Site.SessionCount(); n != 1 {
		t.Errorf("%d sessions after the restart, want 1", n)
	}
	r := an.Get("/")
	expect(t, r, 200, "Xin chào, Nguyễn Văn An")
	if r.Request.URL.Path != "/" {
		t.Errorf("signed out by the restart: %s", r.Request.URL.Path)
	}
	if an.CSRF("/password") != token {
		t.Error("the session's CSRF token changed across the restart")
	}
	if r := duc.Get("/"); r.Request.URL.Path != "/login" {
		t.Error("a signed-out session came back after the restart")
	}

	// Idle past the timeout while the server was down: gone, also from
	// the database.
	e.Clock.Advance(31 * time.Minute)
	e.Restart()
	if n := e.Site.SessionCount(); n != 0 {
		t.Errorf("%d sessions restored after the idle timeout", n)
	}
	var stored int
	db.QueryRow(`SELECT count(*) FROM sessions`).Scan(&stored)
	if stored != 0 {
		t.Errorf("%d expired sessions left in the database", stored)
	}
	if r := an.Get("/"); r.Request.URL.Path != "/login" {
		t.Error("an expired session came back after the restart")
	}
}
