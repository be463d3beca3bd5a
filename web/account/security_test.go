package account_test

import (
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"congvu/internal/sealbox"
	"congvu/web/account"
	"congvu/web/core"
	"congvu/web/twofactor"
	"congvu/web/webdb"
	"congvu/web/webtest"
)

var secretText = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)

func TestTwoFactorSignInFlow(t *testing.T) {
	db, err := webdb.Open(filepath.Join(t.TempDir(), "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := time.Now()
	now := func() time.Time { return clock }
	box, err := sealbox.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tf, err := twofactor.New(db, box, now)
	if err != nil {
		t.Fatal(err)
	}
	e := webtest.NewAccount(t, func(o *core.Options) { o.DB, o.SecondFactor = db, tf }, account.Options{TwoFactor: tf})
	b := e.Browser()
	expect(t, b.Login(anAddr, secretPW), 200, "Xin chào")
	expect(t, b.Get("/security"), 200, "đang tắt")
	r := b.Post("/security", "/security", url.Values{"action": {"start"}})
	expect(t, r, 200, "Quét mã QR", `<svg class="qr"`, "<path d=")
	m := secretText.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no secret on the page:\n%.3000s", r.Body)
	}
	secret, err := twofactor.ParseSecret(m[1])
	if err != nil {
		t.Fatal(err)
	}
	expect(t, b.Post("/security", "/security", url.Values{"action": {"confirm"}, "code": {"123456"}}), 200, "Mã xác thực không đúng")
	r = b.Post("/security", "/security", url.Values{"action": {"confirm"}, "code": {twofactor.Code(secret, clock)}})
	expect(t, r, 200, "Đã bật xác thực hai bước", "Mã dự phòng")
	codes := regexp.MustCompile(`<code>([a-z2-7]{5}(?:-[a-z2-7]{5}){3})</code>`).FindAllStringSubmatch(r.Body, -1)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown", len(codes))
	}
	r = b.Post("/security", "/security", url.Values{"action": {"newapp"}, "name": {"Thunderbird"}})
	expect(t, r, 200, "Mật khẩu ứng dụng «Thunderbird»")

	// Signing in now takes a code: not the password alone, not a wrong
	// code, not the same code twice.
	expect(t, b.Post("/", "/logout", url.Values{}), 200, "Bạn đã đăng xuất.")
	r = b.Login(anAddr, secretPW)
	expect(t, r, 200, "Xác thực hai bước", `autocomplete="one-time-code"`)
	if r2 := b.Get("/"); r2.Request.URL.Path != "/login" {
		t.Fatal("signed in with the password alone")
	}
	expect(t, b.Post("/login", "/login/code", url.Values{"code": {"000000"}}), 401, "Mã xác thực không đúng hoặc đã dùng.")
	if e.Policy.Failures[anAddr] != 1 {
		t.Errorf("the wrong code was not counted: %v", e.Policy.Failures)
	}
	clock = clock.Add(31 * time.Second)
	code := twofactor.Code(secret, clock)
	expect(t, b.Post("/login", "/login/code", url.Values{"code": {code}}), 200, "Xin chào")
	expect(t, b.Post("/", "/logout", url.Values{}), 200)
	b.Login(anAddr, secretPW)
	expect(t, b.Post("/login", "/login/code", url.Values{"code": {code}}), 401, "đã dùng")
	// A recovery code instead.
	expect(t, b.Post("/login", "/login/code", url.Values{"code": {strings.ToUpper(codes[0][1])}}), 200, "Xin chào")
	// Another browser cannot use a pending sign-in it never had.
	other := e.Browser()
	expect(t, other.Post("/login", "/login/code", url.Values{"code": {twofactor.Code(secret, clock.Add(30*time.Second))}}), 401, "nhập lại mật khẩu")
	// A pending sign-in expires.
	expect(t, b.Post("/", "/logout", url.Values{}), 200)
	b.Login(anAddr, secretPW)
	clock = clock.Add(6 * time.Minute)
	e.Clock.Advance(6 * time.Minute)
	expect(t, b.Post("/login", "/login/code", url.Values{"code": {twofactor.Code(secret, clock)}}), 401, "nhập lại mật khẩu")
}
