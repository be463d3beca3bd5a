package policy

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"congvu/directory"
	"congvu/internal/config"
	"congvu/internal/mailerr"
)

// More than 12 consecutive failures over several protocols lock the
// account (QĐ 162/2025 "quá 12 lần"): the 12th is still only a failure, the
// 13th locks and its answer says so; the directory records why; the audit
// log has it.
func TestLockoutAfterConsecutiveFailures(t *testing.T) {
	e := newEnv(t, testConfig())
	protos := []Protocol{IMAP, POP3, Submission, Web}
	for i := range 12 {
		if d := e.failLogin(protos[i%4], ip1, thanh); d.Refused() {
			t.Fatalf("failure %d refused: %+v", i+1, d)
		}
	}
	if a := e.account(thanh); a.State != directory.StateActive {
		t.Fatalf("locked after 12 failures: %+v", a)
	}
	d := e.failLogin(IMAP, ip2, thanh)
	if d.Verdict != Lock || d.Rule != RuleLockout || !errors.Is(d.Err(), mailerr.ErrAccountDisabled) {
		t.Fatalf("13th failure: %+v, want Lock by %s with ErrAccountDisabled", d, RuleLockout)
	}
	a := e.account(thanh)
	if a.State != directory.StateLocked || !strings.Contains(a.StateReason, "13 consecutive failed logins") ||
		!strings.Contains(a.StateReason, ip2.String()) {
		t.Errorf("account after lockout: state %s reason %q", a.State, a.StateReason)
	}
	list := e.audit(AuditQuery{Subject: thanh, Action: ActionLock})
	if len(list) != 1 || list[0].Rule != RuleLockout || list[0].IP != ip2.String() || list[0].Protocol != IMAP {
		t.Errorf("audit = %+v, want one lock by %s from %s over imap", list, RuleLockout, ip2)
	}
	// Other accounts are not affected.
	if a := e.account(mai); a.State != directory.StateActive {
		t.Errorf("mai state %s", a.State)
	}
	// Unlocking through the engine audits and starts the count anew.
	if err := e.engine.SetAccountState(context.Background(), "admin@"+domain, thanh, directory.StateActive, "đã xác minh"); err != nil {
		t.Fatal(err)
	}
	if n := e.engine.FailedLogins(thanh); n != 0 {
		t.Errorf("failures after unlock = %d", n)
	}
	if list := e.audit(AuditQuery{Subject: thanh, Action: ActionUnlock}); len(list) != 1 || list[0].Actor != "admin@"+domain {
		t.Errorf("unlock audit = %+v", list)
	}
}

// A success resets the count: failures must be consecutive.
func TestLockoutNeedsConsecutiveFailures(t *testing.T) {
	e := newEnv(t, testConfig())
	for round := range 3 {
		ip := netip.AddrFrom4([4]byte{192, 0, 2, byte(round + 1)}) // stay under the per-address limit
		for range 12 {
			e.failLogin(POP3, ip, thanh)
		}
		if d := e.login(IMAP, ip, thanh); d.Refused() {
			t.Fatalf("round %d: login refused: %+v", round, d)
		}
	}
	if a := e.account(thanh); a.State != directory.StateActive {
		t.Errorf("locked although no 13 failures were consecutive: %q", a.StateReason)
	}
	// A right password on a locked account is not a failure, and a
	// directory outage says nothing about the user.
	for range 20 {
		e.engine.AfterAuth(context.Background(), AuthOutcome{AuthAttempt: AuthAttempt{Protocol: IMAP, IP: ip1, Login: mai}, Result: AuthUnavailable})
	}
	if n := e.engine.FailedLogins(mai); n != 0 {
		t.Errorf("unavailable directory counted %d failures", n)
	}
}

// Failures are counted for the account behind an alias, and unknown logins
// only against the client address.
func TestLockoutUnknownLoginsAndAliases(t *testing.T) {
	e := newEnv(t, testConfig())
	for range 12 {
		e.failLogin(IMAP, ip1, "khongco@"+domain)
	}
	if list := e.audit(AuditQuery{Action: ActionLock}); len(list) != 0 {
		t.Errorf("unknown login locked something: %+v", list)
	}
	if n := e.engine.FailedLogins(strings.ToUpper(thanh)); n != 0 {
		t.Errorf("FailedLogins = %d", n)
	}
	for range 13 {
		e.failLogin(IMAP, ip2, strings.ToUpper(thanh))
	}
	if a := e.account(thanh); a.State != directory.StateLocked {
		t.Errorf("login in upper case not counted for the account: %s", a.State)
	}
}

func TestLockoutPerDomainOverrideAndReload(t *testing.T) {
	cfg := testConfig()
	five := 5
	cfg.Domains = map[string]config.RuleOverrides{"other.gov.vn": {LockoutFailures: &five}}
	e := newEnv(t, cfg)
	for range 5 {
		e.failLogin(IMAP, ip1, thanh)
	}
	if a := e.account(thanh); a.State != directory.StateActive {
		t.Fatal("another domain's override applied to " + domain)
	}
	// Reload: the override now names our domain; the count so far (5)
	// stays and the next failure crosses the new threshold of 3.
	cfg.Domains = map[string]config.RuleOverrides{domain: {LockoutFailures: new(3)}}
	if err := e.engine.Reload(cfg, []string{domain}); err != nil {
		t.Fatal(err)
	}
	if d := e.failLogin(IMAP, ip1, thanh); d.Verdict != Lock {
		t.Errorf("after reload to 3: %+v, want Lock", d)
	}
	bad := cfg
	bad.Rules.LockoutFailures = -1
	if err := e.engine.Reload(bad, []string{domain}); err == nil {
		t.Error("Reload accepted a negative threshold")
	}
}

// The failure count survives a restart, so restarting gives an attacker
// no fresh start.
func TestFailuresSurviveRestart(t *testing.T) {
	e := newEnv(t, testConfig())
	for range 7 {
		e.failLogin(IMAP, ip1, thanh)
	}
	e.restart()
	if n := e.engine.FailedLogins(thanh); n != 7 {
		t.Fatalf("after restart %d failures, want 7", n)
	}
	for range 6 {
		e.failLogin(IMAP, ip1, thanh)
	}
	if a := e.account(thanh); a.State != directory.StateLocked {
		t.Errorf("7 + 6 failures across a restart did not lock")
	}
}

// One address cannot try thousands of accounts: after ip_max_failures in
// the window it is deferred without a password check, other addresses are
// not, and the window passing lifts it. IPv6 is counted per /64.
func TestIPThrottle(t *testing.T) {
	e := newEnv(t, testConfig())
	for i := range 30 {
		if d := e.failLogin(IMAP, ip1, fmt.Sprintf("user%d@%s", i, domain)); d.Refused() {
			t.Fatalf("failure %d refused early: %+v", i+1, d)
		}
	}
	d := e.engine.BeforeAuth(context.Background(), AuthAttempt{Protocol: POP3, IP: ip1, Login: thanh})
	if d.Verdict != Defer || !errors.Is(d.Err(), mailerr.ErrLoginThrottled) || !mailerr.As(d.Err()).Temporary {
		t.Fatalf("31st attempt from %s: %+v, want a temporary ErrLoginThrottled", ip1, d)
	}
	if d := e.login(IMAP, ip2, thanh); d.Refused() {
		t.Errorf("other address throttled: %+v", d)
	}
	if list := e.audit(AuditQuery{Subject: ip1.String(), Rule: RuleIPThrottle}); len(list) != 1 {
		t.Errorf("throttle audit entries = %d, want 1", len(list))
	}
	e.clock.Add(15 * time.Minute)
	if d := e.login(IMAP, ip1, thanh); d.Refused() {
		t.Errorf("still throttled after the window: %+v", d)
	}
	a := netip.MustParseAddr("2001:db8:1:2::10")
	for range 30 {
		e.failLogin(IMAP, a, "x@"+domain)
	}
	other := netip.MustParseAddr("2001:db8:1:2:ffff::1")
	if d := e.engine.BeforeAuth(context.Background(), AuthAttempt{Protocol: IMAP, IP: other}); d.Verdict != Defer {
		t.Errorf("same /64 not throttled: %+v", d)
	}
}

func TestDenyNetwork(t *testing.T) {
	cfg := testConfig()
	cfg.DenyNetworks = []string{"198.51.100.0/24"}
	e := newEnv(t, cfg)
	d := e.engine.Connect(context.Background(), Conn{Protocol: SMTP, IP: ip2})
	if d.Verdict != Reject || mailerr.As(d.Err()).SMTPCode != 554 {
		t.Errorf("denied network: %+v", d)
	}
	if d := e.engine.Connect(context.Background(), Conn{Protocol: SMTP, IP: ip1}); d.Refused() {
		t.Errorf("other network refused: %+v", d)
	}
}

func TestNilEngineAndNopAccept(t *testing.T) {
	var e *Engine
	ctx := context.Background()
	for _, h := range []Hooks{e, Nop{}, OrNop(nil)} {
		if h.Connect(ctx, Conn{}).Refused() || h.BeforeAuth(ctx, AuthAttempt{}).Refused() ||
			h.AfterAuth(ctx, AuthOutcome{Result: AuthFailed}).Refused() || h.MailFrom(ctx, Envelope{}).Refused() ||
			h.Data(ctx, &Message{}).Refused() || h.Append(ctx, AppendEvent{}).Refused() || h.WebAction(ctx, WebAction{}).Refused() {
			t.Errorf("%T refused", h)
		}
		h.Delivered(ctx, &Message{})
	}
}
