package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset"

	"congvu/policy"
	"congvu/smtpd"
	"congvu/storage"
	"congvu/web/core"
	"congvu/web/webtest"
)

// submitSender is the adapter internal/server puts between the webmail
// and smtpd.Server.Submit.
type submitSender struct{ srv *smtpd.Server }

func (a submitSender) Send(ctx context.Context, m Outgoing) error {
	err := a.srv.Submit(ctx, smtpd.SubmitRequest{Account: m.Account, IP: m.IP, Via: "webmail", From: m.From,
		Rcpts: m.Rcpts, Message: m.Message})
	var re *smtpd.RecipientError
	if errors.As(err, &re) {
		return &RecipientError{Address: re.Address, Err: re.Err}
	}
	return err
}

// newComposeEnv is the webmail with a real submission path (no outbound
// queue: outside recipients are refused, as with smtp.outbound off).
func newComposeEnv(t *testing.T, maxBytes int64) *mailEnv {
	t.Helper()
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	spool := t.TempDir()
	e := webtest.New(t, nil, func(s *core.Site) {
		srv := smtpd.New(smtpd.Config{Hostname: "mail.khanhhoa.gov.vn", LocalDomains: []string{"khanhhoa.gov.vn"},
			MaxMessageBytes: maxBytes, SpoolDir: spool}, smtpd.Deps{Store: st, Dir: s.Dir()})
		t.Cleanup(func() { srv.Close() })
		Register(s, Options{Mail: st, Send: submitSender{srv}, MaxMessageBytes: maxBytes, SpoolDir: spool})
	})
	return &mailEnv{Env: e, store: st}
}

// messages returns the raw messages of a folder, oldest first.
func (e *mailEnv) messages(user, folder string) []string {
	e.T.Helper()
	mb := e.mailbox(user)
	list, err := mb.Messages(e.T.Context(), folder)
	if err != nil {
		e.T.Fatal(err)
	}
	var out []string
	for _, m := range list {
		rc, err := mb.Open(e.T.Context(), folder, m.UID)
		if err != nil {
			e.T.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		out = append(out, string(b))
	}
	return out
}

// parts reads a stored message: its decoded subject and its leaves
// (decoded bodies by file name, the text under "").
func parts(t *testing.T, raw string) (subject string, bodies map[string][]byte) {
	t.Helper()
	m, err := gomessage.Read(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	subject, _ = m.Header.Text("Subject")
	bodies = map[string][]byte{}
	m.Walk(func(_ []int, ent *gomessage.Entity, err error) error {
		if err != nil {
			return err
		}
		if mr := ent.MultipartReader(); mr != nil {
			return nil
		}
		_, dp, _ := ent.Header.ContentDisposition()
		b, _ := io.ReadAll(ent.Body)
		bodies[dp["filename"]] = b
		return nil
	})
	return subject, bodies
}

var pdf = append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{0, 1, 2, 0xff, '\r', '\n', 'x'}, 3000)...)

func TestComposeSendWithAttachment(t *testing.T) {
	e := newComposeEnv(t, 1<<20)
	b := e.Browser()
	expect(t, b.Login(anAddr, secretPW), 200)
	expect(t, b.Get("/mail/compose"), 200, "Soạn thư", `enctype="multipart/form-data"`)
	r := b.PostMultipart("/mail/compose", "/mail/compose", [][2]string{{"action", "send"},
		{"to", "Lê Văn Đức <" + ducAddr + ">"}, {"bcc", "tramdt.nhatrang@khanhhoa.gov.vn"},
		{"subject", "Báo cáo quý I năm 2026 — Sở Khoa học và Công nghệ tỉnh Khánh Hòa"},
		{"body", "Kính gửi anh Đức,\nGửi anh báo cáo quý I.\nTrân trọng."}},
		[]webtest.File{{Field: "files", Name: "Báo cáo quý I – Sở KH&CN.pdf", Type: "application/pdf", Data: pdf}})
	expect(t, r, 200, "Đã gửi thư.")
	got := e.messages(ducAddr, "INBOX")
	if len(got) != 1 {
		t.Fatalf("Đức has %d messages", len(got))
	}
	subject, bodies := parts(t, got[0])
	if subject != "Báo cáo quý I năm 2026 — Sở Khoa học và Công nghệ tỉnh Khánh Hòa" {
		t.Errorf("subject %q", subject)
	}
	if !bytes.Equal(bodies["Báo cáo quý I – Sở KH&CN.pdf"], pdf) {
		t.Errorf("attachment differs or is missing: %d bytes; names %v", len(bodies["Báo cáo quý I – Sở KH&CN.pdf"]), keys(bodies))
	}
	if !strings.Contains(string(bodies[""]), "Gửi anh báo cáo quý I.") {
		t.Errorf("text %q", bodies[""])
	}
	for _, want := range []string{"\r\nMessage-ID: <", "\r\nDate: ", "filename*0*=UTF-8''B%C3%A1o", `name="=?utf-8?b?`, "From: =?utf-8?q?Nguy"} {
		if !strings.Contains(got[0], want) {
			t.Errorf("message lacks %q:\n%.1500s", want, got[0])
		}
	}
	if strings.Contains(got[0], "tramdt") || strings.Contains(got[0], composeIDField) {
		t.Error("the recipient sees the Bcc or the compose id")
	}
	if n := len(e.messages("tramdt.nhatrang@khanhhoa.gov.vn", "INBOX")); n != 1 {
		t.Errorf("Bcc recipient got %d messages", n)
	}
	sent := e.messages(anAddr, "Sent")
	if len(sent) != 1 || !strings.Contains(sent[0], "Bcc: <tramdt.nhatrang@khanhhoa.gov.vn>") {
		t.Errorf("Sent copy: %d, %.800s", len(sent), sent)
	}
	if n := len(e.messages(anAddr, "Drafts")); n != 0 {
		t.Errorf("%d drafts left after sending", n)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

var uidInHref = regexp.MustCompile(`/mail/msg\?folder=INBOX&amp;uid=(\d+)`)

func TestComposeReplyKeepsThread(t *testing.T) {
	e := newComposeEnv(t, 1<<20)
	uid := e.appendMsg(ducAddr, "INBOX", `
From: =?UTF-8?Q?Nguy=E1=BB=85n_V=C4=83n_An?= <`+anAddr+`>
To: `+ducAddr+`, tramdt.nhatrang@khanhhoa.gov.vn
Cc: skhcn@khanhhoa.gov.vn
Subject: =?UTF-8?Q?L=E1=BB=8Bch_h=E1=BB=8Dp?=
Message-ID: <goc-1@khanhhoa.gov.vn>
References: <root-0@khanhhoa.gov.vn>
Date: Mon, 02 Mar 2026 09:15:04 +0700
Content-Type: text/plain; charset=utf-8

Họp lúc 8 giờ sáng thứ Hai.
`)
	b := e.Browser()
	expect(t, b.Login(ducAddr, secretPW), 200)
	r := b.Get(fmt.Sprintf("/mail/compose?mode=replyall&folder=INBOX&uid=%d", uid))
	expect(t, r, 200, "Trả lời tất cả", `value="Re: Lịch họp"`, "&gt; Họp lúc 8 giờ sáng thứ Hai.", "goc-1@khanhhoa.gov.vn",
		"Nguyễn Văn An &lt;"+anAddr+"&gt;", "tramdt.nhatrang@khanhhoa.gov.vn", "skhcn@khanhhoa.gov.vn")
	if strings.Contains(regexp.MustCompile(`id="to"[^>]*`).FindString(r.Body), ducAddr) {
		t.Error("reply-all writes to oneself")
	}
	fields := formFields(r.Body)
	fields = append(fields, [2]string{"action", "send"})
	expect(t, b.PostMultipart(r.Request.URL.RequestURI(), "/mail/compose", fields, nil), 200, "Đã gửi thư.")
	got := e.messages(anAddr, "INBOX")
	if len(got) != 1 {
		t.Fatalf("An got %d messages", len(got))
	}
	for _, want := range []string{"In-Reply-To: <goc-1@khanhhoa.gov.vn>", "References: <root-0@khanhhoa.gov.vn> <goc-1@khanhhoa.gov.vn>",
		"Subject: =?utf-8?"} {
		if !strings.Contains(got[0], want) {
			t.Errorf("reply lacks %q:\n%.1200s", want, got[0])
		}
	}
	if f := e.flagsOf(ducAddr, "INBOX", uid); !containsStr(f, flagAnswered) {
		t.Errorf("original not flagged answered: %v", f)
	}
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var (
	inputField    = regexp.MustCompile(`<input type="(?:hidden|text)"[^>]* name="([a-z_]+)" value="([^"]*)"`)
	textareaField = regexp.MustCompile(`(?s)<textarea[^>]* name="([a-z]+)"[^>]*>(.*?)</textarea>`)
	checkedField  = regexp.MustCompile(`<input type="checkbox" name="(keep)" value="([^"]*)" checked>`)
)

// formFields are the compose form's fields as a browser would send them
// (CSRF aside: PostMultipart adds it).
func formFields(page string) [][2]string {
	var out [][2]string
	for _, re := range []*regexp.Regexp{inputField, textareaField, checkedField} {
		for _, m := range re.FindAllStringSubmatch(page, -1) {
			if m[1] != "csrf" {
				out = append(out, [2]string{m[1], htmlUnescape(m[2])})
			}
		}
	}
	return out
}

func TestComposeDraftsAndRefusals(t *testing.T) {
	e := newComposeEnv(t, 64<<10)
	b := e.Browser()
	expect(t, b.Login(anAddr, secretPW), 200)
	r := b.PostMultipart("/mail/compose", "/mail/compose", [][2]string{{"action", "save"}, {"to", ducAddr},
		{"subject", "Dự thảo công văn"}, {"body", "Bản nháp lần 1"}},
		[]webtest.File{{Field: "files", Name: "du-thao.txt", Type: "text/plain", Data: []byte("nội dung dự thảo")}})
	expect(t, r, 200, "Đã lưu thư nháp.", "Dự thảo công văn", "Bản nháp lần 1", "du-thao.txt")
	if r.Request.URL.Path != "/mail/compose" || !strings.Contains(r.Request.URL.RawQuery, "draft=") {
		t.Errorf("after saving: %s", r.Request.URL)
	}
	// Saving again replaces the draft, keeping the attachment.
	fields := formFields(r.Body)
	for i := range fields {
		if fields[i][0] == "body" {
			fields[i][1] = "Bản nháp lần 2"
		}
	}
	r = b.PostMultipart(r.Request.URL.RequestURI(), "/mail/compose", append(fields, [2]string{"action", "save"}), nil)
	expect(t, r, 200, "Đã lưu thư nháp.", "Bản nháp lần 2", "du-thao.txt")
	drafts := e.messages(anAddr, "Drafts")
	if len(drafts) != 1 || !strings.Contains(drafts[0], "du-thao.txt") {
		t.Fatalf("%d drafts: %.500s", len(drafts), drafts)
	}
	// A refused recipient: the reason, the draft kept.
	fields = formFields(r.Body)
	for i := range fields {
		if fields[i][0] == "to" {
			fields[i][1] = ducAddr + ", khongco@khanhhoa.gov.vn"
		}
	}
	r = b.PostMultipart(r.Request.URL.RequestURI(), "/mail/compose", append(fields, [2]string{"action", "send"}), nil)
	expect(t, r, 200, "Không gửi được tới khongco@khanhhoa.gov.vn", "Thư đã được lưu vào Thư nháp", "Bản nháp lần 2", "du-thao.txt")
	if n := len(e.messages(ducAddr, "INBOX")); n != 0 {
		t.Errorf("a refused message reached Đức (%d)", n)
	}
	// Outside the state's mail: marked, confirmed by sending again, then
	// refused by the submission path (no outbound queue here) with its
	// reason.
	fields = formFields(r.Body)
	for i := range fields {
		if fields[i][0] == "to" {
			fields[i][1] = "ban.cu@gmail.com"
		}
	}
	r = b.PostMultipart(r.Request.URL.RequestURI(), "/mail/compose", append(fields, [2]string{"action", "send"}), nil)
	expect(t, r, 200, "ngoài hệ thống thư công vụ nhà nước", `class="outside">ban.cu@gmail.com`)
	fields = formFields(r.Body)
	r = b.PostMultipart(r.Request.URL.RequestURI(), "/mail/compose", append(fields, [2]string{"action", "send"}), nil)
	expect(t, r, 200, "Không gửi được tới ban.cu@gmail.com", "Thư đã được lưu vào Thư nháp")
	// Too large: a clear message, the draft as it was.
	r = b.PostMultipart(r.Request.URL.RequestURI(), "/mail/compose", append(formFields(r.Body), [2]string{"action", "send"}),
		[]webtest.File{{Field: "files", Name: "lon-qua.bin", Type: "application/octet-stream", Data: make([]byte, 80<<10)}})
	expect(t, r, 200, "Tệp lon-qua.bin quá lớn", "du-thao.txt")
	if n := len(e.messages(anAddr, "Drafts")); n != 1 {
		t.Errorf("%d drafts, want 1", n)
	}
	// Sent from the draft: the draft goes.
	fields = formFields(r.Body)
	for i := range fields {
		if fields[i][0] == "to" {
			fields[i][1] = ducAddr
		}
	}
	expect(t, b.PostMultipart(r.Request.URL.RequestURI(), "/mail/compose", append(fields, [2]string{"action", "send"}), nil), 200, "Đã gửi thư.")
	if n := len(e.messages(anAddr, "Drafts")); n != 0 {
		t.Errorf("%d drafts after sending", n)
	}
	if got := e.messages(ducAddr, "INBOX"); len(got) != 1 || !strings.Contains(got[0], "du-thao.txt") {
		t.Errorf("Đức got %d: %.300s", len(got), got)
	}
	// Without a token nothing is sent or saved.
	r = b.Do("POST", "/mail/compose", url.Values{"action": {"send"}, "to": {ducAddr}})
	expect(t, r, http.StatusForbidden, "CSRF")
}

func TestComposeForwardAsAttachment(t *testing.T) {
	e := newComposeEnv(t, 1<<20)
	uid := e.appendMsg(anAddr, "INBOX", htmlMessage(anAddr))
	b := e.Browser()
	expect(t, b.Login(anAddr, secretPW), 200)
	r := b.Get(fmt.Sprintf("/mail/compose?mode=attach&folder=INBOX&uid=%d", uid))
	expect(t, r, 200, "Chuyển tiếp", ".eml")
	fields := append(formFields(r.Body), [2]string{"action", "send"})
	for i := range fields {
		if fields[i][0] == "to" {
			fields[i][1] = ducAddr
		}
	}
	expect(t, b.PostMultipart(r.Request.URL.RequestURI(), "/mail/compose", fields, nil), 200, "Đã gửi thư.")
	got := e.messages(ducAddr, "INBOX")
	if len(got) != 1 || !strings.Contains(got[0], "Content-Type: message/rfc822") {
		t.Fatalf("forward: %.800s", got)
	}
	if f := e.flagsOf(anAddr, "INBOX", uid); !containsStr(f, "$Forwarded") {
		t.Errorf("original not flagged forwarded: %v", f)
	}
	// Inline: the text quoted, the attachments carried.
	r = b.Get(fmt.Sprintf("/mail/compose?mode=forward&folder=INBOX&uid=%d", uid))
	expect(t, r, 200, "Thư chuyển tiếp / Forwarded message", `name="keep"`)
}

func TestComposeMIME(t *testing.T) {
	for _, name := range []string{"a.pdf", "Công văn số 123/UBND-VP ngày 02 tháng 3 năm 2026 về việc triển khai thư điện tử công vụ.docx"} {
		p := rfc2231Param("filename", name)
		_, params, err := mime.ParseMediaType("attachment; " + p)
		if err != nil || params["filename"] != name {
			t.Errorf("%q → %q → %q, %v", name, p, params["filename"], err)
		}
		for _, line := range strings.Split(p, " ") {
			if len(line) > 76 {
				t.Errorf("long line %q", line)
			}
		}
	}
	if got := prefixed("Re: ", "RE: Lịch họp"); got != "RE: Lịch họp" {
		t.Errorf("prefixed: %q", got)
	}
	if got := htmlToText("<p>Xin <b>chào</b>&nbsp;anh</p><script>x()</script><p>Dòng 2<br>Dòng 3</p>"); got != "Xin chào\u00a0anh\n\nDòng 2\nDòng 3" {
		t.Errorf("htmlToText: %q", got)
	}
}

// signingSender stands for the submission path with the signed-document
// rule and the state-secret guard: it records what the web asked for and
// refuses as the policy engine does, with the engine's own errors.
type signingSender struct {
	next  Sender
	asked []bool
}

func (s *signingSender) Send(ctx context.Context, m Outgoing) error {
	s.asked = append(s.asked, m.Sign)
	raw, _ := io.ReadAll(m.Message)
	switch {
	case bytes.Contains(raw, []byte("TỐI MẬT")) || bytes.Contains(raw, []byte("=E1=BB=90I M=E1=BA=ACT")):
		return policy.ErrStateSecret
	case bytes.Contains(raw, []byte(".pdf")) && !m.Sign:
		return policy.ErrUnsigned
	}
	m.Message = bytes.NewReader(raw)
	return s.next.Send(ctx, m)
}

// TestComposeCentralSigning: the văn thư of a unit with a central key is
// offered "Ký số bằng chứng thư của đơn vị"; ticking it asks the
// submission path to sign, a draft remembers it, and the policy's
// refusals (unsigned official document, state-secret stamp) show on the
// form with the draft kept. Officials and units without a key see no
// such choice, and a forged field does not ask for signing.
func TestComposeCentralSigning(t *testing.T) {
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	spool := t.TempDir()
	sender := &signingSender{}
	e := &mailEnv{store: st}
	e.Env = webtest.New(t, nil, func(s *core.Site) {
		srv := smtpd.New(smtpd.Config{Hostname: "mail.khanhhoa.gov.vn", LocalDomains: []string{"khanhhoa.gov.vn"},
			MaxMessageBytes: 1 << 20, SpoolDir: spool}, smtpd.Deps{Store: st, Dir: s.Dir()})
		t.Cleanup(func() { srv.Close() })
		sender.next = submitSender{srv}
		Register(s, Options{Mail: st, Send: sender, MaxMessageBytes: 1 << 20, SpoolDir: spool,
			CentralKey: func(unit, from string) bool { return unit == "56.skhcn" && from == "skhcn@khanhhoa.gov.vn" }})
	})
	const unitBox = "skhcn@khanhhoa.gov.vn"
	const choice = "Ký số bằng chứng thư của đơn vị"

	official := e.Browser()
	expect(t, official.Login(anAddr, secretPW), 200)
	if r := official.Get("/mail/compose"); strings.Contains(r.Body, choice) || strings.Contains(r.Body, `name="sign"`) {
		t.Error("an official (not a văn thư) is offered the unit's signature")
	}
	expect(t, official.PostMultipart("/mail/compose", "/mail/compose", [][2]string{{"action", "send"}, {"to", ducAddr},
		{"subject", "Không ký"}, {"body", "Thư thường."}, {"sign", "yes"}}, nil), 200, "Đã gửi thư.")
	if len(sender.asked) != 1 || sender.asked[0] {
		t.Fatalf("an official's forged choice asked for signing: %v", sender.asked)
	}

	b := e.Browser()
	expect(t, b.Login(unitBox, secretPW), 200)
	r := b.Get("/mail/compose")
	expect(t, r, 200, choice, `name="sign" value="yes"`, "Sign with the unit")
	if strings.Contains(r.Body, `value="yes" aria-describedby="sign-hint" checked`) {
		t.Error("the choice is ticked before the official ticks it")
	}
	doc := []webtest.File{{Field: "files", Name: "CV-123-SKHCN.pdf", Type: "application/pdf", Data: pdf}}

	// Unticked: the rule's refusal on the form, the draft kept.
	r = b.PostMultipart("/mail/compose", "/mail/compose", [][2]string{{"action", "send"}, {"to", ducAddr},
		{"subject", "Công văn 123/SKHCN-VP"}, {"body", "Kính gửi Văn phòng."}}, doc)
	expect(t, r, 200, "Thư chưa được gửi: Văn bản gửi cơ quan khác phải có chữ ký số", "Thư đã được lưu vào Thư nháp",
		"Công văn 123/SKHCN-VP", "CV-123-SKHCN.pdf", choice)
	if d := e.messages(unitBox, "Drafts"); len(d) != 1 || !strings.Contains(d[0], "CV-123-SKHCN.pdf") {
		t.Fatalf("drafts after the refusal: %d", len(d))
	}

	// A draft saved with the choice ticked reopens ticked.
	fields := append(formFields(r.Body), [2]string{"sign", "yes"})
	r = b.PostMultipart(r.Request.URL.RequestURI(), "/mail/compose", append(fields, [2]string{"action", "save"}), nil)
	expect(t, r, 200, "Đã lưu thư nháp.", `value="yes" aria-describedby="sign-hint" checked`)
	if d := e.messages(unitBox, "Drafts"); len(d) != 1 || !strings.Contains(d[0], draftSignField+": yes") || strings.Contains(d[0], "X-Congvu-Sign:") {
		t.Fatalf("the draft does not remember the choice (or carries the control field): %.600s", d)
	}

	// A state-secret stamp: refused with the guard's reason, even signed.
	secret := append(formFields(r.Body), [2]string{"sign", "yes"})
	for i := range secret {
		if secret[i][0] == "body" {
			secret[i][1] = "TỐI MẬT\nPhương án bảo vệ."
		}
	}
	r = b.PostMultipart(r.Request.URL.RequestURI(), "/mail/compose", append(secret, [2]string{"action", "send"}), nil)
	expect(t, r, 200, "Tài liệu có dấu độ mật", "Thư đã được lưu vào Thư nháp", "Phương án bảo vệ.")

	// Ticked: sent, asking for the signature; the draft goes.
	fields = append(formFields(r.Body), [2]string{"sign", "yes"})
	for i := range fields {
		if fields[i][0] == "body" {
			fields[i][1] = "Kính gửi Văn phòng."
		}
	}
	expect(t, b.PostMultipart(r.Request.URL.RequestURI(), "/mail/compose", append(fields, [2]string{"action", "send"}), nil), 200, "Đã gửi thư.")
	if last := sender.asked[len(sender.asked)-1]; !last {
		t.Errorf("the ticked choice did not ask for signing: %v", sender.asked)
	}
	if n := len(e.messages(unitBox, "Drafts")); n != 0 {
		t.Errorf("%d drafts after sending", n)
	}
	if got := e.messages(ducAddr, "INBOX"); len(got) != 2 || !strings.Contains(got[1], "CV-123-SKHCN.pdf") {
		t.Errorf("Đức got %d", len(got))
	}
}
