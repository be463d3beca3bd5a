package orgdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/text/unicode/norm"

	"congvu/directory"
)

// maxUnitDepth bounds the walk up the tree when checking for cycles.
const maxUnitDepth = 32

// PutUnit creates or updates a unit of the store's own tree (used with
// directories that have none). Same rules as the backends: the parent
// need not exist yet, a unit may not become its own ancestor.
func (db *DB) PutUnit(ctx context.Context, u directory.Unit) error {
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
	return db.write(ctx, func(tx *sql.Tx) error {
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
		_, err := tx.ExecContext(ctx, `INSERT INTO units (code, name, abbr, kind, parent_code, address) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (code) DO UPDATE SET name = excluded.name, abbr = excluded.abbr, kind = excluded.kind,
				parent_code = excluded.parent_code, address = excluded.address`,
			u.Code, u.Name, u.Abbr, string(u.Kind), u.ParentCode, u.Address)
		return unavailable(err)
	})
}

// Units lists the store's units, parents before children.
func (db *DB) Units(ctx context.Context) ([]directory.Unit, error) {
	rows, err := db.ro.QueryContext(ctx, `SELECT code, name, abbr, kind, parent_code, address FROM units`)
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
