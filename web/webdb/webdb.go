// Package webdb is the web's own SQLite database: the sessions (so that a
// restart, a certificate renewal or an upgrade signs nobody out) and the
// officials' web settings. One file in WAL mode beside the other databases
// of the data directory; its schema grows by numbered migrations.
package webdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// DB is the web database. Writes are few (a sign-in, a session touched at
// most once a minute, a setting saved); one connection serves them all.
type DB struct {
	*sql.DB
}

// migrations are the schema, one step per version (PRAGMA user_version).
// Times are Unix milliseconds.
var migrations = []string{
	// 1: sessions, keyed by the SHA-256 of the cookie (never the cookie).
	`CREATE TABLE sessions (
	key        TEXT PRIMARY KEY,
	address    TEXT NOT NULL,
	csrf       TEXT NOT NULL,
	created    INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	access_day TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_by_address ON sessions(address);`,
	// 2: an official's web settings (signature text, language).
	`CREATE TABLE settings (
	address TEXT NOT NULL,
	name    TEXT NOT NULL,
	value   TEXT NOT NULL,
	PRIMARY KEY (address, name)
) STRICT, WITHOUT ROWID;`,
	// 3: two-factor sign-in (TOTP, recovery codes) and app passwords.
	// Codes and app passwords are random and stored as SHA-256 hashes.
	`CREATE TABLE totp (
	address   TEXT PRIMARY KEY,
	secret    BLOB NOT NULL,
	enabled   INTEGER NOT NULL,
	last_step INTEGER NOT NULL
) STRICT;
CREATE TABLE recovery_codes (
	address TEXT NOT NULL,
	hash    BLOB NOT NULL,
	used    INTEGER NOT NULL,
	PRIMARY KEY (address, hash)
) STRICT;
CREATE TABLE app_passwords (
	id         INTEGER PRIMARY KEY,
	address    TEXT NOT NULL,
	name       TEXT NOT NULL,
	hash       BLOB NOT NULL,
	created    INTEGER NOT NULL,
	last_used  INTEGER NOT NULL,
	last_proto TEXT NOT NULL
) STRICT;
CREATE INDEX app_passwords_by_address ON app_passwords(address);`,
}

// Open opens (creating if needed) the web database at path, readable by
// the server's user only.
func Open(path string) (*DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("webdb: unusable database path %q", path)
	}
	// Sessions are credentials: the file is the server's alone.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err == nil {
		f.Close()
	}
	params := url.Values{
		"_journal_mode": {"WAL"},
		"_busy_timeout": {"10000"},
		// NORMAL in WAL: a crash may lose the last touches of a session,
		// never corrupt the file.
		"_synchronous": {"NORMAL"},
		"_txlock":      {"immediate"},
		// What is deleted or replaced (a session, a TOTP secret sealed
		// over the clear one an older version kept) is overwritten with
		// zeros, not left in free space.
		"_secure_delete": {"on"},
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?"+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("webdb: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if err := migrate(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("webdb: %s: %w", path, err)
	}
	return &DB{DB: db}, nil
}

func migrate(db *sql.DB) error {
	tx, err := db.Begin()
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
	if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, version)); err != nil {
		return err
	}
	return tx.Commit()
}

// Setting names.
const (
	SettingSignature = "signature" // text appended to new messages
	SettingLanguage  = "language"  // "vi" (default) or "en"
)

// Setting returns an official's setting, "" when unset.
func (db *DB) Setting(ctx context.Context, address, name string) (string, error) {
	var v string
	err := db.QueryRowContext(ctx, "SELECT value FROM settings WHERE address = ? AND name = ?", address, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// SetSetting stores a setting; "" removes it.
func (db *DB) SetSetting(ctx context.Context, address, name, value string) error {
	if value == "" {
		_, err := db.ExecContext(ctx, "DELETE FROM settings WHERE address = ? AND name = ?", address, name)
		return err
	}
	_, err := db.ExecContext(ctx, "INSERT INTO settings (address, name, value) VALUES (?, ?, ?) ON CONFLICT (address, name) DO UPDATE SET value = excluded.value",
		address, name, value)
	return err
}
