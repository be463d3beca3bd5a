package imapd

import (
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"golang.org/x/text/unicode/norm"

	"congvu/imapd/wire"
)

// sortItem is one matched message with what its sort keys need.
type sortItem struct {
	idx     int // position in the view (sequence number - 1)
	uid     uint32
	size    int64
	arrival time.Time
	env     *imap.Envelope
	header  []byte
}

// sentDate is the message's Date in UTC, or its internal date when it has
// none (RFC 5256 §2.2).
func (it *sortItem) sentDate() time.Time {
	if it.env != nil && !it.env.Date.IsZero() {
		return it.env.Date.UTC()
	}
	return it.arrival.UTC()
}

func (it *sortItem) subject() string {
	if it.env == nil {
		return ""
	}
	return it.env.Subject
}

// loadSortItems reads the cached envelopes (and with headers, the raw
// header blocks) of the matched messages.
func (c *conn) loadSortItems(res *searchResult, headers bool) ([]*sortItem, error) {
	sel := c.sel
	pre := newCachedWindow(c, sel, res.idx, true, false)
	items := make([]*sortItem, 0, len(res.idx))
	for n, i := range res.idx {
		v := sel.view(i)
		it := &sortItem{idx: i, uid: v.uid, size: v.size, arrival: v.date}
		cached, err := pre.get(n)
		if err != nil {
			return nil, err
		}
		if cached == nil {
			if cached, err = sel.mbox.Cached(c.ctx, sel.folder, v.uid); err != nil {
				if isGone(err) {
					continue
				}
				return nil, err
			}
		}
		it.env = cached.Envelope
		if headers {
			it.header = cached.Header
		}
		items = append(items, it)
	}
	return items, nil
}

// firstAddress is the first address of l that is not a group marker.
func firstAddress(l []imap.Address) (imap.Address, bool) {
	for _, a := range l {
		if a.Host != "" {
			return a, true
		}
	}
	return imap.Address{}, false
}

// addrKey is the SORT key of an address list: the mailbox (local part) of
// its first address (RFC 5256 §3 FROM, TO, CC), or with display the
// display name, else the address (RFC 5957 §3).
func addrKey(l []imap.Address, display bool) string {
	a, ok := firstAddress(l)
	if !ok {
		return ""
	}
	if display {
		if a.Name != "" {
			return fold(a.Name)
		}
		return fold(a.Mailbox + "@" + a.Host)
	}
	return fold(a.Mailbox)
}

// compareBy compares two items by one sort key (without REVERSE).
func compareBy(key string, a, b *sortItem) int {
	switch key {
	case "ARRIVAL":
		return a.arrival.Compare(b.arrival)
	case "DATE":
		return a.sentDate().Compare(b.sentDate())
	case "SIZE":
		return cmpInt(a.size, b.size)
	case "SUBJECT":
		sa, _ := baseSubject(a.subject())
		sb, _ := baseSubject(b.subject())
		return strings.Compare(collationKey(sa), collationKey(sb))
	}
	var la, lb []imap.Address
	display := strings.HasPrefix(key, "DISPLAY")
	if a.env != nil && b.env != nil {
		switch key {
		case "FROM", "DISPLAYFROM":
			la, lb = a.env.From, b.env.From
		case "TO", "DISPLAYTO":
			la, lb = a.env.To, b.env.To
		case "CC":
			la, lb = a.env.Cc, b.env.Cc
		}
	}
	return strings.Compare(collationKey(addrKey(la, display)), collationKey(addrKey(lb, display)))
}

// collationKey orders text as i;unicode-casemap (RFC 5051) does: case
// folded, then fully decomposed, so "Ánh" sorts with "anh", before "b".
func collationKey(s string) string {
	return norm.NFKD.String(strings.ToLower(s))
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmdSort implements SORT and UID SORT (RFC 5256 §3, RFC 5957
// DISPLAYFROM/DISPLAYTO) with ESORT result options (RFC 5267 §3).
// Messages equal on every key keep sequence order (RFC 5256 §3).
func (c *conn) cmdSort(cmd *wire.Command) error {
	sp := cmd.Search
	if err := checkCharset(sp.Charset); err != nil {
		return err
	}
	res, err := c.search(&sp.Key)
	if err != nil {
		return err
	}
	items, err := c.loadSortItems(res, false)
	if err != nil {
		return err
	}
	sort.SliceStable(items, func(i, j int) bool {
		for _, k := range sp.Sort {
			d := compareBy(k.Key, items[i], items[j])
			if k.Reverse {
				d = -d
			}
			if d != 0 {
				return d < 0
			}
		}
		return items[i].idx < items[j].idx
	})
	nums := make([]uint32, len(items))
	for i, it := range items {
		if cmd.UID {
			nums[i] = it.uid
		} else {
			nums[i] = uint32(it.idx + 1)
		}
	}
	if sp.Return == nil {
		c.w.Raw("* SORT")
		for _, n := range nums {
			c.w.SP().Num32(n)
		}
		c.w.CRLF()
		return nil
	}
	c.answerESort(cmd, items, nums)
	return nil
}

// answerESort writes the ESEARCH response of SORT RETURN (RFC 5267 §3.2):
// MIN and MAX are numeric, ALL keeps the sort order.
func (c *conn) answerESort(cmd *wire.Command, items []*sortItem, nums []uint32) {
	opts := cmd.Search.Return
	if len(opts) == 0 {
		opts = []string{"ALL"}
	}
	has := func(o string) bool { return containsItem(opts, o) }
	if has("SAVE") {
		uids := make([]uint32, len(items))
		for i, it := range items {
			uids[i] = it.uid
		}
		c.sel.searchRes = uids
		if len(opts) == 1 {
			return
		}
	}
	w := c.w
	w.Raw(`* ESEARCH (TAG `).Quoted(c.tag).Byte(')')
	if cmd.UID {
		w.Raw(" UID")
	}
	if len(nums) > 0 {
		lo, hi := nums[0], nums[0]
		for _, n := range nums {
			lo, hi = min(lo, n), max(hi, n)
		}
		if has("MIN") {
			w.Raw(" MIN ").Num32(lo)
		}
		if has("MAX") {
			w.Raw(" MAX ").Num32(hi)
		}
		if has("ALL") {
			w.Raw(" ALL ").Raw(orderedSet(nums))
		}
	}
	if has("COUNT") {
		w.Raw(" COUNT ").Num(uint64(len(nums)))
	}
	w.CRLF()
}

// orderedSet writes numbers in their order, runs of +1 as ranges.
func orderedSet(nums []uint32) string {
	var b strings.Builder
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(itoa(nums[i]))
		if j > i {
			b.WriteByte(':')
			b.WriteString(itoa(nums[j]))
		}
		i = j + 1
	}
	return b.String()
}
