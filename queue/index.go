package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// Recipient states.
const (
	StateQueued    = "queued"    // waiting for its next attempt (or never tried)
	StateDelivered = "delivered" // accepted by the destination
	StateFailed    = "failed"    // permanent failure or expired; the sender was told
)

const schema = `
CREATE TABLE IF NOT EXISTS messages (
	id      TEXT PRIMARY KEY,
	sender  TEXT NOT NULL,   -- reverse-path, '' for the null sender
	created INTEGER NOT NULL, -- unix nanoseconds
	size    INTEGER NOT NULL, -- bytes of the message (without the envelope line)
	body_offset INTEGER NOT NULL -- where the message starts in its file
);
CREATE TABLE IF NOT EXISTS recipients (
	msg            TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
	rcpt           TEXT NOT NULL,
	domain         TEXT NOT NULL,
	state          TEXT NOT NULL,
	attempts       INTEGER NOT NULL DEFAULT 0,
	next_attempt   INTEGER NOT NULL,
	last_attempt   INTEGER NOT NULL DEFAULT 0,
	last_error     TEXT NOT NULL DEFAULT '',
	remote_mta     TEXT NOT NULL DEFAULT '',
	security       TEXT NOT NULL DEFAULT '',
	delay_notified INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (msg, rcpt)
);
CREATE INDEX IF NOT EXISTS recipients_due ON recipients(state, next_attempt);
`

// index is the SQLite index of the queue. The message files are the truth
// for what was accepted; the index holds the delivery state.
type index struct {
	db *sql.DB
}

func openIndex(path string) (*index, error) {
	// synchronous=FULL: a committed row survives power loss (the 250 that
	// follows Enqueue depends on it). WAL lets `congvu queue` read while
	// the server writes.
	dsn := "file:" + path + "?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_foreign_keys=on&_txlock=immediate"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("queue index %s: %w", path, err)
	}
	return &index{db: db}, nil
}

func (ix *index) close() error { return ix.db.Close() }

// insert records an accepted message and its recipients, due now.
func (ix *index) insert(ctx context.Context, e *envelope, size, offset int64) error {
	tx, err := ix.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO messages(id, sender, created, size, body_offset) VALUES (?, ?, ?, ?, ?)`,
		e.ID, e.From, e.Created.UnixNano(), size, offset); err != nil {
		return err
	}
	for _, r := range e.Rcpts {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO recipients(msg, rcpt, domain, state, next_attempt) VALUES (?, ?, ?, ?, ?)`,
			e.ID, r, domainOf(r), StateQueued, e.Created.UnixNano()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// job is one message to one destination domain.
type job struct {
	msg, domain string
}

// due returns jobs with a recipient due at now, oldest first.
func (ix *index) due(ctx context.Context, now time.Time, limit int) ([]job, error) {
	rows, err := ix.db.QueryContext(ctx, `SELECT msg, domain FROM recipients WHERE state = ? AND next_attempt <= ?
		GROUP BY msg, domain ORDER BY MIN(next_attempt) LIMIT ?`, StateQueued, now.UnixNano(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []job
	for rows.Next() {
		var j job
		if err := rows.Scan(&j.msg, &j.domain); err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// nextDue returns when the next queued recipient is due (zero if none).
func (ix *index) nextDue(ctx context.Context) (time.Time, error) {
	var ns sql.NullInt64
	err := ix.db.QueryRowContext(ctx, `SELECT MIN(next_attempt) FROM recipients WHERE state = ?`, StateQueued).Scan(&ns)
	if err != nil || !ns.Valid {
		return time.Time{}, err
	}
	return time.Unix(0, ns.Int64), nil
}

// messageRow is a messages row.
type messageRow struct {
	ID      string
	From    string
	Created time.Time
	Size    int64
	Offset  int64
}

var errNotQueued = errors.New("no such message in the queue")

func (ix *index) message(ctx context.Context, id string) (*messageRow, error) {
	var m messageRow
	var created int64
	err := ix.db.QueryRowContext(ctx, `SELECT id, sender, created, size, body_offset FROM messages WHERE id = ?`, id).
		Scan(&m.ID, &m.From, &created, &m.Size, &m.Offset)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotQueued
	}
	if err != nil {
		return nil, err
	}
	m.Created = time.Unix(0, created)
	return &m, nil
}

// RecipientStatus is the delivery state of one recipient.
type RecipientStatus struct {
	Rcpt, Domain, State string
	Attempts            int
	NextAttempt         time.Time // for StateQueued
	LastAttempt         time.Time // zero: never tried
	// LastError is the last failure: the remote server's reply or why no
	// server could be reached.
	LastError string
	RemoteMTA string
	// Security says how the last connection was protected, e.g.
	// "STARTTLS TLS1.3, certificate verified".
	Security      string
	DelayNotified bool
}

func (ix *index) recipients(ctx context.Context, id, domain string, dueBy time.Time) ([]RecipientStatus, error) {
	q := `SELECT rcpt, domain, state, attempts, next_attempt, last_attempt, last_error, remote_mta, security, delay_notified
		FROM recipients WHERE msg = ?`
	args := []any{id}
	if domain != "" {
		q += ` AND domain = ? AND state = ? AND next_attempt <= ?`
		args = append(args, domain, StateQueued, dueBy.UnixNano())
	}
	rows, err := ix.db.QueryContext(ctx, q+` ORDER BY rcpt`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RecipientStatus
	for rows.Next() {
		var r RecipientStatus
		var next, last int64
		if err := rows.Scan(&r.Rcpt, &r.Domain, &r.State, &r.Attempts, &next, &last, &r.LastError, &r.RemoteMTA, &r.Security, &r.DelayNotified); err != nil {
			return nil, err
		}
		r.NextAttempt = time.Unix(0, next)
		if last != 0 {
			r.LastAttempt = time.Unix(0, last)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// update writes the outcome of an attempt for some recipients of one message.
func (ix *index) update(ctx context.Context, id string, rs []RecipientStatus) error {
	tx, err := ix.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, r := range rs {
		last := int64(0)
		if !r.LastAttempt.IsZero() {
			last = r.LastAttempt.UnixNano()
		}
		if _, err := tx.ExecContext(ctx, `UPDATE recipients SET state = ?, attempts = ?, next_attempt = ?, last_attempt = ?,
			last_error = ?, remote_mta = ?, security = ?, delay_notified = ? WHERE msg = ? AND rcpt = ?`,
			r.State, r.Attempts, r.NextAttempt.UnixNano(), last, r.LastError, r.RemoteMTA, r.Security, r.DelayNotified,
			id, r.Rcpt); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// finished reports whether no recipient of the message is left to deliver
// (also true when the message is gone, e.g. deleted by `congvu queue`).
func (ix *index) finished(ctx context.Context, id string) (bool, error) {
	var n int
	err := ix.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM recipients WHERE msg = ? AND state = ?`, id, StateQueued).Scan(&n)
	return n == 0, err
}

// finishedIDs returns messages with no recipient left to deliver: left
// behind when the process died between recording the last delivery and
// removing the message.
func (ix *index) finishedIDs(ctx context.Context) ([]string, error) {
	rows, err := ix.db.QueryContext(ctx, `SELECT id FROM messages m WHERE NOT EXISTS
		(SELECT 1 FROM recipients r WHERE r.msg = m.id AND r.state = ?)`, StateQueued)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func (ix *index) remove(ctx context.Context, id string) error {
	_, err := ix.db.ExecContext(ctx, `DELETE FROM messages WHERE id = ?`, id)
	return err
}

// ids returns every message id in the index.
func (ix *index) ids(ctx context.Context) (map[string]bool, error) {
	rows, err := ix.db.QueryContext(ctx, `SELECT id FROM messages`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// stats returns the figures behind the queue metrics.
func (ix *index) stats(ctx context.Context) (messages, rcpts int, oldest time.Time, err error) {
	var min sql.NullInt64
	err = ix.db.QueryRowContext(ctx, `SELECT COUNT(*), MIN(created) FROM messages`).Scan(&messages, &min)
	if err != nil {
		return
	}
	if min.Valid {
		oldest = time.Unix(0, min.Int64)
	}
	err = ix.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM recipients WHERE state = ?`, StateQueued).Scan(&rcpts)
	return
}

// retry makes the queued recipients of id (every message when id is "")
// due now and returns how many.
func (ix *index) retry(ctx context.Context, id string, now time.Time) (int, error) {
	q, args := `UPDATE recipients SET next_attempt = ? WHERE state = ?`, []any{now.UnixNano(), StateQueued}
	if id != "" {
		q += ` AND msg = ?`
		args = append(args, id)
	}
	res, err := ix.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func domainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	return strings.TrimSuffix(strings.ToLower(addr[at+1:]), ".")
}
