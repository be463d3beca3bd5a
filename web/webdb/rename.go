package webdb

import (
	"context"
	"strings"
)

// RenameAddress moves what the web keeps per official — sessions,
// settings, two-factor secret, recovery codes, app passwords — to the
// account's new primary address (a transfer or a reorganisation).
func (db *DB) RenameAddress(ctx context.Context, old, new string) error {
	old, new = strings.ToLower(old), strings.ToLower(new)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, table := range []string{"sessions", "settings", "totp", "recovery_codes", "app_passwords"} {
		if _, err := tx.ExecContext(ctx, `UPDATE OR REPLACE `+table+` SET address = ? WHERE address = ?`, new, old); err != nil {
			return err
		}
	}
	return tx.Commit()
}
