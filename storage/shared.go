package storage

import (
	"context"
	"database/sql"
	"slices"
	"strings"
)

// A shared mailbox (a unit's văn thư mailbox) is read by several
// accounts; each keeps its own \Seen (RFC 4314 §4: "\Seen ... per-user").
// The seen table holds, per folder and reader, the UIDs the reader has
// seen; other flags are shared.

// readerUnseen counts the messages of f the reader has not seen.
func (m *mailbox) readerUnseen(ctx context.Context, u *userState, f *folderRow) (uint32, error) {
	var n int64
	err := u.db.QueryRowContext(ctx, "SELECT count(*) FROM seen WHERE folder_id = ? AND reader = ?", f.id, m.reader).Scan(&n)
	return uint32(max(f.counts.messages-n, 0)), err
}

// readerView returns the listing with the reader's \Seen in place of the
// stored one. Flag slices stay shared between messages with equal flags.
func (m *mailbox) readerView(ctx context.Context, u *userState, folderID int64, list []MessageInfo) ([]MessageInfo, error) {
	seen := map[uint32]bool{}
	rows, err := u.db.QueryContext(ctx, "SELECT uid FROM seen WHERE folder_id = ? AND reader = ?", folderID, m.reader)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var uid uint32
		if err := rows.Scan(&uid); err != nil {
			rows.Close()
			return nil, err
		}
		seen[uid] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	type key struct {
		flags string
		seen  bool
	}
	shared := map[key][]string{}
	out := make([]MessageInfo, len(list))
	for i, msg := range list {
		k := key{joinFlags(msg.Flags), seen[msg.UID]}
		f, ok := shared[k]
		if !ok {
			f = withSeen(msg.Flags, k.seen)
			shared[k] = f
		}
		msg.Flags = f
		out[i] = msg
	}
	return out, nil
}

// withSeen returns flags with \Seen set or cleared (sorted, as stored).
func withSeen(flags []string, seen bool) []string {
	out := make([]string, 0, len(flags)+1)
	for _, f := range flags {
		if f != flagSeen {
			out = append(out, f)
		}
	}
	if seen {
		out = append(out, flagSeen)
		slices.Sort(out)
	}
	return out
}

// readerSeen is a reader's \Seen state of some messages during SetFlags.
type readerSeen struct {
	m        *mailbox
	folderID int64
	seen     map[uint32]bool
}

func (m *mailbox) loadReaderSeen(ctx context.Context, tx *sql.Tx, folderID int64, uids []uint32) (*readerSeen, error) {
	rs := &readerSeen{m: m, folderID: folderID, seen: map[uint32]bool{}}
	lo, hi := uidRange(uids)
	rows, err := tx.QueryContext(ctx, "SELECT uid FROM seen WHERE folder_id = ? AND reader = ? AND uid BETWEEN ? AND ?",
		folderID, m.reader, lo, hi)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var uid uint32
		if err := rows.Scan(&uid); err != nil {
			return nil, err
		}
		rs.seen[uid] = true
	}
	return rs, rows.Err()
}

// apply carries out op for one message: the reader's \Seen in the seen
// table, the other flags on the stored ones (whose \Seen is kept). It
// returns the new stored flags and whether the reader's \Seen changed.
func (rs *readerSeen) apply(ctx context.Context, tx *sql.Tx, msg messageRow, op FlagOp, flags []string) ([]string, bool, error) {
	hasSeen := containsFold(flags, flagSeen)
	others := make([]string, 0, len(flags))
	for _, f := range flags {
		if !strings.EqualFold(f, flagSeen) {
			others = append(others, f)
		}
	}
	nf := applyFlags(msg.flags, op, others)
	if op == FlagsSet {
		nf = withSeen(others, msg.seen)
	}
	was := rs.seen[msg.uid]
	now := was
	switch op {
	case FlagsSet:
		now = hasSeen
	case FlagsAdd:
		now = was || hasSeen
	case FlagsRemove:
		now = was && !hasSeen
	}
	if now == was {
		return nf, false, nil
	}
	q := "INSERT OR IGNORE INTO seen (folder_id, reader, uid) VALUES (?, ?, ?)"
	if !now {
		q = "DELETE FROM seen WHERE folder_id = ? AND reader = ? AND uid = ?"
	}
	if _, err := tx.ExecContext(ctx, q, rs.folderID, rs.m.reader, msg.uid); err != nil {
		return nil, false, err
	}
	rs.seen[msg.uid] = now
	return nf, true, nil
}

// overlay gives stored flags the reader's \Seen.
func (rs *readerSeen) overlay(uid uint32, flags []string) []string {
	return withSeen(flags, rs.seen[uid])
}
