package interop

import (
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"
)

// An official whose account sends more than 250 messages to outside
// domains within 10 minutes (the Ninh Bình default) is stopped: through one
// Python smtplib session the first 250 messages to another province are
// accepted and reach its Postfix, the 251st is refused with 550 5.7.1 and
// neither delivered nor queued, the next MAIL FROM is refused too, the
// provincial operators get an alert in their INBOX, reading mail still
// works, and `congvu account unlock-sending` lets the official send again.
func TestPolicySendLimitWithPostfix(t *testing.T) {
	p := startProvince(t, nil)
	s := p.congvu
	u := s.user(3)
	var burst struct {
		Results []struct {
			Code  int
			Error string
		}
	}
	s.pyJSON(&burst, "smtp-burst", "--addr", s.addrs["submissions"], "--user", u.Address, "--password", u.Password,
		"--rcpt", otherUser, "--count", "252")
	if len(burst.Results) != 252 {
		t.Fatalf("%d results, want 252", len(burst.Results))
	}
	for i, r := range burst.Results[:250] {
		if r.Code != 250 {
			t.Fatalf("message %d: %d %s, want 250", i+1, r.Code, r.Error)
		}
	}
	for i, r := range burst.Results[250:] {
		if r.Code != 550 || !strings.Contains(r.Error, "5.7.1") || !strings.Contains(r.Error, "Sending is locked") {
			t.Errorf("message %d: %d %q, want 550 5.7.1 sending locked", 251+i, r.Code, r.Error)
		}
	}
	waitQueueEmpty(t, p)
	got := p.waitPostfixMail(otherUser, 250, 60*time.Second)
	for _, m := range got {
		if strings.Contains(m, "Subject: Cong van so 251") || strings.Contains(m, "Subject: Cong van so 252") {
			t.Errorf("a refused message reached Postfix:\n%.600s", m)
		}
	}
	if len(got) != 250 {
		t.Errorf("Postfix holds %d messages, want exactly 250", len(got))
	}

	// The operators are told, in Vietnamese first.
	var operator account
	for _, a := range s.accounts {
		if a.Role == "operator" {
			operator = a
		}
	}
	if operator.Address == "" {
		t.Fatal("the demo has no operator account")
	}
	alert := waitMessage(t, s, operator, "INBOX", u.Address)
	mr, err := mail.CreateReader(strings.NewReader(alert))
	if err != nil {
		t.Fatal(err)
	}
	if subject, _ := mr.Header.Subject(); !strings.HasPrefix(subject, "[Cảnh báo] Khoá gửi thư tài khoản "+u.Address) {
		t.Errorf("operator alert subject %q", subject)
	}

	// Reading still works; sending stays refused until an admin lifts it.
	if r := s.imapResult(u.Address, u.Password); r != "OK" {
		t.Errorf("IMAP login of a sending-locked official: %s", r)
	}
	var smtpErr *smtp.SMTPError
	if err := s.submit(u, otherUser, "Sau khi bi khoa"); !errors.As(err, &smtpErr) || smtpErr.Code != 550 || smtpErr.EnhancedCode != (smtp.EnhancedCode{5, 7, 1}) {
		t.Errorf("submission while sending is locked: %v, want 550 5.7.1", err)
	}
	if out, err := s.congvu("audit", "--subject", u.Address); err != nil || !strings.Contains(out, "send") {
		t.Errorf("congvu audit has no sending lock: %v\n%s", err, out)
	}
	if out, err := s.congvu("account unlock-sending", "--reason", "đã đổi mật khẩu", u.Address); err != nil {
		t.Fatalf("congvu account unlock-sending: %v\n%s", err, out)
	}
	if err := s.submit(u, otherUser, "Sau khi mo khoa"); err != nil {
		t.Errorf("submission after unlock-sending: %v", err)
	}
}

// webClient is a browser-like HTTPS client of the web (cookies, the
// quickstart certificate trusted), for tests that need no rendering.
type webClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (s *system) webClient() *webClient {
	jar, _ := cookiejar.New(nil)
	return &webClient{t: s.t, base: "https://" + s.addrs["https"], c: &http.Client{
		Jar:       jar,
		Transport: &http.Transport{TLSClientConfig: s.tlsConfig(), ForceAttemptHTTP2: true},
	}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login fills the sign-in form as a browser would and returns the status
// and page of the answer (after redirects).
func (w *webClient) login(address, password string) (int, string) {
	w.t.Helper()
	resp, err := w.c.Get(w.base + "/login")
	if err != nil {
		w.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(page)
	if m == nil {
		w.t.Fatalf("no CSRF token on the login page:\n%s", page)
	}
	resp, err = w.c.PostForm(w.base+"/login", url.Values{"csrf": {string(m[1])}, "login": {address}, "password": {password}})
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Web logins are judged by the same policy as the mail protocols: more than
// 12 wrong passwords in the web sign-in form lock the account (the 13th) (the page says so in
// Vietnamese, and IMAP then answers NO [CONTACTADMIN]), and a successful
// web sign-in counts as the day's access in `congvu report access`.
func TestPolicyWebLoginsCount(t *testing.T) {
	s := startSystem(t, "")
	guessed, visitor := s.user(1), s.user(2)
	w := s.webClient()
	for i := range 12 {
		if code, page := w.login(guessed.Address, "Sai-MatKhau-123"); code != http.StatusUnauthorized || !strings.Contains(page, "Sai tên đăng nhập hoặc mật khẩu") {
			t.Fatalf("wrong web password %d: %d\n%.400s", i+1, code, page)
		}
	}
	code, page := w.login(guessed.Address, "Sai-MatKhau-123")
	if code != http.StatusForbidden || !strings.Contains(page, "Tài khoản đã bị khoá do nhập sai mật khẩu quá nhiều lần") {
		t.Errorf("13th wrong web password: %d\n%.600s", code, page)
	}
	if r := s.imapLogin(guessed); !strings.Contains(r, "CONTACTADMIN") {
		t.Errorf("IMAP after 13 wrong web passwords: %q", r)
	}
	if out, err := s.congvu("audit", "--subject", guessed.Address, "--action", "lock"); err != nil || !strings.Contains(out, "web") {
		t.Errorf("congvu audit does not show the web lockout: %v\n%s", err, out)
	}

	if _, ok := s.accessCSV()[visitor.Address]; !ok {
		t.Fatalf("%s listed as accessed before signing in", visitor.Address)
	}
	// The first sign-in leads to the forced password change, and is an access.
	if code, page := w.login(visitor.Address, visitor.Password); code != http.StatusOK || !strings.Contains(page, "Đổi mật khẩu") {
		t.Errorf("first web sign-in: %d\n%.600s", code, page)
	}
	// Access records reach the database in batches (policy.flush_seconds).
	listed := true
	for deadline := time.Now().Add(20 * time.Second); listed && time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		_, listed = s.accessCSV()[visitor.Address]
	}
	if listed {
		t.Errorf("%s signed in to the web but is still listed as not accessed", visitor.Address)
	}
}
