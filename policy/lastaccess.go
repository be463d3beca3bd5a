package policy

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// LastAccess is the last day address accessed its mailbox (any protocol
// or the web) within the access table's last 13 months; ok is false when
// none is recorded. Accesses still buffered in a running engine
// (flushed every minute) are not seen.
func (db *DB) LastAccess(ctx context.Context, address string) (day Day, ok bool, err error) {
	var id int64
	err = db.ro.QueryRowContext(ctx, `SELECT id FROM users WHERE address = ?`, strings.ToLower(address)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	rows, err := db.ro.QueryContext(ctx, `SELECT month, days FROM access WHERE user_id = ? ORDER BY month DESC LIMIT 13`, id)
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var month int64
		var days []byte
		if err := rows.Scan(&month, &days); err != nil {
			return 0, false, err
		}
		y, m := int(month/12), time.Month(month%12+1)
		for dom := 31; dom >= 1; dom-- {
			if slotAt(days, dom-1).accessed() {
				return DayFromDate(y, m, dom), true, nil
			}
		}
	}
	return 0, false, rows.Err()
}
