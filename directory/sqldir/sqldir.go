// Package sqldir is the embedded directory: one SQLite file (WAL mode) that
// holds units, accounts, aliases and argon2id password hashes. It implements
// directory.Writer and is safe for concurrent use.
//
// Writes go through a single connection, so they are serialised in-process
// and never fail with SQLITE_BUSY among themselves; reads use a separate pool
// and, thanks to WAL, never wait for writers. busy_timeout covers other
// processes (an admin tool) writing the same file.
package sqldir

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver

	"congvu/directory"
	"congvu/internal/mailerr"
)

// Options configures a DB.
type Options struct {
	// Logger receives account changes and backend problems; never passwords.
	// Nil discards.
	Logger *slog.Logger
}

// DB is a directory stored in SQLite.
type DB struct {
	rw  *sql.DB // exactly one connection: all writes
	ro  *sql.DB // reads
	log *slog.Logger
	// dummyHash is verified against when a login is unknown, so that unknown
	// and known logins take the same time (no user enumeration by timing).
	dummyHash string
	// kdfSlots bounds concurrent password hashing to the number of CPUs:
	// each argon2id evaluation needs 19 MiB, so a burst of logins (or of
	// password guesses) would otherwise cost memory in proportion to the
	// burst, and page faults on fresh memory that cost more than the hash.
	kdfSlots chan struct{}
}

var _ directory.Writer = (*DB)(nil)

// schemaVersion is stored in PRAGMA user_version.
const schemaVersion = 4

// schemaV1 creates the first schema.
const schemaV1 = `CREATE TABLE units (
		code        TEXT PRIMARY KEY,
		name        TEXT NOT NULL,
		abbr        TEXT NOT NULL DEFAULT '',
		kind        TEXT NOT NULL,
		parent_code TEXT NOT NULL DEFAULT '',
		address     TEXT NOT NULL DEFAULT ''
	) STRICT;
	CREATE TABLE accounts (
		address          TEXT PRIMARY KEY,
		display_name     TEXT NOT NULL DEFAULT '',
		unit_code        TEXT NOT NULL DEFAULT '',
		title            TEXT NOT NULL DEFAULT '',
		phone            TEXT NOT NULL DEFAULT '',
		role             TEXT NOT NULL,
		state            TEXT NOT NULL,
		state_changed    INTEGER NOT NULL DEFAULT 0, -- Unix nanoseconds, 0 = unknown
		quota_bytes      INTEGER NOT NULL DEFAULT 0,
		must_change      INTEGER NOT NULL DEFAULT 0,
		password_changed INTEGER NOT NULL DEFAULT 0,
		password_hash    TEXT NOT NULL DEFAULT '' -- argon2id PHC string, '' = cannot log in
	) STRICT;
	CREATE INDEX accounts_by_unit ON accounts(unit_code, address);
	CREATE TABLE aliases (
		alias   TEXT PRIMARY KEY,
		address TEXT NOT NULL REFERENCES accounts(address) ON DELETE CASCADE
	) STRICT;
	CREATE INDEX aliases_by_address ON aliases(address);`

// schemaV2 records why an account is locked or retired.
const schemaV2 = `ALTER TABLE accounts ADD COLUMN state_reason TEXT NOT NULL DEFAULT ''`

// schemaV3 publishes S/MIME certificates (userSMIMECertificate).
const schemaV3 = `ALTER TABLE accounts ADD COLUMN smime_certificate BLOB`

// schemaV4 records the node that stores the mailbox (LDAP's congvuMailHost).
const schemaV4 = `ALTER TABLE accounts ADD COLUMN mail_host TEXT NOT NULL DEFAULT ''`

// Open opens (creating if needed) the directory database at path.
func Open(path string, opts Options) (*DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqldir: unusable database path %q", path)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	params := url.Values{
		"_journal_mode": {"WAL"},
		"_busy_timeout": {"5000"},
		"_synchronous":  {"NORMAL"}, // WAL + NORMAL: durable at checkpoints, never corrupt
		"_foreign_keys": {"1"},
		"_txlock":       {"immediate"}, // take the write lock at BEGIN: no upgrade deadlocks
		// Every RCPT looks its address up: keep the queries prepared
		// (issue 16).
		"_stmt_cache_size": {"32"},
	}
	rw, err := sql.Open("sqlite3", path+"?"+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqldir: open %s: %w", path, err)
	}
	rw.SetMaxOpenConns(1)
	d := &DB{rw: rw, log: logger, kdfSlots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))}
	if err := d.migrate(); err != nil {
		rw.Close()
		return nil, fmt.Errorf("sqldir: %s: %w", path, err)
	}
	// Readers: the journal mode is persistent in the file, and query_only
	// makes a stray write through the read pool fail loudly.
	params = url.Values{"_busy_timeout": {"5000"}, "_foreign_keys": {"1"}, "_query_only": {"1"}, "_stmt_cache_size": {"32"}}
	ro, err := sql.Open("sqlite3", path+"?"+params.Encode())
	if err != nil {
		rw.Close()
		return nil, fmt.Errorf("sqldir: open %s: %w", path, err)
	}
	ro.SetMaxOpenConns(max(4, 2*runtime.GOMAXPROCS(0)))
	ro.SetMaxIdleConns(max(4, 2*runtime.GOMAXPROCS(0)))
	d.ro = ro
	if d.dummyHash, err = hashPassword(rand.Text()); err != nil {
		d.Close()
		return nil, fmt.Errorf("sqldir: %w", err)
	}
	return d, nil
}

func (d *DB) migrate() error {
	ctx := context.Background()
	tx, err := d.rw.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// migrations[i] brings a database from schema version i to i+1.
	migrations := [schemaVersion]string{schemaV1, schemaV2, schemaV3, schemaV4}
	var version int
	if err := tx.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	if version > schemaVersion {
		return fmt.Errorf("schema version %d is newer than this program (%d)", version, schemaVersion)
	}
	for ; version < schemaVersion; version++ {
		if _, err := tx.Exec(migrations[version]); err != nil {
			return fmt.Errorf("migration to schema %d: %w", version+1, err)
		}
	}
	if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

// Close closes the database.
func (d *DB) Close() error {
	var errs []error
	if d.ro != nil {
		errs = append(errs, d.ro.Close())
	}
	errs = append(errs, d.rw.Close())
	return errors.Join(errs...)
}

// unavailable wraps a backend failure: temporary, never "unknown user".
func unavailable(err error) error {
	if e := mailerr.As(err); e != nil {
		return e
	}
	return mailerr.ErrDirectoryUnavailable.With(err)
}

// nanos and fromNanos store times as Unix nanoseconds, 0 for the zero time.
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
