// Package directory holds congvu's view of the officials and units it serves.
//
// Protocol daemons depend only on the narrow Directory interface; admin tools
// use Writer. Every implementation (embedded SQLite now, LDAP later) must pass
// the shared conformance suite in directory/dirtest.
package directory

import (
	"context"
	"time"
)

// Role is what an account does in its unit.
type Role string

const (
	RoleOfficial Role = "official"  // cán bộ, công chức, viên chức
	RoleClerk    Role = "clerk"     // văn thư, runs the unit mailbox
	RoleAdmin    Role = "unitadmin" // quản trị đơn vị
	RoleOperator Role = "operator"  // provincial operator
	RoleUnit     Role = "unit"      // the unit's own shared mailbox
)

// State is the lifecycle state of a mailbox.
type State string

const (
	StateActive  State = "active"
	StateLocked  State = "locked"  // cannot log in or send; still receives mail
	StateRetired State = "retired" // neither sends nor receives
)

// UnitKind classifies a unit in the state's organisation tree.
type UnitKind string

const (
	UnitProvince   UnitKind = "province"
	UnitDepartment UnitKind = "department" // sở, ban, ngành, UBND office
	UnitCommune    UnitKind = "commune"    // xã, phường, đặc khu
	UnitDivision   UnitKind = "division"   // phòng inside a department or commune
)

// Account is one mailbox: a person or a unit's shared mailbox.
type Account struct {
	// Address is the primary address, lower case; it is the login name and
	// the storage key.
	Address     string
	Aliases     []string // other addresses delivering here, lower case
	DisplayName string   // NFC, with diacritics: "Nguyễn Ngọc Thành"
	UnitCode    string
	Title       string // chức vụ
	Phone       string
	Role        Role
	State       State
	// StateChanged is when State last changed (for retention after retirement).
	StateChanged time.Time
	// StateReason says why the account is locked or retired ("12 failed
	// logins", "transferred"); empty for active accounts.
	StateReason string
	// QuotaBytes is the mailbox quota; 0 means the server default.
	QuotaBytes int64
	// MustChangePassword is set for new accounts and after admin resets.
	MustChangePassword bool
	PasswordChanged    time.Time
}

// Unit is a node of the organisation tree.
type Unit struct {
	Code       string // official code (dvhc for communes) or a congvu code
	Name       string // "Sở Khoa học và Công nghệ"
	Abbr       string // address part: "skhcn"
	Kind       UnitKind
	ParentCode string // empty for the province
	Address    string // the unit's shared mailbox, may be empty
}

// Directory is what the mail daemons need. Implementations are safe for
// concurrent use.
//
// Errors: unknown addresses and failed logins are mailerr.ErrUnknownUser and
// mailerr.ErrAuthFailed; a backend that cannot be reached returns
// mailerr.ErrDirectoryUnavailable (temporary), never "unknown user".
type Directory interface {
	// Lookup resolves an address or alias (case-insensitive) to its account.
	Lookup(ctx context.Context, address string) (*Account, error)
	// Authenticate checks a password for a login name (primary address,
	// alias, or what the backend accepts: an AD sAMAccountName or UPN). It
	// returns the account even when it is locked, together with
	// mailerr.ErrAccountDisabled, so callers can tell the user why; and
	// with a wrong password for a login that names an account, the account
	// with mailerr.ErrAuthFailed, so the policy engine counts the failure
	// against the account whatever name was typed (clients are answered
	// exactly as for an unknown login, where the account is nil).
	Authenticate(ctx context.Context, login, password string) (*Account, error)
	// Units lists every unit, parents before children.
	Units(ctx context.Context) ([]Unit, error)
	// Accounts lists the accounts of a unit (not of its sub-units), or of
	// the whole directory when unitCode is empty, ordered by address.
	Accounts(ctx context.Context, unitCode string) ([]Account, error)
}

// Writer provisions and retires accounts; used by admin tools and import.
type Writer interface {
	Directory
	PutUnit(ctx context.Context, u Unit) error
	// PutAccount creates or updates an account. A non-empty password sets
	// it (stored only as a KDF hash).
	PutAccount(ctx context.Context, a Account, password string) error
	SetPassword(ctx context.Context, address, password string, mustChange bool) error
	SetState(ctx context.Context, address string, s State) error
	// SetStateReason is SetState that also records why (Account.StateReason);
	// the reason is replaced even when the state stays the same.
	SetStateReason(ctx context.Context, address string, s State, reason string) error
	Close() error
}
