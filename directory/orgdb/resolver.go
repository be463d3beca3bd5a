package orgdb

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
)

// Resolver is the directory the daemons use: the backend's, plus what the
// store adds to addresses. Mail and logins for an address at an alias
// domain (DomainAlias) go to the same local part at the new domain. It
// counts nothing: a lookup is not a message (RCPT, the webmail's
// completion and a refused message all look addresses up), so the mail
// reaching old addresses is counted once, per delivered message, by the
// delivery hook reorg.OldAddresses (RecordArrivals). It also owns the
// store: Close closes the backend, then the store.
type Resolver struct {
	directory.Writer
	db  *DB
	log *slog.Logger
}

// NewResolver wraps w.
func NewResolver(w directory.Writer, db *DB, log *slog.Logger) *Resolver {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Resolver{Writer: w, db: db, log: log}
}

// Org is the store (reorganisation tools and admin pages use it).
func (r *Resolver) Org() *DB { return r.db }

// Lookup resolves an address as the backend does; an unknown address at
// an alias domain is looked up at the new domain.
func (r *Resolver) Lookup(ctx context.Context, address string) (*directory.Account, error) {
	a, err := r.Writer.Lookup(ctx, address)
	if errors.Is(err, mailerr.ErrUnknownUser) {
		if target := r.aliased(ctx, address); target != "" {
			return r.Writer.Lookup(ctx, target)
		}
	}
	return a, err
}

// Authenticate accepts the old domain's form of a login too.
func (r *Resolver) Authenticate(ctx context.Context, login, password string) (*directory.Account, error) {
	a, err := r.Writer.Authenticate(ctx, login, password)
	if a == nil && errors.Is(err, mailerr.ErrAuthFailed) {
		if target := r.aliased(ctx, login); target != "" {
			return r.Writer.Authenticate(ctx, target, password)
		}
	}
	return a, err
}

// IsAliasDomain reports whether mail to domain is accepted as an alias of
// a local domain.
func (r *Resolver) IsAliasDomain(domain string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, ok, err := r.db.AliasDomainTarget(ctx, domain)
	if err != nil {
		r.log.Warn("orgdb: reading domain aliases", "err", err)
	}
	return ok
}

// aliased returns the address at the new domain when address is at an
// alias domain, else "".
func (r *Resolver) aliased(ctx context.Context, address string) string {
	address = directory.NormalizeAddress(address)
	at := strings.LastIndexByte(address, '@')
	if at <= 0 {
		return ""
	}
	target, ok, err := r.db.AliasDomainTarget(ctx, address[at+1:])
	if err != nil || !ok {
		return ""
	}
	return address[:at+1] + target
}

// Close closes the backend and the store.
func (r *Resolver) Close() error {
	return errors.Join(r.Writer.Close(), r.db.Close())
}

// RenameAccount passes through to a backend that renames accounts
// (directory.Renamer).
func (r *Resolver) RenameAccount(ctx context.Context, oldAddress string, a directory.Account) error {
	if rn, ok := r.Writer.(directory.Renamer); ok {
		return rn.RenameAccount(ctx, oldAddress, a)
	}
	return ErrManagedElsewhere
}

// DeleteUnit passes through to a backend that deletes units
// (directory.UnitRemover).
func (r *Resolver) DeleteUnit(ctx context.Context, code string) error {
	if rm, ok := r.Writer.(directory.UnitRemover); ok {
		return rm.DeleteUnit(ctx, code)
	}
	return ErrManagedElsewhere
}

// Unwrap exposes the backend's optional capabilities (published
// certificates) through the resolver (directory.As).
func (r *Resolver) Unwrap() directory.Directory { return r.Writer }
