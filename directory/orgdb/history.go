package orgdb

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"congvu/directory"
)

// Membership is where an account was during an interval: its address and
// unit then. Reports of a past period use the membership of that period
// (AsOf), so a unit that merged since still shows with its officials, and
// their accesses, recorded under the address they had, are found.
type Membership struct {
	Current  string // the account's primary address today
	Address  string // its address during the interval
	UnitCode string
	From, To time.Time // zero From: since ever; zero To: until now
}

// RecordMove closes the account's current membership at `at` and opens the
// new one (its new address and unit), and renames the account everywhere
// in the store (transitional addresses, stable keys, states, groups) when
// its primary address changes.
func (db *DB) RecordMove(ctx context.Context, oldAddress, oldUnit, newAddress, newUnit string, at time.Time) error {
	oldAddress, newAddress = directory.NormalizeAddress(oldAddress), directory.NormalizeAddress(newAddress)
	return db.write(ctx, func(tx *sql.Tx) error {
		var open int64
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM membership WHERE current = ? AND to_ns = 0`, oldAddress).Scan(&open)
		if err != nil {
			return unavailable(err)
		}
		if open > 0 {
			_, err = tx.ExecContext(ctx, `UPDATE membership SET to_ns = ? WHERE current = ? AND to_ns = 0`, at.UnixNano(), oldAddress)
		} else {
			// The first move of this account: what it was since ever.
			var since int64
			tx.QueryRowContext(ctx, `SELECT coalesce(max(to_ns), 0) FROM membership WHERE current = ?`, oldAddress).Scan(&since)
			_, err = tx.ExecContext(ctx, `INSERT INTO membership (current, address, unit_code, from_ns, to_ns) VALUES (?, ?, ?, ?, ?)`,
				oldAddress, oldAddress, oldUnit, since, at.UnixNano())
		}
		if err != nil {
			return unavailable(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO membership (current, address, unit_code, from_ns, to_ns) VALUES (?, ?, ?, ?, 0)`,
			oldAddress, newAddress, newUnit, at.UnixNano()); err != nil {
			return unavailable(err)
		}
		if oldAddress != newAddress {
			return renameAccount(ctx, tx, oldAddress, newAddress)
		}
		return nil
	})
}

// RecordCreated notes when an account began, so reports of earlier
// periods leave it out.
func (db *DB) RecordCreated(ctx context.Context, address, unit string, at time.Time) error {
	address = directory.NormalizeAddress(address)
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO membership (current, address, unit_code, from_ns, to_ns)
			SELECT ?1, ?1, ?2, ?3, 0 WHERE NOT EXISTS (SELECT 1 FROM membership WHERE current = ?1)`,
			address, unit, at.UnixNano())
		return unavailable(err)
	})
}

// renameAccount points every row of the store that names an account by
// its primary address at the new one.
func renameAccount(ctx context.Context, tx *sql.Tx, old, new string) error {
	for _, q := range []string{
		`UPDATE membership SET current = ?2 WHERE current = ?1`,
		`UPDATE address_expiry SET account = ?2 WHERE account = ?1`,
		`UPDATE person_keys SET address = ?2 WHERE address = ?1`,
		`UPDATE account_state SET address = ?2 WHERE address = ?1`,
	} {
		if _, err := tx.ExecContext(ctx, q, old, new); err != nil {
			return unavailable(err)
		}
	}
	return nil
}

// RecordUnitVersion keeps the version of a unit that ends at `at` (before
// a rename, a move or a merge), for reports of earlier periods.
func (db *DB) RecordUnitVersion(ctx context.Context, u directory.Unit, at time.Time) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		var since int64
		tx.QueryRowContext(ctx, `SELECT coalesce(max(to_ns), 0) FROM unit_versions WHERE code = ?`, u.Code).Scan(&since)
		_, err := tx.ExecContext(ctx, `INSERT INTO unit_versions (code, name, abbr, kind, parent_code, address, from_ns, to_ns)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, u.Code, u.Name, u.Abbr, string(u.Kind), u.ParentCode, u.Address, since, at.UnixNano())
		return unavailable(err)
	})
}

// AsOf returns dir as it was at `at` for Units and Accounts (unit versions
// and memberships recorded by reorganisations): an account has the address
// and unit it had then, today's address among its Aliases. Lookup and
// Authenticate are today's. It implements policy.History.
func (db *DB) AsOf(dir directory.Directory, at time.Time) directory.Directory {
	return asOf{Directory: dir, db: db, at: at.UnixNano()}
}

type asOf struct {
	directory.Directory
	db *DB
	at int64
}

func (a asOf) Units(ctx context.Context) ([]directory.Unit, error) {
	units, err := a.Directory.Units(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := a.db.ro.QueryContext(ctx, `SELECT code, name, abbr, kind, parent_code, address FROM unit_versions
		WHERE from_ns <= ?1 AND ?1 < to_ns`, a.at)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	then := map[string]directory.Unit{}
	for rows.Next() {
		var u directory.Unit
		var kind string
		if err := rows.Scan(&u.Code, &u.Name, &u.Abbr, &kind, &u.ParentCode, &u.Address); err != nil {
			return nil, unavailable(err)
		}
		u.Kind = directory.UnitKind(kind)
		then[u.Code] = u
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(err)
	}
	for i, u := range units {
		if v, ok := then[u.Code]; ok {
			units[i] = v
			delete(then, u.Code)
		}
	}
	for _, u := range then { // units that no longer exist
		units = append(units, u)
	}
	return directory.SortUnits(units), nil
}

func (a asOf) Accounts(ctx context.Context, unitCode string) ([]directory.Account, error) {
	all, err := a.Directory.Accounts(ctx, "")
	if err != nil {
		return nil, err
	}
	rows, err := a.db.ro.QueryContext(ctx, `SELECT current, address, unit_code, from_ns, to_ns FROM membership`)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	type interval struct {
		address, unit string
		from, to      int64
	}
	hist := map[string][]interval{}
	for rows.Next() {
		var cur string
		var iv interval
		if err := rows.Scan(&cur, &iv.address, &iv.unit, &iv.from, &iv.to); err != nil {
			return nil, unavailable(err)
		}
		hist[cur] = append(hist[cur], iv)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(err)
	}
	var out []directory.Account
	for _, acc := range all {
		ivs := hist[acc.Address]
		keep, covered := len(ivs) == 0, false
		for _, iv := range ivs {
			if iv.from <= a.at && (iv.to == 0 || a.at < iv.to) {
				if iv.address != acc.Address {
					// Today's address stays one of the account's, so
					// reports find what was recorded under either.
					acc.Aliases = append(slices.Clone(acc.Aliases), acc.Address)
				}
				acc.Address, acc.UnitCode, keep, covered = iv.address, iv.unit, true, true
				break
			}
		}
		if !covered && len(ivs) > 0 {
			// Not yet there at `at` when every interval starts later.
			keep = false
			for _, iv := range ivs {
				if iv.from <= a.at {
					keep = true
				}
			}
		}
		if keep && (unitCode == "" || acc.UnitCode == unitCode) {
			out = append(out, acc)
		}
	}
	return out, nil
}
