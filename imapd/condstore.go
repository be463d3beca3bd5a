package imapd

import (
	"sort"

	"congvu/imapd/wire"
	"congvu/storage"
)

// CONDSTORE and QRESYNC (RFC 7162): every message has a MODSEQ that grows
// with each change, each folder a HIGHESTMODSEQ; the store keeps both and
// a bounded log of expunged UIDs by MODSEQ.

// enableCondstore turns CONDSTORE on (RFC 7162 §3.1: ENABLE, SELECT
// (CONDSTORE) or any CONDSTORE-enabling command). A mailbox already
// selected gets its HIGHESTMODSEQ now (RFC 7162 §3.1.2.1).
func (c *conn) enableCondstore() {
	if c.condstore {
		return
	}
	c.condstore = true
	if c.sel != nil {
		c.w.Status("*", "OK", "HIGHESTMODSEQ "+u64toa(c.sel.last.HighestModSeq), "Highest mailbox modseq")
	}
}

func u64toa(n uint64) string {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(buf[i:])
		}
	}
}

// listing returns the store's rows of the selected folder (UID order),
// for MODSEQ values the view does not keep.
func (c *conn) listing() ([]storage.MessageInfo, error) {
	return c.sel.mbox.Messages(c.ctx, c.sel.folder)
}

// modseqOf finds uid's MODSEQ in a listing (0: not there).
func modseqOf(list []storage.MessageInfo, uid uint32) uint64 {
	i := sort.Search(len(list), func(i int) bool { return list[i].UID >= uid })
	if i < len(list) && list[i].UID == uid {
		return list[i].ModSeq
	}
	return 0
}

// qresyncSelect sends what changed since the client's last session
// (RFC 7162 §3.2.5): the UIDs expunged since its MODSEQ as VANISHED
// (EARLIER), then FETCH FLAGS MODSEQ of the messages changed since.
func (c *conn) qresyncSelect(q *wire.QResyncParams) error {
	sel := c.sel
	if q.UIDValidity != sel.uidValidity {
		return nil // RFC 7162 §3.2.5.2: the client starts over
	}
	list, err := c.listing()
	if err != nil {
		return err
	}
	var maxUID uint32
	if n := len(sel.msgs); n > 0 {
		maxUID = sel.msgs[n-1].uid
	}
	known := func(uid uint32) bool {
		return q.KnownUIDs == nil || setContains(*q.KnownUIDs, uid, max(maxUID, sel.last.UIDNext-1))
	}
	if err := c.writeVanishedEarlier(q.ModSeq, q.KnownUIDs, known); err != nil {
		return err
	}
	for i, m := range sel.msgs {
		ms := modseqOf(list, m.uid)
		if ms > q.ModSeq && known(m.uid) {
			c.writeFlagsUpdate(i, ms)
		}
	}
	return nil
}

// writeVanishedEarlier sends "* VANISHED (EARLIER)" with the UIDs within
// scope (nil: all) expunged after since. When the store's log does not
// reach back that far, every UID in scope that is not in the folder is
// sent, as RFC 7162 §3.2.5.2 allows.
func (c *conn) writeVanishedEarlier(since uint64, scope *wire.NumSet, inScope func(uint32) bool) error {
	sel := c.sel
	uids, complete, err := sel.mbox.Vanished(c.ctx, sel.folder, since)
	if err != nil {
		return err
	}
	var set string
	if complete {
		keep := uids[:0]
		for _, u := range uids {
			if inScope(u) {
				keep = append(keep, u)
			}
		}
		set = uidSetString(keep)
	} else {
		set = c.missingUIDs(scope)
	}
	if set != "" {
		c.w.Raw("* VANISHED (EARLIER) ").Raw(set).CRLF()
	}
	return nil
}

// missingUIDs are the UIDs below UIDNEXT within scope (nil: all) that
// the view does not hold, as ranges.
func (c *conn) missingUIDs(scope *wire.NumSet) string {
	sel := c.sel
	top := sel.last.UIDNext - 1
	if n := len(sel.msgs); n > 0 {
		top = max(top, sel.msgs[n-1].uid)
	}
	if top == 0 {
		return ""
	}
	// The complement of the view's UIDs in [1, top], as ranges.
	var gaps [][2]uint32
	next := uint32(1)
	for _, m := range sel.msgs {
		if m.uid > next {
			gaps = append(gaps, [2]uint32{next, m.uid - 1})
		}
		next = m.uid + 1
	}
	if next <= top {
		gaps = append(gaps, [2]uint32{next, top})
	}
	if scope != nil {
		gaps = intersectRanges(gaps, scope.Ranges, top)
	}
	var out []byte
	for _, g := range gaps {
		if len(out) > 0 {
			out = append(out, ',')
		}
		out = append(out, itoa(g[0])...)
		if g[1] != g[0] {
			out = append(out, ':')
			out = append(out, itoa(g[1])...)
		}
	}
	return string(out)
}

// intersectRanges intersects sorted disjoint ranges with a sequence set
// ("*" being star).
func intersectRanges(a [][2]uint32, set []wire.NumRange, star uint32) [][2]uint32 {
	var b [][2]uint32
	for _, r := range set {
		lo, hi := orStar(r.Start, star), orStar(r.Stop, star)
		if lo > hi {
			lo, hi = hi, lo
		}
		b = append(b, [2]uint32{lo, hi})
	}
	sort.Slice(b, func(i, j int) bool { return b[i][0] < b[j][0] })
	var out [][2]uint32
	for _, x := range a {
		for _, y := range b {
			lo, hi := max(x[0], y[0]), min(x[1], y[1])
			if lo <= hi {
				out = append(out, [2]uint32{lo, hi})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	// Merge overlaps from overlapping ranges of the set.
	merged := out[:0]
	for _, r := range out {
		if n := len(merged); n > 0 && r[0] <= merged[n-1][1]+1 {
			merged[n-1][1] = max(merged[n-1][1], r[1])
			continue
		}
		merged = append(merged, r)
	}
	return merged
}
