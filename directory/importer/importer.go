// Package importer loads officials into a directory from a spreadsheet (one
// row per person: full name, unit, title, phone), generating addresses by
// the provincial convention of directory/addr, and generates realistic
// provinces for tests and load tests (Generate).
//
// An import is idempotent: a person already in the directory — the same
// NFC full name in the same unit — keeps their address and password and is
// updated, never duplicated. Addresses already in the directory are
// reserved before any new one is allocated, so the duplicate rule of
// directory/addr (thanhnn.skhcn, thanhnn2.skhcn, …) gives the same result
// on every run.
package importer

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"congvu/directory"
	"congvu/directory/addr"
	"congvu/internal/demo"
)

// Options controls an import.
type Options struct {
	// Domain is the mail domain of new addresses ("khanhhoa.gov.vn").
	Domain string
	// DryRun computes the report without writing anything (passwords are
	// still generated, so the report has the same shape).
	DryRun bool
	// Units are created before the rows are imported when no unit with the
	// same code exists yet (parents first), each with its shared unit
	// mailbox <abbr>@domain. Existing units are left as they are.
	Units []directory.Unit
	// NewPeople makes every row a new person, even when someone with the
	// same name already works in the unit: a namesake gets the next address
	// of the duplicate rule (thanhnn2.skhcn). The admin web creates accounts
	// this way; file imports leave it false to stay idempotent.
	NewPeople bool
	// Keys are the stable keys recorded by earlier imports (an employee or
	// citizen ID, normalised as orgdb.NormalizeKey) and the address each
	// was given. A row whose key is known is that person wherever they now
	// work; a row without a key is matched by its address column, then by
	// name in the unit.
	Keys map[string]string
}

// Entry is one account the import created, updated or left unchanged.
type Entry struct {
	Line     int // input line; 0 for unit mailboxes created from Options.Units
	Address  string
	FullName string
	UnitCode string
	Role     directory.Role
	// Password is the initial password of a created account (which must
	// change it at first login); empty otherwise. Show it once; never log it.
	Password string
}

// Collision is a new address that could not take the plain form of the
// convention because it was taken; Assigned follows the duplicate rule.
type Collision struct {
	Line     int
	FullName string
	UnitCode string
	Wanted   string // thanhnn.skhcn@…
	Assigned string // thanhnn2.skhcn@…
}

// Move is a person of the file already in the directory under another
// unit (a transfer or a reorganisation since the last import): the import
// does not write it; the caller transfers the account (reorg.MoveAccount),
// which keeps the mailbox and password and renames the address.
type Move struct {
	Line     int
	FullName string
	Key      string
	Address  string
	FromUnit string
	ToUnit   string
}

// Binding is a stable key and the address of its person after the import,
// for the caller to record (orgdb.SetPersonKey).
type Binding struct{ Key, Address string }

// Report is the outcome of an import, in input order.
type Report struct {
	UnitsCreated []directory.Unit
	Created      []Entry
	Updated      []Entry
	Unchanged    []Entry
	Skipped      []LineError
	Collisions   []Collision
	Moves        []Move
	// Departures are the people of the units the file lists whom no row
	// matched (left, retired, transferred outside the file): listed for
	// the operator, never locked by the import.
	Departures []Entry
	Keys       []Binding
	// Headcounts are the officials per unit code (biên chế) the file
	// gives, for the caller to record (orgdb.SetHeadcount).
	Headcounts map[string]int
}

// reservedLocals are the local parts RFC 5321 4.5.1 and RFC 2142 reserve,
// and the provincial operator's, never given to a person or unit.
var reservedLocals = []string{"postmaster", "abuse", "hostmaster", "webmaster", "quantri"}

// unitIndex finds units by code, address abbreviation or folded name.
type unitIndex struct {
	byCode map[string]directory.Unit
	byAbbr map[string][]directory.Unit
	byName map[string][]directory.Unit
}

func newUnitIndex(units []directory.Unit) *unitIndex {
	ix := &unitIndex{byCode: map[string]directory.Unit{}, byAbbr: map[string][]directory.Unit{}, byName: map[string][]directory.Unit{}}
	for _, u := range units {
		ix.add(u)
	}
	return ix
}

func (ix *unitIndex) add(u directory.Unit) {
	ix.byCode[u.Code] = u
	if u.Abbr != "" {
		ix.byAbbr[u.Abbr] = append(ix.byAbbr[u.Abbr], u)
	}
	f := foldName(u.Name)
	ix.byName[f] = append(ix.byName[f], u)
}

func foldName(s string) string { return strings.Join(strings.Fields(addr.Fold(s)), " ") }

// find resolves a unit cell; the reason is set when it does not resolve to
// exactly one unit.
func (ix *unitIndex) find(cell string) (directory.Unit, string) {
	if u, ok := ix.byCode[cell]; ok {
		return u, ""
	}
	lookups := []struct {
		m   map[string][]directory.Unit
		key string
	}{{ix.byName, foldName(cell)}, {ix.byAbbr, strings.ToLower(strings.TrimSpace(cell))}}
	for _, l := range lookups {
		switch us := l.m[l.key]; len(us) {
		case 0:
		case 1:
			return us[0], ""
		default:
			return directory.Unit{}, fmt.Sprintf("tên đơn vị %q trùng %d đơn vị, hãy dùng mã đơn vị / ambiguous unit name, use the unit code", cell, len(us))
		}
	}
	return directory.Unit{}, fmt.Sprintf("không có đơn vị %q trong danh bạ / unknown unit", cell)
}

// personKey identifies a person for idempotent re-runs.
type personKey struct{ unit, name string }

// write is one account to put, with the password to set ("" keeps it).

// Import adds rows to w as described in the package comment and returns
// what it did. Rows that cannot be imported (unknown unit, taken explicit
// address) are skipped and reported; an error is returned only when the
// directory fails, in which case part of the rows may have been written
// (a re-run completes them).
func Import(ctx context.Context, w directory.Writer, rows []Row, opts Options) (*Report, error) {
	domain := strings.ToLower(strings.TrimSpace(opts.Domain))
	if err := directory.CheckAddress("quantri@" + domain); domain == "" || err != nil {
		return nil, fmt.Errorf("importer: invalid domain %q", opts.Domain)
	}
	units, err := w.Units(ctx)
	if err != nil {
		return nil, fmt.Errorf("importer: listing units: %w", err)
	}
	accounts, err := w.Accounts(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("importer: listing accounts: %w", err)
	}

	alloc := addr.NewAllocator(reservedLocals...)
	inDomain := func(address string) (string, bool) {
		local, d, ok := strings.Cut(strings.ToLower(address), "@")
		return local, ok && d == domain
	}
	existing := map[personKey][]directory.Account{}
	// Every address in use, in any domain: an explicit address from the
	// file must not overwrite someone else's account.
	used := map[string]bool{}
	// byAddress finds an account by its address or an alias (a stable key
	// recorded before a transfer names the old address, now an alias).
	byAddress := map[string]directory.Account{}
	matched := map[string]bool{}
	for _, a := range accounts {
		for _, address := range append([]string{a.Address}, a.Aliases...) {
			byAddress[strings.ToLower(address)] = a
			used[strings.ToLower(address)] = true
			if local, ok := inDomain(address); ok {
				alloc.Reserve(local)
			}
		}
		if a.Role != directory.RoleUnit {
			k := personKey{a.UnitCode, normalize(a.DisplayName)}
			existing[k] = append(existing[k], a)
		}
	}
	// The n-th row with a name in a unit matches the n-th holder of that
	// name in allocation order (thanhnn, thanhnn2, …, thanhnn10).
	for _, as := range existing {
		slices.SortFunc(as, func(a, b directory.Account) int {
			return cmp.Or(cmp.Compare(len(a.Address), len(b.Address)), strings.Compare(a.Address, b.Address))
		})
	}

	rep := &Report{}
	pw := demo.NewPasswordSource()
	var writes []directory.AccountWrite
	ix := newUnitIndex(units)

	var newUnits []directory.Unit
	for _, u := range opts.Units {
		if _, ok := ix.byCode[u.Code]; ok {
			continue
		}
		if u.Abbr == "" {
			u.Abbr = addr.UnitAbbr(u.Name)
		}
		u.Abbr = alloc.Unit(u.Abbr)
		u.Address = u.Abbr + "@" + domain
		ix.add(u)
		newUnits = append(newUnits, u)
		a := directory.Account{Address: u.Address, DisplayName: u.Name, UnitCode: u.Code, Role: directory.RoleUnit,
			State: directory.StateActive, MustChangePassword: true}
		e := Entry{Address: a.Address, FullName: a.DisplayName, UnitCode: u.Code, Role: a.Role, Password: pw.Password(&a)}
		rep.Created = append(rep.Created, e)
		writes = append(writes, directory.AccountWrite{Account: a, Password: e.Password})
	}
	rep.UnitsCreated = newUnits

	filed := map[string]bool{} // units the file lists people of
	s := matcher{keys: opts.Keys}
	for _, r := range rows {
		r.FullName = normalize(r.FullName)
		u, reason := ix.find(normalize(r.Unit))
		if reason != "" {
			rep.Skipped = append(rep.Skipped, LineError{r.Line, reason})
			continue
		}
		filed[u.Code] = true
		if r.Headcount > 0 {
			if rep.Headcounts == nil {
				rep.Headcounts = map[string]int{}
			}
			rep.Headcounts[u.Code] = r.Headcount
		}
		a, found := s.match(r, u.Code, existing, byAddress, matched, opts)
		if found {
			matched[a.Address] = true
			if r.Key != "" {
				rep.Keys = append(rep.Keys, Binding{r.Key, a.Address})
			}
			if a.UnitCode != u.Code {
				rep.Moves = append(rep.Moves, Move{Line: r.Line, FullName: a.DisplayName, Key: r.Key, Address: a.Address, FromUnit: a.UnitCode, ToUnit: u.Code})
				continue
			}
			e := Entry{Line: r.Line, Address: a.Address, FullName: a.DisplayName, UnitCode: u.Code, Role: a.Role}
			changed := false
			for _, f := range []struct {
				dst *string
				src string
			}{{&a.Title, r.Title}, {&a.Phone, r.Phone}} {
				if f.src != "" && *f.dst != f.src {
					*f.dst, changed = f.src, true
				}
			}
			if !changed {
				rep.Unchanged = append(rep.Unchanged, e)
				continue
			}
			rep.Updated = append(rep.Updated, e)
			writes = append(writes, directory.AccountWrite{Account: a, Password: ""})
			continue
		}
		var address string
		if r.Address != "" {
			address = strings.ToLower(r.Address)
			local, ok := inDomain(address)
			if used[address] || ok && !alloc.Reserve(local) {
				rep.Skipped = append(rep.Skipped, LineError{r.Line, fmt.Sprintf("địa chỉ %s đã có người dùng / address already taken", r.Address)})
				continue
			}
			used[address] = true
		} else {
			agency := u.Abbr
			if agency == "" {
				agency = addr.UnitAbbr(u.Name)
			}
			address = alloc.Person(r.FullName, agency) + "@" + domain
			if wanted := addr.Person(r.FullName, agency) + "@" + domain; wanted != address {
				rep.Collisions = append(rep.Collisions, Collision{Line: r.Line, FullName: r.FullName, UnitCode: u.Code, Wanted: wanted, Assigned: address})
			}
		}
		a = directory.Account{Address: address, DisplayName: r.FullName, UnitCode: u.Code, Title: r.Title, Phone: r.Phone,
			Role: directory.RoleOfficial, State: directory.StateActive, MustChangePassword: true}
		e := Entry{Line: r.Line, Address: address, FullName: r.FullName, UnitCode: u.Code, Role: a.Role, Password: pw.Password(&a)}
		rep.Created = append(rep.Created, e)
		writes = append(writes, directory.AccountWrite{Account: a, Password: e.Password})
		if r.Key != "" {
			rep.Keys = append(rep.Keys, Binding{r.Key, address})
		}
	}
	if !opts.NewPeople {
		for _, a := range accounts {
			if filed[a.UnitCode] && !matched[a.Address] && a.Role != directory.RoleUnit && a.Role != directory.RoleOperator &&
				a.State != directory.StateRetired {
				rep.Departures = append(rep.Departures, Entry{Address: a.Address, FullName: a.DisplayName, UnitCode: a.UnitCode, Role: a.Role})
			}
		}
	}
	if opts.DryRun {
		return rep, nil
	}
	for _, u := range newUnits { // parents first, as given
		if err := w.PutUnit(ctx, u); err != nil {
			return rep, fmt.Errorf("importer: unit %s: %w", u.Code, err)
		}
	}
	if err := directory.PutAccounts(ctx, w, writes); err != nil {
		return rep, fmt.Errorf("importer: %w", err)
	}
	return rep, nil
}

// matcher finds the existing account a row describes.
type matcher struct{ keys map[string]string }

// match returns the account of row r: by its stable key, else by its
// address column (when the name agrees), else the next unmatched holder of
// its name in its unit.
func (m matcher) match(r Row, unit string, existing map[personKey][]directory.Account, byAddress map[string]directory.Account,
	matched map[string]bool, opts Options) (directory.Account, bool) {
	if opts.NewPeople {
		return directory.Account{}, false
	}
	if r.Key != "" {
		if address, ok := m.keys[normalizeKey(r.Key)]; ok {
			if a, ok := byAddress[address]; ok && !matched[a.Address] {
				return a, true
			}
		}
	}
	if r.Address != "" {
		if a, ok := byAddress[strings.ToLower(r.Address)]; ok && !matched[a.Address] && a.Role != directory.RoleUnit &&
			foldName(a.DisplayName) == foldName(r.FullName) {
			return a, true
		}
	}
	k := personKey{unit, r.FullName}
	for len(existing[k]) > 0 {
		a := existing[k][0]
		existing[k] = existing[k][1:]
		if !matched[a.Address] {
			return a, true
		}
	}
	return directory.Account{}, false
}

// normalizeKey is orgdb.NormalizeKey: without spaces, in upper case.
func normalizeKey(k string) string { return strings.ToUpper(strings.Join(strings.Fields(k), "")) }
