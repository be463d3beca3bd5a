package sqldir

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
	return directory.SortUnits(all), nil
}
