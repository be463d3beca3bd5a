package orgdb

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"congvu/directory"
)

// Withheld is one danh bạ publishing control: an attribute of a person,
// or of everybody in a unit and its sub-units, that the published danh
// bạ (page, exports, LDAP, CardDAV, recipient completion) leaves out.
type Withheld struct {
	Scope     string // ScopeAccount or ScopeUnit
	Key       string // the account's address or the unit's code
	Attribute string // AttrPhone, AttrTitle or AttrEntry (the whole entry)
	Changed   time.Time
	Actor     string
}

// Publishing scopes and attributes.
const (
	ScopeAccount = "account"
	ScopeUnit    = "unit"
	AttrPhone    = "phone"
	AttrTitle    = "title"
	AttrEntry    = "entry" // hidden: not listed at all
)

// WithheldAttributes lists what can be withheld.
var WithheldAttributes = []string{AttrPhone, AttrTitle, AttrEntry}

// ErrWithheld refuses a publishing control that does not parse.
var ErrWithheld = directory.ErrInvalid.WithMessage("Invalid publishing control", "Thiết lập công bố danh bạ không hợp lệ")

func checkWithheld(w *Withheld) error {
	w.Key = strings.TrimSpace(w.Key)
	switch w.Scope {
	case ScopeAccount:
		w.Key = directory.NormalizeAddress(w.Key)
		if directory.CheckAddress(w.Key) != nil {
			return ErrWithheld.With(fmt.Errorf("address %q", w.Key))
		}
	case ScopeUnit:
		if w.Key == "" {
			return ErrWithheld.With(fmt.Errorf("no unit"))
		}
	default:
		return ErrWithheld.With(fmt.Errorf("scope %q (account or unit)", w.Scope))
	}
	if !slices.Contains(WithheldAttributes, w.Attribute) {
		return ErrWithheld.With(fmt.Errorf("attribute %q (phone, title or entry)", w.Attribute))
	}
	return nil
}

// SetWithheld withholds (on) or publishes again (off) an attribute; it
// reports whether anything changed.
func (db *DB) SetWithheld(ctx context.Context, w Withheld, on bool) (bool, error) {
	if err := checkWithheld(&w); err != nil {
		return false, err
	}
	var changed bool
	err := db.write(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if on {
			res, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO publish_withheld (scope, key, attribute, changed, actor)
				VALUES (?, ?, ?, ?, ?)`, w.Scope, w.Key, w.Attribute, time.Now().UnixNano(), w.Actor)
		} else {
			res, err = tx.ExecContext(ctx, `DELETE FROM publish_withheld WHERE scope = ? AND key = ? AND attribute = ?`,
				w.Scope, w.Key, w.Attribute)
		}
		if err != nil {
			return unavailable(err)
		}
		n, _ := res.RowsAffected()
		changed = n > 0
		return bumpGeneration(ctx, tx)
	})
	return changed, err
}

// WithheldAll lists every publishing control.
func (db *DB) WithheldAll(ctx context.Context) ([]Withheld, error) {
	rows, err := db.ro.QueryContext(ctx, `SELECT scope, key, attribute, changed, actor FROM publish_withheld ORDER BY scope, key, attribute`)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []Withheld
	for rows.Next() {
		var w Withheld
		var changed int64
		if err := rows.Scan(&w.Scope, &w.Key, &w.Attribute, &changed, &w.Actor); err != nil {
			return nil, unavailable(err)
		}
		w.Changed = fromNanos(changed)
		out = append(out, w)
	}
	return out, unavailable(rows.Err())
}
