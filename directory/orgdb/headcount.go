package orgdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"congvu/directory"
)

// ErrHeadcount refuses a headcount that is not a number of people.
var ErrHeadcount = directory.ErrInvalid.WithMessage("Invalid headcount", "Số biên chế không hợp lệ")

// SetHeadcount records the officials of unit code (biên chế); 0 forgets
// it (unknown again).
func (db *DB) SetHeadcount(ctx context.Context, code string, n int, actor string) error {
	if code == "" || n < 0 || n > 1_000_000 {
		return ErrHeadcount.With(fmt.Errorf("unit %q: %d", code, n))
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		var err error
		if n == 0 {
			_, err = tx.ExecContext(ctx, `DELETE FROM unit_headcount WHERE code = ?`, code)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO unit_headcount (code, headcount, updated, actor) VALUES (?, ?, ?, ?)
				ON CONFLICT (code) DO UPDATE SET headcount = excluded.headcount, updated = excluded.updated, actor = excluded.actor`,
				code, n, time.Now().UnixNano(), actor)
		}
		return unavailable(err)
	})
}

// Headcounts returns the known headcounts by unit code.
func (db *DB) Headcounts(ctx context.Context) (map[string]int, error) {
	rows, err := db.ro.QueryContext(ctx, `SELECT code, headcount FROM unit_headcount`)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var code string
		var n int
		if err := rows.Scan(&code, &n); err != nil {
			return nil, unavailable(err)
		}
		out[code] = n
	}
	return out, unavailable(rows.Err())
}
