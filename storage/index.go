package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // SQLite driver for the per-user index

	"congvu/internal/mailerr"
)

// indexFile is the per-user SQLite index inside the user directory.
const indexFile = "index.db"

// schemaVersion is stored in PRAGMA user_version. Version 4 added the
// expunge log, the \Recent threshold, subscriptions that outlive their
// folder and the (folder, modseq) index behind ChangedSince; version 5 the
// text-filter mark (folders.text_from_uid); version 6 keys the cache by one
// integer (cacheKey). migrateFolders and migrateCache bring older indexes
// up to date at their first open.
const schemaVersion = 6

// schema is the per-user index. The message files are the data; the index
// is the truth about which files are visible and with which flags.
//
//   - folders: one row per folder; id is the directory name, so RENAME only
//     changes the row. The counters (messages…size) are kept in step by every
//     write so STATUS is one row read.
//   - messages: small rows listed by SELECT/FETCH FLAGS; cache: the parsed
//     envelope/body structure and raw header, read only by FETCH of those;
//     textidx: each message's text filter (text.go), read by SEARCH
//     BODY/TEXT. A message without a textidx row (delivered before schema
//     version 2, or with too much text) is always searched for real.
//     textslice: the filters of many messages of a folder, bit-sliced
//     (schema version 3, textpack.go), so that a search reads few rows.
//   - removals: files whose rows are gone but which may still be on disk
//     (expunged messages, deleted folders with uid 0). They are removed after
//     the commit and the rows cleared after that; recovery finishes the job
//     after a crash, and Check does not count them as orphans.
//   - expunged: the MODSEQ at which each expunged UID went, for QRESYNC's
//     VANISHED (EARLIER) (RFC 7162 §3.2.5.2); bounded per folder, and
//     folders.expunge_floor is the MODSEQ up to which it was trimmed.
//   - folders.first_recent_uid: messages from this UID on are \Recent for
//     the next session that selects the folder (RFC 3501 §2.3.2).
//   - folders.text_from_uid: messages below this UID have had their text
//     filter built (or have too much text for one); from it on, a message
//     without a textidx row waits for the next search to build it.
//   - lost_subscriptions: subscriptions whose folder was deleted; a
//     subscription is not removed with its folder (RFC 9051 §6.3.7).
//   - seen: in a shared mailbox, which messages each reader has seen
//     (per-user \Seen, RFC 4314 §4); messages.seen is the owner's.
const schema = `
CREATE TABLE IF NOT EXISTS account (
	id               INTEGER PRIMARY KEY CHECK (id = 1),
	used_bytes       INTEGER NOT NULL DEFAULT 0,
	next_folder_id   INTEGER NOT NULL,
	next_uidvalidity INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS folders (
	id             INTEGER PRIMARY KEY,
	name           TEXT NOT NULL UNIQUE,
	special_use    TEXT NOT NULL DEFAULT '',
	subscribed     INTEGER NOT NULL DEFAULT 0,
	uidvalidity    INTEGER NOT NULL,
	uidnext        INTEGER NOT NULL DEFAULT 1,
	highest_modseq INTEGER NOT NULL DEFAULT 1,
	messages       INTEGER NOT NULL DEFAULT 0,
	unseen         INTEGER NOT NULL DEFAULT 0,
	deleted        INTEGER NOT NULL DEFAULT 0,
	size           INTEGER NOT NULL DEFAULT 0,
	first_recent_uid INTEGER NOT NULL DEFAULT 1,
	expunge_floor  INTEGER NOT NULL DEFAULT 0,
	text_from_uid  INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS messages (
	folder_id     INTEGER NOT NULL,
	uid           INTEGER NOT NULL,
	modseq        INTEGER NOT NULL,
	flags         TEXT NOT NULL DEFAULT '',
	seen          INTEGER NOT NULL DEFAULT 0,
	deleted       INTEGER NOT NULL DEFAULT 0,
	internal_date INTEGER NOT NULL,
	size          INTEGER NOT NULL,
	PRIMARY KEY (folder_id, uid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cache (
	id     INTEGER PRIMARY KEY, -- cacheKey(folder_id, uid)
	header BLOB NOT NULL,
	parsed BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS textidx (
	folder_id INTEGER NOT NULL,
	uid       INTEGER NOT NULL,
	filter    BLOB NOT NULL,
	PRIMARY KEY (folder_id, uid)
);
CREATE TABLE IF NOT EXISTS textslice (
	folder_id INTEGER NOT NULL,
	pack      INTEGER NOT NULL,
	slice     INTEGER NOT NULL,
	bits      BLOB NOT NULL,
	PRIMARY KEY (folder_id, pack, slice)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS removals (
	folder_id INTEGER NOT NULL,
	uid       INTEGER NOT NULL,
	PRIMARY KEY (folder_id, uid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS expunged (
	folder_id INTEGER NOT NULL,
	uid       INTEGER NOT NULL,
	modseq    INTEGER NOT NULL,
	PRIMARY KEY (folder_id, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS expunged_modseq ON expunged (folder_id, modseq);
CREATE TABLE IF NOT EXISTS lost_subscriptions (
	name TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_modseq ON messages (folder_id, modseq);
CREATE TABLE IF NOT EXISTS seen (
	folder_id INTEGER NOT NULL,
	reader    TEXT NOT NULL,
	uid       INTEGER NOT NULL,
	PRIMARY KEY (folder_id, reader, uid)
) WITHOUT ROWID;
`

// openIndex opens (creating if needed) an index database. Every connection
// gets WAL, synchronous=FULL (a commit is on disk when it returns, which the
// durability contract needs; only writeRecoverable lowers it, for one
// transaction recovery can redo from the files), a busy timeout for the rare cross-process
// writer (`congvu storage check`), and BEGIN IMMEDIATE so a write
// transaction holds the write lock from its first statement: the
// link-then-commit sequence is then atomic with respect to every other
// process that looks at the same folder.
func openIndex(path string) (*sql.DB, error) {
	return openIndexMode(path, "WAL")
}

func openIndexMode(path, journalMode string) (*sql.DB, error) {
	q := url.Values{}
	q.Set("_journal_mode", journalMode)
	q.Set("_synchronous", "FULL")
	q.Set("_busy_timeout", "15000")
	q.Set("_txlock", "immediate")
	// Reuse prepared statements: the same few queries run all the time.
	q.Set("_stmt_cache_size", "64")
	db, err := sql.Open("sqlite3", "file:"+uriPath.Replace(path)+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(2)
	db.SetConnMaxIdleTime(time.Minute)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// initSchema creates or upgrades the tables.
func initSchema(ctx context.Context, db *sql.DB) error {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v > schemaVersion {
		return fmt.Errorf("index schema version %d is newer than this program (%d)", v, schemaVersion)
	}
	if v < schemaVersion {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, schema); err != nil {
			return err
		}
		if v > 0 && v < schemaVersion {
			if err := migrateFolders(ctx, tx); err != nil {
				return fmt.Errorf("migrating index from version %d to %d: %w", v, schemaVersion, err)
			}
			if err := migrateCache(ctx, tx); err != nil {
				return fmt.Errorf("migrating index from version %d to %d: %w", v, schemaVersion, err)
			}
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
			return err
		}
		return tx.Commit()
	}
	return nil
}

// migrateFolders upgrades an index of version 2 to 4 (the new tables exist
// already) by adding the folder columns it lacks: the \Recent threshold
// and the expunge-log floor (version 4), the text-filter mark (version 5).
// Messages already in a folder are not \Recent, and the expunge log knows
// nothing before the migration: QRESYNC clients whose MODSEQ is older get
// the full answer (RFC 7162 §3.2.5.2). Versions before 5 built every
// filter at delivery, so none is pending.
func migrateFolders(ctx context.Context, tx *sql.Tx) error {
	for _, q := range []struct{ col, ddl, fill string }{
		{"first_recent_uid", "ALTER TABLE folders ADD COLUMN first_recent_uid INTEGER NOT NULL DEFAULT 1",
			"UPDATE folders SET first_recent_uid = uidnext"},
		{"expunge_floor", "ALTER TABLE folders ADD COLUMN expunge_floor INTEGER NOT NULL DEFAULT 0",
			"UPDATE folders SET expunge_floor = highest_modseq"},
		{"text_from_uid", "ALTER TABLE folders ADD COLUMN text_from_uid INTEGER NOT NULL DEFAULT 1",
			"UPDATE folders SET text_from_uid = uidnext"},
	} {
		has, err := hasColumn(ctx, tx, "folders", q.col)
		if err != nil {
			return err
		}
		if has {
			continue
		}
		if _, err := tx.ExecContext(ctx, q.ddl); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, q.fill); err != nil {
			return err
		}
	}
	return nil
}

// cacheKey is a cache row's rowid: the folder in the high 32 bits, the UID
// in the low ones, so that a folder's rows are one rowid range in UID
// order. Keyed by (folder_id, uid) as before version 6, the table had an
// index beside its rows, one more page written by every delivery's commit
// and two B-tree searches for every row FETCH read (issue 16).
func cacheKey(folderID int64, uid uint32) int64 { return folderID<<32 | int64(uid) }

// cacheKeySQL is cacheKey in SQL, of the parameters ?1 (folder) and ?2 (UID).
const cacheKeySQL = "((?1 << 32) | ?2)"

// cacheFolderSQL is a folder's range of cache keys, of the parameter ?1.
const cacheFolderSQL = "id BETWEEN (?1 << 32) AND ((?1 << 32) | 4294967295)"

// migrateCache rewrites a cache table of version 5 or older, keyed by
// (folder_id, uid), into cacheKey rows.
func migrateCache(ctx context.Context, tx *sql.Tx) error {
	if old, err := hasColumn(ctx, tx, "cache", "folder_id"); err != nil || !old {
		return err
	}
	for _, q := range []string{
		"ALTER TABLE cache RENAME TO cache_v5",
		"CREATE TABLE cache (id INTEGER PRIMARY KEY, header BLOB NOT NULL, parsed BLOB NOT NULL)",
		"INSERT INTO cache (id, header, parsed) SELECT (folder_id << 32) | uid, header, parsed FROM cache_v5 ORDER BY folder_id, uid",
		"DROP TABLE cache_v5",
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("cache: %w", err)
		}
	}
	return nil
}

// hasColumn reports whether table has column col.
func hasColumn(ctx context.Context, tx *sql.Tx, table, col string) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, "SELECT count(*) FROM pragma_table_info(?) WHERE name = ?", table, col).Scan(&n)
	return n > 0, err
}

// uriPath escapes what SQLite URI file names give a meaning to; localparts
// may legitimately contain them.
var uriPath = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// folderRow is one row of the folders table.
type folderRow struct {
	id            int64
	name          string
	specialUse    string
	subscribed    bool
	uidValidity   uint32
	uidNext       uint32
	highestModSeq uint64
	counts        counts
}

// counts are the per-folder aggregates kept in the folders row.
type counts struct {
	messages, unseen, deleted, size int64
}

func (c *counts) add(d counts) {
	c.messages += d.messages
	c.unseen += d.unseen
	c.deleted += d.deleted
	c.size += d.size
}

func (c counts) neg() counts { return counts{-c.messages, -c.unseen, -c.deleted, -c.size} }

// contribution is what one message adds to its folder's counts.
func contribution(seen, deleted bool, size int64) counts {
	c := counts{messages: 1, size: size}
	if !seen {
		c.unseen = 1
	}
	if deleted {
		c.deleted = 1
	}
	return c
}

const folderColumns = `id, name, special_use, subscribed, uidvalidity, uidnext, highest_modseq,
	messages, unseen, deleted, size`

func scanFolder(sc interface{ Scan(...any) error }) (*folderRow, error) {
	f := &folderRow{}
	err := sc.Scan(&f.id, &f.name, &f.specialUse, &f.subscribed, &f.uidValidity, &f.uidNext,
		&f.highestModSeq, &f.counts.messages, &f.counts.unseen, &f.counts.deleted, &f.counts.size)
	return f, err
}

// getFolder loads a folder by canonical name; unknown names give
// mailerr.ErrNoSuchFolder.
func getFolder(ctx context.Context, q querier, name string) (*folderRow, error) {
	f, err := scanFolder(q.QueryRowContext(ctx, "SELECT "+folderColumns+" FROM folders WHERE name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mailerr.ErrNoSuchFolder.With(fmt.Errorf("folder %q", name))
	}
	return f, err
}

func allFolders(ctx context.Context, q querier) ([]*folderRow, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+folderColumns+" FROM folders ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*folderRow
	for rows.Next() {
		f, err := scanFolder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// saveFolder writes what a folder's writes change: UIDNEXT, HIGHESTMODSEQ
// and the counts. Name, special use and subscription are written once by
// insertFolder and changed only by their own UPDATEs (RENAME, SUBSCRIBE):
// setting the name here too rewrote the folder's entry in the unique name
// index, one index page more in every delivery's commit (issue 16).
func saveFolder(ctx context.Context, q querier, f *folderRow) error {
	_, err := q.ExecContext(ctx, `UPDATE folders SET uidnext = ?, highest_modseq = ?,
		messages = ?, unseen = ?, deleted = ?, size = ? WHERE id = ?`,
		f.uidNext, f.highestModSeq, f.counts.messages, f.counts.unseen, f.counts.deleted, f.counts.size, f.id)
	return err
}

func insertFolder(ctx context.Context, q querier, f *folderRow) error {
	_, err := q.ExecContext(ctx, `INSERT INTO folders (id, name, special_use, subscribed, uidvalidity,
		uidnext, highest_modseq, messages, unseen, deleted, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.id, f.name, f.specialUse, f.subscribed, f.uidValidity, f.uidNext, f.highestModSeq,
		f.counts.messages, f.counts.unseen, f.counts.deleted, f.counts.size)
	return err
}

// messageRow is a message's index row plus what its writers need.
type messageRow struct {
	uid     uint32
	modseq  uint64
	flags   []string
	date    time.Time
	size    int64
	seen    bool
	deleted bool
}

func (m *messageRow) setFlags(flags []string) {
	m.flags = flags
	m.seen = containsFold(flags, flagSeen)
	m.deleted = containsFold(flags, flagDeleted)
}

func (m *messageRow) info() MessageInfo {
	return MessageInfo{UID: m.uid, ModSeq: m.modseq, Flags: m.flags, InternalDate: m.date, Size: m.size}
}

// insertMessage adds the index, cache and text filter rows of one message
// (filter nil: none).
func insertMessage(ctx context.Context, q querier, folderID int64, m *messageRow, header, parsed, filter []byte) error {
	if header == nil {
		header = []byte{} // an empty message has an empty header
	}
	_, err := q.ExecContext(ctx, `INSERT INTO messages (folder_id, uid, modseq, flags, seen, deleted,
		internal_date, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		folderID, m.uid, m.modseq, joinFlags(m.flags), m.seen, m.deleted, m.date.Unix(), m.size)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, "INSERT INTO cache (id, header, parsed) VALUES (?, ?, ?)",
		cacheKey(folderID, m.uid), header, parsed)
	if err != nil || filter == nil {
		return err
	}
	_, err = q.ExecContext(ctx, "INSERT INTO textidx (folder_id, uid, filter) VALUES (?, ?, ?)", folderID, m.uid, filter)
	return err
}

// loadMessages returns the rows of a folder with UIDs in [lo, hi], by UID;
// with onlyDeleted, only those flagged \Deleted.
func loadMessages(ctx context.Context, q querier, folderID int64, lo, hi uint32, onlyDeleted bool) ([]messageRow, error) {
	query := `SELECT uid, modseq, flags, seen, deleted, internal_date, size
		FROM messages WHERE folder_id = ? AND uid BETWEEN ? AND ? ORDER BY uid`
	if onlyDeleted {
		query = strings.Replace(query, "ORDER BY", "AND deleted = 1 ORDER BY", 1)
	}
	rows, err := q.QueryContext(ctx, query, folderID, lo, hi)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []messageRow
	for rows.Next() {
		var m messageRow
		var flags string
		var date int64
		if err := rows.Scan(&m.uid, &m.modseq, &flags, &m.seen, &m.deleted, &date, &m.size); err != nil {
			return nil, err
		}
		m.flags = splitFlags(flags)
		m.date = unixUTC(date)
		out = append(out, m)
	}
	return out, rows.Err()
}

// selectUIDs keeps the rows whose UID is in uids (nil keeps all).
func selectUIDs(rows []messageRow, uids []uint32) []messageRow {
	if uids == nil {
		return rows
	}
	want := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		want[u] = true
	}
	out := rows[:0]
	for _, m := range rows {
		if want[m.uid] {
			out = append(out, m)
		}
	}
	return out
}

// uidRange is the smallest range holding every UID in uids.
func uidRange(uids []uint32) (lo, hi uint32) {
	if len(uids) == 0 {
		return 1, 0
	}
	lo, hi = uids[0], uids[0]
	for _, u := range uids {
		lo, hi = min(lo, u), max(hi, u)
	}
	return lo, hi
}

// account is the single account row.
type account struct {
	used            int64
	nextFolderID    int64
	nextUIDValidity uint32
}

func loadAccount(ctx context.Context, q querier) (*account, error) {
	a := &account{}
	err := q.QueryRowContext(ctx, "SELECT used_bytes, next_folder_id, next_uidvalidity FROM account WHERE id = 1").
		Scan(&a.used, &a.nextFolderID, &a.nextUIDValidity)
	return a, err
}

func saveAccount(ctx context.Context, q querier, a *account) error {
	_, err := q.ExecContext(ctx, `INSERT INTO account (id, used_bytes, next_folder_id, next_uidvalidity)
		VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET used_bytes = excluded.used_bytes,
		next_folder_id = excluded.next_folder_id, next_uidvalidity = excluded.next_uidvalidity`,
		a.used, a.nextFolderID, a.nextUIDValidity)
	return err
}

func addUsed(ctx context.Context, q querier, delta int64) error {
	if delta == 0 {
		return nil
	}
	_, err := q.ExecContext(ctx, "UPDATE account SET used_bytes = used_bytes + ? WHERE id = 1", delta)
	return err
}

// newUIDValidity hands out UIDVALIDITY values: strictly increasing per
// account and never below the current time, so a folder deleted and created
// again, even after a lossy rebuild, gets a different value (RFC 9051
// 2.3.1.1).
func (a *account) newUIDValidity(now time.Time) uint32 {
	v := max(a.nextUIDValidity, uint32(now.Unix()))
	if v == 0 {
		v = 1
	}
	a.nextUIDValidity = v + 1
	return v
}

// unixUTC converts an internal_date column (Unix seconds).
func unixUTC(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
