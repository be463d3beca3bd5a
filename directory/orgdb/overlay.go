package orgdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"congvu/directory"
	"congvu/internal/mailerr"
)

// ErrManagedElsewhere refuses account and password writes through a
// directory congvu only reads (Active Directory: accounts, aliases and
// passwords are managed with AD's own tools).
var ErrManagedElsewhere = directory.ErrInvalid.WithMessage(
	"Accounts and passwords are managed in Active Directory",
	"Tài khoản và mật khẩu được quản lý trong Active Directory")

// Overlay is a directory.Writer over a directory congvu can read and
// authenticate against but not write (Active Directory): account states
// (locked with a reason, retired) and the unit tree live in the store and
// are laid over what the directory says. A lock from either side wins: an
// account disabled in AD (userAccountControl) stays locked whatever the
// store says, and a lock congvu decided (12 failed logins, an
// administrator, a transfer) holds although AD knows nothing of it.
type Overlay struct {
	dir directory.Directory
	db  *DB
	log *slog.Logger
	// closeDir closes the underlying directory with the overlay.
	closeDir func() error
}

var _ directory.Writer = (*Overlay)(nil)

// NewOverlay lays the store's state over dir. closeDir (may be nil) is
// called by Close; the store is the caller's to close.
func NewOverlay(dir directory.Directory, db *DB, closeDir func() error, log *slog.Logger) *Overlay {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Overlay{dir: dir, db: db, log: log, closeDir: closeDir}
}

type localState struct {
	state   directory.State
	reason  string
	changed time.Time
}

// stateOf reads the stored state of address; ok is false when none.
func (o *Overlay) stateOf(ctx context.Context, address string) (localState, bool, error) {
	var s localState
	var state string
	var changed int64
	err := o.db.ro.QueryRowContext(ctx, `SELECT state, reason, changed FROM account_state WHERE address = ?`, address).
		Scan(&state, &s.reason, &changed)
	if errors.Is(err, sql.ErrNoRows) {
		return s, false, nil
	}
	if err != nil {
		return s, false, unavailable(err)
	}
	s.state, s.changed = directory.State(state), fromNanos(changed)
	return s, true, nil
}

// severity orders states: a lock from either side wins over active, a
// retirement over a lock.
func severity(s directory.State) int {
	switch s {
	case directory.StateRetired:
		return 2
	case directory.StateLocked:
		return 1
	}
	return 0
}

// apply lays the stored state over a.
func (o *Overlay) apply(ctx context.Context, a *directory.Account) error {
	if a == nil {
		return nil
	}
	s, ok, err := o.stateOf(ctx, a.Address)
	if err != nil || !ok {
		return err
	}
	if severity(s.state) >= severity(a.State) {
		a.State, a.StateReason, a.StateChanged = s.state, s.reason, s.changed
	}
	return nil
}

// Lookup implements directory.Directory.
func (o *Overlay) Lookup(ctx context.Context, address string) (*directory.Account, error) {
	a, err := o.dir.Lookup(ctx, address)
	if err != nil {
		return a, err
	}
	return a, o.apply(ctx, a)
}

// Authenticate implements directory.Directory: the directory checks the
// password; a right password on an account the store holds locked or
// retired gives the account with mailerr.ErrAccountDisabled, as the
// backends do for their own states.
func (o *Overlay) Authenticate(ctx context.Context, login, password string) (*directory.Account, error) {
	a, err := o.dir.Authenticate(ctx, login, password)
	if a == nil {
		return a, err
	}
	if aerr := o.apply(ctx, a); aerr != nil {
		return nil, aerr
	}
	if err != nil {
		return a, err
	}
	switch a.State {
	case directory.StateLocked:
		return a, mailerr.ErrAccountDisabled
	case directory.StateRetired:
		return a, mailerr.ErrAccountDisabled.WithMessage("Account is closed", "Tài khoản đã bị đóng")
	}
	return a, nil
}

// Accounts implements directory.Directory.
func (o *Overlay) Accounts(ctx context.Context, unitCode string) ([]directory.Account, error) {
	list, err := o.dir.Accounts(ctx, unitCode)
	if err != nil {
		return nil, err
	}
	states, err := o.allStates(ctx)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if s, ok := states[list[i].Address]; ok && severity(s.state) >= severity(list[i].State) {
			list[i].State, list[i].StateReason, list[i].StateChanged = s.state, s.reason, s.changed
		}
	}
	return list, nil
}

func (o *Overlay) allStates(ctx context.Context) (map[string]localState, error) {
	rows, err := o.db.ro.QueryContext(ctx, `SELECT address, state, reason, changed FROM account_state`)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	m := map[string]localState{}
	for rows.Next() {
		var a, state string
		var s localState
		var changed int64
		if err := rows.Scan(&a, &state, &s.reason, &changed); err != nil {
			return nil, unavailable(err)
		}
		s.state, s.changed = directory.State(state), fromNanos(changed)
		m[a] = s
	}
	return m, unavailable(rows.Err())
}

// SetState implements directory.Writer.
func (o *Overlay) SetState(ctx context.Context, address string, s directory.State) error {
	return o.SetStateReason(ctx, address, s, "")
}

// SetStateReason keeps the state in the store. Active removes the stored
// state: an account disabled in AD itself stays locked.
func (o *Overlay) SetStateReason(ctx context.Context, address string, s directory.State, reason string) error {
	if !directory.ValidState(s) {
		return directory.ErrInvalid.With(fmt.Errorf("state %q", s))
	}
	a, err := o.dir.Lookup(ctx, address)
	if err != nil {
		return err
	}
	reason = norm.NFC.String(strings.TrimSpace(reason))
	err = o.db.write(ctx, func(tx *sql.Tx) error {
		if s == directory.StateActive {
			_, err := tx.ExecContext(ctx, `DELETE FROM account_state WHERE address = ?`, a.Address)
			return unavailable(err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO account_state (address, state, reason, changed) VALUES (?1, ?2, ?3, ?4)
			ON CONFLICT (address) DO UPDATE SET reason = ?3,
				changed = CASE WHEN state = ?2 THEN changed ELSE ?4 END, state = ?2`,
			a.Address, string(s), reason, time.Now().UnixNano())
		return unavailable(err)
	})
	if err != nil {
		return err
	}
	o.log.Info("directory: state changed (congvu's own state)", "address", a.Address, "state", s, "reason", reason)
	return nil
}

// PutAccount refuses: accounts are managed in the directory itself.
func (o *Overlay) PutAccount(context.Context, directory.Account, string) error {
	return ErrManagedElsewhere
}

// SetPassword refuses: passwords are changed with the directory's tools.
func (o *Overlay) SetPassword(context.Context, string, string, bool) error {
	return ErrManagedElsewhere
}

// PutUnit keeps the unit in the store (AD has no congvu unit tree: its
// users carry the unit code in department).
func (o *Overlay) PutUnit(ctx context.Context, u directory.Unit) error {
	return o.db.PutUnit(ctx, u)
}

// Units lists the store's units with any the directory holds, parents
// before children.
func (o *Overlay) Units(ctx context.Context) ([]directory.Unit, error) {
	local, err := o.db.Units(ctx)
	if err != nil {
		return nil, err
	}
	remote, err := o.dir.Units(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, u := range local {
		seen[u.Code] = true
	}
	for _, u := range remote {
		if !seen[u.Code] {
			local = append(local, u)
		}
	}
	return directory.SortUnits(local), nil
}

// PutCertificate and Certificate pass through when the directory
// publishes certificates (AD's userCertificate).
func (o *Overlay) PutCertificate(ctx context.Context, address string, der []byte) error {
	if c, ok := o.dir.(directory.Certificates); ok {
		return c.PutCertificate(ctx, address, der)
	}
	return ErrManagedElsewhere
}

// Certificate implements directory.Certificates.
func (o *Overlay) Certificate(ctx context.Context, address string) ([]byte, error) {
	if c, ok := o.dir.(directory.Certificates); ok {
		return c.Certificate(ctx, address)
	}
	return nil, nil
}

// Close closes the directory (not the store).
func (o *Overlay) Close() error {
	if o.closeDir != nil {
		return o.closeDir()
	}
	return nil
}

// DeleteUnit removes a unit of the store's own tree.
func (o *Overlay) DeleteUnit(ctx context.Context, code string) error {
	return o.db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM units WHERE code = ?`, code)
		return unavailable(err)
	})
}
