package orgdb

import (
	"context"
	"database/sql"
	"strings"

	"congvu/directory"
)

// PersonKeys maps the stable keys of import files (an employee or citizen
// ID column) to accounts, so that re-importing after a reorganisation
// moves people instead of duplicating them.
func (db *DB) PersonKeys(ctx context.Context) (map[string]string, error) {
	rows, err := db.ro.QueryContext(ctx, `SELECT key, address FROM person_keys`)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var k, a string
		if err := rows.Scan(&k, &a); err != nil {
			return nil, unavailable(err)
		}
		m[k] = a
	}
	return m, unavailable(rows.Err())
}

// SetPersonKey records the stable key of an account.
func (db *DB) SetPersonKey(ctx context.Context, key, address string) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO person_keys (key, address) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET address = excluded.address`,
			NormalizeKey(key), directory.NormalizeAddress(address))
		return unavailable(err)
	})
}

// NormalizeKey is how stable keys are compared: without spaces, in upper
// case ("001 085 012 345" and "001085012345" are one citizen ID).
func NormalizeKey(k string) string {
	return strings.ToUpper(strings.Join(strings.Fields(k), ""))
}

// RenamePersonKeys points the stable keys of an account renamed by a
// reorganisation at its new address.
func (db *DB) RenamePersonKeys(ctx context.Context, old, new string) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE person_keys SET address = ? WHERE address = ?`,
			directory.NormalizeAddress(new), directory.NormalizeAddress(old))
		return unavailable(err)
	})
}
