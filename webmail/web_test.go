package webmail

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
)

const (
	anAddr  = "anv.skhcn@khanhhoa.gov.vn"
	ducAddr = "duclv.vanphong.skhcn@khanhhoa.gov.vn"
)

// testClock is a settable clock starting now (the directory stamps
// PasswordChanged with the real time).
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// flakyDir is a directory that can be made unreachable.
type flakyDir struct {
	directory.Writer
	down atomic.Bool
}

func (f *flakyDir) Authenticate(ctx context.Context, login, pw string) (*directory.Account, error) {
	if f.down.Load() {
		return nil, mailerr.ErrDirectoryUnavailable
	}
	return f.Writer.Authenticate(ctx, login, pw)
}

func (f *flakyDir) Lookup(ctx context.Context, address string) (*directory.Account, error) {
	if f.down.Load() {
		return nil, mailerr.ErrDirectoryUnavailable
	}
	return f.Writer.Lookup(ctx, address)
}

// fakePolicy records the hooks and refuses what the test asks.
type fakePolicy struct {
	mu        sync.Mutex
	throttled string // login refused by BeforeLogin
	lockAfter int    // failures of one login that turn into a lock
	failures  map[string]int
	accesses  []string
	afterIPs  []string
}

func (p *fakePolicy) BeforeLogin(_ context.Context, login string, ip net.IP) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if login == p.throttled {
		return &mailerr.Error{SMTPCode: 454, Enhanced: [3]int{4, 7, 0}, Temporary: true, IMAPCode: "UNAVAILABLE",
			Message: "Too many failed logins", MessageVI: "Đăng nhập sai quá nhiều lần từ địa chỉ của bạn"}
	}
	return nil
}

func (p *fakePolicy) AfterLogin(_ context.Context, login string, ip net.IP, _ *directory.Account, authErr error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.afterIPs = append(p.afterIPs, ip.String())
	if authErr == nil {
		// Like the engine: a successful login is that day's access.
		delete(p.failures, login)
		p.accesses = append(p.accesses, login)
		return nil
	}
	if p.failures == nil {
		p.failures = map[string]int{}
	}
	p.failures[login]++
	if p.lockAfter > 0 && p.failures[login] >= p.lockAfter {
		return mailerr.ErrAccountDisabled.WithMessage("Locked after too many failures", "Tài khoản đã bị khoá do nhập sai mật khẩu quá nhiều lần")
	}
	return nil
}

func (p *fakePolicy) RecordAccess(_ context.Context, address string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.accesses = append(p.accesses, address)
}

func (p *fakePolicy) accessCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.accesses)
}

type webEnv struct {
	t      *testing.T
	srv    *httptest.Server
	dir    *flakyDir
	web    *Web
	clock  *testClock
	policy *fakePolicy
}

func newWebEnv(t *testing.T, tune func(*WebOptions)) *webEnv {
	t.Helper()
	e := &webEnv{t: t, dir: &flakyDir{Writer: seed(t, 0)}, clock: &testClock{t: time.Now()}, policy: &fakePolicy{}}
	opts := WebOptions{Dir: e.dir, Policy: e.policy, Domains: []string{"khanhhoa.gov.vn"}, Now: e.clock.Now}
	if tune != nil {
		tune(&opts)
	}
	e.web = NewWeb(opts)
	e.srv = httptest.NewTLSServer(e.web)
	t.Cleanup(e.srv.Close)
	return e
}

// browser is one cookie jar talking to the test server.
type browser struct {
	e      *webEnv
	c      *http.Client
	header http.Header // added to every request
}

func (e *webEnv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := *e.srv.Client() // the server's client is shared: copy it
	c.Jar = jar
	return &browser{e: e, c: &c, header: http.Header{"Sec-Fetch-Site": {"same-origin"}}}
}

type response struct {
	*http.Response
	Body string
}

func (b *browser) do(method, path string, form url.Values) response {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range b.header {
		req.Header[k] = v
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return response{res, string(data)}
}

func (b *browser) get(path string) response { return b.do("GET", path, nil) }

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the form token of the page at path.
func (b *browser) csrf(path string) string {
	b.e.t.Helper()
	r := b.get(path)
	m := csrfField.FindStringSubmatch(r.Body)
	if m == nil {
		b.e.t.Fatalf("no CSRF field on %s (%d):\n%.1500s", path, r.StatusCode, r.Body)
	}
	return m[1]
}

// post submits a form of the page at from, with its token.
func (b *browser) post(from, action string, form url.Values) response {
	b.e.t.Helper()
	form.Set("csrf", b.csrf(from))
	return b.do("POST", action, form)
}

func (b *browser) login(address, pw string) response {
	b.e.t.Helper()
	return b.post("/login", "/login", url.Values{"login": {address}, "password": {pw}})
}

func expect(t *testing.T, r response, status int, wants ...string) {
	t.Helper()
	if r.StatusCode != status {
		t.Errorf("%s %s: status %d, want %d\n%.2500s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.Body)
		return
	}
	for _, w := range wants {
		if !strings.Contains(r.Body, w) {
			t.Errorf("%s %s: page lacks %q\n%.2500s", r.Request.Method, r.Request.URL.Path, w, r.Body)
		}
	}
}

func TestLoginLogout(t *testing.T) {
	e := newWebEnv(t, nil)
	b := e.browser()
	r := b.get("/")
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

	r = b.login(anAddr, "Sai-MatKhau-123")
	expect(t, r, http.StatusUnauthorized, "Sai tên đăng nhập hoặc mật khẩu.", `value="`+anAddr+`"`)
	if strings.Contains(r.Body, "Sai-MatKhau-123") {
		t.Error("the wrong password is echoed back")
	}

	// The session cookie's attributes, on the login response itself.
	form := url.Values{"login": {anAddr}, "password": {secretPW}, "csrf": {b.csrf("/login")}}
	nofollow := *b.c
	nofollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest("POST", e.srv.URL+"/login", strings.NewReader(form.Encode()))
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
		if strings.HasPrefix(c, sessionCookie+"=") {
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

	r = b.get("/")
	expect(t, r, 200, "Xin chào, Nguyễn Văn An", "Sở Khoa học và Công nghệ", "Giám đốc", "Đăng xuất")
	if e.web.sessions.len() != 1 {
		t.Errorf("%d sessions, want 1", e.web.sessions.len())
	}

	r = b.post("/", "/logout", url.Values{})
	expect(t, r, 200, "Bạn đã đăng xuất.")
	if r = b.get("/"); r.Request.URL.Path != "/login" {
		t.Errorf("after logout / shows %s", r.Request.URL.Path)
	}
	if e.web.sessions.len() != 0 {
		t.Errorf("%d sessions after logout", e.web.sessions.len())
	}
}

func TestCSRF(t *testing.T) {
	e := newWebEnv(t, nil)
	b := e.browser()
	b.get("/login") // gets the login cookie, but the form token is left out
	r := b.do("POST", "/login", url.Values{"login": {anAddr}, "password": {secretPW}})
	expect(t, r, http.StatusForbidden, "mã chống giả mạo CSRF")
	if r.Request.URL.Path != "/login" || e.web.sessions.len() != 0 {
		t.Fatal("a login without the form token logged in")
	}
	// Another browser's token does not fit this browser's cookie.
	other := e.browser().csrf("/login")
	r = b.do("POST", "/login", url.Values{"login": {anAddr}, "password": {secretPW}, "csrf": {other}})
	expect(t, r, http.StatusForbidden, "mã chống giả mạo CSRF")

	expect(t, b.login(anAddr, secretPW), 200, "Xin chào")
	form := url.Values{"current": {secretPW}, "new": {"Mat-Khau-Moi-2026"}, "confirm": {"Mat-Khau-Moi-2026"}}
	r = b.do("POST", "/password", form)
	expect(t, r, http.StatusForbidden, "Yêu cầu không hợp lệ: thiếu hoặc sai mã chống giả mạo (CSRF).")
	form.Set("csrf", "x"+b.csrf("/password"))
	expect(t, b.do("POST", "/password", form), http.StatusForbidden, "mã chống giả mạo (CSRF)")
	r = b.do("POST", "/logout", url.Values{})
	expect(t, r, http.StatusForbidden, "mã chống giả mạo")

	// A right token from another site is still refused by the origin check.
	token := b.csrf("/")
	b.header = http.Header{"Sec-Fetch-Site": {"cross-site"}}
	expect(t, b.do("POST", "/logout", url.Values{"csrf": {token}}), http.StatusForbidden, "không xuất phát từ trang của hệ thống")
	b.header = http.Header{"Origin": {"https://evil.example"}}
	expect(t, b.do("POST", "/logout", url.Values{"csrf": {token}}), http.StatusForbidden, "không xuất phát từ trang của hệ thống")
	if _, err := e.dir.Authenticate(t.Context(), anAddr, secretPW); err != nil {
		t.Errorf("the password changed without a valid token: %v", err)
	}
	if e.web.sessions.len() != 1 {
		t.Error("a forged logout ended the session")
	}
}

func TestLoginRefusals(t *testing.T) {
	e := newWebEnv(t, nil)
	b := e.browser()
	expect(t, b.login("thanhnn.skhcn@khanhhoa.gov.vn", secretPW), http.StatusForbidden,
		"Tài khoản đang bị khoá, vui lòng liên hệ quản trị.")
	expect(t, b.login("binhtt.skhcn@khanhhoa.gov.vn", secretPW), http.StatusForbidden, "Tài khoản đã bị đóng.")
	expect(t, b.login("khongco@khanhhoa.gov.vn", secretPW), http.StatusUnauthorized, "Sai tên đăng nhập hoặc mật khẩu.")
	expect(t, b.login(anAddr, ""), http.StatusBadRequest, "Vui lòng nhập địa chỉ thư điện tử và mật khẩu.")
	e.dir.down.Store(true)
	r := b.login(anAddr, secretPW)
	expect(t, r, http.StatusServiceUnavailable, "Danh bạ tạm thời không truy cập được, vui lòng thử lại sau.")
	if r.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	e.dir.down.Store(false)
	expect(t, b.login(anAddr, secretPW), 200, "Xin chào")
	// Locked while logged in: the next click ends the session.
	if err := e.dir.SetState(t.Context(), anAddr, directory.StateLocked); err != nil {
		t.Fatal(err)
	}
	expect(t, b.get("/"), http.StatusForbidden, "Tài khoản đang bị khoá")
	if e.web.sessions.len() != 0 {
		t.Error("a locked account's session survived")
	}
}

func TestLoginPolicy(t *testing.T) {
	e := newWebEnv(t, nil)
	e.policy.throttled = "tramdt.nhatrang@khanhhoa.gov.vn"
	e.policy.lockAfter = 3
	b := e.browser()
	r := b.login("tramdt.nhatrang@khanhhoa.gov.vn", secretPW)
	expect(t, r, http.StatusServiceUnavailable, "Đăng nhập sai quá nhiều lần từ địa chỉ của bạn.")
	for i := range 3 {
		r = b.login(anAddr, "Sai-MatKhau-123")
		if i < 2 {
			expect(t, r, http.StatusUnauthorized, "Sai tên đăng nhập hoặc mật khẩu.")
		}
	}
	expect(t, r, http.StatusForbidden, "Tài khoản đã bị khoá do nhập sai mật khẩu quá nhiều lần.")
	if ip := e.policy.afterIPs[0]; ip != "127.0.0.1" {
		t.Errorf("AfterLogin got IP %q", ip)
	}

	// One access per session per day: the login's, then RecordAccess
	// only when the session goes on into a new day.
	e.policy.failures = nil
	expect(t, b.login(ducAddr, secretPW), 200, "Xin chào")
	b.get("/")
	b.get("/password")
	if n := e.policy.accessCount(); n != 1 {
		t.Errorf("%d accesses recorded on the first day, want 1", n)
	}
	e.clock.Advance(20 * time.Minute)
	b.get("/")
	e.clock.Advance(24 * time.Hour) // idle timeout: a new login, a new day
	expect(t, b.login(ducAddr, secretPW), 200, "Xin chào")
	if n := e.policy.accessCount(); n != 2 {
		t.Errorf("%d accesses recorded after a second day, want 2", n)
	}
}

func TestSessionTimeouts(t *testing.T) {
	e := newWebEnv(t, func(o *WebOptions) { o.SessionIdle, o.SessionMax = 30*time.Minute, 2*time.Hour })
	b := e.browser()
	expect(t, b.login(anAddr, secretPW), 200, "Xin chào")
	e.clock.Advance(29 * time.Minute)
	expect(t, b.get("/"), 200, "Xin chào")
	e.clock.Advance(31 * time.Minute)
	r := b.get("/")
	expect(t, r, 200, "Phiên đăng nhập đã hết hạn")
	if r.Request.URL.Path != "/login" {
		t.Errorf("idle session still served %s", r.Request.URL.Path)
	}
	expect(t, b.login(anAddr, secretPW), 200, "Xin chào")
	for range 6 { // active every 25 minutes: 2.5 h
		e.clock.Advance(25 * time.Minute)
		b.get("/")
	}
	if r := b.get("/"); r.Request.URL.Path != "/login" {
		t.Error("session outlived its absolute timeout")
	}
}

func TestHTTPSRedirect(t *testing.T) {
	h := HTTPSRedirect("8443")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1:8080/login?x=1", nil))
	if rec.Code != http.StatusPermanentRedirect || rec.Header().Get("Location") != "https://127.0.0.1:8443/login?x=1" {
		t.Errorf("GET: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "http://127.0.0.1:8080/login", strings.NewReader("password=x")))
	if rec.Code != http.StatusForbidden || rec.Header().Get("Location") != "" || !strings.Contains(rec.Body.String(), "HTTPS") {
		t.Errorf("POST over plain HTTP: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	rec = httptest.NewRecorder()
	HTTPSRedirect("").ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1:8080/login", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("without an HTTPS listener: %d", rec.Code)
	}
}

func TestStaticAndNotFound(t *testing.T) {
	e := newWebEnv(t, nil)
	b := e.browser()
	r := b.get("/static/congvu.css")
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") {
		t.Errorf("css: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	expect(t, b.get("/khong-co"), http.StatusNotFound, "Không tìm thấy trang.")
}
