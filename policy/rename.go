package policy

import (
	"context"
	"database/sql"

	"congvu/directory"
)

// RenameAddress moves what the policy database keeps per account —
// forwarding, a sending lock, the consecutive-failure count — to the
// account's new primary address (a transfer or a reorganisation). Access
// records stay under the address they were made with: reports of past
// periods look them up there.
func (db *DB) RenameAddress(ctx context.Context, old, new string) error {
	old, new = directory.NormalizeAddress(old), directory.NormalizeAddress(new)
	return db.write(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`UPDATE OR REPLACE forwards SET address = ?2 WHERE address = ?1`,
			`UPDATE OR REPLACE send_locks SET address = ?2 WHERE address = ?1`,
			`DELETE FROM auth_failures WHERE address = ?1`,
		} {
			if _, err := tx.ExecContext(ctx, q, old, new); err != nil {
				return err
			}
		}
		return nil
	}, db.forwards.changed)
}
