package policy

import (
	"context"
	"errors"
	"sync"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
)

// ErrSessionRevoked ends the open sessions of an account whose password
// was changed or reset elsewhere: whoever holds them must sign in again.
var ErrSessionRevoked = &mailerr.Error{SMTPCode: 421, Enhanced: [3]int{4, 7, 0}, IMAPCode: "UNAVAILABLE", Temporary: true,
	Message:   "Password changed, sign in again",
	MessageVI: "Mật khẩu đã thay đổi, vui lòng đăng nhập lại"}

// Session is an authenticated connection that must end as soon as its
// account can no longer be used: locked, retired, or its password reset
// (issue 15 §8: a compromised account is cut off at once, not at the next
// login).
type Session struct {
	Protocol Protocol
	Account  *directory.Account
	// End is called at most once, from another goroutine, with the reason
	// to give the client (IMAP `* BYE`, POP3 `-ERR`); it must close the
	// connection promptly.
	End func(reason *mailerr.Error)
}

// sessionRegistry holds the open sessions of this node by account.
// In-process changes (the web's lock and reset, the lifecycle jobs) end
// them at once; changes made elsewhere (`congvu account lock` in another
// process, another node sharing the LDAP directory) are found by checking
// the directory for every account with open sessions each
// session_check_seconds.
type sessionRegistry struct {
	mu     sync.Mutex
	byAddr map[string]map[*trackedSession]struct{}
}

type trackedSession struct {
	Session
	pwChanged time.Time
	once      sync.Once
}

func (t *trackedSession) end(reason *mailerr.Error) {
	t.once.Do(func() { go t.End(reason) })
}

// TrackSession registers an authenticated session; the daemon calls the
// returned function when the session ends.
func (e *Engine) TrackSession(s Session) (untrack func()) {
	if s.Account == nil || s.End == nil {
		return func() {}
	}
	t := &trackedSession{Session: s, pwChanged: s.Account.PasswordChanged}
	addr := s.Account.Address
	r := &e.sessions
	r.mu.Lock()
	if r.byAddr == nil {
		r.byAddr = map[string]map[*trackedSession]struct{}{}
	}
	set := r.byAddr[addr]
	if set == nil {
		set = map[*trackedSession]struct{}{}
		r.byAddr[addr] = set
	}
	set[t] = struct{}{}
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if set := r.byAddr[addr]; set != nil {
			delete(set, t)
			if len(set) == 0 {
				delete(r.byAddr, addr)
			}
		}
	}
}

// OpenSessions returns how many tracked sessions address has on this node.
func (e *Engine) OpenSessions(address string) int {
	e.sessions.mu.Lock()
	defer e.sessions.mu.Unlock()
	return len(e.sessions.byAddr[directory.NormalizeAddress(address)])
}

// EndSessions ends every open session of address with reason (the web's
// lock and reset, and SetAccountState, call it).
func (e *Engine) EndSessions(address string, reason *mailerr.Error) int {
	address = directory.NormalizeAddress(address)
	e.sessions.mu.Lock()
	var ended []*trackedSession
	for t := range e.sessions.byAddr[address] {
		ended = append(ended, t)
	}
	delete(e.sessions.byAddr, address)
	e.sessions.mu.Unlock()
	for _, t := range ended {
		t.end(reason)
	}
	if len(ended) > 0 {
		e.log.Info("policy: ended open sessions", "address", address, "sessions", len(ended), "reason", reason.Message)
	}
	return len(ended)
}

// disabledReason is what a session of a locked or retired account is told.
func disabledReason(a *directory.Account) *mailerr.Error {
	if a.StateReason != "" {
		return mailerr.ErrAccountDisabled.WithMessage(
			mailerr.ErrAccountDisabled.Message+": "+a.StateReason,
			mailerr.ErrAccountDisabled.MessageVI+": "+a.StateReason)
	}
	return mailerr.ErrAccountDisabled
}

// checkSessions looks up every account with open sessions and ends those
// whose account is no longer active or whose password changed since the
// session signed in. A directory that cannot answer ends nothing.
func (e *Engine) checkSessions(ctx context.Context) {
	e.sessions.mu.Lock()
	addrs := make([]string, 0, len(e.sessions.byAddr))
	for a := range e.sessions.byAddr {
		addrs = append(addrs, a)
	}
	e.sessions.mu.Unlock()
	for _, addr := range addrs {
		if ctx.Err() != nil {
			return
		}
		acct, err := e.opts.Dir.Lookup(ctx, addr)
		switch {
		case err == nil && acct != nil && acct.State == directory.StateActive:
			e.endChangedPassword(addr, acct.PasswordChanged)
		case err == nil && acct != nil:
			e.EndSessions(addr, disabledReason(acct))
		case errors.Is(err, mailerr.ErrUnknownUser):
			// Deleted from the directory while signed in.
			e.EndSessions(addr, mailerr.ErrAccountDisabled)
		}
	}
}

// endChangedPassword ends the sessions of addr that signed in before its
// password last changed.
func (e *Engine) endChangedPassword(addr string, changed time.Time) {
	e.sessions.mu.Lock()
	var ended []*trackedSession
	for t := range e.sessions.byAddr[addr] {
		if changed.After(t.pwChanged) {
			ended = append(ended, t)
			delete(e.sessions.byAddr[addr], t)
		}
	}
	if len(e.sessions.byAddr[addr]) == 0 {
		delete(e.sessions.byAddr, addr)
	}
	e.sessions.mu.Unlock()
	for _, t := range ended {
		t.end(ErrSessionRevoked)
	}
	if len(ended) > 0 {
		e.log.Info("policy: ended sessions after a password change", "address", addr, "sessions", len(ended))
	}
}

// sessionChecks runs checkSessions every interval until the engine stops.
func (e *Engine) sessionChecks() {
	defer close(e.sessionsDone)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-e.stop
		cancel()
	}()
	for {
		iv := time.Duration(e.rules.Load().cfg.SessionCheckSeconds) * time.Second
		if iv <= 0 {
			iv = 5 * time.Second
		}
		t := time.NewTimer(iv)
		select {
		case <-e.stop:
			t.Stop()
			return
		case <-t.C:
		}
		cctx, ccancel := context.WithTimeout(ctx, iv*4)
		e.checkSessions(cctx)
		ccancel()
	}
}
