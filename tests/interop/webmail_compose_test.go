package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	gomessage "github.com/emersion/go-message"
)

// leaves reads a raw message: its decoded subject, its header fields by
// name, and its leaves' decoded bodies by file name (the text under "").
func leaves(t *testing.T, raw []byte) (subject string, header gomessage.Header, bodies map[string][]byte) {
	t.Helper()
	m, err := gomessage.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("reading the message: %v", err)
	}
	subject, _ = m.Header.Text("Subject")
	bodies = map[string][]byte{}
	m.Walk(func(_ []int, ent *gomessage.Entity, err error) error {
		if err != nil || ent.MultipartReader() != nil {
			return err
		}
		_, dp, _ := ent.Header.ContentDisposition()
		b, _ := io.ReadAll(ent.Body)
		bodies[dp["filename"]] = b
		return nil
	})
	return subject, m.Header, bodies
}

// composeInBrowser writes and sends a message on the compose page.
func composeInBrowser(t *testing.T, ctx context.Context, base, to, subject, body, file string) {
	t.Helper()
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(base + "/mail/compose"),
		chromedp.WaitVisible("#to"),
		chromedp.SendKeys("#to", to),
		chromedp.SendKeys("#subject", subject),
		chromedp.SendKeys("#body", body),
	}
	if file != "" {
		steps = append(steps, chromedp.SetUploadFiles("#files", []string{file}))
	}
	steps = append(steps, chromedp.Click("#send"), chromedp.WaitVisible("main [role=status]"))
	do(t, ctx, "compose and send", steps...)
}

// TestWebmailComposeInBrowser: an official writes in Vietnamese with a PDF
// attachment in Chromium and a colleague reads it over IMAP, attachment
// byte for byte; a reply from the web keeps the thread in the colleague's
// client; a draft saved on the web is there to be finished later.
func TestWebmailComposeInBrowser(t *testing.T) {
	s := startSystem(t, "")
	colleague, official := s.user(0), s.user(1)
	base := "https://" + s.addrs["https"]

	pdf := append([]byte("%PDF-1.4\n"), make([]byte, 300<<10)...)
	rand.Read(pdf[9:])
	dir := t.TempDir()
	const pdfName = "Tờ trình số 45-TTr-SKHCN về chuyển đổi số.pdf"
	pdfPath := filepath.Join(dir, pdfName)
	if err := os.WriteFile(pdfPath, pdf, 0o600); err != nil {
		t.Fatal(err)
	}

	ctx := s.browser()
	s.signIn(ctx, official.Address, official.Password)
	const newPW = "Soan-Thu#2026web"
	changePassword(t, ctx, official.Password, newPW)
	do(t, ctx, "account page", chromedp.WaitVisible("dl.facts"))
	official.Password = newPW

	const subject = "Tờ trình chuyển đổi số — đề nghị góp ý trước ngày 15/3"
	composeInBrowser(t, ctx, base, colleague.Address, subject, "Kính gửi anh,\nĐề nghị anh góp ý dự thảo tờ trình đính kèm.\nTrân trọng.", pdfPath)
	if n := text(t, ctx, "main [role=status]"); !strings.Contains(n, "Đã gửi thư") {
		t.Fatalf("after Send: %q", n)
	}
	screenshot(t, ctx, "webmail-sent")
	msgs := s.waitFor(colleague, "INBOX", func(m []fetched) bool { return len(m) == 1 })
	if len(msgs) != 1 {
		t.Fatalf("the colleague's INBOX has %d messages", len(msgs))
	}
	got, header, bodies := leaves(t, msgs[0].Raw)
	if got != subject {
		t.Errorf("subject over IMAP %q", got)
	}
	if !bytes.Equal(bodies[pdfName], pdf) {
		t.Errorf("the PDF over IMAP: %d bytes, equal=%v (parts %d)", len(bodies[pdfName]), bytes.Equal(bodies[pdfName], pdf), len(bodies))
	}
	if header.Get("Message-Id") == "" || header.Get("Date") == "" || !strings.Contains(header.Get("Dkim-Signature")+header.Get("Received"), "webmail") {
		t.Errorf("header: Message-ID %q, Date %q, Received %q", header.Get("Message-Id"), header.Get("Date"), header.Get("Received"))
	}
	if sent := s.fetchAll(official, "Sent"); len(sent) != 1 {
		t.Errorf("Sent has %d messages", len(sent))
	}

	// The colleague writes; the official answers from the web.
	if err := s.submit(colleague, official.Address, "Lich hop giao ban"); err != nil {
		t.Fatal(err)
	}
	in := s.waitFor(official, "INBOX", func(m []fetched) bool { return len(m) == 1 })
	_, origHeader, _ := leaves(t, in[0].Raw)
	do(t, ctx, "open the message", chromedp.Navigate(base+"/mail"), chromedp.WaitVisible("table.msgs"),
		chromedp.Click("table.msgs td.subj a"), chromedp.WaitVisible("#reply"), chromedp.Click("#reply"),
		chromedp.WaitVisible("#body"))
	if v := runT(t, ctx, chromedp.Value("#subject")); v != "Re: Lich hop giao ban" {
		t.Errorf("reply subject %q", v)
	}
	do(t, ctx, "reply", chromedp.Evaluate[chromedp.Void](`document.querySelector('#body').setSelectionRange(0,0)`),
		chromedp.SendKeys("#body", "Tôi sẽ dự họp."), chromedp.Click("#send"), chromedp.WaitVisible("main [role=status]"))
	back := s.waitFor(colleague, "INBOX", func(m []fetched) bool { return len(m) == 2 })
	if len(back) != 2 {
		t.Fatalf("the colleague has %d messages", len(back))
	}
	_, replyHeader, replyBodies := leaves(t, back[1].Raw)
	id := origHeader.Get("Message-Id")
	if id == "" || replyHeader.Get("In-Reply-To") != id || !strings.Contains(replyHeader.Get("References"), id) {
		t.Errorf("thread: original %q, In-Reply-To %q, References %q", id, replyHeader.Get("In-Reply-To"), replyHeader.Get("References"))
	}
	if !strings.Contains(string(replyBodies[""]), "Tôi sẽ dự họp.") || !strings.Contains(string(replyBodies[""]), "> Noi dung") {
		t.Errorf("reply text %q", replyBodies[""])
	}

	// A draft survives: saved, then found in Thư nháp and reopened.
	do(t, ctx, "save a draft", chromedp.Navigate(base+"/mail/compose"), chromedp.WaitVisible("#to"),
		chromedp.SendKeys("#subject", "Dự thảo kế hoạch năm 2027"), chromedp.SendKeys("#body", "Phần mở đầu"),
		chromedp.Click("#save"), chromedp.WaitVisible("main [role=status]"))
	do(t, ctx, "reopen the draft", chromedp.Navigate(base+"/mail?folder=Drafts"), chromedp.WaitVisible("table.msgs"),
		chromedp.Click("table.msgs td.subj a"), chromedp.WaitVisible("#edit-draft"), chromedp.Click("#edit-draft"),
		chromedp.WaitVisible("#body"))
	if v := runT(t, ctx, chromedp.Value("#body")); !strings.Contains(v, "Phần mở đầu") {
		t.Errorf("reopened draft body %q", v)
	}
	if d := s.fetchAll(official, "Drafts"); len(d) != 1 {
		t.Errorf("Drafts has %d messages", len(d))
	}
	screenshot(t, ctx, "webmail-draft")
}

// postMultipart submits a compose form (multipart, its CSRF token first)
// of the page at from.
func (u *webUser) postMultipart(from, action string, fields [][2]string, files map[string][]byte) webPage {
	u.t.Helper()
	p := u.get(from)
	m := csrfInput.FindStringSubmatch(p.Body)
	if m == nil {
		u.t.Fatalf("no form token on %s (%d)", from, p.Status)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", m[1])
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	for name, data := range files {
		w, _ := mw.CreateFormFile("files", name)
		w.Write(data)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", u.base+action, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", u.base)
	res, err := u.c.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return webPage{res.StatusCode, res.Request.URL.Path, res.Header, string(b)}
}

// testWebmailToPostfix: a message written on the web with a Vietnamese
// subject and a PDF reaches another province's Postfix, DKIM-signed,
// through the outbound queue.
func testWebmailToPostfix(t *testing.T, p *province, writer account) {
	u := p.congvu.signInFirst(writer)
	pdf := append([]byte("%PDF-1.4\n"), make([]byte, 50<<10)...)
	rand.Read(pdf[9:])
	const subject = "Công văn gửi Sở KH&CN An Giang"
	r := u.postMultipart("/mail/compose", "/mail/compose", [][2]string{{"action", "send"}, {"to", otherUser},
		{"subject", subject}, {"body", "Kính gửi Sở KH&CN An Giang."}}, map[string][]byte{"Công văn 12-SKHCN.pdf": pdf})
	if r.Status != 200 || !strings.Contains(r.Body, "Đã gửi thư") {
		t.Fatalf("send from the web: %d %s\n%.1500s", r.Status, r.Path, r.Body)
	}
	var m string
	for _, msg := range p.waitPostfixMail(otherUser, 2, 20*time.Second) {
		if strings.Contains(msg, "Subject: =?utf-8?") {
			m = msg
		}
	}
	got, _, bodies := leaves(t, []byte(m))
	if got != subject || !bytes.Equal(bodies["Công văn 12-SKHCN.pdf"], pdf) {
		t.Errorf("at Postfix: subject %q, PDF equal %v\n%.1500s", got, bytes.Equal(bodies["Công văn 12-SKHCN.pdf"], pdf), m)
	}
	if out, err := p.opendkimVerify(m); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("opendkim-testmsg rejects the web's message: %v\n%s", err, out)
	}
}
