package policy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
)

// Rule names (audit log, metrics).
const (
	RuleDenyNetwork     = "deny-network"
	RuleIPThrottle      = "ip-throttle"
	RuleLockout         = "lockout"
	RuleAccountState    = "account-state"
	RuleSendRate        = "send-rate"
	RuleSendLocked      = "send-locked"
	RuleInitialPassword = "initial-password"
	RuleRetention       = "retention"
	RuleForwardOutside  = "forward-outside"
	RuleAdmin           = "admin"
	RulePasswordExpired = "password-expired"
)

// failState counts consecutive failed logins of one account. count 0 means
// "delete the row" in a batch.
type failState struct {
	count int
	last  time.Time
}

// failures is the consecutive-failure counter of every account, kept in
// memory and written to the database with each batch, so a restart does not
// give an attacker a fresh start.
type failures struct {
	mu    sync.Mutex
	m     map[string]failState
	dirty map[string]bool
}

func (f *failures) init() {
	f.m = map[string]failState{}
	f.dirty = map[string]bool{}
}

func (f *failures) load(ctx context.Context, db *DB) error {
	rows, err := db.ro.QueryContext(ctx, `SELECT address, count, last FROM auth_failures`)
	if err != nil {
		return err
	}
	defer rows.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	for rows.Next() {
		var a string
		var n, last int64
		if err := rows.Scan(&a, &n, &last); err != nil {
			return err
		}
		f.m[a] = failState{count: int(n), last: time.Unix(last, 0)}
	}
	return rows.Err()
}

// fail counts one failure and returns the new count.
func (f *failures) fail(address string, at time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.m[address]
	s.count++
	s.last = at
	f.m[address] = s
	f.dirty[address] = true
	return s.count
}

// reset forgets the failures of an account (a success, a lock, an unlock).
func (f *failures) reset(address string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.m[address]; ok {
		delete(f.m, address)
		f.dirty[address] = true
	}
}

// Failures returns the current count of consecutive failures.
func (f *failures) get(address string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.m[address].count
}

func (f *failures) takeDirty() map[string]failState {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.dirty) == 0 {
		return nil
	}
	out := make(map[string]failState, len(f.dirty))
	for a := range f.dirty {
		out[a] = f.m[a] // zero when reset: the row is deleted
	}
	clear(f.dirty)
	return out
}

func (f *failures) markDirty(m map[string]failState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for a := range m {
		f.dirty[a] = true
	}
}

func writeFailures(ctx context.Context, tx *sql.Tx, m map[string]failState) error {
	for a, s := range m {
		var err error
		if s.count == 0 {
			_, err = tx.ExecContext(ctx, `DELETE FROM auth_failures WHERE address = ?`, a)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO auth_failures (address, count, last) VALUES (?, ?, ?)
				ON CONFLICT (address) DO UPDATE SET count = excluded.count, last = excluded.last`, a, s.count, s.last.Unix())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ipThrottle counts failed logins per client address in fixed windows.
// IPv6 clients are counted per /64, which one host usually controls.
type ipThrottle struct {
	mu sync.Mutex
	m  map[netip.Prefix]*ipWindow
}

type ipWindow struct {
	start time.Time
	fails int
}

func (t *ipThrottle) init() { t.m = map[netip.Prefix]*ipWindow{} }

func ipKey(ip netip.Addr) netip.Prefix {
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// blocked reports whether ip reached max failures in the current window.
func (t *ipThrottle) blocked(ip netip.Addr, now time.Time, max int, window time.Duration) (bool, time.Time) {
	if !ip.IsValid() || max <= 0 {
		return false, time.Time{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.m[ipKey(ip)]
	if w == nil || now.Sub(w.start) >= window {
		return false, time.Time{}
	}
	return w.fails >= max, w.start.Add(window)
}

func (t *ipThrottle) fail(ip netip.Addr, now time.Time, window time.Duration) {
	if !ip.IsValid() || window <= 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	k := ipKey(ip)
	w := t.m[k]
	if w == nil || now.Sub(w.start) >= window {
		w = &ipWindow{start: now}
		t.m[k] = w
	}
	w.fails++
}

// prune drops windows older than a day (longer than any sane window).
func (t *ipThrottle) prune(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, w := range t.m {
		if now.Sub(w.start) > 24*time.Hour {
			delete(t.m, k)
		}
	}
}

// Connect refuses clients from policy.deny_networks.
func (e *Engine) Connect(_ context.Context, c Conn) Decision {
	if e == nil || !c.IP.IsValid() {
		return Decision{}
	}
	for _, p := range e.rules.Load().deny {
		if p.Contains(c.IP) {
			return e.refuse(Reject, RuleDenyNetwork, mailerr.ErrConnectionRefused, AuditEntry{
				Subject: c.IP.String(), Protocol: c.Protocol, IP: c.IP.String(), Detail: "network " + p.String()})
		}
	}
	return Decision{}
}

// BeforeAuth throttles a client address with too many recent failures: the
// password is not even checked, so guessing from one address stops.
func (e *Engine) BeforeAuth(_ context.Context, a AuthAttempt) Decision {
	if e == nil {
		return Decision{}
	}
	r := e.rules.Load().cfg.Rules
	window := time.Duration(r.IPWindowMinutes) * time.Minute
	if blocked, until := e.ips.blocked(a.IP, e.now(), r.IPMaxFailures, window); blocked {
		return e.refuse(Defer, RuleIPThrottle, mailerr.ErrLoginThrottled, AuditEntry{
			Subject: ipString(a.IP), Protocol: a.Protocol, IP: ipString(a.IP),
			Detail: fmt.Sprintf("login %q refused until %s", a.Login, until.Format(time.RFC3339))})
	}
	return Decision{}
}

// AfterAuth counts failures per account and per address, locks the account
// when the consecutive failures over all protocols exceed
// policy.rules.lockout_failures (the 13th with 12), refuses mail clients an
// initial or expired password (see expiredPassword), and records the access
// of a successful login.
func (e *Engine) AfterAuth(ctx context.Context, o AuthOutcome) Decision {
	if e == nil {
		return Decision{}
	}
	now := e.now()
	switch o.Result {
	case AuthOK:
		if o.Account == nil {
			return Decision{}
		}
		e.fails.reset(o.Account.Address)
		if d := e.expiredPassword(o, now); d.Refused() {
			return d
		}
		e.RecordAccess(o.Account.Address, o.Protocol, now)
		return Decision{}
	case AuthDisabled, AuthUnavailable:
		// A right password on a locked account is no guess; a directory
		// outage says nothing about the client.
		return Decision{}
	}
	rs := e.rules.Load()
	e.ips.fail(o.IP, now, time.Duration(rs.cfg.Rules.IPWindowMinutes)*time.Minute)
	acct := o.Account
	if acct == nil {
		var err error
		acct, err = e.opts.Dir.Lookup(ctx, o.Login)
		if err != nil {
			// Unknown logins only count against the address.
			if !errors.Is(err, mailerr.ErrUnknownUser) {
				e.log.Warn("policy: cannot resolve failed login", "login", o.Login, "err", err)
			}
			return Decision{}
		}
	}
	limit := rs.rulesFor(acct.Address).LockoutFailures
	n := e.fails.fail(acct.Address, now)
	// QĐ 162/2025 locks after "more than" the limit: with 12, the 13th
	// consecutive failure locks.
	if limit <= 0 || n <= limit || acct.State != directory.StateActive {
		return Decision{}
	}
	reason := fmt.Sprintf("Nhập sai mật khẩu %d lần liên tiếp, lần cuối qua %s từ %s lúc %s / %d consecutive failed logins",
		n, o.Protocol, ipString(o.IP), now.In(rs.loc).Format("15:04 02/01/2006"), n)
	if err := e.lockAccount(ctx, acct.Address, reason); err != nil {
		e.log.Error("policy: cannot lock account", "address", acct.Address, "err", err)
		return Decision{}
	}
	e.fails.reset(acct.Address)
	e.log.Warn("policy: account locked after failed logins", "address", acct.Address, "failures", n,
		"protocol", o.Protocol, "ip", ipString(o.IP))
	return e.refuse(Lock, RuleLockout, mailerr.ErrLockedFailures, AuditEntry{
		Subject: acct.Address, Protocol: o.Protocol, IP: ipString(o.IP), Detail: reason})
}

// lockAccount sets the directory state to locked with reason.
func (e *Engine) lockAccount(ctx context.Context, address, reason string) error {
	if e.opts.Writer == nil {
		return errors.New("no directory writer: cannot lock")
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := e.opts.Writer.SetStateReason(ctx, address, directory.StateLocked, reason); err != nil {
		return err
	}
	e.EndSessions(address, disabledReason(&directory.Account{StateReason: reason}))
	return nil
}

// FailedLogins returns the current count of consecutive failed logins.
func (e *Engine) FailedLogins(address string) int {
	return e.fails.get(directory.NormalizeAddress(address))
}
