package interop

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"congvu/web/twofactor"
)

// TestWebmailPhoneInBrowser: on a 390×844 phone screen an official finds
// an old message by a word typed without marks, files it in a new folder,
// answers it, and no page runs wider than the screen; then turns on
// two-step verification (QR code, first code), signs in again with a
// code, and makes an app password, which IMAP takes while the main
// password is refused there.
func TestWebmailPhoneInBrowser(t *testing.T) {
	s := startSystem(t, "")
	colleague, official := s.user(0), s.user(2)
	base := "https://" + s.addrs["https"]
	if err := s.submit(colleague, official.Address, "Ke hoach chuyen doi so nam 2027"); err != nil {
		t.Fatal(err)
	}
	s.waitFor(official, "INBOX", func(m []fetched) bool { return len(m) == 1 })

	ctx := s.browser()
	do(t, ctx, "phone screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(3)))
	s.signIn(ctx, official.Address, official.Password)
	const newPW = "Dien-Thoai#2026web"
	changePassword(t, ctx, official.Password, newPW)
	do(t, ctx, "account page", chromedp.WaitVisible("dl.facts"))
	official.Password = newPW

	fits := func(what string) {
		t.Helper()
		ok := runT(t, ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
		if !ok {
			w := runT(t, ctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`))
			t.Errorf("%s is %v px wide on a 390 px screen", what, w)
		}
		screenshot(t, ctx, "phone-"+what)
		for _, v := range axeSerious(t, ctx) {
			t.Errorf("%s: axe %s (%s): %s at %v", what, v.ID, v.Impact, v.Help, v.Nodes)
		}
	}
	visit := func(what, path, ready string) {
		t.Helper()
		do(t, ctx, what, chromedp.Navigate(base+path), chromedp.WaitVisible(ready))
		fits(what)
	}
	visit("account", "/", "dl.facts")
	visit("inbox", "/mail", "table.msgs")
	// The first row is on the first screen, under the header, folders,
	// search and toolbar.
	if top := runT(t, ctx, chromedp.Evaluate[float64](`document.querySelector('table.msgs tr.msg').getBoundingClientRect().top`)); top > 600 {
		t.Errorf("the first message starts %v px down", top)
	}
	// Search without marks, from the phone.
	do(t, ctx, "search", chromedp.SendKeys("#q", "chuyen doi so"), chromedp.Submit("#q"), chromedp.WaitVisible("#search-count"))
	fits("search")
	if n := text(t, ctx, "#search-count"); !strings.Contains(n, "Thư 1–1") {
		t.Errorf("search count %q", n)
	}
	// A new folder, and the message moved into it.
	visit("folders", "/mail/folders", "#new-name")
	do(t, ctx, "create a folder", chromedp.SendKeys("#new-name", "Chuyển đổi số"), chromedp.Click("#create-folder"),
		chromedp.WaitVisible("main [role=status]"))
	do(t, ctx, "select and move", chromedp.Navigate(base+"/mail"), chromedp.WaitVisible("table.msgs"),
		chromedp.Click("table.msgs td.sel input"), chromedp.SetValue("#move-to", "Chuyển đổi số"),
		chromedp.Click(`button[name=action][value=move]`), chromedp.WaitVisible("main [role=status]"))
	if n := text(t, ctx, "main [role=status]"); !strings.Contains(n, "Đã chuyển 1 thư vào Chuyển đổi số") {
		t.Errorf("after the move: %q", n)
	}
	if in := s.fetchAll(official, "INBOX"); len(in) != 0 {
		t.Errorf("INBOX still has %d messages over IMAP after the move", len(in))
	}
	visit("message", "/mail?folder="+url.QueryEscape("Chuyển đổi số"), "table.msgs")
	do(t, ctx, "open", chromedp.Click("table.msgs td.subj a"), chromedp.WaitVisible("#reply"))
	fits("message")
	do(t, ctx, "reply", chromedp.Click("#reply"), chromedp.WaitVisible("#body"))
	fits("compose")
	do(t, ctx, "send", chromedp.SendKeys("#body", "Đã nhận."), chromedp.Click("#send"), chromedp.WaitVisible("main [role=status]"))
	visit("settings", "/settings", "#sig")
	visit("danhba", "/danhba", "#q")

	// Two-step verification, on the phone.
	visit("security", "/security", "#start-totp")
	do(t, ctx, "start", chromedp.Click("#start-totp"), chromedp.WaitVisible("#totp-secret"))
	fits("security-qr")
	secret, err := twofactor.ParseSecret(text(t, ctx, "#totp-secret"))
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "confirm", chromedp.SendKeys("#confirm-code", twofactor.Code(secret, time.Now())),
		chromedp.Click(`button[value=confirm]`), chromedp.WaitVisible("#recovery"))
	do(t, ctx, "app password", chromedp.SendKeys("#app-name", "Thunderbird"), chromedp.Click(`button[value=newapp]`),
		chromedp.WaitVisible("#new-app"))
	app := regexp.MustCompile(`[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}`).FindString(text(t, ctx, "#new-app"))
	if app == "" {
		t.Fatalf("no app password shown: %q", text(t, ctx, "#new-app"))
	}
	// The secret the phone now holds is sealed in web.db (seal.key).
	for _, f := range []string{"web.db", "web.db-wal"} {
		if b, _ := os.ReadFile(filepath.Join(s.dir, "demo", f)); bytes.Contains(b, secret) {
			t.Errorf("%s holds the TOTP secret in clear", f)
		}
	}
	out, _ := s.py("imap-login", "--addr", s.addrs["imaps"], "--user", official.Address, "--password", official.Password)
	if strings.Contains(out, `"OK"`) {
		t.Errorf("IMAP took the main password with two-step verification on: %s", out)
	}
	out, _ = s.py("imap-login", "--addr", s.addrs["imaps"], "--user", official.Address, "--password", app)
	if !strings.Contains(out, `"OK"`) {
		t.Errorf("IMAP refused the app password: %s", out)
	}
	// Signing in again takes a code.
	do(t, ctx, "sign out", chromedp.Click("header form.inline button"), chromedp.WaitVisible("#login"))
	s.signIn(ctx, official.Address, official.Password)
	do(t, ctx, "code page", chromedp.WaitVisible("#code"))
	fits("code")
	time.Sleep(time.Until(time.Now().Truncate(30 * time.Second).Add(30 * time.Second))) // a code not used yet
	do(t, ctx, "code", chromedp.SendKeys("#code", twofactor.Code(secret, time.Now())), chromedp.Click("main form button"),
		chromedp.WaitVisible("dl.facts"))
}
