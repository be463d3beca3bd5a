package policy

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// accessSlot is one official's access on one day: first and last time (in
// seconds since local midnight), the protocols used, and how many times.
// Stored as slotSize bytes per day of the month in access.days.
type accessSlot struct {
	first, last uint32 // seconds of day; meaningful when count > 0
	protos      uint8
	count       uint16 // saturates
}

// slotSize: first+1 (3 bytes, 0 = no access), last (3 bytes), protocols
// (1 byte), count (2 bytes), big-endian.
const slotSize = 9

func (s accessSlot) accessed() bool { return s.count > 0 }

func (s *accessSlot) merge(o accessSlot) {
	if !o.accessed() {
		return
	}
	if !s.accessed() {
		*s = o
		return
	}
	s.first = min(s.first, o.first)
	s.last = max(s.last, o.last)
	s.protos |= o.protos
	s.count = uint16(min(int(s.count)+int(o.count), 0xffff))
}

func decodeSlot(b []byte) accessSlot {
	f := uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
	if f == 0 {
		return accessSlot{}
	}
	return accessSlot{
		first:  f - 1,
		last:   uint32(b[3])<<16 | uint32(b[4])<<8 | uint32(b[5]),
		protos: b[6],
		count:  max(uint16(b[7])<<8|uint16(b[8]), 1),
	}
}

func encodeSlot(b []byte, s accessSlot) {
	if !s.accessed() {
		clear(b[:slotSize])
		return
	}
	f := s.first + 1
	b[0], b[1], b[2] = byte(f>>16), byte(f>>8), byte(f)
	b[3], b[4], b[5] = byte(s.last>>16), byte(s.last>>8), byte(s.last)
	b[6] = s.protos
	b[7], b[8] = byte(s.count>>8), byte(s.count)
}

// slotAt returns the slot of day index i (0-based day of month) of a blob.
func slotAt(days []byte, i int) accessSlot {
	if (i+1)*slotSize > len(days) {
		return accessSlot{}
	}
	return decodeSlot(days[i*slotSize:])
}

// mergeDays merges slots into a month blob and cuts trailing empty days.
func mergeDays(days []byte, add map[int]accessSlot) []byte {
	n := len(days) / slotSize
	for i := range add {
		n = max(n, i+1)
	}
	out := make([]byte, n*slotSize)
	copy(out, days[:len(days)/slotSize*slotSize])
	for i, s := range add {
		cur := decodeSlot(out[i*slotSize:])
		cur.merge(s)
		encodeSlot(out[i*slotSize:], cur)
	}
	for len(out) >= slotSize && decodeSlot(out[len(out)-slotSize:]) == (accessSlot{}) {
		out = out[:len(out)-slotSize]
	}
	return out
}

// accessKey identifies a pending access record.
type accessKey struct {
	address string
	day     Day
}

// newSlot is one access at t.
func newSlot(t time.Time, loc *time.Location, p Protocol) (Day, accessSlot) {
	sec := uint32(secondsOfDay(t, loc))
	return DayOf(t, loc), accessSlot{first: sec, last: sec, protos: p.Bit(), count: 1}
}

// userIDs resolves addresses to user ids, creating missing ones, in tx.
func userIDs(ctx context.Context, tx *sql.Tx, cache map[string]int64, addresses []string) error {
	var sel, ins *sql.Stmt
	for _, a := range addresses {
		if _, ok := cache[a]; ok {
			continue
		}
		if sel == nil {
			var err error
			if sel, err = tx.PrepareContext(ctx, `SELECT id FROM users WHERE address = ?`); err != nil {
				return err
			}
			defer sel.Close()
			if ins, err = tx.PrepareContext(ctx, `INSERT INTO users (address) VALUES (?)`); err != nil {
				return err
			}
			defer ins.Close()
		}
		var id int64
		err := sel.QueryRowContext(ctx, a).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			res, ierr := ins.ExecContext(ctx, a)
			if ierr != nil {
				return ierr
			}
			id, err = res.LastInsertId()
		}
		if err != nil {
			return err
		}
		cache[a] = id
	}
	return nil
}

// writeAccess merges pending access records into the month rows.
func writeAccess(ctx context.Context, tx *sql.Tx, cache map[string]int64, pending map[accessKey]accessSlot) error {
	if len(pending) == 0 {
		return nil
	}
	type rowKey struct {
		month Month
		user  string
	}
	rows := map[rowKey]map[int]accessSlot{}
	var addrs []string
	for k, s := range pending {
		rk := rowKey{MonthOf(k.day), k.address}
		if rows[rk] == nil {
			rows[rk] = map[int]accessSlot{}
			addrs = append(addrs, k.address)
		}
		_, _, d := k.day.Date()
		cur := rows[rk][d-1]
		cur.merge(s)
		rows[rk][d-1] = cur
	}
	if err := userIDs(ctx, tx, cache, addrs); err != nil {
		return err
	}
	sel, err := tx.PrepareContext(ctx, `SELECT days FROM access WHERE month = ? AND user_id = ?`)
	if err != nil {
		return err
	}
	defer sel.Close()
	put, err := tx.PrepareContext(ctx, `INSERT INTO access (month, user_id, days) VALUES (?, ?, ?)
		ON CONFLICT (month, user_id) DO UPDATE SET days = excluded.days`)
	if err != nil {
		return err
	}
	defer put.Close()
	for rk, add := range rows {
		id := cache[rk.user]
		var days []byte
		if err := sel.QueryRowContext(ctx, int64(rk.month), id).Scan(&days); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := put.ExecContext(ctx, int64(rk.month), id, mergeDays(days, add)); err != nil {
			return err
		}
	}
	return nil
}

// AccessDay is one official's access on one day, as reports see it.
type AccessDay struct {
	Day         Day
	First, Last time.Time
	Protocols   uint8
	Count       int
}

// monthRows reads the access rows of months [from, to] for every user:
// user id → month → blob.
func (db *DB) monthRows(ctx context.Context, from, to Month) (map[int64]map[Month][]byte, error) {
	rows, err := db.ro.QueryContext(ctx, `SELECT user_id, month, days FROM access WHERE month BETWEEN ? AND ?`,
		int64(from), int64(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]map[Month][]byte{}
	for rows.Next() {
		var id, m int64
		var days []byte
		if err := rows.Scan(&id, &m, &days); err != nil {
			return nil, err
		}
		if out[id] == nil {
			out[id] = map[Month][]byte{}
		}
		out[id][Month(m)] = days
	}
	return out, rows.Err()
}

// users returns address → user id for every known user.
func (db *DB) users(ctx context.Context) (map[string]int64, error) {
	rows, err := db.ro.QueryContext(ctx, `SELECT id, address FROM users`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id int64
		var a string
		if err := rows.Scan(&id, &a); err != nil {
			return nil, err
		}
		out[a] = id
	}
	return out, rows.Err()
}

// AccessHistory returns one official's access days in [from, to].
func (db *DB) AccessHistory(ctx context.Context, address string, from, to Day, loc *time.Location) ([]AccessDay, error) {
	var id int64
	err := db.ro.QueryRowContext(ctx, `SELECT id FROM users WHERE address = ?`, address).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rows, err := db.ro.QueryContext(ctx, `SELECT month, days FROM access WHERE user_id = ? AND month BETWEEN ? AND ? ORDER BY month`,
		id, int64(MonthOf(from)), int64(MonthOf(to)))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AccessDay
	for rows.Next() {
		var m int64
		var days []byte
		if err := rows.Scan(&m, &days); err != nil {
			return nil, err
		}
		first := Month(m).First()
		for i := 0; i*slotSize < len(days); i++ {
			d := first + Day(i)
			s := slotAt(days, i)
			if !s.accessed() || d < from || d > to {
				continue
			}
			start := d.Start(loc)
			out = append(out, AccessDay{Day: d, Protocols: s.protos, Count: int(s.count),
				First: start.Add(time.Duration(s.first) * time.Second), Last: start.Add(time.Duration(s.last) * time.Second)})
		}
	}
	return out, rows.Err()
}
