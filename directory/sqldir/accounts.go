package sqldir

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
)

// accountColumns are read by scanAccount, in this order. Aliases come as one
// space-separated string (addresses never contain spaces).
const accountColumns = `a.address, a.display_name, a.unit_code, a.title, a.phone, a.role, a.state,
	a.state_changed, a.quota_bytes, a.must_change, a.password_changed, a.password_hash, a.state_reason, a.mail_host,
	coalesce((SELECT group_concat(l.alias, ' ') FROM aliases l WHERE l.address = a.address), '')`

// byAddressQuery finds the account whose primary address is ?1, and
// byAliasQuery the one with the alias ?1. They are two statements, not one
// UNION ALL … LIMIT 1: SQLite re-prepared the compound statement at every
// step (its bound parameter marks it for re-preparation), which made each
// lookup six times slower than the plain indexed read (issue 16: every
// SMTP RCPT resolves its address).
const (
	byAddressQuery = `SELECT ` + accountColumns + ` FROM accounts a WHERE a.address = ?1`
	byAliasQuery   = `SELECT ` + accountColumns + ` FROM aliases x JOIN accounts a ON a.address = x.address WHERE x.alias = ?1`
)

type scanner interface{ Scan(dest ...any) error }

// scanAccount reads one row of accountColumns; it returns the password hash
// separately so that it never travels inside an Account.
func scanAccount(s scanner) (*directory.Account, string, error) {
	var (
		a                             directory.Account
		role, state, hash, aliases    string
		stateChanged, passwordChanged int64
		mustChange                    bool
	)
	err := s.Scan(&a.Address, &a.DisplayName, &a.UnitCode, &a.Title, &a.Phone, &role, &state,
		&stateChanged, &a.QuotaBytes, &mustChange, &passwordChanged, &hash, &a.StateReason, &a.MailHost, &aliases)
	if err != nil {
		return nil, "", err
	}
	a.Role, a.State = directory.Role(role), directory.State(state)
	a.StateChanged, a.PasswordChanged = fromNanos(stateChanged), fromNanos(passwordChanged)
	a.MustChangePassword = mustChange
	if aliases != "" {
		a.Aliases = strings.Fields(aliases)
		slices.Sort(a.Aliases)
	}
	return &a, hash, nil
}

// find resolves an address or alias; a missing account is ErrUnknownUser.
func find(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, address string) (*directory.Account, string, error) {
	address = directory.NormalizeAddress(address)
	a, hash, err := scanAccount(q.QueryRowContext(ctx, byAddressQuery, address))
	if errors.Is(err, sql.ErrNoRows) {
		a, hash, err = scanAccount(q.QueryRowContext(ctx, byAliasQuery, address))
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", mailerr.ErrUnknownUser
	}
	if err != nil {
		return nil, "", unavailable(err)
	}
	return a, hash, nil
}

// Lookup resolves an address or alias, case-insensitively, to its account.
func (d *DB) Lookup(ctx context.Context, address string) (*directory.Account, error) {
	if err := ctx.Err(); err != nil {
		return nil, unavailable(err)
	}
	// Without cancellation: a cancelable context costs database/sql and
	// the driver a goroutine each to watch it, which was a third of this
	// indexed read (every SMTP RCPT runs it, issue 16); the busy timeout
	// bounds the read.
	a, _, err := find(context.WithoutCancel(ctx), d.ro, address)
	return a, err
}

// Authenticate checks password for a login (primary address or alias).
// Unknown logins, accounts without a password and wrong passwords all give
// mailerr.ErrAuthFailed after the same amount of hashing work. A correct
// password on a locked or retired account returns the account together with
// mailerr.ErrAccountDisabled.
func (d *DB) Authenticate(ctx context.Context, login, password string) (*directory.Account, error) {
	if err := ctx.Err(); err != nil {
		return nil, unavailable(err)
	}
	a, hash, err := find(ctx, d.ro, login)
	if err != nil && !errors.Is(err, mailerr.ErrUnknownUser) {
		return nil, err
	}
	exists := err == nil
	known := exists && hash != "" && password != ""
	if !known {
		hash = d.dummyHash // equalise timing: no user enumeration
	}
	var ok, rehash bool
	if kerr := d.withKDF(ctx, func() { ok, rehash, err = verifyPassword(hash, password) }); kerr != nil {
		return nil, unavailable(kerr)
	}
	switch {
	case !exists:
		return nil, mailerr.ErrAuthFailed
	case !known:
		return a, mailerr.ErrAuthFailed
	case err != nil:
		d.log.Warn("directory: unusable password hash", "address", a.Address, "err", err)
		return a, mailerr.ErrAuthFailed
	case !ok:
		return a, mailerr.ErrAuthFailed
	}
	switch a.State {
	case directory.StateLocked:
		return a, mailerr.ErrAccountDisabled
	case directory.StateRetired:
		return a, mailerr.ErrAccountDisabled.WithMessage("Account is closed", "Tài khoản đã bị đóng")
	}
	if rehash {
		d.upgradeHash(ctx, a.Address, hash, password)
	}
	return a, nil
}

// upgradeHash re-hashes a just-verified password with the current argon2
// parameters. Failures only get logged: the login itself succeeded.
func (d *DB) upgradeHash(ctx context.Context, address, old, password string) {
	h, err := hashPassword(password)
	if err == nil {
		// The WHERE on the old hash keeps a concurrent SetPassword.
		_, err = d.rw.ExecContext(ctx, `UPDATE accounts SET password_hash = ? WHERE address = ? AND password_hash = ?`,
			h, address, old)
	}
	if err != nil {
		d.log.Warn("directory: password hash upgrade failed", "address", address, "err", err)
	}
}

// Accounts lists the accounts of a unit (all accounts when unitCode is
// empty), ordered by address.
func (d *DB) Accounts(ctx context.Context, unitCode string) ([]directory.Account, error) {
	q := `SELECT ` + accountColumns + ` FROM accounts a`
	var args []any
	if unitCode != "" {
		q += ` WHERE a.unit_code = ?`
		args = append(args, unitCode)
	}
	rows, err := d.ro.QueryContext(ctx, q+` ORDER BY a.address`, args...)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var list []directory.Account
	for rows.Next() {
		a, _, err := scanAccount(rows)
		if err != nil {
			return nil, unavailable(err)
		}
		list = append(list, *a)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(err)
	}
	return list, nil
}

// Domains lists, sorted, the domains of every address the directory holds
// (primary addresses, aliases and unit mailboxes): the domains this server
// accepts mail for.
func (d *DB) Domains(ctx context.Context) ([]string, error) {
	rows, err := d.ro.QueryContext(ctx, `SELECT DISTINCT lower(substr(x, instr(x, '@') + 1)) AS domain FROM (
		SELECT address AS x FROM accounts
		UNION ALL SELECT alias FROM aliases
		UNION ALL SELECT address FROM units WHERE address != ''
	) WHERE instr(x, '@') > 0 ORDER BY domain`)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var domains []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, unavailable(err)
		}
		domains = append(domains, s)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(err)
	}
	return domains, nil
}

// PutAccount creates or updates an account. A non-empty password replaces
// the stored hash; an empty one keeps it. The aliases replace the stored
// ones. An address or alias owned by another account is refused with
// directory.ErrAddressTaken.
func (d *DB) PutAccount(ctx context.Context, a directory.Account, password string) error {
	a, err := directory.CleanAccount(a)
	if err != nil {
		return err
	}
	var hash string
	if password != "" {
		// Hash before taking the write lock: the KDF is the slow part, and
		// concurrent PutAccount calls hash in parallel.
		if hash, err = hashPassword(password); err != nil {
			return unavailable(err)
		}
	}
	tx, err := d.rw.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback()
	created, err := putAccountTx(ctx, tx, a, hash, time.Now())
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return unavailable(err)
	}
	d.log.Info("directory: account saved", "address", a.Address, "created", created,
		"unit", a.UnitCode, "role", a.Role, "state", a.State, "password_set", password != "")
	return nil
}

func putAccountTx(ctx context.Context, tx *sql.Tx, a directory.Account, hash string, now time.Time) (created bool, err error) {
	for _, address := range append([]string{a.Address}, a.Aliases...) {
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT address FROM aliases WHERE alias = ?1
			UNION ALL SELECT address FROM accounts WHERE address = ?1 AND ?1 != ?2`, address, a.Address).Scan(&owner)
		if err == nil && owner != a.Address {
			return false, directory.ErrAddressTaken.With(fmt.Errorf("%s belongs to %s", address, owner))
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, unavailable(err)
		}
	}
	var (
		oldState                       string
		oldStateChanged, oldPwdChanged int64
		oldHash, oldMailHost           string
	)
	err = tx.QueryRowContext(ctx, `SELECT state, state_changed, password_changed, password_hash, mail_host FROM accounts WHERE address = ?`,
		a.Address).Scan(&oldState, &oldStateChanged, &oldPwdChanged, &oldHash, &oldMailHost)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		created = true
	case err != nil:
		return false, unavailable(err)
	}
	stateChanged := nanos(a.StateChanged)
	if stateChanged == 0 {
		stateChanged = oldStateChanged
		if created || oldState != string(a.State) {
			stateChanged = now.UnixNano()
		}
	}
	pwdChanged := nanos(a.PasswordChanged)
	if hash != "" {
		pwdChanged = now.UnixNano()
	} else {
		hash = oldHash
		if pwdChanged == 0 {
			pwdChanged = oldPwdChanged
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO accounts (address, display_name, unit_code, title, phone, role, state,
			state_changed, quota_bytes, must_change, password_changed, password_hash, state_reason, mail_host)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (address) DO UPDATE SET display_name = excluded.display_name, unit_code = excluded.unit_code,
			title = excluded.title, phone = excluded.phone, role = excluded.role, state = excluded.state,
			state_changed = excluded.state_changed, quota_bytes = excluded.quota_bytes,
			must_change = excluded.must_change, password_changed = excluded.password_changed,
			password_hash = excluded.password_hash, state_reason = excluded.state_reason,
			mail_host = excluded.mail_host`,
		a.Address, a.DisplayName, a.UnitCode, a.Title, a.Phone, string(a.Role), string(a.State),
		stateChanged, a.QuotaBytes, a.MustChangePassword, pwdChanged, hash, a.StateReason, cmp.Or(a.MailHost, oldMailHost))
	if err != nil {
		return false, unavailable(err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM aliases WHERE address = ?`, a.Address); err != nil {
		return false, unavailable(err)
	}
	for _, al := range a.Aliases {
		if _, err := tx.ExecContext(ctx, `INSERT INTO aliases (alias, address) VALUES (?, ?)`, al, a.Address); err != nil {
			return false, unavailable(err)
		}
	}
	return created, nil
}

// SetPassword replaces the password of the account at address (or alias) and
// sets whether it must be changed at the next login.
func (d *DB) SetPassword(ctx context.Context, address, password string, mustChange bool) error {
	if password == "" {
		return directory.ErrWeakPassword.WithMessage("Empty password", "Mật khẩu trống")
	}
	hash, err := hashPassword(password)
	if err != nil {
		return unavailable(err)
	}
	return d.update(ctx, address, "password changed", []any{"must_change", mustChange},
		`UPDATE accounts SET password_hash = ?, must_change = ?, password_changed = ? WHERE address = ?`,
		hash, mustChange, time.Now().UnixNano())
}

// SetState moves the account at address (or alias) to state s. StateChanged
// is updated only when the state really changes.
func (d *DB) SetState(ctx context.Context, address string, s directory.State) error {
	return d.SetStateReason(ctx, address, s, "")
}

// SetStateReason is SetState that also records why; an active account
// keeps no reason.
func (d *DB) SetStateReason(ctx context.Context, address string, s directory.State, reason string) error {
	if !directory.ValidState(s) {
		return directory.ErrInvalid.With(fmt.Errorf("state %q", s))
	}
	if s == directory.StateActive {
		reason = ""
	}
	return d.update(ctx, address, "state changed", []any{"state", s, "reason", reason},
		`UPDATE accounts SET state = ?1, state_changed = CASE WHEN state = ?1 THEN state_changed ELSE ?2 END,
			state_reason = ?3
		WHERE address = ?4`, string(s), time.Now().UnixNano(), strings.TrimSpace(reason))
}

// update resolves address to its account and runs query with args followed
// by the primary address, in one transaction.
func (d *DB) update(ctx context.Context, address, what string, logAttrs []any, query string, args ...any) error {
	tx, err := d.rw.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback()
	a, _, err := find(ctx, tx, address)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, query, append(args, a.Address)...); err != nil {
		return unavailable(err)
	}
	if err := tx.Commit(); err != nil {
		return unavailable(err)
	}
	d.log.Info("directory: "+what, append([]any{"address", a.Address}, logAttrs...)...)
	return nil
}
