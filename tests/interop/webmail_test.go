package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestWebmailInBrowser: a message composed by Python's email package (a
// Vietnamese subject, an HTML version with script, an image from the
// network and a PDF attachment with a Vietnamese name) is submitted with
// smtplib; the recipient signs in to the web in Chromium, sees it in the
// list, opens it, and the script never runs, the image is never fetched,
// the attachment downloads byte for byte and IMAP sees the message \Seen.
func TestWebmailInBrowser(t *testing.T) {
	s := startSystem(t, "")
	from, to := s.user(0), s.user(1)

	// Any request here would be the browser loading a remote image.
	var remoteHits atomic.Int32
	tracker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		remoteHits.Add(1)
		w.Header().Set("Content-Type", "image/gif")
	}))
	defer tracker.Close()

	const subject = "Giấy mời họp triển khai chữ ký số tháng 3"
	dir := t.TempDir()
	htmlPath := filepath.Join(dir, "body.html")
	body := `<html><head><title>XSS</title><script>document.title='XSS'</script></head><body>
<p>Kính gửi các đồng chí,</p>
<p id="noi-dung">Mời các đồng chí dự họp triển khai chữ ký số lúc 8 giờ sáng thứ Hai.</p>
<script>document.title='XSS'; try { parent.document.title = 'XSS' } catch (e) {}</script>
<img src="x" onerror="document.title='XSS'">
<img src="` + tracker.URL + `/pixel.gif" alt="pixel">
<a href="javascript:document.title='XSS'">bấm</a>
<p><a href="https://congbao.khanhhoa.gov.vn/">Công báo tỉnh</a></p>
</body></html>`
	if err := os.WriteFile(htmlPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	attachment := append([]byte("%PDF-1.4\n"), make([]byte, 200<<10)...)
	rand.Read(attachment[9:])
	attachPath := filepath.Join(dir, "att.pdf")
	if err := os.WriteFile(attachPath, attachment, 0o600); err != nil {
		t.Fatal(err)
	}
	const attachName = "Tờ trình 123-UBND.pdf"
	out, err := s.py("smtp-compose", "--addr", s.addrs["submission"], "--user", from.Address, "--password", from.Password,
		"--sender", from.Address, "--from-name", "Văn phòng Ủy ban", "--rcpt", to.Address, "--subject", subject,
		"--text", "Kính gửi các đồng chí (bản văn bản).", "--html", htmlPath, "--attach", attachPath, "--attach-name", attachName)
	if err != nil {
		t.Fatalf("smtp-compose: %v\n%s", err, out)
	}
	if msgs := s.waitFor(to, "INBOX", func(m []fetched) bool { return len(m) == 1 }); len(msgs) != 1 {
		t.Fatalf("INBOX has %d messages", len(msgs))
	}

	ctx := s.browser()
	s.signIn(ctx, to.Address, to.Password)
	const newPW = "Hop-Thu#2026web"
	changePassword(t, ctx, to.Password, newPW)
	do(t, ctx, "account page", chromedp.WaitVisible("dl.facts"))
	to.Password = newPW

	base := "https://" + s.addrs["https"]
	do(t, ctx, "mailbox", chromedp.Click(`header nav a[href="/mail"]`), chromedp.WaitVisible("table.msgs"))
	list := text(t, ctx, "table.msgs")
	// The sender is a state address: the list names them as the danh bạ
	// does, not as the message claims ("Văn phòng Ủy ban").
	for _, want := range []string{subject, directoryName(t, s, from.Address), "đính kèm"} {
		if !strings.Contains(list, want) {
			t.Errorf("the list lacks %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, "Văn phòng Ủy ban") {
		t.Errorf("the list shows the name the message claims:\n%s", list)
	}
	if folders := text(t, ctx, "nav.folders"); !strings.Contains(folders, "Hộp thư đến") || !strings.Contains(folders, "Thùng rác") {
		t.Errorf("folder list: %q", folders)
	}
	screenshot(t, ctx, "webmail-list")

	do(t, ctx, "open the message", chromedp.Click("table.msgs td.subj a"), chromedp.WaitVisible("iframe.mailhtml"))
	// Chromium puts a sandboxed frame in a process of its own, out of
	// reach of DOM queries from the page: its content is checked below
	// by opening it on its own.
	runT(t, ctx, chromedp.Poll[bool](`performance.getEntriesByType('resource').some(e => e.initiatorType === 'iframe' && e.name.includes('/mail/frame') && e.responseEnd > 0)`))
	time.Sleep(500 * time.Millisecond) // onerror handlers would have fired by now
	if title := runT(t, ctx, chromedp.Title()); title != subject+" — Thư điện tử công vụ" {
		t.Errorf("page title %q: script in the message ran", title)
	}
	if blocked := text(t, ctx, "main [role=status]"); !strings.Contains(blocked, "Đã chặn 1 ảnh") {
		t.Errorf("no notice of the blocked image: %q", blocked)
	}
	screenshot(t, ctx, "webmail-message")

	href := runT(t, ctx, chromedp.AttributeValue(chromedp.CSS("ul.attachments a"), "href"))
	if !href.Exists {
		t.Fatal("attachment link without href")
	}
	if name := text(t, ctx, "ul.attachments a"); name != attachName {
		t.Errorf("attachment listed as %q, want %q", name, attachName)
	}
	cookies := runT(t, ctx, func(ctx context.Context, tg *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
		return res.Cookies, err
	})
	req, _ := http.NewRequest("GET", base+href.Value, nil)
	for _, ck := range cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: s.tlsConfig()}, Timeout: 30 * time.Second}
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Equal(got, attachment) {
		t.Errorf("download: %s, %d bytes, equal=%v", res.Status, len(got), bytes.Equal(got, attachment))
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename*=UTF-8''T%E1%BB%9D%20tr%C3%ACnh%20123-UBND.pdf`) ||
		!strings.HasPrefix(cd, "attachment;") {
		t.Errorf("Content-Disposition %q", cd)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("download without nosniff")
	}

	// The frame's own document, opened on its own: still no script.
	frameSrc := runT(t, ctx, chromedp.AttributeValue(chromedp.CSS("iframe.mailhtml"), "src"))
	do(t, ctx, "open the frame alone", chromedp.Navigate(base+frameSrc.Value), chromedp.WaitVisible("#noi-dung"))
	if inner := text(t, ctx, "#noi-dung"); !strings.Contains(inner, "Mời các đồng chí dự họp") {
		t.Errorf("the frame shows %q", inner)
	}
	time.Sleep(300 * time.Millisecond)
	if title := runT(t, ctx, chromedp.Title()); strings.Contains(title, "XSS") {
		t.Errorf("frame document title %q: script ran", title)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox") {
		t.Errorf("download CSP %q", csp)
	}
	if n := remoteHits.Load(); n != 0 {
		t.Errorf("the browser fetched the remote image %d times", n)
	}

	msgs := s.fetchAll(to, "INBOX")
	if len(msgs) != 1 || !slices.Contains(msgs[0].Flags, `\Seen`) {
		b, _ := json.Marshal(msgs)
		t.Errorf("after reading on the web IMAP shows %.300s", b)
	}
}

// runT runs one browser action that returns a value, with a deadline.
func runT[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// directoryName is the danh bạ's name of address (its public CSV).
func directoryName(t *testing.T, s *system, address string) string {
	t.Helper()
	res, err := http.Get("http://" + s.addrs["http"] + "/danhba.csv?q=" + url.QueryEscape(address))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	rows, err := csv.NewReader(res.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if len(r) > 3 && r[3] == address {
			return r[0]
		}
	}
	t.Fatalf("%s is not in the danh bạ", address)
	return ""
}
