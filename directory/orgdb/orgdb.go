// Package orgdb is congvu's own store of directory-side data that the
// directory backends do not hold: the state of accounts and the units when
// the directory is Active Directory (read-only for congvu, with no place
// for a lock reason or a unit tree), and, for every backend, domain
// aliases, groups, the expiry of transitional addresses, the history of
// unit membership and provisioning requests. One SQLite file (WAL) in the
// data directory, [directory] org_db_path.
//
// Writes go through one connection; reads through a pool (WAL: readers
// never wait). Admin commands open the same file while the server runs;
// busy_timeout covers them.
package orgdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver

	"congvu/internal/mailerr"
)

// DB is the organisation store.
type DB struct {
	rw *sql.DB // exactly one connection: every write
	ro *sql.DB
}

// migrations[i] brings the database from schema version i to i+1. Times
// are Unix nanoseconds.
var migrations = []string{
	// 1: what Active Directory cannot hold.
	`CREATE TABLE account_state (
		address TEXT PRIMARY KEY, -- primary address, lower case
		state   TEXT NOT NULL,    -- locked or retired (active: no row)
		reason  TEXT NOT NULL DEFAULT '',
		changed INTEGER NOT NULL
	) STRICT;
	CREATE TABLE units (
		code        TEXT PRIMARY KEY,
		name        TEXT NOT NULL,
		abbr        TEXT NOT NULL DEFAULT '',
		kind        TEXT NOT NULL,
		parent_code TEXT NOT NULL DEFAULT '',
		address     TEXT NOT NULL DEFAULT ''
	) STRICT;`,
	// 2: reorganisation — domain aliases, transitional addresses and the
	// traffic still reaching old addresses, unit membership and unit
	// versions for reports of past periods, importers' stable keys, and
	// jobs handed from admin commands to the running server.
	`CREATE TABLE domain_aliases (
		old     TEXT PRIMARY KEY,
		new     TEXT NOT NULL,
		created INTEGER NOT NULL,
		actor   TEXT NOT NULL
	) STRICT;
	CREATE TABLE address_expiry (
		address TEXT PRIMARY KEY, -- a transitional alias
		account TEXT NOT NULL,    -- the account's primary address
		expires INTEGER NOT NULL,
		reason  TEXT NOT NULL DEFAULT ''
	) STRICT;
	CREATE INDEX address_expiry_by_account ON address_expiry(account);
	CREATE TABLE alias_traffic (
		address TEXT NOT NULL,    -- the old address as written by senders
		day     INTEGER NOT NULL, -- Unix day (UTC)
		count   INTEGER NOT NULL,
		PRIMARY KEY (address, day)
	) STRICT, WITHOUT ROWID;
	CREATE TABLE membership (
		id        INTEGER PRIMARY KEY,
		current   TEXT NOT NULL, -- the account's primary address today
		address   TEXT NOT NULL, -- its address during the interval
		unit_code TEXT NOT NULL,
		from_ns   INTEGER NOT NULL, -- 0: since ever
		to_ns     INTEGER NOT NULL  -- 0: until now
	) STRICT;
	CREATE INDEX membership_by_current ON membership(current);
	CREATE TABLE unit_versions (
		id          INTEGER PRIMARY KEY,
		code        TEXT NOT NULL,
		name        TEXT NOT NULL,
		abbr        TEXT NOT NULL,
		kind        TEXT NOT NULL,
		parent_code TEXT NOT NULL,
		address     TEXT NOT NULL,
		from_ns     INTEGER NOT NULL,
		to_ns       INTEGER NOT NULL
	) STRICT;
	CREATE INDEX unit_versions_by_code ON unit_versions(code);
	CREATE TABLE person_keys (
		key     TEXT PRIMARY KEY, -- employee or citizen ID from import files
		address TEXT NOT NULL
	) STRICT;
	CREATE INDEX person_keys_by_address ON person_keys(address);
	CREATE TABLE jobs (
		id       INTEGER PRIMARY KEY,
		kind     TEXT NOT NULL,
		args     TEXT NOT NULL, -- JSON
		actor    TEXT NOT NULL,
		created  INTEGER NOT NULL,
		state    TEXT NOT NULL, -- pending, running, done, failed
		result   TEXT NOT NULL DEFAULT '',
		finished INTEGER NOT NULL DEFAULT 0
	) STRICT;
	CREATE INDEX jobs_pending ON jobs(state, id);`,
	// groups: distribution lists and danh bạ publishing controls (issue
	// 14). publish_generation changes with every write to either, so the
	// one address-book snapshot knows at once that it is stale.
	`CREATE TABLE groups (
		address   TEXT PRIMARY KEY, -- lower case
		name      TEXT NOT NULL,
		kind      TEXT NOT NULL,    -- custom or unit
		unit_code TEXT NOT NULL DEFAULT '', -- unit groups: whose people; custom: the owning unit
		sub_units INTEGER NOT NULL DEFAULT 0,
		policy    TEXT NOT NULL,    -- members, unit, state or anyone
		created   INTEGER NOT NULL,
		actor     TEXT NOT NULL
	) STRICT;
	CREATE TABLE group_members (
		group_address TEXT NOT NULL REFERENCES groups(address) ON DELETE CASCADE,
		member        TEXT NOT NULL, -- an account's address or another group's
		PRIMARY KEY (group_address, member)
	) STRICT, WITHOUT ROWID;
	CREATE TABLE publish_withheld (
		scope     TEXT NOT NULL, -- account or unit
		key       TEXT NOT NULL, -- the address or the unit code
		attribute TEXT NOT NULL, -- phone, title, or entry (the whole entry)
		changed   INTEGER NOT NULL,
		actor     TEXT NOT NULL,
		PRIMARY KEY (scope, key, attribute)
	) STRICT, WITHOUT ROWID;
	CREATE TABLE publish_generation (
		id INTEGER PRIMARY KEY CHECK (id = 1),
		n  INTEGER NOT NULL
	) STRICT;
	INSERT INTO publish_generation (id, n) VALUES (1, 0);`,
	// provisioning requests (package provision): filed by unit
	// administrators, decided by operators within the working-day limit.
	`CREATE TABLE provision_requests (
		id         INTEGER PRIMARY KEY,
		kind       TEXT NOT NULL,    -- new, edit, transfer, lock
		unit_code  TEXT NOT NULL,    -- the unit the request is for
		payload    TEXT NOT NULL,    -- JSON: rows, address, changes
		note       TEXT NOT NULL DEFAULT '',
		delivery   TEXT NOT NULL DEFAULT 'download', -- initial passwords: download (web, once) or file (CLI)
		filed_by   TEXT NOT NULL,
		filed_ip   TEXT NOT NULL DEFAULT '',
		filed      INTEGER NOT NULL,
		due        INTEGER NOT NULL,
		state      TEXT NOT NULL,    -- pending, approved, rejected, failed
		decided_by TEXT NOT NULL DEFAULT '',
		decided_ip TEXT NOT NULL DEFAULT '',
		decided    INTEGER NOT NULL DEFAULT 0,
		reason     TEXT NOT NULL DEFAULT '',
		result     TEXT NOT NULL DEFAULT '',
		passwords  TEXT NOT NULL DEFAULT '', -- initial passwords until fetched once, then ''
		fetched    INTEGER NOT NULL DEFAULT 0
	) STRICT;
	CREATE INDEX provision_requests_by_state ON provision_requests(state, due);`,
	// reorg2: who still writes to old addresses (distinct senders per day
	// for the per-domain traffic report) and the notices sent to them
	// (at most one per sender and old address per period).
	`CREATE TABLE old_address_senders (
		address TEXT NOT NULL,    -- the old address as written by the sender
		day     INTEGER NOT NULL, -- Unix day (UTC)
		sender  TEXT NOT NULL,    -- envelope sender, lower case; "" for the null sender
		count   INTEGER NOT NULL,
		PRIMARY KEY (address, day, sender)
	) STRICT, WITHOUT ROWID;
	CREATE TABLE old_address_notices (
		address TEXT NOT NULL, -- the old address
		sender  TEXT NOT NULL, -- who was told the new one
		sent    INTEGER NOT NULL, -- Unix nanoseconds
		PRIMARY KEY (address, sender)
	) STRICT, WITHOUT ROWID;`,
	// Officials of each unit (biên chế), where known, for the access
	// report's coverage figure (accounts issued / headcount).
	`CREATE TABLE unit_headcount (
		code      TEXT PRIMARY KEY,
		headcount INTEGER NOT NULL CHECK (headcount >= 0),
		updated   INTEGER NOT NULL,
		actor     TEXT NOT NULL DEFAULT ''
	) STRICT;`,
	// tidy: old-address traffic is counted once, per delivered message,
	// in old_address_senders; alias_traffic counted directory lookups
	// (each RCPT, refused messages too) and doubled the report.
	`DROP TABLE alias_traffic;`,
}

// Open opens (creating if needed) the store at path.
func Open(path string) (*DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("orgdb: unusable database path %q", path)
	}
	params := url.Values{
		"_journal_mode": {"WAL"},
		"_busy_timeout": {"10000"},
		"_synchronous":  {"FULL"}, // account locks and approvals must survive a crash
		"_foreign_keys": {"1"},
		"_txlock":       {"immediate"},
		// Initial passwords, once fetched or sealed over, are overwritten
		// with zeros, not left in free space.
		"_secure_delete": {"on"},
		// Every RCPT resolves through here: keep its queries prepared.
		"_stmt_cache_size": {"32"},
	}
	rw, err := sql.Open("sqlite3", "file:"+path+"?"+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("orgdb: open %s: %w", path, err)
	}
	rw.SetMaxOpenConns(1)
	db := &DB{rw: rw}
	if err := db.migrate(); err != nil {
		rw.Close()
		return nil, fmt.Errorf("orgdb: %s: %w", path, err)
	}
	ro, err := sql.Open("sqlite3", "file:"+path+"?"+url.Values{"_busy_timeout": {"10000"}, "_foreign_keys": {"1"},
		"_query_only": {"1"}, "_stmt_cache_size": {"32"}}.Encode())
	if err != nil {
		rw.Close()
		return nil, fmt.Errorf("orgdb: open %s: %w", path, err)
	}
	ro.SetMaxOpenConns(max(4, 2*runtime.GOMAXPROCS(0)))
	db.ro = ro
	return db, nil
}

// SchemaVersion is the schema this program writes.
func SchemaVersion() int { return len(migrations) }

func (db *DB) migrate() error {
	tx, err := db.rw.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this program (%d)", version, len(migrations))
	}
	for ; version < len(migrations); version++ {
		if _, err := tx.Exec(migrations[version]); err != nil {
			return fmt.Errorf("migration to schema %d: %w", version+1, err)
		}
	}
	if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, len(migrations))); err != nil {
		return err
	}
	return tx.Commit()
}

// Close closes the store.
func (db *DB) Close() error {
	var errs []error
	if db.ro != nil {
		errs = append(errs, db.ro.Close())
	}
	errs = append(errs, db.rw.Close())
	return errors.Join(errs...)
}

// write runs fn in one write transaction.
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.rw.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return unavailable(err)
	}
	return nil
}

// unavailable wraps a failure of the store: temporary for mail clients.
// nil stays nil.
func unavailable(err error) error {
	if err == nil {
		return nil
	}
	if e := mailerr.As(err); e != nil {
		return e
	}
	return mailerr.ErrDirectoryUnavailable.With(err)
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
