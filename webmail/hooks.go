package webmail

import (
	"context"
	"io"
	"net"
	"time"

	"congvu/directory"
)

// LoginPolicy is what the web needs from the policy engine (issue 6). The
// web calls it around every password check it makes: the login form and
// the current password of the change-password form. A nil LoginPolicy
// means no policy.
type LoginPolicy interface {
	// BeforeLogin may refuse an attempt before the password is checked
	// (throttled client address, locked account) with a *mailerr.Error,
	// whose MessageVI the page shows.
	BeforeLogin(ctx context.Context, login string, ip net.IP) error
	// AfterLogin sees the outcome of the password check: acct is the
	// account when the directory returned one (also for a locked account),
	// authErr is nil on success. A non-nil result replaces authErr, e.g. the
	// failure that reaches the limit becomes a lock (a *mailerr.Error).
	AfterLogin(ctx context.Context, login string, ip net.IP, acct *directory.Account, authErr error) error
	// RecordAccess records a web access of address when a session goes on
	// into a new day (Asia/Ho_Chi_Minh); the login itself is recorded by
	// AfterLogin's success, as for every protocol.
	RecordAccess(ctx context.Context, address string)
}

// Reports renders the policy engine's reports into the admin web. A nil
// Reports shows that no report is available.
type Reports interface {
	// AccessReportHTML writes, as an HTML fragment (no <html> or <body>,
	// no script), the daily-access report of unitCode and its sub-units for
	// the days from..to inclusive (midnight in Asia/Ho_Chi_Minh). The web has
	// already checked that the viewer may see unitCode. An error is shown as
	// its *mailerr.Error MessageVI; what was written is then discarded.
	AccessReportHTML(ctx context.Context, w io.Writer, unitCode string, from, to time.Time) error
}

// AccountStates is the policy engine's audited lifecycle change (lock,
// unlock, retire); unlocking through it also forgets failed logins.
type AccountStates interface {
	SetAccountState(ctx context.Context, actor, address string, s directory.State, reason string) error
}

// vietnam returns Asia/Ho_Chi_Minh. Viet Nam has kept UTC+7 without
// daylight saving since 1975, so a fixed zone is exact and needs no tzdata.
func vietnam() *time.Location { return time.FixedZone("ICT", 7*60*60) }
