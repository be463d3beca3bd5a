package orgdb

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"congvu/directory"
)

// Transitional is an old address kept as an alias of its account for a
// while after the account's address changed (transfer, merged or renamed
// unit), so that mail to it keeps arriving; it is removed once it expires.
type Transitional struct {
	Address string // the old address
	Account string // the account's primary address
	Expires time.Time
	Reason  string
}

// AddTransitional records (or extends) a transitional address.
func (db *DB) AddTransitional(ctx context.Context, t Transitional) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO address_expiry (address, account, expires, reason) VALUES (?, ?, ?, ?)
			ON CONFLICT (address) DO UPDATE SET account = excluded.account, expires = excluded.expires, reason = excluded.reason`,
			directory.NormalizeAddress(t.Address), directory.NormalizeAddress(t.Account), t.Expires.UnixNano(), t.Reason)
		return unavailable(err)
	})
}

// TransitionalAddress returns the transitional record of address, if any.
func (db *DB) TransitionalAddress(ctx context.Context, address string) (Transitional, bool, error) {
	t := Transitional{Address: directory.NormalizeAddress(address)}
	var exp int64
	err := db.ro.QueryRowContext(ctx, `SELECT account, expires, reason FROM address_expiry WHERE address = ?`, t.Address).
		Scan(&t.Account, &exp, &t.Reason)
	if errors.Is(err, sql.ErrNoRows) {
		return t, false, nil
	}
	if err != nil {
		return t, false, unavailable(err)
	}
	t.Expires = fromNanos(exp)
	return t, true, nil
}

// TransitionalAddresses lists the transitional addresses of an account
// ("" for every account), soonest expiry first.
func (db *DB) TransitionalAddresses(ctx context.Context, account string) ([]Transitional, error) {
	q := `SELECT address, account, expires, reason FROM address_expiry`
	var args []any
	if account != "" {
		q += ` WHERE account = ?`
		args = append(args, directory.NormalizeAddress(account))
	}
	rows, err := db.ro.QueryContext(ctx, q+` ORDER BY expires, address`, args...)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []Transitional
	for rows.Next() {
		var t Transitional
		var exp int64
		if err := rows.Scan(&t.Address, &t.Account, &exp, &t.Reason); err != nil {
			return nil, unavailable(err)
		}
		t.Expires = fromNanos(exp)
		out = append(out, t)
	}
	return out, unavailable(rows.Err())
}

// RemoveTransitional forgets a transitional address (after its alias was
// removed from the account).
func (db *DB) RemoveTransitional(ctx context.Context, address string) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM address_expiry WHERE address = ?`, directory.NormalizeAddress(address))
		return unavailable(err)
	})
}

// Traffic is the mail that reached an old address since a day.
type Traffic struct {
	Address  string
	Messages int64
	Last     time.Time // the last day with mail
}

// TrafficSince sums the messages delivered through each old address from
// day since on, most used first: the same counts (RecordArrivals) as
// TrafficByDomain, so the per-address and per-domain reports agree.
func (db *DB) TrafficSince(ctx context.Context, since time.Time) ([]Traffic, error) {
	rows, err := db.ro.QueryContext(ctx, `SELECT address, sum(count), max(day) FROM old_address_senders WHERE day >= ?
		GROUP BY address ORDER BY sum(count) DESC, address`, since.Unix()/86400)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []Traffic
	for rows.Next() {
		var t Traffic
		var day int64
		if err := rows.Scan(&t.Address, &t.Messages, &day); err != nil {
			return nil, unavailable(err)
		}
		t.Last = time.Unix(day*86400, 0).UTC()
		out = append(out, t)
	}
	return out, unavailable(rows.Err())
}
