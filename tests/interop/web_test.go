package interop

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts Debian's headless Chromium for one test, trusting the
// server's self-signed certificate by its public key (and nothing else).
func (s *system) browser() context.Context {
	s.t.Helper()
	requireTool(s.t, "chromium")
	b, err := os.ReadFile(s.certFile)
	if err != nil {
		s.t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		s.t.Fatalf("no certificate in %s", s.certFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		s.t.Fatal(err)
	}
	spki := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath("/usr/bin/chromium"),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(s.t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("window-size", "1100,900"),
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	s.t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Run starts the browser; later steps get their own deadlines.
	if _, err := chromedp.Run(ctx, chromedp.Title()); err != nil {
		s.t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// do runs browser steps with a deadline, failing the test on error.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
}

// text returns the visible text of the first element matching sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(c, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("browser: text of %s: %v", sel, err)
	}
	return s
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	u, err := chromedp.Run(c, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// screenshot saves the page as PNG in the test's artifact directory
// (kept with go test -artifacts) and checks that something rendered.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if len(png) < 10_000 {
		t.Errorf("screenshot %s is only %d bytes", name, len(png))
	}
	path := filepath.Join(t.ArtifactDir(), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// imapResult logs in over IMAPS with Python's imaplib: "OK" or the refusal.
func (s *system) imapResult(address, password string) string {
	s.t.Helper()
	out, err := s.py("imap-login", "--addr", s.addrs["imaps"], "--user", address, "--password", password)
	if err != nil {
		s.t.Fatalf("imap-login: %v\n%s", err, out)
	}
	var r struct{ Result string }
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		s.t.Fatalf("imap-login output %q: %v", out, err)
	}
	return r.Result
}

// signIn opens the plain HTTP sign-in link, which must land on HTTPS, and
// signs in.
func (s *system) signIn(ctx context.Context, address, password string) {
	t := s.t
	t.Helper()
	do(t, ctx, "open /login over http", chromedp.Navigate("http://"+s.addrs["http"]+"/login"))
	if got, want := location(t, ctx), "https://"+s.addrs["https"]+"/login"; got != want {
		t.Fatalf("http://…/login ended at %s, want %s", got, want)
	}
	do(t, ctx, "sign in",
		chromedp.WaitVisible("#login"),
		chromedp.SendKeys("#login", address),
		chromedp.SendKeys("#password", password),
		chromedp.Click("main form button"))
}

// changePassword fills the change-password form and submits it.
func changePassword(t *testing.T, ctx context.Context, current, next string) {
	t.Helper()
	do(t, ctx, "change password",
		chromedp.WaitVisible("#current"),
		chromedp.SendKeys("#current", current),
		chromedp.SendKeys("#new", next),
		chromedp.SendKeys("#confirm", next),
		chromedp.Click("main form button"))
}

// TestWebFirstLoginInBrowser: an official of the demo province signs in to
// the web for the first time in Chromium, is made to change the initial
// password, sees why a weak one is refused, chooses a good one, and then
// the new password works over IMAP while the initial one no longer does.
func TestWebFirstLoginInBrowser(t *testing.T) {
	s := startSystem(t, "")
	u := s.user(0)
	if r := s.imapResult(u.Address, u.Password); r != "OK" {
		t.Fatalf("initial password over IMAP before the web: %s", r)
	}
	ctx := s.browser()
	s.signIn(ctx, u.Address, "Sai-Mat-Khau#1")
	do(t, ctx, "wrong password", chromedp.WaitVisible("[role=alert]"))
	if msg := text(t, ctx, "[role=alert]"); !strings.Contains(msg, "Sai tên đăng nhập hoặc mật khẩu") {
		t.Errorf("wrong password: the page says %q", msg)
	}
	screenshot(t, ctx, "wrong-password")
	s.signIn(ctx, u.Address, u.Password)
	do(t, ctx, "forced change page", chromedp.WaitVisible("#current"))
	if got := location(t, ctx); !strings.HasSuffix(got, "/password") {
		t.Fatalf("first sign-in landed on %s, want the change-password page", got)
	}
	if main := text(t, ctx, "main"); !strings.Contains(main, "lần đăng nhập đầu tiên") {
		t.Errorf("the page does not say why the change is forced:\n%s", main)
	}
	// Anything else leads back to the change.
	do(t, ctx, "try the account page", chromedp.Navigate("https://"+s.addrs["https"]+"/"), chromedp.WaitVisible("#current"))

	changePassword(t, ctx, u.Password, "matkhau123")
	do(t, ctx, "refusal", chromedp.WaitVisible("[role=alert]"))
	reason := text(t, ctx, "[role=alert]")
	for _, want := range []string{"Mật khẩu mới chưa đạt yêu cầu", "thiếu chữ hoa", "thiếu ký tự đặc biệt"} {
		if !strings.Contains(reason, want) {
			t.Errorf("refusal %q lacks %q", reason, want)
		}
	}
	screenshot(t, ctx, "weak-password-refused")

	const good = "Bien-Xanh#2026q"
	changePassword(t, ctx, u.Password, good)
	do(t, ctx, "account page", chromedp.WaitVisible("dl.facts"))
	if main := text(t, ctx, "main"); !strings.Contains(main, "Đã đổi mật khẩu") || !strings.Contains(main, u.Address) {
		t.Errorf("after the change the page shows:\n%s", main)
	}
	screenshot(t, ctx, "password-changed")

	if r := s.imapResult(u.Address, good); r != "OK" {
		t.Errorf("new password over IMAP: %s", r)
	}
	if r := s.imapResult(u.Address, u.Password); !strings.Contains(r, "AUTHENTICATIONFAILED") {
		t.Errorf("initial password over IMAP after the change: %q, want [AUTHENTICATIONFAILED]", r)
	}
}

// TestWebAdminInBrowser: a unit administrator of the demo province signs
// in (changing their own initial password first), resets the password of
// an official of their unit — the new one is shown once; over IMAP the old
// one is refused and the new one is answered [EXPIRED], to be changed on
// the web first — and then locks the official, whose IMAP login is then
// refused with [CONTACTADMIN]; then finds "nguyen van", edits a title and
// files a request for three new officials from an XLSX that the
// operator approves (adminRequestsInBrowser).
func TestWebAdminInBrowser(t *testing.T) {
	s := startSystem(t, "")
	official := s.user(0)
	_, agency, _ := strings.Cut(official.Address, ".")
	var admin account
	for _, a := range s.accounts {
		if a.Role == "unitadmin" && strings.HasSuffix(a.Address, "."+agency) {
			admin = a
		}
	}
	if admin.Address == "" {
		t.Fatalf("no unit admin for %s in the demo accounts", official.Address)
	}
	ctx := s.browser()
	s.signIn(ctx, admin.Address, admin.Password)
	changePassword(t, ctx, admin.Password, "Quan-Tri#2026x")
	do(t, ctx, "account page", chromedp.WaitVisible("dl.facts"))

	base := "https://" + s.addrs["https"]
	do(t, ctx, "admin unit page", chromedp.Navigate(base+"/admin"), chromedp.WaitVisible("nav.tabs"))
	if page := text(t, ctx, "main"); !strings.Contains(page, official.Address) || !strings.Contains(page, "Đang hoạt động") {
		t.Fatalf("the unit page does not list %s:\n%s", official.Address, page)
	}
	screenshot(t, ctx, "admin-unit")
	do(t, ctx, "reset the official's password",
		chromedp.Navigate(base+"/admin/account?address="+official.Address),
		chromedp.WaitVisible("#reset"),
		chromedp.Click("#reset"),
		chromedp.WaitVisible("#new-password"))
	fresh := strings.TrimSpace(text(t, ctx, "#new-password"))
	if len(fresh) < 9 || fresh == official.Password {
		t.Fatalf("reset page shows %q", fresh)
	}
	screenshot(t, ctx, "admin-reset")
	if r := s.imapResult(official.Address, official.Password); !strings.Contains(r, "AUTHENTICATIONFAILED") {
		t.Errorf("old password over IMAP after the reset: %q", r)
	}
	if r := s.imapResult(official.Address, fresh); !strings.Contains(r, "[EXPIRED]") || !strings.Contains(r, "/password") {
		t.Errorf("reset password over IMAP: %q, want NO [EXPIRED] with the web address", r)
	}

	do(t, ctx, "lock the official",
		chromedp.Navigate(base+"/admin/account?address="+official.Address),
		chromedp.WaitVisible("#lock"),
		chromedp.SetValue("#reason_kind", "left"),
		chromedp.SendKeys("#lock-note", "Quyết định nghỉ hưu 45/QĐ"),
		chromedp.Click("#lock"),
		chromedp.WaitVisible("#unlock"))
	if n := text(t, ctx, "#state-reason"); !strings.Contains(n, "Nghỉ việc, nghỉ hưu / left: Quyết định nghỉ hưu 45/QĐ") {
		t.Errorf("the locked account's page shows the reason %q", n)
	}
	if n := text(t, ctx, "[role=status]"); !strings.Contains(n, "Đã khoá tài khoản "+official.Address) {
		t.Errorf("after locking the page says %q", n)
	}
	screenshot(t, ctx, "admin-locked")
	if r := s.imapResult(official.Address, fresh); !strings.Contains(r, "CONTACTADMIN") {
		t.Errorf("locked official's IMAP login: %q, want NO [CONTACTADMIN]", r)
	}
	// Provisioning requests (requests_test.go).
	s.adminRequestsInBrowser(ctx, admin, "Quan-Tri#2026x")
}
