package core

import (
	"context"
	"net"

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
