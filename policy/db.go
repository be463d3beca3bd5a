package policy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// DB is the policy database: audit log, daily-access records, usage
// counters, login-failure counters, sending locks, forwarding and job
// bookkeeping. One SQLite file in WAL mode; the server writes it in batches
// and admin commands (`congvu audit`, `congvu report`) read it while the
// server runs.
type DB struct {
	rw *sql.DB // one connection: every write
	ro *sql.DB
	// forwards is the forwards table as delivery reads it.
	forwards forwardCache
}

const dbSchemaVersion = 2

// dbSchemaV1: times are Unix seconds. Access records are one row per
// official and month with a fixed slot per day (see accessSlot), which keeps
// 150k officials over years small (about 280 bytes per official and month)
// and makes a yearly report read twelve rows per official.
const dbSchemaV1 = `
CREATE TABLE audit (
	id       INTEGER PRIMARY KEY,
	at       INTEGER NOT NULL,
	actor    TEXT NOT NULL,  -- "policy" or the admin who acted
	subject  TEXT NOT NULL,  -- account address, or client IP when no account
	action   TEXT NOT NULL,  -- reject, defer, lock, unlock, retire, ...
	rule     TEXT NOT NULL,
	protocol TEXT NOT NULL,
	ip       TEXT NOT NULL,
	detail   TEXT NOT NULL
) STRICT;
CREATE INDEX audit_by_at ON audit(at);
CREATE INDEX audit_by_subject ON audit(subject, at);
CREATE TABLE users (
	id      INTEGER PRIMARY KEY,
	address TEXT NOT NULL UNIQUE
) STRICT;
CREATE TABLE access (
	month   INTEGER NOT NULL, -- year*12 + month-1
	user_id INTEGER NOT NULL,
	days    BLOB NOT NULL,    -- accessSlot per day of month, trailing empty days cut
	PRIMARY KEY (month, user_id)
) STRICT, WITHOUT ROWID;
CREATE TABLE usage (
	month      INTEGER NOT NULL,
	unit       TEXT NOT NULL,
	direction  INTEGER NOT NULL, -- 0 sent, 1 received
	peer       INTEGER NOT NULL, -- 0 state agencies, 1 outside
	attachment INTEGER NOT NULL, -- 0 without, 1 with
	messages   INTEGER NOT NULL,
	PRIMARY KEY (month, unit, direction, peer, attachment)
) STRICT, WITHOUT ROWID;
CREATE TABLE auth_failures (
	address TEXT PRIMARY KEY,
	count   INTEGER NOT NULL,
	last    INTEGER NOT NULL
) STRICT;
CREATE TABLE send_locks (
	address TEXT PRIMARY KEY,
	at      INTEGER NOT NULL,
	reason  TEXT NOT NULL
) STRICT;
CREATE TABLE forwards (
	address TEXT PRIMARY KEY,
	target  TEXT NOT NULL,
	updated INTEGER NOT NULL,
	actor   TEXT NOT NULL
) STRICT;
CREATE TABLE deleted_mailboxes (
	address TEXT PRIMARY KEY,
	at      INTEGER NOT NULL
) STRICT;
CREATE TABLE job_runs (
	name TEXT PRIMARY KEY,
	day  INTEGER NOT NULL
) STRICT;
`

// dbSchemaV2 counts official documents sent per unit and month (the
// roadmap tables' signed and electronic shares).
const dbSchemaV2 = `
CREATE TABLE documents (
	month      INTEGER NOT NULL,
	unit       TEXT NOT NULL,
	official   INTEGER NOT NULL, -- messages carrying an official document
	signed     INTEGER NOT NULL, -- of which with a valid digital signature
	electronic INTEGER NOT NULL, -- of which electronic originals, not scans
	PRIMARY KEY (month, unit)
) STRICT, WITHOUT ROWID;
`

// OpenDB opens (creating if needed) the policy database at path.
func OpenDB(path string) (*DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("policy: unusable database path %q", path)
	}
	params := url.Values{
		"_journal_mode": {"WAL"},
		"_busy_timeout": {"10000"},
		// NORMAL in WAL: a crash loses at most the last batches, never
		// corrupts; access records are statistics, and locks that matter
		// live in the directory.
		"_synchronous": {"NORMAL"},
		"_txlock":      {"immediate"},
		// Every delivery asks the same few queries (usage counters,
		// forwarding rules): keep them prepared (issue 16).
		"_stmt_cache_size": {"32"},
	}
	rw, err := sql.Open("sqlite3", "file:"+path+"?"+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("policy: open %s: %w", path, err)
	}
	rw.SetMaxOpenConns(1)
	db := &DB{rw: rw}
	if err := db.migrate(); err != nil {
		rw.Close()
		return nil, fmt.Errorf("policy: %s: %w", path, err)
	}
	ro, err := sql.Open("sqlite3", "file:"+path+"?"+url.Values{"_busy_timeout": {"10000"}, "_query_only": {"1"}, "_stmt_cache_size": {"32"}}.Encode())
	if err != nil {
		rw.Close()
		return nil, fmt.Errorf("policy: open %s: %w", path, err)
	}
	ro.SetMaxOpenConns(4)
	db.ro = ro
	return db, nil
}

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
	migrations := [dbSchemaVersion]string{dbSchemaV1, dbSchemaV2}
	if version > dbSchemaVersion {
		return fmt.Errorf("schema version %d is newer than this program (%d)", version, dbSchemaVersion)
	}
	for ; version < dbSchemaVersion; version++ {
		if _, err := tx.Exec(migrations[version]); err != nil {
			return fmt.Errorf("migration to schema %d: %w", version+1, err)
		}
	}
	if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, dbSchemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

// Close closes the database.
func (db *DB) Close() error {
	return errors.Join(db.ro.Close(), db.rw.Close())
}

// write runs fn in one write transaction.
//
// Each of done runs once the transaction has ended, whatever its outcome:
// a writer of a table something caches says so there.
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx) error, done ...func()) error {
	for _, f := range done {
		defer f()
	}
	tx, err := db.rw.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// SendLock is a sending lock of an account.
type SendLock struct {
	Address string
	At      time.Time
	Reason  string
}

// SendLocked returns the account's sending lock, or nil.
func (db *DB) SendLocked(ctx context.Context, address string) (*SendLock, error) {
	l := SendLock{Address: address}
	var at int64
	err := db.ro.QueryRowContext(ctx, `SELECT at, reason FROM send_locks WHERE address = ?`, address).Scan(&at, &l.Reason)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	l.At = time.Unix(at, 0)
	return &l, nil
}

// SendLocks lists every sending lock.
func (db *DB) SendLocks(ctx context.Context) ([]SendLock, error) {
	rows, err := db.ro.QueryContext(ctx, `SELECT address, at, reason FROM send_locks ORDER BY address`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SendLock
	for rows.Next() {
		var l SendLock
		var at int64
		if err := rows.Scan(&l.Address, &at, &l.Reason); err != nil {
			return nil, err
		}
		l.At = time.Unix(at, 0)
		out = append(out, l)
	}
	return out, rows.Err()
}

func (db *DB) setSendLock(ctx context.Context, l SendLock) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO send_locks (address, at, reason) VALUES (?, ?, ?)
			ON CONFLICT (address) DO UPDATE SET at = excluded.at, reason = excluded.reason`,
			l.Address, l.At.Unix(), l.Reason)
		return err
	})
}

// clearSendLock removes a sending lock and reports whether there was one.
func (db *DB) clearSendLock(ctx context.Context, address string) (bool, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM send_locks WHERE address = ?`, address)
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	return n > 0, err
}

// lastRun and setLastRun remember the day a daily job last ran, so that a
// restart does not repeat it.
func (db *DB) lastRun(ctx context.Context, name string) (Day, bool, error) {
	var d int64
	err := db.ro.QueryRowContext(ctx, `SELECT day FROM job_runs WHERE name = ?`, name).Scan(&d)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return Day(d), err == nil, err
}

func (db *DB) setLastRun(ctx context.Context, name string, d Day) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO job_runs (name, day) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET day = excluded.day`, name, int64(d))
		return err
	})
}
