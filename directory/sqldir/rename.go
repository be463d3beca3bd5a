package sqldir

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
)

var (
	_ directory.Renamer     = (*DB)(nil)
	_ directory.UnitRemover = (*DB)(nil)
)

// RenameAccount implements directory.Renamer in one transaction: the row
// is re-keyed with its password hash, dates and certificate, and its
// aliases replaced by a.Aliases.
func (d *DB) RenameAccount(ctx context.Context, oldAddress string, a directory.Account) error {
	a, err := directory.CleanAccount(a)
	if err != nil {
		return err
	}
	oldAddress = directory.NormalizeAddress(oldAddress)
	tx, err := d.rw.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback()
	var hash string
	var pwdChanged, stateChanged int64
	var cert []byte
	err = tx.QueryRowContext(ctx, `SELECT password_hash, password_changed, state_changed, smime_certificate FROM accounts WHERE address = ?`,
		oldAddress).Scan(&hash, &pwdChanged, &stateChanged, &cert)
	if errors.Is(err, sql.ErrNoRows) {
		return mailerr.ErrUnknownUser.With(fmt.Errorf("rename %s: no such account", oldAddress))
	}
	if err != nil {
		return unavailable(err)
	}
	if a.Address != oldAddress {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE address = ?`, a.Address).Scan(&n); err != nil {
			return unavailable(err)
		}
		if n > 0 {
			return directory.ErrAddressTaken.With(fmt.Errorf("rename %s: %s is another account", oldAddress, a.Address))
		}
	}
	// Free the old row's addresses, then write the account under its new
	// key with putAccountTx's conflict checks (aliases).
	if _, err := tx.ExecContext(ctx, `DELETE FROM accounts WHERE address = ?`, oldAddress); err != nil {
		return unavailable(err)
	}
	if a.PasswordChanged.IsZero() {
		a.PasswordChanged = fromNanos(pwdChanged)
	}
	if a.StateChanged.IsZero() {
		a.StateChanged = fromNanos(stateChanged)
	}
	if _, err := putAccountTx(ctx, tx, a, "", time.Now()); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = ?, smime_certificate = ? WHERE address = ?`,
		hash, cert, a.Address); err != nil {
		return unavailable(err)
	}
	if err := tx.Commit(); err != nil {
		return unavailable(err)
	}
	d.log.Info("directory: account renamed", "from", oldAddress, "to", a.Address, "unit", a.UnitCode)
	return nil
}

// DeleteUnit implements directory.UnitRemover; a unit that still has
// accounts or sub-units is refused.
func (d *DB) DeleteUnit(ctx context.Context, code string) error {
	tx, err := d.rw.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM accounts WHERE unit_code = ?1) +
		(SELECT count(*) FROM units WHERE parent_code = ?1)`, code).Scan(&n); err != nil {
		return unavailable(err)
	}
	if n > 0 {
		return directory.ErrInvalid.With(fmt.Errorf("unit %s still has %d accounts or sub-units", code, n))
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM units WHERE code = ?`, code); err != nil {
		return unavailable(err)
	}
	if err := tx.Commit(); err != nil {
		return unavailable(err)
	}
	d.log.Info("directory: unit deleted", "code", code)
	return nil
}
