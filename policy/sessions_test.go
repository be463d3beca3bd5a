package policy

import (
	"errors"
	"testing"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
)

// endRecorder is a tracked session that records why it was ended.
type endRecorder chan *mailerr.Error

func (r endRecorder) end(reason *mailerr.Error) { r <- reason }

func (r endRecorder) wait(t *testing.T, within time.Duration) *mailerr.Error {
	t.Helper()
	select {
	case reason := <-r:
		return reason
	case <-time.After(within):
		return nil
	}
}

// TestSessionsEndOnStateChange: a lock through the engine ends the
// account's open sessions at once with the reason; other accounts' sessions
// stay; an ended session is not tracked any more (issue 15 §8).
func TestSessionsEndOnStateChange(t *testing.T) {
	e := newEnv(t, testConfig())
	thanhIMAP, thanhPOP, maiIMAP := make(endRecorder, 1), make(endRecorder, 1), make(endRecorder, 1)
	e.engine.TrackSession(Session{Protocol: IMAP, Account: e.account(thanh), End: thanhIMAP.end})
	e.engine.TrackSession(Session{Protocol: POP3, Account: e.account(thanh), End: thanhPOP.end})
	e.engine.TrackSession(Session{Protocol: IMAP, Account: e.account(mai), End: maiIMAP.end})
	if n := e.engine.OpenSessions(thanh); n != 2 {
		t.Fatalf("%d open sessions, want 2", n)
	}
	if err := e.engine.SetAccountState(t.Context(), admin, thanh, directory.StateLocked, "nghi bi lo mat khau"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []endRecorder{thanhIMAP, thanhPOP} {
		reason := r.wait(t, time.Second)
		if reason == nil || !errors.Is(reason, mailerr.ErrAccountDisabled) {
			t.Fatalf("session not ended with the lock: %v", reason)
		}
		if reason.Message != mailerr.ErrAccountDisabled.Message+": nghi bi lo mat khau" {
			t.Errorf("reason %q does not carry the lock's reason", reason.Message)
		}
	}
	if reason := maiIMAP.wait(t, 100*time.Millisecond); reason != nil {
		t.Errorf("another account's session ended: %v", reason)
	}
	if n := e.engine.OpenSessions(thanh); n != 0 {
		t.Errorf("%d sessions still tracked", n)
	}
}

// TestSessionsEndOnChangesElsewhere: a lock, a retirement or a password
// reset written to the directory by another process (the CLI, another node)
// ends the sessions at the next check; an untracked session is not ended.
func TestSessionsEndOnChangesElsewhere(t *testing.T) {
	e := newEnv(t, testConfig())
	ctx := t.Context()
	locked, reset, retired, gone := make(endRecorder, 1), make(endRecorder, 1), make(endRecorder, 1), make(endRecorder, 1)
	e.engine.TrackSession(Session{Protocol: IMAP, Account: e.account(thanh), End: locked.end})
	e.engine.TrackSession(Session{Protocol: IMAP, Account: e.account(mai), End: reset.end})
	e.engine.TrackSession(Session{Protocol: POP3, Account: e.account(duc), End: retired.end})
	untrack := e.engine.TrackSession(Session{Protocol: IMAP, Account: e.account(lan), End: gone.end})
	untrack()

	e.engine.checkSessions(ctx)
	for _, r := range []endRecorder{locked, reset, retired} {
		if reason := r.wait(t, 50*time.Millisecond); reason != nil {
			t.Fatalf("a session ended with nothing changed: %v", reason)
		}
	}
	time.Sleep(1100 * time.Millisecond) // PasswordChanged has a resolution of a second
	if err := e.dir.SetStateReason(ctx, thanh, directory.StateLocked, "khoá bằng dòng lệnh"); err != nil {
		t.Fatal(err)
	}
	if err := e.dir.SetPassword(ctx, mai, "Khanh-Hoa#2026b", true); err != nil {
		t.Fatal(err)
	}
	if err := e.dir.SetStateReason(ctx, duc, directory.StateRetired, "nghỉ hưu"); err != nil {
		t.Fatal(err)
	}
	if err := e.dir.SetStateReason(ctx, lan, directory.StateLocked, "x"); err != nil {
		t.Fatal(err)
	}
	e.engine.checkSessions(ctx)
	if r := locked.wait(t, time.Second); !errors.Is(r, mailerr.ErrAccountDisabled) {
		t.Errorf("locked elsewhere: %v", r)
	}
	if r := reset.wait(t, time.Second); r != ErrSessionRevoked {
		t.Errorf("password reset elsewhere: %v", r)
	}
	if r := retired.wait(t, time.Second); !errors.Is(r, mailerr.ErrAccountDisabled) {
		t.Errorf("retired elsewhere: %v", r)
	}
	if r := gone.wait(t, 100*time.Millisecond); r != nil {
		t.Errorf("an untracked session was ended: %v", r)
	}
}

// TestLockoutCountsOtherLoginNames: failures typed under a login name the
// directory resolves but Lookup does not know (AD sAMAccountName, UPN)
// count toward the account's lockout (issue 15 §12).
func TestLockoutCountsOtherLoginNames(t *testing.T) {
	e := newEnv(t, testConfig())
	acct := e.account(thanh)
	var d Decision
	for i := range 13 {
		d = e.engine.AfterAuth(t.Context(), AuthOutcome{AuthAttempt: AuthAttempt{Protocol: IMAP, Login: "thanhnn"},
			Result: AuthFailed, Account: acct})
		if i < 12 && d.Refused() {
			t.Fatalf("failure %d refused: %v", i+1, d)
		}
	}
	if d.Verdict != Lock {
		t.Fatalf("13th failure under another login name: %v, want a lock", d)
	}
	if a := e.account(thanh); a.State != directory.StateLocked {
		t.Errorf("account %s", a.State)
	}
}
