package storage

// Text filters built by the first search. A delivery or an APPEND stores
// its message without a text filter (spoolOptions.textFilter); the next
// search of the folder reads those messages once, builds their filters and
// stores them, and moves folders.text_from_uid past them. Dovecot's
// full-text index works the same way unless fts_autoindex is set: the
// delivery path does not pay for an index that most messages never need
// (issue 16: about 7 % of a delivery's CPU and two of its nine index
// pages).
//
// Until its filter exists a message is simply not excluded: the search
// reads it, as it reads a message with too much text for a filter. So a
// failure here costs speed, never a result.

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"time"
)

const (
	// pendingTextBudget bounds the time one search spends building
	// filters; what is left waits for the next search (and is read by
	// this one). About 10,000 messages of 10 KB on one core.
	pendingTextBudget = 2 * time.Second
	// pendingTextChunk is how many filters one transaction stores, which
	// also bounds the memory they hold (at most maxBloomBytes each).
	pendingTextChunk = 256
)

// indexPendingText builds and stores the filters of folder f's messages
// that were stored without one. f is the folder as read before the call;
// messages committed after that read wait for the next search.
func (u *userState) indexPendingText(ctx context.Context, f *folderRow) error {
	var from uint32
	if err := u.db.QueryRowContext(ctx, "SELECT text_from_uid FROM folders WHERE id = ?", f.id).Scan(&from); err != nil {
		return err
	}
	if from >= f.uidNext {
		return nil
	}
	deadline := time.Now().Add(pendingTextBudget)
	for from < f.uidNext {
		uids, err := pendingTextUIDs(ctx, u.db, f.id, from, f.uidNext, pendingTextChunk)
		if err != nil {
			return err
		}
		// With a full chunk the mark moves to its last message only: the
		// rest of the range is the next chunk's.
		next := f.uidNext
		if len(uids) == pendingTextChunk {
			next = uids[len(uids)-1] + 1
		}
		type built struct {
			uid    uint32
			filter []byte
		}
		var filters []built
		for i, uid := range uids {
			if i%16 == 0 && time.Now().After(deadline) {
				next = uid
				break
			}
			file, err := os.Open(u.messagePath(f.id, uid))
			if errors.Is(err, fs.ErrNotExist) {
				continue // expunged since the query
			}
			if err != nil {
				return err
			}
			filter := buildTextFilter(file, u.s.filterBufs)
			file.Close()
			if filter != nil {
				filters = append(filters, built{uid, filter})
			}
		}
		err = u.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			for _, b := range filters {
				// Only for a message still there: an EXPUNGE since the
				// file was read removed its row, and a COPY may have
				// brought the filter along already.
				if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO textidx (folder_id, uid, filter)
					SELECT folder_id, uid, ? FROM messages WHERE folder_id = ? AND uid = ?`, b.filter, f.id, b.uid); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, "UPDATE folders SET text_from_uid = max(text_from_uid, ?) WHERE id = ?", next, f.id)
			return err
		})
		if err != nil {
			return err
		}
		if next == from || time.Now().After(deadline) {
			return nil
		}
		from = next
	}
	return nil
}

// pendingTextUIDs are up to limit messages of the folder in [from, below)
// without a textidx row, by UID.
func pendingTextUIDs(ctx context.Context, q querier, folderID int64, from, below uint32, limit int) ([]uint32, error) {
	rows, err := q.QueryContext(ctx, `SELECT uid FROM messages m WHERE folder_id = ? AND uid >= ? AND uid < ?
		AND NOT EXISTS (SELECT 1 FROM textidx t WHERE t.folder_id = m.folder_id AND t.uid = m.uid)
		ORDER BY uid LIMIT ?`, folderID, from, below, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var uids []uint32
	for rows.Next() {
		var uid uint32
		if err := rows.Scan(&uid); err != nil {
			return nil, err
		}
		uids = append(uids, uid)
	}
	return uids, rows.Err()
}
