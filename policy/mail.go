package policy

import (
	"context"
	"fmt"
	"sync"
	"time"

	"congvu/directory"
	"congvu/internal/config"
	"congvu/internal/mailerr"
)

// sendRates keeps, per account, the times of its recent messages to
// outside domains (one entry per message, or per outside recipient when
// send_limit_counts = "recipients").
type sendRates struct {
	mu sync.Mutex
	m  map[string][]time.Time
}

func (s *sendRates) init() { s.m = map[string][]time.Time{} }

// add records n messages (or recipients) at now and returns how many fall in the
// window, including them. The slice never holds more than limit+n entries.
func (s *sendRates) add(address string, n int, now time.Time, window time.Duration, limit int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.m[address]
	cut := 0
	for cut < len(ts) && now.Sub(ts[cut]) >= window {
		cut++
	}
	ts = ts[cut:]
	if len(ts) > limit {
		ts = ts[len(ts)-limit:]
	}
	for range n {
		ts = append(ts, now)
	}
	s.m[address] = ts
	return len(ts)
}

func (s *sendRates) forget(address string) {
	s.mu.Lock()
	delete(s.m, address)
	s.mu.Unlock()
}

// prune drops accounts without a message in the last day.
func (s *sendRates) prune(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for a, ts := range s.m {
		if len(ts) == 0 || now.Sub(ts[len(ts)-1]) > 24*time.Hour {
			delete(s.m, a)
		}
	}
}

// MailFrom refuses, on submission, an account whose sending is locked or
// which was locked or retired since it logged in (sending stops at once).
func (e *Engine) MailFrom(ctx context.Context, env Envelope) Decision {
	if e == nil || env.Protocol != Submission || env.Account == nil {
		return Decision{}
	}
	audit := AuditEntry{Subject: env.Account.Address, Protocol: env.Protocol, IP: ipString(env.IP)}
	if cur, err := e.opts.Dir.Lookup(ctx, env.Account.Address); err == nil && cur.State != directory.StateActive {
		audit.Detail = fmt.Sprintf("MAIL FROM:<%s>: account %s since login", env.From, cur.State)
		return e.refuse(Reject, RuleAccountState, mailerr.ErrAccountDisabled, audit)
	}
	lock, err := e.db.SendLocked(ctx, env.Account.Address)
	if err != nil {
		// Fail open: a policy database problem must not stop official
		// mail; the directory state above still applies.
		e.log.Error("policy: cannot read sending locks", "err", err)
		return Decision{}
	}
	if lock != nil {
		audit.Detail = fmt.Sprintf("MAIL FROM:<%s>: sending locked since %s: %s", env.From, lock.At.Format(time.RFC3339), lock.Reason)
		return e.refuse(Reject, RuleSendLocked, mailerr.ErrSendingLocked, audit)
	}
	return Decision{}
}

// RcptTo has no default rule; it is the place for recipient policies.
func (e *Engine) RcptTo(context.Context, Envelope, Recipient) Decision { return Decision{} }

// Data applies the outside sending rate: more than
// policy.rules.send_limit_external messages to outside domains within
// send_window_minutes (QĐ 162/2025: "quá 250 thư"; a message counts once
// however many outside recipients it has, unless send_limit_counts =
// "recipients") lock sending for the account (a sign of a compromised
// account) and alert the provincial operators. The message that crosses the
// limit is refused; nothing of it is stored or sent.
func (e *Engine) Data(ctx context.Context, m *Message) Decision {
	if e == nil || m.Protocol != Submission || m.Account == nil {
		return Decision{}
	}
	outside := 0
	for _, r := range m.Rcpts {
		if !r.Local() && !e.rules.Load().local[directory.Domain(r.Address)] {
			outside++
		}
	}
	if outside == 0 {
		return Decision{}
	}
	r := e.rules.Load().rulesFor(m.Account.Address)
	if r.SendLimitExternal <= 0 {
		return Decision{}
	}
	now := e.now()
	window := time.Duration(r.SendWindowMinutes) * time.Minute
	count, what, whatVI := 1, "messages", "thư"
	if r.SendLimitCounts == config.SendCountRecipients {
		count, what, whatVI = outside, "recipients", "người nhận"
	}
	n := e.sends.add(m.Account.Address, count, now, window, r.SendLimitExternal)
	if n <= r.SendLimitExternal {
		return Decision{}
	}
	reason := fmt.Sprintf("Gửi %d %s ra ngoài trong %d phút (giới hạn %d) / %d %s to outside domains in %d minutes (limit %d)",
		n, whatVI, r.SendWindowMinutes, r.SendLimitExternal, n, what, r.SendWindowMinutes, r.SendLimitExternal)
	if err := e.LockSending(ctx, ActorPolicy, m.Account.Address, reason); err != nil {
		e.log.Error("policy: cannot lock sending", "address", m.Account.Address, "err", err)
	}
	e.sends.forget(m.Account.Address)
	return e.refuse(Reject, RuleSendRate, mailerr.ErrSendingLocked, AuditEntry{Action: ActionReject,
		Subject: m.Account.Address, Protocol: m.Protocol, IP: ipString(m.IP),
		Detail: fmt.Sprintf("message to %d outside recipients refused", outside)})
}

// Delivered records the message in the usage counters and forwards copies
// for recipients with a forwarding address.
func (e *Engine) Delivered(ctx context.Context, m *Message) {
	if e == nil {
		return
	}
	e.countUsage(m)
	e.forward(ctx, m)
}

// Append has no default rule.
func (e *Engine) Append(context.Context, AppendEvent) Decision { return Decision{} }

// WebAction refuses actions of accounts that are no longer active (a web
// session that outlived a lock).
func (e *Engine) WebAction(ctx context.Context, w WebAction) Decision {
	if e == nil || w.Account == nil {
		return Decision{}
	}
	if cur, err := e.opts.Dir.Lookup(ctx, w.Account.Address); err == nil && cur.State != directory.StateActive {
		return e.refuse(Reject, RuleAccountState, mailerr.ErrAccountDisabled, AuditEntry{
			Subject: w.Account.Address, Protocol: Web, IP: ipString(w.IP),
			Detail: fmt.Sprintf("%s %s: account %s", w.Action, w.Target, cur.State)})
	}
	return Decision{}
}
