package account_test

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/sieve"
	"congvu/storage"
	"congvu/web/account"
	"congvu/web/core"
	"congvu/web/mail"
	"congvu/web/webdb"
	"congvu/web/webtest"
)

type fakeForwarding struct {
	mu sync.Mutex
	to map[string]string
}

func (f *fakeForwarding) Forward(_ context.Context, a string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.to[a], nil
}

// SetForward refuses what the policy engine refuses: targets outside the
// state's domains.
func (f *fakeForwarding) SetForward(_ context.Context, _ string, a *directory.Account, target string) error {
	if !strings.HasSuffix(target, ".gov.vn") {
		return mailerr.ErrCannotDo.WithMessage("Forwarding only to state mailboxes", "Chỉ được chuyển tiếp tới hộp thư của cơ quan nhà nước")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.to[a.Address] = target
	return nil
}

func (f *fakeForwarding) ClearForward(_ context.Context, _, a string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.to[a] == "" {
		return mailerr.ErrUnknownUser
	}
	delete(f.to, a)
	return nil
}

type fakeVacation struct {
	mu sync.Mutex
	v  map[string]sieve.Vacation
}

func (f *fakeVacation) Vacation(_ context.Context, u string) (sieve.Vacation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.v[u], nil
}

func (f *fakeVacation) SetVacation(_ context.Context, u string, v sieve.Vacation) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.v[u] = v
	return nil
}

func TestSettings(t *testing.T) {
	db, err := webdb.Open(filepath.Join(t.TempDir(), "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fwd, vac := &fakeForwarding{to: map[string]string{}}, &fakeVacation{v: map[string]sieve.Vacation{}}
	e := webtest.NewAccount(t, func(o *core.Options) { o.DB = db },
		account.Options{Forwarding: fwd, Vacation: vac, Hostname: "mail.khanhhoa.gov.vn",
			Listeners: []account.Listener{{Service: "IMAP", Addr: "0.0.0.0:993", Security: "SSL/TLS"}}},
		func(s *core.Site) { mail.Register(s, mail.Options{Mail: st}) })
	b := e.Browser()
	expect(t, b.Login(anAddr, secretPW), 200, "mail.khanhhoa.gov.vn:993")
	expect(t, b.Get("/settings"), 200, "Chữ ký thư", "Trả lời tự động", "Chuyển tiếp thư", "Tiếng Việt")

	sig := "Nguyễn Văn An\nGiám đốc Sở Khoa học và Công nghệ\nĐT: 0258 3822 000"
	expect(t, b.Post("/settings", "/settings", url.Values{"what": {"signature"}, "signature": {sig}}), 200, "Đã lưu chữ ký thư.")
	if r := b.Get("/mail/compose"); !strings.Contains(r.Body, "\n-- \nNguyễn Văn An\nGiám đốc") {
		t.Errorf("the compose form lacks the signature:\n%.2000s", r.Body)
	}

	expect(t, b.Post("/settings", "/settings", url.Values{"what": {"forward"}, "target": {"ban.cu@gmail.com"}}), 200,
		"Chỉ được chuyển tiếp tới hộp thư của cơ quan nhà nước")
	expect(t, b.Post("/settings", "/settings", url.Values{"what": {"forward"}, "target": {ducAddr}}), 200,
		"Thư đến sẽ được chuyển tiếp tới "+ducAddr)
	if fwd.to[anAddr] != ducAddr {
		t.Errorf("forwarding %q", fwd.to[anAddr])
	}
	expect(t, b.Post("/settings", "/settings", url.Values{"what": {"forward"}, "target": {ducAddr}, "clear": {"yes"}}), 200, "Đã tắt chuyển tiếp thư.")

	r := b.Post("/settings", "/settings", url.Values{"what": {"vacation"}, "enabled": {"yes"}, "start": {"2026-07-01"}, "end": {"2026-06-01"},
		"body": {"x"}})
	expect(t, r, 200, "Ngày kết thúc phải sau ngày bắt đầu")
	r = b.Post("/settings", "/settings", url.Values{"what": {"vacation"}, "enabled": {"yes"}, "start": {"2026-07-01"}, "end": {"2026-07-10"},
		"subject": {"Nghỉ phép"}, "body": {"Tôi nghỉ phép đến 10/7; việc gấp xin liên hệ văn thư."}})
	expect(t, r, 200, "Đã lưu trả lời tự động.", `value="2026-07-10"`, "Tôi nghỉ phép đến 10/7")
	v := vac.v[anAddr]
	if !v.Enabled || v.Subject != "Nghỉ phép" || !v.End.Equal(time.Date(2026, 7, 10, 0, 0, 0, 0, core.Vietnam())) {
		t.Errorf("vacation stored: %+v", v)
	}

	expect(t, b.Post("/settings", "/settings", url.Values{"what": {"language"}, "language": {"en"}}), 200, "Đã đổi ngôn ngữ hiển thị.")
	if l, _ := db.Setting(t.Context(), anAddr, webdb.SettingLanguage); l != "en" {
		t.Errorf("language %q", l)
	}
	expect(t, b.Get("/"), 200, `<body class="en-first">`)
}
