package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"congvu/smime/smimetest"
)

// TestWebmailSignaturesAndBannersInBrowser: messages arrive on the MX
// from other agencies and from outside; the official opens each in
// Chromium. A message signed with openssl by another province's văn thư
// (test PKI root dropped into the quickstart's trust/ and reloaded) shows
// the valid badge with the signer and agency and no .p7s attachment; the
// same message with a changed body shows the invalid badge with the
// reason; mail from outside the state's domains shows the outside banner;
// a display name carrying a state address shows the spoof banner; an
// ordinary colleague's message shows "not signed" and no banner.
func TestWebmailSignaturesAndBannersInBrowser(t *testing.T) {
	s := startSystem(t, "")
	pki := smimetest.New(t)
	root, err := os.ReadFile(pki.RootPEM)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "demo", "trust", "test-root.pem"), root, 0o600); err != nil {
		t.Fatal(err)
	}
	before := reloads(t, s)
	if out, err := s.congvu("reload"); err != nil {
		t.Fatalf("congvu reload: %v\n%s", err, out)
	}
	for deadline := time.Now().Add(10 * time.Second); reloads(t, s) <= before; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the server did not reload")
		}
	}

	official, colleague := s.user(4), s.user(5)
	const vanthu = "vanthu@syt.angiang.gov.vn"
	sender := pki.Issue(smimetest.Spec{CommonName: "Văn thư Sở Y tế tỉnh An Giang", Organization: "Sở Y tế tỉnh An Giang", Email: vanthu})
	entity := []byte("Content-Type: text/plain; charset=utf-8\r\n\r\nKinh gui So KH&CN, So Y te gui ke hoach phoi hop thang 4.\r\n")
	signed := string(pki.Sign(sender, entity, smimetest.SignOptions{PSS: true}))
	head := func(from, subject string) string {
		return fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%d.badge@test>\r\n",
			from, official.Address, subject, time.Now().Format(time.RFC1123Z), time.Now().UnixNano())
	}
	mx := func(from, msg string) {
		t.Helper()
		if err := s.sendMX(from, []string{official.Address}, []byte(msg)); err != nil {
			t.Fatalf("MX from %s: %v", from, err)
		}
	}
	mx(vanthu, head(`"Văn thư Sở Y tế An Giang" <`+vanthu+`>`, "Ke hoach phoi hop (da ky so)")+signed)
	tampered := strings.Replace(signed, "thang 4", "thang 9", 1)
	if tampered == signed {
		t.Fatal("nothing to tamper with")
	}
	mx(vanthu, head("<"+vanthu+">", "Ke hoach phoi hop (bi sua)")+tampered)
	mx("thongbao@example.com", head("Thong bao <thongbao@example.com>", "Thong bao tu ben ngoai")+"\r\nXin chao.\r\n")
	mx("ke.gian@example.com", head(`"chutich@khanhhoa.gov.vn" <ke.gian@example.com>`, "Chi dao khan")+"\r\nChuyen tien gap.\r\n")
	if err := s.submit(colleague, official.Address, "Lich hop tuan"); err != nil {
		t.Fatal(err)
	}
	if got := s.waitFor(official, "INBOX", func(m []fetched) bool { return len(m) == 5 }); len(got) != 5 {
		t.Fatalf("INBOX has %d messages", len(got))
	}

	ctx := s.browser()
	s.signIn(ctx, official.Address, official.Password)
	changePassword(t, ctx, official.Password, "Chu-Ky-So#2026web")
	do(t, ctx, "account page", chromedp.WaitVisible("dl.facts"))
	base := "https://" + s.addrs["https"]
	open := func(subject string) {
		t.Helper()
		do(t, ctx, "the inbox", chromedp.Navigate(base+"/mail"), chromedp.WaitVisible("table.msgs"))
		href := runT(t, ctx, chromedp.Evaluate[string](fmt.Sprintf(
			`([...document.querySelectorAll('table.msgs td.subj a')].find(a => a.textContent.includes(%q)) || {}).href || ''`, subject)))
		if href == "" {
			t.Fatalf("no %q in the list", subject)
		}
		do(t, ctx, "open "+subject, chromedp.Navigate(href), chromedp.WaitVisible("main h1"))
	}
	count := func(sel string) int {
		t.Helper()
		return runT(t, ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	}

	open("Ke hoach phoi hop (da ky so)")
	badge := text(t, ctx, "#sig-valid")
	for _, want := range []string{"Đã ký số hợp lệ", "Văn thư Sở Y tế tỉnh An Giang", "Sở Y tế tỉnh An Giang", vanthu} {
		if !strings.Contains(badge, want) {
			t.Errorf("valid badge %q lacks %q", badge, want)
		}
	}
	if n := count("#sig-invalid, #banner-outside, #banner-name"); n != 0 {
		t.Errorf("a validly signed state message shows %d warnings", n)
	}
	if n := runT(t, ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('ul.attachments a')].filter(a => /\.p7s$/.test(a.textContent)).length`)); n != 0 {
		t.Error("smime.p7s is listed as an attachment")
	}
	screenshot(t, ctx, "badge-valid")

	open("Ke hoach phoi hop (bi sua)")
	badge = text(t, ctx, "#sig-invalid")
	for _, want := range []string{"Chữ ký số không hợp lệ", "nội dung đã bị thay đổi"} {
		if !strings.Contains(badge, want) {
			t.Errorf("invalid badge %q lacks %q", badge, want)
		}
	}
	if count("#sig-valid") != 0 {
		t.Error("a tampered message shows the valid badge")
	}
	screenshot(t, ctx, "badge-invalid")

	open("Thong bao tu ben ngoai")
	if b := text(t, ctx, "#banner-outside"); !strings.Contains(b, "bên ngoài hệ thống thư công vụ nhà nước") || !strings.Contains(b, "example.com") {
		t.Errorf("outside banner %q", b)
	}
	if count("#banner-name") != 0 {
		t.Error("an honest outside sender gets the spoof banner")
	}
	if b := text(t, ctx, "#sig-none"); !strings.Contains(b, "không có chữ ký số") {
		t.Errorf("unsigned badge %q", b)
	}

	open("Chi dao khan")
	if b := text(t, ctx, "#banner-name"); !strings.Contains(b, "chutich@khanhhoa.gov.vn") || !strings.Contains(b, "ke.gian@example.com") {
		t.Errorf("spoof banner %q", b)
	}
	if count("#banner-outside") != 1 {
		t.Error("the spoofing outside sender lacks the outside banner")
	}
	screenshot(t, ctx, "banner-spoof")

	open("Lich hop tuan")
	if n := count("#banner-outside, #banner-name, #sig-valid, #sig-invalid"); n != 0 {
		t.Errorf("a colleague's unsigned message shows %d warnings or badges", n)
	}
}
