package server

import (
	"context"
	"io"
	"net"
	"net/netip"
	"time"

	"congvu/directory"
	"congvu/policy"
	"congvu/webmail"
)

// webPolicy adapts the policy engine to the web's narrow LoginPolicy and
// Reports interfaces, so web logins count towards lockout, throttling and
// daily access exactly like IMAP, POP3 and SMTP AUTH logins.
type webPolicy struct{ e *policy.Engine }

var (
	_ webmail.LoginPolicy = webPolicy{}
	_ webmail.Reports     = webPolicy{}
)

func webIP(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

func (p webPolicy) BeforeLogin(ctx context.Context, login string, ip net.IP) error {
	return p.e.BeforeAuth(ctx, policy.AuthAttempt{Protocol: policy.Web, IP: webIP(ip), Login: login}).Err()
}

func (p webPolicy) AfterLogin(ctx context.Context, login string, ip net.IP, acct *directory.Account, authErr error) error {
	o := policy.AuthOutcome{
		AuthAttempt: policy.AuthAttempt{Protocol: policy.Web, IP: webIP(ip), Login: login},
		Result:      policy.ClassifyAuth(authErr),
		Account:     acct,
	}
	if d := p.e.AfterAuth(ctx, o); d.Refused() {
		return d.Err()
	}
	return authErr
}

func (p webPolicy) RecordAccess(_ context.Context, address string) {
	p.e.RecordAccess(address, policy.Web, time.Now())
}

// AccessReportHTML renders the daily-access report of a unit's subtree.
// The web passes midnights in Asia/Ho_Chi_Minh; the engine counts in its
// configured zone, the same by default.
func (p webPolicy) AccessReportHTML(ctx context.Context, w io.Writer, unitCode string, from, to time.Time) error {
	loc := p.e.Location()
	rep, err := p.e.AccessReport(ctx, policy.AccessQuery{
		Unit: unitCode,
		From: policy.DayOf(from, loc),
		To:   policy.DayOf(to, loc),
	})
	if err != nil {
		return err
	}
	return policy.RenderAccessHTML(w, rep)
}
