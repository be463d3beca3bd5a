package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"congvu/directory"
	"congvu/policy"
	"congvu/web/admin"
	"congvu/web/core"
)

// webPolicy adapts the policy engine to the web's narrow LoginPolicy,
// Reports, Audit and SendLocks interfaces, so web logins count towards lockout, throttling and
// daily access exactly like IMAP, POP3 and SMTP AUTH logins.
type webPolicy struct {
	e *policy.Engine
	// logins counts web logins like the other protocols'
	// (congvu_logins_total{proto="web"}); nil counts nothing.
	logins *prometheus.CounterVec
	// coverage adds the accounts-issued / headcount figure to access
	// reports (coverage.go); nil adds nothing.
	coverage func(context.Context, *policy.AccessReport) error
}

var (
	_ core.LoginPolicy = webPolicy{}
	_ admin.Reports    = webPolicy{}
	_ admin.Audit      = webPolicy{}
	_ admin.SendLocks  = webPolicy{}
)

func webIP(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

func (p webPolicy) BeforeLogin(ctx context.Context, login string, ip net.IP) error {
	d := p.e.BeforeAuth(ctx, policy.AuthAttempt{Protocol: policy.Web, IP: webIP(ip), Login: login})
	if d.Refused() && p.logins != nil {
		p.logins.WithLabelValues("web", "throttled").Inc()
	}
	return d.Err()
}

func (p webPolicy) AfterLogin(ctx context.Context, login string, ip net.IP, acct *directory.Account, authErr error) error {
	o := policy.AuthOutcome{
		AuthAttempt: policy.AuthAttempt{Protocol: policy.Web, IP: webIP(ip), Login: login},
		Result:      policy.ClassifyAuth(authErr),
		Account:     acct,
	}
	d := p.e.AfterAuth(ctx, o)
	if p.logins != nil {
		p.logins.WithLabelValues("web", loginResult(o.Result, d)).Inc()
	}
	if d.Refused() {
		return d.Err()
	}
	return authErr
}

// loginResult names a login's outcome as the daemons' login counters do.
func loginResult(r policy.AuthResult, d policy.Decision) string {
	switch {
	case d.Verdict == policy.Lock:
		return "locked"
	case d.Refused():
		return "throttled"
	}
	return [...]string{"ok", "failed", "locked", "unavailable"}[r]
}

func (p webPolicy) RecordAccess(_ context.Context, address string) {
	p.e.RecordAccess(address, policy.Web, time.Now())
}

// AccessReport renders the daily-access report of a unit's subtree.
// The web passes midnights in Asia/Ho_Chi_Minh; the engine counts in its
// configured zone, the same by default.
func (p webPolicy) AccessReport(ctx context.Context, w io.Writer, f admin.ReportFormat, unitCode string, from, to time.Time) error {
	loc := p.e.Location()
	rep, err := p.e.AccessReport(ctx, policy.AccessQuery{
		Unit: unitCode,
		From: policy.DayOf(from, loc),
		To:   policy.DayOf(to, loc),
	})
	if err != nil {
		return err
	}
	if p.coverage != nil {
		if err := p.coverage(ctx, rep); err != nil {
			return err
		}
	}
	switch f {
	case admin.FormatHTML:
		return policy.RenderAccessHTML(w, rep)
	case admin.FormatCSV:
		return policy.RenderAccessCSV(w, rep)
	case admin.FormatSVG:
		return policy.RenderAccessSVG(w, rep)
	case admin.FormatPNG:
		return policy.RenderAccessPNG(w, rep)
	}
	return fmt.Errorf("access report: no format %q", f)
}

// UsageReport renders the usage report of a unit's subtree for a year,
// quarter or month.
func (p webPolicy) UsageReport(ctx context.Context, w io.Writer, f admin.ReportFormat, unitCode, period string) error {
	from, to, err := policy.ParsePeriod(period)
	if err != nil {
		return err
	}
	rep, err := p.e.UsageReport(ctx, unitCode, from, to)
	if err != nil {
		return err
	}
	switch f {
	case admin.FormatHTML:
		return policy.RenderUsageHTML(w, rep)
	case admin.FormatCSV:
		return policy.RenderUsageCSV(w, rep)
	}
	return fmt.Errorf("usage report: no format %q", f)
}

// AuditEntries queries the audit log, after writing the entries the engine
// still holds in memory.
func (p webPolicy) AuditEntries(ctx context.Context, q admin.AuditQuery) ([]admin.AuditEntry, error) {
	if err := p.e.Flush(ctx); err != nil {
		return nil, err
	}
	list, err := p.e.DB().Audit(ctx, policy.AuditQuery{Subject: q.Subject, Subjects: q.Subjects, Action: q.Action,
		Rule: q.Rule, Since: q.Since, Until: q.Until, Limit: q.Limit})
	if err != nil {
		return nil, err
	}
	out := make([]admin.AuditEntry, len(list))
	for i, e := range list {
		out[i] = admin.AuditEntry{At: e.At, Actor: e.Actor, Subject: e.Subject, Action: e.Action, Rule: e.Rule,
			Protocol: string(e.Protocol), IP: e.IP, Detail: e.Detail}
	}
	return out, nil
}

// SendLock returns the account's sending lock.
func (p webPolicy) SendLock(ctx context.Context, address string) (*admin.SendLock, error) {
	l, err := p.e.DB().SendLocked(ctx, address)
	if err != nil || l == nil {
		return nil, err
	}
	return &admin.SendLock{At: l.At, Reason: l.Reason}, nil
}

// UnlockSending lifts a sending lock with an audit entry.
func (p webPolicy) UnlockSending(ctx context.Context, actor, address, reason string) error {
	return policy.UnlockSending(ctx, p.e.DB(), actor, address, reason)
}

// AppendAdminAudit records an administrator's action from the admin pages.
func (p webPolicy) AppendAdminAudit(ctx context.Context, e admin.AuditEntry) error {
	return p.e.DB().AppendAudit(ctx, policy.AuditEntry{At: e.At, Actor: e.Actor, Subject: e.Subject, Action: e.Action,
		Rule: e.Rule, Protocol: policy.Protocol(e.Protocol), IP: e.IP, Detail: e.Detail})
}
