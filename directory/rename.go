package directory

import "context"

// Renamer changes the primary address of an account in place: the same
// entry, password and history under a new address (a transfer or a
// reorganisation gives an official a new address by the convention). Both
// directories congvu writes implement it; Active Directory does not (its
// accounts are renamed with AD's tools).
type Renamer interface {
	// RenameAccount replaces the account whose primary address is
	// oldAddress with a — a.Address the new primary address, a.Aliases
	// the complete new alias list (usually with oldAddress in it) — and
	// keeps its password. An address of a that belongs to another account
	// is ErrAddressTaken.
	RenameAccount(ctx context.Context, oldAddress string, a Account) error
}

// UnitRemover deletes a unit that no longer exists (merged into another).
// Its accounts and sub-units must have been moved first.
type UnitRemover interface {
	DeleteUnit(ctx context.Context, code string) error
}

// Agency is the unit whose abbreviation goes into the addresses of the
// people of unit code, after the provincial convention: a division (phòng)
// uses the department or commune it belongs to; every other unit its own.
func (t *Tree) Agency(code string) Unit {
	seen := map[string]bool{}
	u, ok := t.Units[code]
	for ok && u.Kind == UnitDivision && !seen[u.Code] {
		seen[u.Code] = true
		p, found := t.Units[u.ParentCode]
		if !found {
			break
		}
		u = p
	}
	return u
}
