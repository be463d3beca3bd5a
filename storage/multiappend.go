package storage

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"congvu/internal/mailerr"
)

// Spooled is a message written durably to the store's spool, parsed,
// waiting for AppendSpooled. Discard it when it is not appended.
type Spooled struct {
	sp *spooled
}

// Size is the message's size in bytes.
func (s *Spooled) Size() int64 { return s.sp.size }

// Discard removes the spool file (safe to call after AppendSpooled).
func (s *Spooled) Discard() {
	if s != nil && s.sp != nil {
		s.sp.release()
	}
}

// SpooledMessage is one message for AppendSpooled.
type SpooledMessage struct {
	Msg   *Spooled
	Flags []string
}

// Spool reads a message into the spool (durably, parsed) before it is
// appended: APPEND reads each message of a MULTIAPPEND as the client
// sends it, then appends them together.
func (m *mailbox) Spool(ctx context.Context, r io.Reader, date time.Time) (*Spooled, error) {
	if date.IsZero() {
		date = time.Now()
	}
	sp, err := m.s.spoolMessage(r, date.Truncate(time.Second), spoolOptions{checkStructure: true, linkOnce: true})
	if err != nil {
		return nil, mailerr.Classify(fmt.Errorf("storage: spooling message: %w", err))
	}
	return &Spooled{sp: sp}, nil
}

// AppendSpooled appends spooled messages to folder: one through the
// group-committing path, several atomically in one transaction (RFC 3502
// §6.3.11: all or none). Results are in order. The spool files stay;
// the caller discards them.
func (m *mailbox) AppendSpooled(ctx context.Context, folder string, msgs []SpooledMessage) ([]DeliveryResult, error) {
	name, err := normalizeFolder(folder)
	if err != nil {
		return nil, err
	}
	flags := make([][]string, len(msgs))
	readerSeen := make([]bool, len(msgs))
	for i, msg := range msgs {
		if flags[i], err = normalizeFlags(msg.Flags); err != nil {
			return nil, err
		}
		if m.reader != "" && containsFold(flags[i], flagSeen) {
			// A reader's \Seen is theirs (shared.go), set after the commit.
			readerSeen[i], flags[i] = true, withSeen(flags[i], false)
		}
	}
	results, err := m.appendSpooled(ctx, name, msgs, flags)
	if err == nil && slices.Contains(readerSeen, true) {
		err = m.with(ctx, func(u *userState) error {
			return u.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				for i, r := range results {
					if readerSeen[i] {
						if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO seen (folder_id, reader, uid)
							SELECT id, ?, ? FROM folders WHERE name = ?`, m.reader, r.UID, name); err != nil {
							return err
						}
					}
				}
				return nil
			})
		})
	}
	return results, err
}

func (m *mailbox) appendSpooled(ctx context.Context, name string, msgs []SpooledMessage, flags [][]string) ([]DeliveryResult, error) {
	if len(msgs) == 1 {
		var res DeliveryResult
		err := m.with(ctx, func(u *userState) error {
			res = u.commit.append(&appendReq{folder: name, msg: msgs[0].Msg.sp, flags: flags[0], limit: m.limit})
			return res.Err
		})
		return []DeliveryResult{res}, err
	}
	results := make([]DeliveryResult, len(msgs))
	err := m.with(ctx, func(u *userState) error {
		var f *folderRow
		var linked []string
		err := u.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			linked = linked[:0]
			var err error
			if f, err = getFolder(ctx, tx, name); err != nil {
				return err
			}
			var used, count, total int64
			if err := tx.QueryRowContext(ctx, "SELECT used_bytes, (SELECT COALESCE(SUM(messages), 0) FROM folders) FROM account WHERE id = 1").
				Scan(&used, &count); err != nil {
				return err
			}
			for _, msg := range msgs {
				total += msg.Msg.sp.size
			}
			if overQuota(used, total, m.limit) {
				return mailerr.ErrOverQuota.With(fmt.Errorf("%s: %d + %d bytes > %d", u.key, used, total, m.limit))
			}
			if overQuota(count, int64(len(msgs)), u.s.maxMsgs) {
				return mailerr.ErrOverQuota.With(fmt.Errorf("%s: %d + %d messages > %d", u.key, count, len(msgs), u.s.maxMsgs))
			}
			f.highestModSeq++
			rows := make([]messageRow, len(msgs))
			for i, msg := range msgs {
				uid, path, err := u.linkNext(msg.Msg.sp, f)
				if err != nil {
					return err
				}
				linked = append(linked, path)
				rows[i] = messageRow{uid: uid, modseq: f.highestModSeq, date: msg.Msg.sp.date.UTC(), size: msg.Msg.sp.size}
				rows[i].setFlags(flags[i])
			}
			if err := u.syncFolderDir(f.id); err != nil {
				return err
			}
			for i, msg := range msgs {
				sp := msg.Msg.sp
				if err := insertMessage(ctx, tx, f.id, &rows[i], sp.header, sp.parsed, sp.filter); err != nil {
					return err
				}
				f.counts.add(contribution(rows[i].seen, rows[i].deleted, rows[i].size))
				results[i] = DeliveryResult{UIDValidity: f.uidValidity, UID: rows[i].uid}
			}
			if err := saveFolder(ctx, tx, f); err != nil {
				return err
			}
			return addUsed(ctx, tx, total)
		})
		if err != nil {
			for _, p := range linked {
				os.Remove(p)
			}
			return err
		}
		u.notify(name, f.highestModSeq)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}
