package storage

// Packed text filters. A search must look at the filter of every message
// of a folder, and read one row per message a 100,000-message folder
// spends most of a search in calls into SQLite and in reading about 100 MB
// of filters. So once a folder has packMin filters in textidx, a search
// first moves them into a pack: up to packMsgs messages whose filters are
// stored bit-sliced (textslice: one row per bit position, a bitmap over
// the pack's messages). A query then reads only the bit positions of its
// own trigrams — a few dozen rows of 256 bytes per 2,048 messages — and
// ANDs them.
//
// Filters are sliced at sliceBits bits: a larger filter is folded (OR of
// its halves, which loses nothing a query looks at, see buildTextFilter),
// a smaller one is tiled (bit i of an s-bit filter is bit i+k·s here,
// which is exactly where a query's h & (sliceBits-1) finds it). Version 1
// filters (no accent-free trigrams) are left in textidx.
//
// New messages get their own textidx row (at the first search after them,
// textpending.go), so packing never slows delivery. Expunged messages leave their bits in a pack, harmless
// since UIDs are never reused in a folder, until no message of the pack
// is left (dropEmptyPacks); a COPY or MOVE of a packed message gives the
// copy its filter back out of the slices (copySlicedFilters).

import (
	"context"
	"database/sql"
	"encoding/binary"
	"slices"
	"strings"
)

const (
	// packMin is how many unpacked filters make a search pack them.
	packMin = 512
	// packMsgs is the most messages in one pack: a slice is 256 bytes.
	packMsgs = 2048
	// sliceBits is the filter size the packs keep (8,192 bits, the size
	// of the filter of a message of a few kilobytes of text).
	sliceBits = 8192
	// uidSlice is the slice number of a pack's row of UIDs.
	uidSlice = -1
	// maxQueryPositions bounds the rows one query reads per pack; more
	// trigrams would exclude little more.
	maxQueryPositions = 64
)

// packTextFilters moves the folder's version 2 textidx rows into packs,
// when there are at least packMin of them.
func (u *userState) packTextFilters(ctx context.Context, folderID int64) error {
	var n int
	if err := u.db.QueryRowContext(ctx, "SELECT count(*) FROM textidx WHERE folder_id = ?", folderID).Scan(&n); err != nil || n < packMin {
		return err
	}
	return u.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var next int64
		if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(pack), -1) + 1 FROM textslice WHERE folder_id = ?", folderID).Scan(&next); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, "SELECT uid, filter FROM textidx WHERE folder_id = ? ORDER BY uid", folderID)
		if err != nil {
			return err
		}
		var p *sliceBuilder
		var packs []*sliceBuilder
		for rows.Next() {
			var uid uint32
			var f sql.RawBytes
			if err := rows.Scan(&uid, &f); err != nil {
				rows.Close()
				return err
			}
			if !sliceable(f) {
				continue // version 1, or not a filter of ours: stays
			}
			if p == nil || len(p.uids) == packMsgs {
				p = &sliceBuilder{bits: make([][]byte, sliceBits)}
				packs = append(packs, p)
			}
			p.add(uid, f[1:])
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, p := range packs {
			if err := p.insert(ctx, tx, folderID, next); err != nil {
				return err
			}
			for i := 0; i < len(p.uids); i += 500 {
				chunk := p.uids[i:min(i+500, len(p.uids))]
				args := []any{folderID}
				for _, uid := range chunk {
					args = append(args, uid)
				}
				if _, err := tx.ExecContext(ctx, "DELETE FROM textidx WHERE folder_id = ? AND uid IN (?"+strings.Repeat(",?", len(chunk)-1)+")", args...); err != nil {
					return err
				}
			}
			next++
		}
		return nil
	})
}

// sliceable: a version 2 filter whose size is a power of two.
func sliceable(f []byte) bool {
	n := len(f) - 1
	return len(f) > 1 && f[0] == 2 && n >= minBloomBytes && n&(n-1) == 0
}

// sliceBuilder transposes the filters of one pack.
type sliceBuilder struct {
	uids []uint32
	bits [][]byte // by bit position; nil: no message has it
}

// add puts message j = len(uids) into the pack.
func (b *sliceBuilder) add(uid uint32, filter []byte) {
	j := len(b.uids)
	b.uids = append(b.uids, uid)
	size := len(filter) * 8
	for i, c := range filter {
		for c != 0 {
			bit := i*8 + trailingZeros8(c)
			c &= c - 1
			if size >= sliceBits {
				b.set(bit&(sliceBits-1), j)
				continue
			}
			for p := bit; p < sliceBits; p += size {
				b.set(p, j)
			}
		}
	}
}

func (b *sliceBuilder) set(pos, j int) {
	if b.bits[pos] == nil {
		b.bits[pos] = make([]byte, packMsgs/8)
	}
	b.bits[pos][j/8] |= 1 << (j % 8)
}

func trailingZeros8(c byte) int {
	n := 0
	for c&1 == 0 {
		c >>= 1
		n++
	}
	return n
}

// insert writes the pack's rows: its UIDs and every bit position that
// some message has, cut to the pack's length.
func (b *sliceBuilder) insert(ctx context.Context, tx *sql.Tx, folderID, pack int64) error {
	uids := make([]byte, 0, 4*len(b.uids))
	for _, uid := range b.uids {
		uids = binary.LittleEndian.AppendUint32(uids, uid)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO textslice (folder_id, pack, slice, bits) VALUES (?, ?, ?, ?)", folderID, pack, uidSlice, uids); err != nil {
		return err
	}
	n := (len(b.uids) + 7) / 8
	for pos, bits := range b.bits {
		if bits == nil {
			continue
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO textslice (folder_id, pack, slice, bits) VALUES (?, ?, ?, ?)", folderID, pack, pos, bits[:n]); err != nil {
			return err
		}
	}
	return nil
}

// queryPositions are the bit positions (at sliceBits) a message's filter
// must all have to contain the query.
func (q textQuery) queryPositions() []int {
	var out []int
	for _, h := range q.trigrams {
		for _, bit := range bloomBits(h, sliceBits-1) {
			out = append(out, int(bit))
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > maxQueryPositions {
		out = out[:maxQueryPositions]
	}
	return out
}

// excludePacked adds to out the packed messages of the folder that cannot
// match q.
func excludePacked(ctx context.Context, db *sql.DB, folderID int64, q textQuery, out map[uint32]bool) error {
	pos := q.queryPositions()
	args := []any{folderID, uidSlice}
	for _, p := range pos {
		args = append(args, p)
	}
	rows, err := db.QueryContext(ctx, "SELECT pack, slice, bits FROM textslice WHERE folder_id = ? AND slice IN (?"+
		strings.Repeat(",?", len(pos))+") ORDER BY pack, slice", args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cur := int64(-1)
	var uids []uint32
	var acc []byte
	seen := 0
	finish := func() {
		if uids == nil {
			return
		}
		for j, uid := range uids {
			// A position no row was read for is a position no message of
			// the pack has: every message is excluded.
			if seen < len(pos) || acc[j/8]&(1<<(j%8)) == 0 {
				out[uid] = true
			}
		}
	}
	for rows.Next() {
		var pack, slice int64
		var bits sql.RawBytes
		if err := rows.Scan(&pack, &slice, &bits); err != nil {
			return err
		}
		if pack != cur {
			finish()
			cur, uids, acc, seen = pack, nil, nil, 0
		}
		if slice == uidSlice {
			for i := 0; i+4 <= len(bits); i += 4 {
				uids = append(uids, binary.LittleEndian.Uint32(bits[i:]))
			}
			acc = make([]byte, (len(uids)+7)/8)
			for i := range acc {
				acc[i] = 0xff
			}
			continue
		}
		seen++
		for i := range acc {
			if i < len(bits) {
				acc[i] &= bits[i]
			} else {
				acc[i] = 0
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	finish()
	return nil
}

// dropEmptyPacks deletes the packs none of whose messages is left in the
// folder (all expunged or moved away).
func (u *userState) dropEmptyPacks(ctx context.Context, folderID int64) error {
	rows, err := u.db.QueryContext(ctx, "SELECT pack, bits FROM textslice WHERE folder_id = ? AND slice = ?", folderID, uidSlice)
	if err != nil {
		return err
	}
	type span struct {
		pack   int64
		lo, hi uint32
	}
	var spans []span
	for rows.Next() {
		var pack int64
		var uids sql.RawBytes
		if err := rows.Scan(&pack, &uids); err != nil {
			rows.Close()
			return err
		}
		if len(uids) >= 4 {
			spans = append(spans, span{pack, binary.LittleEndian.Uint32(uids), binary.LittleEndian.Uint32(uids[len(uids)-4:])})
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	var empty []int64
	for _, sp := range spans {
		var n int
		if err := u.db.QueryRowContext(ctx, "SELECT count(*) FROM messages WHERE folder_id = ? AND uid BETWEEN ? AND ?",
			folderID, sp.lo, sp.hi).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			empty = append(empty, sp.pack)
		}
	}
	if len(empty) == 0 {
		return nil
	}
	return u.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, p := range empty {
			if _, err := tx.ExecContext(ctx, "DELETE FROM textslice WHERE folder_id = ? AND pack = ?", folderID, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// copySlicedFilters gives copies of packed messages (pairs of source and
// copy UIDs) their filters, read back out of the source folder's slices
// as sliceBits-bit filters: one pass over each pack involved.
func copySlicedFilters(ctx context.Context, tx *sql.Tx, src, dst int64, pairs [][2]uint32) error {
	if len(pairs) == 0 {
		return nil
	}
	want := make(map[uint32]uint32, len(pairs)) // source UID → copy UID
	lo, hi := pairs[0][0], pairs[0][0]
	for _, p := range pairs {
		want[p[0]] = p[1]
		lo, hi = min(lo, p[0]), max(hi, p[0])
	}
	// The packs holding them: those whose UID rows name one of them.
	rows, err := tx.QueryContext(ctx, "SELECT pack, bits FROM textslice WHERE folder_id = ? AND slice = ?", src, uidSlice)
	if err != nil {
		return err
	}
	where := map[int64]map[int]uint32{} // pack → position → source UID
	for rows.Next() {
		var pack int64
		var uids sql.RawBytes
		if err := rows.Scan(&pack, &uids); err != nil {
			rows.Close()
			return err
		}
		for j := 0; 4*j+4 <= len(uids); j++ {
			uid := binary.LittleEndian.Uint32(uids[4*j:])
			if uid < lo || uid > hi {
				continue
			}
			if _, ok := want[uid]; ok {
				if where[pack] == nil {
					where[pack] = map[int]uint32{}
				}
				where[pack][j] = uid
			}
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for pack, members := range where {
		filters := map[uint32][]byte{}
		for _, uid := range members {
			f := make([]byte, 1+sliceBits/8)
			f[0] = bloomVersion
			filters[uid] = f
		}
		rows, err := tx.QueryContext(ctx, "SELECT slice, bits FROM textslice WHERE folder_id = ? AND pack = ? AND slice >= 0", src, pack)
		if err != nil {
			return err
		}
		for rows.Next() {
			var pos int
			var bits sql.RawBytes
			if err := rows.Scan(&pos, &bits); err != nil {
				rows.Close()
				return err
			}
			for j, uid := range members {
				if j/8 < len(bits) && bits[j/8]&(1<<(j%8)) != 0 {
					filters[uid][1+pos/8] |= 1 << (pos % 8)
				}
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for uid, f := range filters {
			if _, err := tx.ExecContext(ctx, "INSERT INTO textidx (folder_id, uid, filter) VALUES (?, ?, ?)", dst, want[uid], f); err != nil {
				return err
			}
		}
	}
	return nil
}

// packsNeedCheck reports whether folder id's packs may have emptied since
// they were last checked (its message count or UIDNEXT changed).
func (u *userState) packsNeedCheck(id int64, mark [2]int64) bool {
	u.packsMu.Lock()
	defer u.packsMu.Unlock()
	last, ok := u.packsChecked[id]
	return !ok || last != mark
}

// packsCheckedAt records that folder id's packs were checked at mark.
func (u *userState) packsCheckedAt(id int64, mark [2]int64) {
	u.packsMu.Lock()
	defer u.packsMu.Unlock()
	if u.packsChecked == nil {
		u.packsChecked = map[int64][2]int64{}
	}
	u.packsChecked[id] = mark
}
