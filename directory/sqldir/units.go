package sqldir

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/text/unicode/norm"

	"congvu/directory"
)

// maxUnitDepth bounds the walk up the tree when checking for cycles; real
// trees are 3–4 levels deep.
const maxUnitDepth = 32

// PutUnit creates or updates a unit. Its parent need not exist yet (imports
// may come in any order), but a unit may not become its own ancestor.
func (d *DB) PutUnit(ctx context.Context, u directory.Unit) error {
	u.Code = strings.TrimSpace(u.Code)
	u.ParentCode = strings.TrimSpace(u.ParentCode)
	u.Name = norm.NFC.String(strings.TrimSpace(u.Name))
	u.Abbr = strings.ToLower(strings.TrimSpace(u.Abbr))
	if u.Code == "" || u.Name == "" || !directory.ValidUnitKind(u.Kind) || u.ParentCode == u.Code {
		return directory.ErrInvalid.With(fmt.Errorf("unit %q (%q): kind %q, parent %q", u.Code, u.Name, u.Kind, u.ParentCode))
	}
	if u.Address != "" {
		u.Address = directory.NormalizeAddress(u.Address)
		if err := directory.CheckAddress(u.Address); err != nil {
			return directory.ErrBadAddress.With(err)
		}
	}
	tx, err := d.rw.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback()
	// Walk up from the new parent; meeting u.Code again would close a cycle.
	for p, depth := u.ParentCode, 0; p != ""; depth++ {
		if p == u.Code || depth > maxUnitDepth {
			return directory.ErrInvalid.With(fmt.Errorf("unit %s: parent %s would make a cycle", u.Code, u.ParentCode))
		}
		err := tx.QueryRowContext(ctx, `SELECT parent_code FROM units WHERE code = ?`, p).Scan(&p)
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return unavailable(err)
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO units (code, name, abbr, kind, parent_code, address) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (code) DO UPDATE SET name = excluded.name, abbr = excluded.abbr, kind = excluded.kind,
			parent_code = excluded.parent_code, address = excluded.address`,
		u.Code, u.Name, u.Abbr, string(u.Kind), u.ParentCode, u.Address)
	if err != nil {
		return unavailable(err)
	}
	if err := tx.Commit(); err != nil {
		return unavailable(err)
	}
	d.log.Info("directory: unit saved", "code", u.Code, "abbr", u.Abbr, "parent", u.ParentCode)
	return nil
}

// Units lists every unit in depth-first pre-order: each parent comes before
// its children, and siblings are ordered by kind (province, departments,
// communes, divisions) then by code. Units whose parent is not in the
// directory are listed as roots.
func (d *DB) Units(ctx context.Context) ([]directory.Unit, error) {
	rows, err := d.ro.QueryContext(ctx, `SELECT code, name, abbr, kind, parent_code, address FROM units`)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var all []directory.Unit
	for rows.Next() {
		var u directory.Unit
		var kind string
		if err := rows.Scan(&u.Code, &u.Name, &u.Abbr, &kind, &u.ParentCode, &u.Address); err != nil {
			return nil, unavailable(err)
		}
		u.Kind = directory.UnitKind(kind)
		all = append(all, u)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(err)
	}
	return treeOrder(all), nil
}

func kindRank(k directory.UnitKind) int {
	switch k {
	case directory.UnitProvince:
		return 0
	case directory.UnitDepartment:
		return 1
	case directory.UnitCommune:
		return 2
	default:
		return 3
	}
}

// treeOrder sorts units parents first (depth-first pre-order).
func treeOrder(all []directory.Unit) []directory.Unit {
	slices.SortFunc(all, func(a, b directory.Unit) int {
		return cmp.Or(cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)), cmp.Compare(a.Code, b.Code))
	})
	exists := make(map[string]bool, len(all))
	for _, u := range all {
		exists[u.Code] = true
	}
	children := make(map[string][]directory.Unit)
	var roots []directory.Unit
	for _, u := range all {
		if u.ParentCode == "" || !exists[u.ParentCode] {
			roots = append(roots, u)
		} else {
			children[u.ParentCode] = append(children[u.ParentCode], u)
		}
	}
	out := make([]directory.Unit, 0, len(all))
	seen := make(map[string]bool, len(all))
	var walk func(u directory.Unit)
	walk = func(u directory.Unit) {
		if seen[u.Code] {
			return
		}
		seen[u.Code] = true
		out = append(out, u)
		for _, c := range children[u.Code] {
			walk(c)
		}
	}
	for _, r := range roots {
		walk(r)
	}
	// PutUnit refuses cycles, but a database edited by hand may hold one:
	// list such units too rather than lose them.
	for _, u := range all {
		walk(u)
	}
	return out
}
