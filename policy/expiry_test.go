package policy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"congvu/internal/mailerr"
)

// setPasswordChanged rewrites when address last changed its password and
// whether it must change it.
func (e *env) setPasswordChanged(address string, at time.Time, mustChange bool) {
	e.t.Helper()
	a := e.account(address)
	a.PasswordChanged, a.MustChangePassword = at, mustChange
	if err := e.dir.PutAccount(context.Background(), *a, ""); err != nil {
		e.t.Fatal(err)
	}
}

// An initial password (new account, administrator reset) is refused to
// every mail client with RFC 5530 EXPIRED / 535 5.7.8 and the web address
// where to change it, in Vietnamese and English; the web signs the official
// in (to the password form). Nothing counts as a failed login or an access.
func TestInitialPasswordRefusedToMailClients(t *testing.T) {
	e := newEnv(t, testConfig())
	e.engine.SetPasswordChangeURL(func(address string) string { return "https://mail." + domain + ":8443/password" })
	e.setPasswordChanged(thanh, e.clock.Now(), true)
	e.failLogin(IMAP, ip1, thanh)
	for _, p := range []Protocol{IMAP, POP3, Submission} {
		d := e.login(p, ip1, thanh)
		me := mailerr.As(d.Err())
		if d.Verdict != Reject || d.Rule != RulePasswordExpired || !errors.Is(d.Err(), mailerr.ErrPasswordExpired) ||
			me.IMAPCode != "EXPIRED" || me.SMTPCode != 535 || me.Enhanced != [3]int{5, 7, 8} {
			t.Fatalf("%s: %+v, want EXPIRED 535 5.7.8", p, d)
		}
		for _, want := range []string{"https://mail." + domain + ":8443/password", "Mat khau ban dau hoac da het han",
			"Initial or expired password, change it at"} {
			if !strings.Contains(me.Message, want) {
				t.Errorf("%s text %q lacks %q", p, me.Message, want)
			}
		}
		for i := 0; i < len(me.Message); i++ {
			if me.Message[i] >= 0x80 {
				t.Fatalf("%s wire text is not ASCII: %q", p, me.Message)
			}
		}
		if !strings.Contains(me.MessageVI, "Mật khẩu ban đầu") {
			t.Errorf("%s Vietnamese text %q", p, me.MessageVI)
		}
	}
	if d := e.login(Web, ip1, thanh); d.Refused() {
		t.Errorf("web sign-in refused: %+v", d)
	}
	if n := e.engine.FailedLogins(thanh); n != 0 {
		t.Errorf("the right password left %d failures counted", n)
	}
	if list := e.audit(AuditQuery{Subject: thanh, Rule: RulePasswordExpired}); len(list) != 3 {
		t.Errorf("audit entries %d, want 3", len(list))
	}
	// Changed on the web: accepted.
	e.setPasswordChanged(thanh, e.clock.Now(), false)
	if d := e.login(IMAP, ip1, thanh); d.Refused() {
		t.Errorf("after the change: %+v", d)
	}
}

// A password older than [password] max_age_days is refused; one exactly
// that old is not.
func TestExpiredPasswordBoundary(t *testing.T) {
	e := newEnv(t, testConfig())
	e.engine.opts.PasswordMaxAgeDays = 180
	e.setPasswordChanged(thanh, e.clock.Now().Add(-180*24*time.Hour), false)
	if d := e.login(POP3, ip1, thanh); d.Refused() {
		t.Errorf("a password exactly 180 days old refused: %+v", d)
	}
	e.clock.Add(time.Second)
	if d := e.login(POP3, ip1, thanh); !errors.Is(d.Err(), mailerr.ErrPasswordExpired) {
		t.Errorf("a password 180 days and a second old: %+v", d)
	}
	// Without a web address the text still says to change it on the web.
	if me := mailerr.As(e.login(IMAP, ip1, thanh).Err()); me == nil || !strings.Contains(me.Message, "change it on the web") {
		t.Errorf("text without URL: %+v", me)
	}
}

// The quickstart's demo accounts (listed in the exemption file) are let in
// with their printed initial password, but not once an administrator reset
// it; every account is let in when the rule is off.
func TestExpiredPasswordExemptions(t *testing.T) {
	cfg := testConfig()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "demo-accounts.csv"),
		[]byte("address,password,role\n"+strings.ToUpper(thanh)+",x,official\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.ExpiredPasswordExemptFile = "demo-accounts.csv"
	e := newEnv(t, cfg)
	e.engine.opts.DataDir = dir
	if err := e.engine.Reload(cfg, []string{domain}); err != nil {
		t.Fatal(err)
	}
	e.setPasswordChanged(thanh, e.clock.Now(), true)
	e.setPasswordChanged(mai, e.clock.Now(), true)
	if d := e.login(IMAP, ip1, thanh); d.Refused() {
		t.Errorf("exempt demo account refused: %+v", d)
	}
	if d := e.login(IMAP, ip1, mai); !errors.Is(d.Err(), mailerr.ErrPasswordExpired) {
		t.Errorf("account not in the file: %+v", d)
	}
	// An administrator's reset after the file was written: not the printed
	// password any more.
	e.setPasswordChanged(thanh, time.Now().Add(time.Minute), true)
	if d := e.login(IMAP, ip1, thanh); !errors.Is(d.Err(), mailerr.ErrPasswordExpired) {
		t.Errorf("demo account after a reset: %+v", d)
	}
	cfg.RefuseExpiredPasswords = false
	if err := e.engine.Reload(cfg, []string{domain}); err != nil {
		t.Fatal(err)
	}
	if d := e.login(IMAP, ip1, mai); d.Refused() {
		t.Errorf("rule off, still refused: %+v", d)
	}
}
