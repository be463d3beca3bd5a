package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"time"

	"congvu/internal/mailerr"
)

// ErrNoSuchMessage is returned by Open and Cached for a UID that is not (or
// no longer) in the folder (RFC 5530 EXPUNGEISSUED); the web answers 404.
var ErrNoSuchMessage = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 2, 0}, IMAPCode: "EXPUNGEISSUED", HTTPStatus: 404,
	Message: "No such message, it may have been expunged", MessageVI: "Thư không tồn tại, có thể đã bị xoá"}

// Messages lists a folder's messages ordered by UID.
func (m *mailbox) Messages(ctx context.Context, folder string) ([]MessageInfo, error) {
	name, err := normalizeFolder(folder)
	if err != nil {
		return nil, err
	}
	var out []MessageInfo
	err = m.with(ctx, func(u *userState) error {
		f, err := getFolder(ctx, u.db, name)
		if err != nil {
			return err
		}
		k, st := listKey{u.key, f.id}, stampOf(f)
		if out = u.s.lists.get(k, st); out == nil {
			if out, err = listMessages(ctx, u.db, f); err != nil {
				return err
			}
			u.s.lists.put(k, st, out)
		}
		if m.reader != "" {
			out, err = m.readerView(ctx, u, f.id, out)
		}
		return err
	})
	return out, err
}

// ChangedSince lists the messages of folder whose MODSEQ is above since,
// new ones included, ordered by UID: what changed after a client's last
// look, read through the (folder, modseq) index instead of the whole
// folder (RFC 7162 CHANGEDSINCE; imapd's refresh).
func (m *mailbox) ChangedSince(ctx context.Context, folder string, since uint64) ([]MessageInfo, error) {
	name, err := normalizeFolder(folder)
	if err != nil {
		return nil, err
	}
	var out []MessageInfo
	err = m.with(ctx, func(u *userState) error {
		f, err := getFolder(ctx, u.db, name)
		if err != nil {
			return err
		}
		rows, err := u.db.QueryContext(ctx, `SELECT uid, modseq, flags, internal_date, size FROM messages
			WHERE folder_id = ? AND modseq > ? ORDER BY uid`, f.id, since)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var mi MessageInfo
			var flags string
			var date int64
			if err := rows.Scan(&mi.UID, &mi.ModSeq, &flags, &date, &mi.Size); err != nil {
				return err
			}
			mi.Flags, mi.InternalDate = splitFlags(flags), unixUTC(date)
			out = append(out, mi)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if m.reader != "" && len(out) > 0 {
			out, err = m.readerView(ctx, u, f.id, out)
		}
		return err
	})
	return out, err
}

// listMessages is the hot path of SELECT and POP3 logins (Messages keeps
// its result in the store's listing cache): only the columns
// MessageInfo needs, scanned straight into a slice sized from the folder's
// message counter.
func listMessages(ctx context.Context, q querier, f *folderRow) ([]MessageInfo, error) {
	rows, err := q.QueryContext(ctx, `SELECT uid, modseq, flags, internal_date, size FROM messages
		WHERE folder_id = ? ORDER BY uid`, f.id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]MessageInfo, 0, f.counts.messages)
	// Most messages share one of a few flag sets (none, \Seen, \Seen
	// \Flagged…): they share one slice too, which sessions keep in their
	// views for as long as they are connected.
	shared := map[string][]string{}
	var flags sql.RawBytes
	for rows.Next() {
		var m MessageInfo
		var date int64
		if err := rows.Scan(&m.UID, &m.ModSeq, &flags, &date, &m.Size); err != nil {
			return nil, err
		}
		f, ok := shared[string(flags)]
		if !ok {
			f = splitFlags(string(flags))
			shared[string(flags)] = f
		}
		m.Flags = f
		m.InternalDate = unixUTC(date)
		out = append(out, m)
	}
	return out, rows.Err()
}

// Open returns the message file. On Unix an open file stays readable even
// if the message is expunged meanwhile.
func (m *mailbox) Open(ctx context.Context, folder string, uid uint32) (io.ReadCloser, error) {
	name, err := normalizeFolder(folder)
	if err != nil {
		return nil, err
	}
	var file *os.File
	err = m.with(ctx, func(u *userState) error {
		f, err := getFolder(ctx, u.db, name)
		if err != nil {
			return err
		}
		var one int
		err = u.db.QueryRowContext(ctx, "SELECT 1 FROM messages WHERE folder_id = ? AND uid = ?", f.id, uid).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoSuchMessage
		} else if err != nil {
			return err
		}
		file, err = os.Open(u.messagePath(f.id, uid))
		if errors.Is(err, fs.ErrNotExist) {
			return ErrNoSuchMessage.With(err)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return file, nil
}

// Cached returns the envelope, body structure and header stored at
// delivery, decoded through the store's memory cache. Only if the cached
// value cannot be decoded (a newer format, a damaged row) is the message
// file parsed again. The result is shared: callers must not modify it.
func (m *mailbox) Cached(ctx context.Context, folder string, uid uint32) (*Cached, error) {
	name, err := normalizeFolder(folder)
	if err != nil {
		return nil, err
	}
	var c *Cached
	err = m.with(ctx, func(u *userState) error {
		var folderID int64
		var header, parsed []byte
		err := u.db.QueryRowContext(ctx, `SELECT f.id, c.header, c.parsed FROM folders f
			JOIN cache c ON c.id = ((f.id << 32) | ?2) WHERE f.name = ?1`, name, uid).Scan(&folderID, &header, &parsed)
		if errors.Is(err, sql.ErrNoRows) {
			if _, ferr := getFolder(ctx, u.db, name); ferr != nil {
				return ferr
			}
			return ErrNoSuchMessage
		} else if err != nil {
			return err
		}
		c, err = u.decodeRow(folderID, uid, header, parsed)
		return err
	})
	return c, err
}

// SetFlags implements STORE (RFC 9051 6.4.6) with UNCHANGEDSINCE (RFC 7162
// 3.1.3). Messages whose flags change get the folder's next MODSEQ; rows
// are returned for every existing UID that did not fail.
func (m *mailbox) SetFlags(ctx context.Context, folder string, uids []uint32, op FlagOp, flags []string, unchangedSince uint64) ([]MessageInfo, []uint32, error) {
	name, err := normalizeFolder(folder)
	if err != nil {
		return nil, nil, err
	}
	if flags, err = normalizeFlags(flags); err != nil {
		return nil, nil, err
	}
	if op != FlagsSet && op != FlagsAdd && op != FlagsRemove {
		return nil, nil, mailerr.ErrCannotDo.With(fmt.Errorf("unknown flag operation %d", op))
	}
	var updated []MessageInfo
	var failed []uint32
	err = m.with(ctx, func(u *userState) error {
		var f *folderRow
		var before listStamp
		var stored []MessageInfo
		changed := false
		err := u.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			updated, failed, stored, changed = nil, nil, nil, false
			var err error
			if f, err = getFolder(ctx, tx, name); err != nil {
				return err
			}
			before = stampOf(f)
			lo, hi := uidRange(uids)
			rows, err := loadMessages(ctx, tx, f.id, lo, hi, false)
			if err != nil {
				return err
			}
			modseq := f.highestModSeq + 1
			var rs *readerSeen
			if m.reader != "" {
				if rs, err = m.loadReaderSeen(ctx, tx, f.id, uids); err != nil {
					return err
				}
			}
			for _, msg := range selectUIDs(rows, uids) {
				if unchangedSince > 0 && msg.modseq > unchangedSince {
					failed = append(failed, msg.uid)
					continue
				}
				nf := applyFlags(msg.flags, op, flags)
				if rs != nil {
					// The reader's \Seen is theirs; the stored one stays.
					var seenChanged bool
					if nf, seenChanged, err = rs.apply(ctx, tx, msg, op, flags); err != nil {
						return err
					}
					if seenChanged && sameFlags(nf, msg.flags) {
						msg.modseq = modseq
						if _, err := tx.ExecContext(ctx, "UPDATE messages SET modseq = ? WHERE folder_id = ? AND uid = ?",
							modseq, f.id, msg.uid); err != nil {
							return err
						}
						changed = true
					}
				}
				if !sameFlags(nf, msg.flags) {
					f.counts.add(contribution(msg.seen, msg.deleted, msg.size).neg())
					msg.setFlags(nf)
					msg.modseq = modseq
					f.counts.add(contribution(msg.seen, msg.deleted, msg.size))
					if _, err := tx.ExecContext(ctx, `UPDATE messages SET flags = ?, seen = ?, deleted = ?, modseq = ?
						WHERE folder_id = ? AND uid = ?`, joinFlags(msg.flags), msg.seen, msg.deleted, modseq, f.id, msg.uid); err != nil {
						return err
					}
					changed = true
				}
				info := msg.info()
				stored = append(stored, info)
				if rs != nil {
					info.Flags = rs.overlay(info.UID, info.Flags)
				}
				updated = append(updated, info)
			}
			if !changed {
				return nil
			}
			f.highestModSeq = modseq
			return saveFolder(ctx, tx, f)
		})
		if err == nil && changed {
			// The cached listing holds the stored flags, not a reader's.
			u.s.lists.update(listKey{u.key, f.id}, before, stampOf(f), stored)
			u.notify(name, f.highestModSeq)
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return updated, failed, nil
}

// Expunge removes messages flagged \Deleted (RFC 9051 6.4.3), or with uids
// only those among them (UID EXPUNGE, RFC 9051 6.4.9). Rows go first; the
// files are removed after the commit.
func (m *mailbox) Expunge(ctx context.Context, folder string, uids []uint32) ([]uint32, error) {
	name, err := normalizeFolder(folder)
	if err != nil {
		return nil, err
	}
	var removed []uint32
	err = m.with(ctx, func(u *userState) error {
		var f *folderRow
		err := u.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			removed = nil
			var err error
			if f, err = getFolder(ctx, tx, name); err != nil {
				return err
			}
			lo, hi := uint32(1), uint32(math.MaxUint32)
			if uids != nil {
				lo, hi = uidRange(uids)
			}
			rows, err := loadMessages(ctx, tx, f.id, lo, hi, true)
			if err != nil {
				return err
			}
			rows = selectUIDs(rows, uids)
			if len(rows) == 0 {
				return nil
			}
			if err := deleteMessages(ctx, tx, f, rows, u.s.expungeLog); err != nil {
				return err
			}
			var size int64
			for _, msg := range rows {
				removed = append(removed, msg.uid)
				size += msg.size
			}
			return addUsed(ctx, tx, -size)
		})
		if err != nil || len(removed) == 0 {
			return err
		}
		u.notify(name, f.highestModSeq)
		u.afterRemoval(ctx, f.id, removed)
		return nil
	})
	return removed, err
}

// deleteMessages deletes rows (as expunge), records their files for
// removal and updates the folder's counts and MODSEQ (RFC 7162 3.2.10:
// an expunge is a change). It does not touch the account's used bytes.
func deleteMessages(ctx context.Context, tx *sql.Tx, f *folderRow, rows []messageRow, lim expungeLogLimits) error {
	for _, msg := range rows {
		for _, q := range []string{"DELETE FROM messages WHERE folder_id = ? AND uid = ?",
			"DELETE FROM cache WHERE id = " + cacheKeySQL,
			"DELETE FROM seen WHERE folder_id = ? AND uid = ?",
			"DELETE FROM textidx WHERE folder_id = ? AND uid = ?",
			"INSERT OR IGNORE INTO removals (folder_id, uid) VALUES (?, ?)"} {
			if _, err := tx.ExecContext(ctx, q, f.id, msg.uid); err != nil {
				return err
			}
		}
		f.counts.add(contribution(msg.seen, msg.deleted, msg.size).neg())
	}
	f.highestModSeq++
	if err := logExpunged(ctx, tx, f, rows, lim); err != nil {
		return err
	}
	return saveFolder(ctx, tx, f)
}

// afterRemoval runs after a commit that deleted rows: first the folder's
// metadata records a UIDNEXT above the removed UIDs (so a rebuild without
// the index cannot reuse the UIDs whose files are about to go), then the
// files are removed. The metadata is rewritten, durably, only when it does
// not record such a UIDNEXT already: deleting older mail (most deletes)
// skips its two fsyncs.
func (u *userState) afterRemoval(ctx context.Context, folderID int64, uids []uint32) {
	if !u.metaCovers(folderID, uids) {
		u.syncMeta(ctx, folderID)
	}
	u.removeFiles(ctx, folderID, uids)
}

// metaCovers reports whether the folder's metadata file already holds a
// UIDNEXT above every uid.
func (u *userState) metaCovers(folderID int64, uids []uint32) bool {
	u.metaMu.Lock()
	defer u.metaMu.Unlock()
	next, ok := u.metaUIDNext[folderID]
	if !ok {
		// Written before this process opened the user, and durably.
		m, err := readMeta(u.folderDir(folderID))
		if err != nil {
			return false
		}
		if u.metaUIDNext == nil {
			u.metaUIDNext = map[int64]uint32{}
		}
		next, u.metaUIDNext[folderID] = m.UIDNext, m.UIDNext
	}
	for _, uid := range uids {
		if uid >= next {
			return false
		}
	}
	return true
}

// Copy copies messages (RFC 9051 6.4.7), preserving flags and internal
// date, by hard-linking their files under new UIDs (RFC 4315 COPYUID).
// Copies count against the quota.
func (m *mailbox) Copy(ctx context.Context, from string, uids []uint32, to string) (CopyResult, error) {
	return m.copyOrMove(ctx, from, uids, to, false)
}

// Move moves messages (RFC 6851): the copies appear and the originals
// disappear in one index transaction.
func (m *mailbox) Move(ctx context.Context, from string, uids []uint32, to string) (CopyResult, error) {
	return m.copyOrMove(ctx, from, uids, to, true)
}

func (m *mailbox) copyOrMove(ctx context.Context, from string, uids []uint32, to string, move bool) (CopyResult, error) {
	src, err := normalizeFolder(from)
	if err != nil {
		return CopyResult{}, err
	}
	dst, err := normalizeFolder(to)
	if err != nil {
		return CopyResult{}, err
	}
	var res CopyResult
	err = m.with(ctx, func(u *userState) error {
		var sf, df *folderRow
		var linked []string
		err := u.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			res, linked = CopyResult{}, nil
			var err error
			if sf, err = getFolder(ctx, tx, src); err != nil {
				return err
			}
			df = sf
			if dst != src {
				if df, err = getFolder(ctx, tx, dst); err != nil {
					// RFC 9051 6.4.7: NO [TRYCREATE] for a missing target.
					return err
				}
			}
			res.UIDValidity = df.uidValidity
			lo, hi := uidRange(uids)
			rows, err := loadMessages(ctx, tx, sf.id, lo, hi, false)
			if err != nil {
				return err
			}
			rows = selectUIDs(rows, uids)
			if len(rows) == 0 {
				return nil
			}
			var total int64
			for _, msg := range rows {
				total += msg.size
			}
			if !move {
				var used, count int64
				if err := tx.QueryRowContext(ctx, "SELECT used_bytes, (SELECT COALESCE(SUM(messages), 0) FROM folders) FROM account WHERE id = 1").
					Scan(&used, &count); err != nil {
					return err
				}
				if overQuota(used, total, m.limit) {
					return mailerr.ErrOverQuota.With(fmt.Errorf("%s: %d + %d bytes > %d", u.key, used, total, m.limit))
				}
				if overQuota(count, int64(len(rows)), u.s.maxMsgs) {
					return mailerr.ErrOverQuota.With(fmt.Errorf("%s: %d + %d messages > %d", u.key, count, len(rows), u.s.maxMsgs))
				}
			}
			df.highestModSeq++
			var sliced [][2]uint32 // source and copy UIDs of packed filters
			for _, msg := range rows {
				uid, path, err := u.linkNext(&spooled{path: u.messagePath(sf.id, msg.uid)}, df)
				if err != nil {
					return err
				}
				linked = append(linked, path)
				if _, err := tx.ExecContext(ctx, `INSERT INTO messages (folder_id, uid, modseq, flags, seen, deleted,
					internal_date, size) SELECT ?, ?, ?, flags, seen, deleted, internal_date, size
					FROM messages WHERE folder_id = ? AND uid = ?`, df.id, uid, df.highestModSeq, sf.id, msg.uid); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO cache (id, header, parsed)
					SELECT ?, header, parsed FROM cache WHERE id = ?`, cacheKey(df.id, uid), cacheKey(sf.id, msg.uid)); err != nil {
					return err
				}
				ins, err := tx.ExecContext(ctx, `INSERT INTO textidx (folder_id, uid, filter)
					SELECT ?, ?, filter FROM textidx WHERE folder_id = ? AND uid = ?`, df.id, uid, sf.id, msg.uid)
				if err != nil {
					return err
				}
				if n, _ := ins.RowsAffected(); n == 0 {
					sliced = append(sliced, [2]uint32{msg.uid, uid})
				}
				// Every reader of a shared mailbox keeps their \Seen.
				if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO seen (folder_id, reader, uid)
					SELECT ?, reader, ? FROM seen WHERE folder_id = ? AND uid = ?`, df.id, uid, sf.id, msg.uid); err != nil {
					return err
				}
				df.counts.add(contribution(msg.seen, msg.deleted, msg.size))
				res.SourceUIDs = append(res.SourceUIDs, msg.uid)
				res.DestUIDs = append(res.DestUIDs, uid)
			}
			if err := copySlicedFilters(ctx, tx, sf.id, df.id, sliced); err != nil {
				return err
			}
			if err := u.syncFolderDir(df.id); err != nil {
				return err
			}
			if err := saveFolder(ctx, tx, df); err != nil {
				return err
			}
			if move {
				return deleteMessages(ctx, tx, sf, rows, u.s.expungeLog)
			}
			return addUsed(ctx, tx, total)
		})
		if err != nil {
			for _, p := range linked {
				os.Remove(p)
			}
			return err
		}
		if len(res.DestUIDs) == 0 {
			return nil
		}
		u.notify(df.name, df.highestModSeq)
		if move {
			if sf != df {
				u.notify(sf.name, sf.highestModSeq)
			}
			u.afterRemoval(ctx, sf.id, res.SourceUIDs)
		}
		return nil
	})
	if err != nil {
		return CopyResult{}, err
	}
	return res, nil
}

// Usage is what a mailbox holds against its quotas (RFC 9208 STORAGE and
// MESSAGE resources); a limit of 0 or less means none.
type Usage struct {
	Bytes, BytesLimit       int64
	Messages, MessagesLimit int64
}

// Usage returns the bytes and messages held and their limits.
func (m *mailbox) Usage(ctx context.Context) (Usage, error) {
	us := Usage{BytesLimit: m.limit, MessagesLimit: m.s.maxMsgs}
	err := m.with(ctx, func(u *userState) error {
		return u.db.QueryRowContext(ctx, "SELECT used_bytes, (SELECT COALESCE(SUM(messages), 0) FROM folders) FROM account WHERE id = 1").
			Scan(&us.Bytes, &us.Messages)
	})
	return us, err
}

// Quota returns the bytes used and the limit (negative: no limit).
func (m *mailbox) Quota(ctx context.Context) (used, limit int64, err error) {
	err = m.with(ctx, func(u *userState) error {
		now := time.Now()
		cached, gen, ok := u.used.get(now)
		if ok {
			used = cached
			return nil
		}
		if err := u.db.QueryRowContext(ctx, "SELECT used_bytes FROM account WHERE id = 1").Scan(&used); err != nil {
			return err
		}
		u.used.put(gen, used, now)
		return nil
	})
	return used, m.limit, err
}

// Watch reports changes of a folder (see Store). Watchers are registered in
// the FileStore by user and folder, so they outlive the user's open index
// and hear about changes made through any Mailbox of the user.
func (m *mailbox) Watch(folder string) (<-chan Event, func()) {
	return m.WatchNotify(folder, nil)
}

// WatchNotify is Watch, and also calls fn after each event is queued, so
// that a session waiting on something else (a network read) can be woken
// without a goroutine of its own. fn runs in the goroutine of the change
// with the store's watcher lock held: it must return at once and not use
// the store.
func (m *mailbox) WatchNotify(folder string, fn func()) (<-chan Event, func()) {
	name, err := normalizeFolder(folder)
	if err != nil {
		name = folder
	}
	return m.s.watchers.watch(m.key, name, fn)
}
