package imapd

import (
	"io"
	"strings"
	"time"

	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode non-UTF-8 parts (windows-1258, ISO-8859-x…) for BODY/TEXT
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"congvu/imapd/wire"
	"congvu/internal/bufsize"
	"congvu/internal/maildate"
	"congvu/storage"
)

// searchResult is the messages a search program matched, in view order.
type searchResult struct {
	idx  []int    // positions in the view
	uids []uint32 // their UIDs
	// maxModSeq is the highest MODSEQ of the matches when the program
	// used MODSEQ (RFC 7162 §3.1.5); 0 otherwise.
	maxModSeq uint64
}

// cmdSearch implements SEARCH and UID SEARCH (RFC 9051 §6.4.4) with
// ESEARCH result options and SEARCHRES (RFC 4731, RFC 5182).
func (c *conn) cmdSearch(cmd *wire.Command) error {
	sp := cmd.Search
	if err := checkCharset(sp.Charset); err != nil {
		return err
	}
	res, err := c.search(&sp.Key)
	if err != nil {
		return err
	}
	c.answerSearch(cmd, res.idx, res.uids, res.maxModSeq)
	return nil
}

// checkCharset accepts the charsets SEARCH understands (RFC 9051 §6.4.4:
// US-ASCII and UTF-8 at least); others get NO [BADCHARSET].
func checkCharset(cs string) error {
	switch cs {
	case "", "UTF-8", "UTF8", "US-ASCII":
		return nil
	}
	return no("BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset; use UTF-8")
}

// answerSearch writes the SEARCH or ESEARCH response for matches (view
// positions and UIDs, ascending) and saves them for "$" (RFC 5182).
// modseq > 0 adds the MODSEQ result (RFC 7162 §3.1.5).
func (c *conn) answerSearch(cmd *wire.Command, idx []int, uids []uint32, modseq uint64) {
	sp := cmd.Search
	nums := make([]uint32, len(idx))
	for i, j := range idx {
		if cmd.UID {
			nums[i] = uids[i]
		} else {
			nums[i] = uint32(j + 1)
		}
	}
	opts := sp.Return
	if opts == nil && c.rev2 {
		// RFC 9051 §6.4.4: IMAP4rev2 answers SEARCH with ESEARCH.
		opts = []string{"ALL"}
	}
	if opts != nil && len(opts) == 0 {
		opts = []string{"ALL"} // RFC 4731 §3.1: RETURN () is RETURN (ALL)
	}
	has := func(o string) bool { return containsItem(opts, o) }
	if has("SAVE") {
		// RFC 5182 §2.4: with MIN and/or MAX alone only those are saved.
		saved := uids
		if (has("MIN") || has("MAX")) && !has("ALL") && !has("COUNT") && len(uids) > 0 {
			saved = nil
			if has("MIN") {
				saved = append(saved, uids[0])
			}
			if has("MAX") && (len(saved) == 0 || saved[0] != uids[len(uids)-1]) {
				saved = append(saved, uids[len(uids)-1])
			}
		}
		c.sel.searchRes = append([]uint32(nil), saved...)
	}
	w := c.w
	if opts == nil {
		w.Raw("* SEARCH")
		for _, n := range nums {
			w.SP().Num32(n)
		}
		if modseq > 0 && len(nums) > 0 {
			w.Raw(" (MODSEQ ").Num(modseq).Byte(')')
		}
		w.CRLF()
		return
	}
	if len(opts) == 1 && opts[0] == "SAVE" {
		return // RFC 5182 §2.4: SAVE alone gives no ESEARCH response
	}
	w.Raw(`* ESEARCH (TAG `).Quoted(c.tag).Byte(')')
	if cmd.UID {
		w.Raw(" UID")
	}
	if len(nums) > 0 {
		if has("MIN") {
			w.Raw(" MIN ").Num32(nums[0])
		}
		if has("MAX") {
			w.Raw(" MAX ").Num32(nums[len(nums)-1])
		}
		if has("ALL") {
			w.Raw(" ALL ").Raw(uidSetString(nums))
		}
	}
	if has("COUNT") {
		w.Raw(" COUNT ").Num(uint64(len(nums)))
	}
	if modseq > 0 && len(nums) > 0 {
		w.Raw(" MODSEQ ").Num(modseq)
	}
	w.CRLF()
}

// search runs a search program over the view. Cheap keys (sets, flags,
// dates, sizes) use the view; header keys the store's cached header;
// BODY and TEXT read the message file after the store's text filters
// excluded what cannot match.
func (c *conn) search(key *wire.SearchKey) (*searchResult, error) {
	sel := c.sel
	prep := &searchPrep{n: uint32(len(sel.msgs)), now: time.Now(), searchRes: sel.searchRes}
	if n := len(sel.msgs); n > 0 {
		prep.maxUID = sel.msgs[n-1].uid
	}
	header, sent := keyNeeds(key)
	usesModSeq := keyUses(key, wire.SearchModSeq)
	if usesModSeq {
		c.enableCondstore() // RFC 7162 §3.1: a CONDSTORE-enabling command
		msgs, err := sel.mbox.Messages(c.ctx, sel.folder)
		if err != nil {
			return nil, err
		}
		prep.modseq = make(map[uint32]uint64, len(msgs))
		for _, m := range msgs {
			prep.modseq[m.UID] = m.ModSeq
		}
	}
	all := make([]int, len(sel.msgs))
	for i := range all {
		all[i] = i
	}
	pre := newCachedWindow(c, sel, all, header || sent, !sent)
	excluded, err := c.textExcluded(sel.folder, key)
	if err != nil {
		return nil, err
	}
	res := &searchResult{}
	for i, sm := range sel.msgs {
		if sm.gone() || excluded[sm.uid] {
			continue
		}
		mc := &matchCtx{c: c, prep: prep, folder: sel.folder, msg: sel.view(i), seq: uint32(i + 1)}
		if header || sent {
			if mc.cached, err = pre.get(i); err != nil {
				return nil, err
			}
		}
		ok, err := mc.match(key)
		if err != nil {
			if isGone(err) {
				continue
			}
			return nil, err
		}
		if ok {
			res.idx = append(res.idx, i)
			res.uids = append(res.uids, sm.uid)
			if usesModSeq {
				res.maxModSeq = max(res.maxModSeq, prep.modseq[sm.uid])
			}
		}
	}
	return res, nil
}

// searchPrep is what matching needs besides the message.
type searchPrep struct {
	n, maxUID uint32
	now       time.Time
	searchRes []uint32
	modseq    map[uint32]uint64
}

// keyNeeds reports whether key compares header fields, and whether it
// compares the Date header (SENTSINCE…).
func keyNeeds(k *wire.SearchKey) (header, sent bool) {
	switch k.Op {
	case wire.SearchHeader:
		header = true
	case wire.SearchSentBefore, wire.SearchSentOn, wire.SearchSentSince:
		sent = true
	}
	for i := range k.Sub {
		h, s := keyNeeds(&k.Sub[i])
		header, sent = header || h, sent || s
	}
	return header, sent
}

func keyUses(k *wire.SearchKey, op wire.SearchOp) bool {
	if k.Op == op {
		return true
	}
	for i := range k.Sub {
		if keyUses(&k.Sub[i], op) {
			return true
		}
	}
	return false
}

// matchCtx evaluates a program for one message, loading the cached header
// and the message file only when a key needs them.
type matchCtx struct {
	c      *conn
	prep   *searchPrep
	folder string
	msg    msgView
	seq    uint32
	cached *storage.Cached // read ahead by search; nil: not read ahead

	header    *mail.Header
	sentDate  *time.Time
	raw       []byte
	rawLoaded bool
}

func (mc *matchCtx) match(k *wire.SearchKey) (bool, error) {
	m := mc.msg
	switch k.Op {
	case wire.SearchAnd:
		for i := range k.Sub {
			if ok, err := mc.match(&k.Sub[i]); err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case wire.SearchOr:
		if ok, err := mc.match(&k.Sub[0]); err != nil || ok {
			return ok, err
		}
		return mc.match(&k.Sub[1])
	case wire.SearchNot:
		ok, err := mc.match(&k.Sub[0])
		return !ok && err == nil, err
	case wire.SearchAll:
		return true, nil
	case wire.SearchFlag:
		return hasFlag(m.flags, k.Str), nil
	case wire.SearchNotFlag:
		return !hasFlag(m.flags, k.Str), nil
	case wire.SearchRecent:
		return mc.c.sel.isRecent(m.uid), nil
	case wire.SearchNew: // RFC 3501 §6.4.4: RECENT UNSEEN
		return mc.c.sel.isRecent(m.uid) && !hasFlag(m.flags, `\Seen`), nil
	case wire.SearchOld:
		return !mc.c.sel.isRecent(m.uid), nil
	case wire.SearchSeq:
		if k.Set.SearchRes {
			return containsUID(mc.prep.searchRes, m.uid), nil
		}
		return setContains(k.Set, mc.seq, mc.prep.n), nil
	case wire.SearchUID:
		if k.Set.SearchRes {
			return containsUID(mc.prep.searchRes, m.uid), nil
		}
		return setContains(k.Set, m.uid, mc.prep.maxUID), nil
	case wire.SearchLarger:
		return uint64(m.size) > k.Num, nil
	case wire.SearchSmaller:
		return uint64(m.size) < k.Num, nil
	case wire.SearchBefore, wire.SearchOn, wire.SearchSince:
		return matchDay(m.date, k.Op, k.Date), nil
	case wire.SearchSentBefore, wire.SearchSentOn, wire.SearchSentSince:
		sent, err := mc.sent()
		// RFC 9051 §6.4.4: messages without a usable Date never match.
		if err != nil || sent.IsZero() {
			return false, err
		}
		return matchDay(sent, k.Op-wire.SearchSentBefore+wire.SearchBefore, k.Date), nil
	case wire.SearchOlder:
		return mc.prep.now.Sub(m.date) >= time.Duration(k.Num)*time.Second, nil
	case wire.SearchYounger:
		return mc.prep.now.Sub(m.date) <= time.Duration(k.Num)*time.Second, nil
	case wire.SearchModSeq:
		return mc.prep.modseq[m.uid] >= k.Num, nil
	case wire.SearchHeader:
		fields, err := mc.fieldsOf(k.Field)
		if err != nil {
			return false, err
		}
		return matchFields(fields, k.Str, isAddressField(k.Field)), nil
	case wire.SearchBody, wire.SearchText:
		return mc.matchContent(k.Str, k.Op == wire.SearchText)
	}
	return false, nil
}

func containsUID(uids []uint32, u uint32) bool {
	for _, x := range uids {
		if x == u {
			return true
		}
	}
	return false
}

// matchDay compares calendar dates only, ignoring time and zone as
// RFC 9051 §6.4.4 requires: the date is taken in t's own zone.
func matchDay(t time.Time, op wire.SearchOp, day time.Time) bool {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	switch op {
	case wire.SearchBefore:
		return d.Before(day)
	case wire.SearchOn:
		return d.Equal(day)
	default: // SearchSince
		return !d.Before(day)
	}
}

// fold prepares text for case-insensitive substring search (the store's
// definition, which its text filters use too).
func fold(s string) string { return storage.FoldText(s) }

// textExcluded asks the store which messages certainly fail the BODY and
// TEXT keys that must all hold (the top-level AND), so that their files
// are never read. Nil when there are none or the store keeps no filters.
func (c *conn) textExcluded(folder string, k *wire.SearchKey) (map[uint32]bool, error) {
	tf, ok := c.sel.mbox.(storage.TextFilter)
	if !ok {
		return nil, nil
	}
	var folded []string
	var collect func(k *wire.SearchKey)
	collect = func(k *wire.SearchKey) {
		switch k.Op {
		case wire.SearchAnd:
			for i := range k.Sub {
				collect(&k.Sub[i])
			}
		case wire.SearchBody, wire.SearchText:
			folded = append(folded, fold(k.Str))
		}
	}
	collect(k)
	if len(folded) == 0 {
		return nil, nil
	}
	return tf.TextExcluded(c.ctx, folder, folded)
}

// isAddressField: fields whose addresses, names and comments SEARCH
// compares (RFC 9051 §6.4.4 FROM, TO, CC, BCC and their relatives).
func isAddressField(k string) bool {
	switch strings.ToLower(k) {
	case "from", "to", "cc", "bcc", "sender", "reply-to":
		return true
	}
	return false
}

func matchFields(fields gomessage.HeaderFields, value string, address bool) bool {
	if value == "" {
		return fields.Len() > 0 // RFC 9051 §6.4.4: HEADER with an empty string
	}
	value = fold(value)
	for fields.Next() {
		v, err := fields.Text()
		if err != nil {
			v = fields.Value()
		}
		if strings.Contains(fold(v), value) {
			return true
		}
		// RFC 2047 words in comments and quoted names are not decoded
		// by the plain text form: compare the parsed addresses too.
		if address && strings.Contains(fold(storage.AddressSearchText(fields.Value())), value) {
			return true
		}
	}
	return false
}

func (mc *matchCtx) loadHeader() (*mail.Header, error) {
	if mc.header != nil {
		return mc.header, nil
	}
	cached, err := mc.cachedRow()
	if err != nil {
		return nil, err
	}
	h, err := textproto.ReadHeader(bufsize.Bytes(cached.Header))
	if err != nil && len(cached.Header) > 0 {
		// Damaged header block: search what could be parsed.
		mc.c.log.Debug("search: header parse", "uid", mc.msg.uid, "err", err)
	}
	mc.header = &mail.Header{Header: gomessage.Header{Header: h}}
	if mc.sentDate == nil && cached.Envelope != nil {
		d := cached.Envelope.Date
		mc.sentDate = &d
	}
	return mc.header, nil
}

// sent returns the Date header as parsed into the cached envelope.
func (mc *matchCtx) sent() (time.Time, error) {
	if mc.sentDate == nil {
		if _, err := mc.loadHeader(); err != nil {
			return time.Time{}, err
		}
		if mc.sentDate == nil {
			d, _ := maildate.Field(mc.header.Get("Date"))
			mc.sentDate = &d
		}
	}
	return *mc.sentDate, nil
}

// matchContent searches decoded text parts (and with header, every
// header field) for text.
func (mc *matchCtx) matchContent(text string, header bool) (bool, error) {
	if !mc.rawLoaded {
		r, err := mc.c.sel.mbox.Open(mc.c.ctx, mc.folder, mc.msg.uid)
		if err != nil {
			return false, err
		}
		mc.raw, err = io.ReadAll(r)
		r.Close()
		if err != nil {
			return false, err
		}
		mc.rawLoaded = true
	}
	if text == "" {
		return true, nil
	}
	return storage.ContainsText(mc.raw, fold(text), header), nil
}
