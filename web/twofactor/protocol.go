package twofactor

import (
	"context"
	"errors"
	"fmt"

	"congvu/directory"
	"congvu/internal/mailerr"
)

// ProtocolDirectory is the directory the IMAP, POP3 and SMTP servers
// authenticate against: for an official with two-factor sign-in on, the
// main password is refused there (a stolen password must not open the
// mailbox) and only app passwords work; for the others nothing changes.
// A refusal keeps the account, so the policy engine counts it against
// that account as any failed login (policy.ClassifyAuth).
type ProtocolDirectory struct {
	directory.Directory
	Store *Store
	// Proto names the protocol in the app passwords' "last used".
	Proto string
}

// errMainPassword: the account's main password on a protocol, with
// two-factor sign-in on. It is a failed login, as RFC 4954 6 / RFC 9051
// ask (535 5.7.8, AUTHENTICATIONFAILED), with a reason for the log.
var errMainPassword = mailerr.ErrAuthFailed

func (d ProtocolDirectory) Authenticate(ctx context.Context, login, password string) (*directory.Account, error) {
	acct, err := d.Directory.Authenticate(ctx, login, password)
	if err == nil {
		on, terr := d.Store.Enabled(ctx, acct.Address)
		switch {
		case terr != nil:
			return nil, mailerr.ErrDirectoryUnavailable.With(terr)
		case on:
			return acct, errMainPassword.With(fmt.Errorf("%s: main password with two-factor sign-in on; use an app password", acct.Address))
		}
		return acct, nil
	}
	if !errors.Is(err, mailerr.ErrAuthFailed) {
		return acct, err
	}
	// Not the main password: perhaps an app password of this account.
	a, lerr := d.Directory.Lookup(ctx, directory.NormalizeAddress(login))
	if lerr != nil || a == nil {
		return acct, err
	}
	if on, terr := d.Store.Enabled(ctx, a.Address); terr != nil || !on {
		return acct, err
	}
	ok, terr := d.Store.CheckAppPassword(ctx, a.Address, password, d.Proto)
	switch {
	case terr != nil:
		return nil, mailerr.ErrDirectoryUnavailable.With(terr)
	case !ok:
		return a, err
	case a.State == directory.StateRetired:
		return a, mailerr.ErrUnknownUser
	case a.State != directory.StateActive:
		return a, mailerr.ErrAccountDisabled
	}
	return a, nil
}

// Unwrap lets the backend's optional capabilities (alias domains,
// published certificates) be found through this wrapper (directory.As).
func (d ProtocolDirectory) Unwrap() directory.Directory { return d.Directory }
