package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"sync"

	"congvu/internal/mailerr"
)

func noSuchFolder(name string) error {
	return mailerr.ErrNoSuchFolder.With(fmt.Errorf("folder %q", name))
}

// reconcileSubscriptions moves lost subscriptions back onto folders that
// exist again (CREATE or RENAME to a name that was subscribed).
func reconcileSubscriptions(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `UPDATE folders SET subscribed = 1
		WHERE subscribed = 0 AND name IN (SELECT name FROM lost_subscriptions)`); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "DELETE FROM lost_subscriptions WHERE name IN (SELECT name FROM folders)")
	return err
}

// What IMAP sessions need besides the messages to keep clients in step:
// the \Recent threshold of each folder (RFC 3501 §2.3.2), the log of
// expunged UIDs by MODSEQ (RFC 7162 §3.2.5.2 VANISHED (EARLIER)) and
// subscriptions that outlive their folder (RFC 9051 §6.3.7).

// expungeLogLimits bound the expunge log of one folder: when the
// folder's HIGHESTMODSEQ passes a multiple of every (so trimming costs
// nothing per expunge), entries beyond max are dropped and the folder's
// expunge_floor records up to where.
type expungeLogLimits struct{ max, every uint64 }

var defaultExpungeLog = expungeLogLimits{max: 20000, every: 256}

// recentClaims is a user's \Recent thresholds: messages with a UID at or
// above a folder's threshold are \Recent for the next session that
// selects it. Claims are in memory and reach the index with the next
// write transaction (and when the user is closed): a claim lost in a
// crash makes messages \Recent once more, which RFC 3501 §2.3.2 prefers
// to losing the flag.
type recentClaims struct {
	mu    sync.Mutex
	first map[int64]uint32 // folder id → first recent UID
	dirty map[int64]bool
}

// ClaimRecent returns the first \Recent UID of folder for the caller: the
// messages with UIDs from it up to uidNext-1 are \Recent in the caller's
// session. With claim (SELECT, and new mail found by a read-write
// session) they stop being \Recent for everybody else; without (EXAMINE)
// nothing changes (RFC 3501 §6.3.2).
func (m *mailbox) ClaimRecent(ctx context.Context, folder string, uidNext uint32, claim bool) (uint32, error) {
	name, err := normalizeFolder(folder)
	if err != nil {
		return 0, err
	}
	var first uint32
	err = m.with(ctx, func(u *userState) error {
		var id int64
		var stored uint32
		err := u.db.QueryRowContext(ctx, "SELECT id, first_recent_uid FROM folders WHERE name = ?", name).Scan(&id, &stored)
		if errors.Is(err, sql.ErrNoRows) {
			return noSuchFolder(name)
		} else if err != nil {
			return err
		}
		r := &u.recent
		r.mu.Lock()
		defer r.mu.Unlock()
		first = max(r.first[id], stored)
		if claim && uidNext > first {
			if r.first == nil {
				r.first, r.dirty = map[int64]uint32{}, map[int64]bool{}
			}
			r.first[id], r.dirty[id] = uidNext, true
		}
		return nil
	})
	return first, err
}

// flushRecent writes claimed thresholds in tx (under the write lock).
func (u *userState) flushRecent(ctx context.Context, tx *sql.Tx) error {
	r := &u.recent
	r.mu.Lock()
	defer r.mu.Unlock()
	for id := range r.dirty {
		if _, err := tx.ExecContext(ctx, "UPDATE folders SET first_recent_uid = max(first_recent_uid, ?) WHERE id = ?",
			r.first[id], id); err != nil {
			return err
		}
	}
	clear(r.dirty)
	return nil
}

func (u *userState) recentDirty() bool {
	u.recent.mu.Lock()
	defer u.recent.mu.Unlock()
	return len(u.recent.dirty) > 0
}

// logExpunged records expunged UIDs at modseq (their folder's new
// HIGHESTMODSEQ) and trims the log now and then.
func logExpunged(ctx context.Context, tx *sql.Tx, f *folderRow, rows []messageRow, lim expungeLogLimits) error {
	for _, msg := range rows {
		if _, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO expunged (folder_id, uid, modseq) VALUES (?, ?, ?)",
			f.id, msg.uid, f.highestModSeq); err != nil {
			return err
		}
	}
	if f.highestModSeq%lim.every != 0 {
		return nil
	}
	var cut uint64
	err := tx.QueryRowContext(ctx, `SELECT modseq FROM expunged WHERE folder_id = ? ORDER BY modseq DESC LIMIT 1 OFFSET ?`,
		f.id, lim.max).Scan(&cut)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM expunged WHERE folder_id = ? AND modseq <= ?", f.id, cut); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "UPDATE folders SET expunge_floor = max(expunge_floor, ?) WHERE id = ?", cut, f.id)
	return err
}

// Vanished returns the UIDs of folder expunged with a MODSEQ above since,
// ascending. complete is false when the log was trimmed past since: then
// some expunges are unknown and the caller must fall back on comparing
// UIDs (RFC 7162 §3.2.5.2).
func (m *mailbox) Vanished(ctx context.Context, folder string, since uint64) (uids []uint32, complete bool, err error) {
	name, err := normalizeFolder(folder)
	if err != nil {
		return nil, false, err
	}
	err = m.with(ctx, func(u *userState) error {
		var id int64
		var floor uint64
		err := u.db.QueryRowContext(ctx, "SELECT id, expunge_floor FROM folders WHERE name = ?", name).Scan(&id, &floor)
		if errors.Is(err, sql.ErrNoRows) {
			return noSuchFolder(name)
		} else if err != nil {
			return err
		}
		complete = since >= floor
		rows, err := u.db.QueryContext(ctx, "SELECT uid FROM expunged WHERE folder_id = ? AND modseq > ?", id, since)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var uid uint32
			if err := rows.Scan(&uid); err != nil {
				return err
			}
			uids = append(uids, uid)
		}
		return rows.Err()
	})
	sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
	return uids, complete, err
}

// Subscriptions lists every subscribed name: folders marked subscribed
// and subscriptions whose folder was deleted.
func (m *mailbox) Subscriptions(ctx context.Context) ([]string, error) {
	var out []string
	err := m.with(ctx, func(u *userState) error {
		rows, err := u.db.QueryContext(ctx, "SELECT name FROM folders WHERE subscribed = 1 UNION SELECT name FROM lost_subscriptions")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return err
			}
			out = append(out, n)
		}
		return rows.Err()
	})
	sort.Strings(out)
	return out, err
}
