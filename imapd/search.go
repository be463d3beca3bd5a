package imapd

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode non-UTF-8 parts (windows-1258, ISO-8859-x…) for BODY/TEXT
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"congvu/storage"
)

// Search implements SEARCH and UID SEARCH (RFC 9051 6.4.4) with ESEARCH
// result options and SEARCHRES (RFC 4731, RFC 5182; both part of
// IMAP4rev2). Cheap criteria (sets, flags, dates, sizes) use the view;
// header criteria use the store's cached header; BODY and TEXT read the
// message file.
func (s *session) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (data *imap.SearchData, err error) {
	defer s.recoverPanic("SEARCH", &err)
	s.mu.Lock()
	defer s.mu.Unlock()
	sel := s.sel
	crit := sel.staticCriteria(*criteria)
	data = &imap.SearchData{}
	var (
		seqs imap.SeqSet
		uids imap.UIDSet
	)
	all := make([]int, len(sel.msgs))
	for i := range all {
		all[i] = i
	}
	// Header criteria read the cached headers a window at a time; a Date
	// comparison needs the decoded envelope too.
	header, sent := criteriaNeed(&crit)
	pre := newCachedWindow(s, sel, all, header || sent, !sent)
	excluded, err := s.textExcluded(sel.folder, &crit)
	if err != nil {
		return nil, s.fail("SEARCH", err)
	}
	for i, sm := range sel.msgs {
		if sm.gone() || excluded[sm.uid] {
			continue
		}
		m := sel.view(i)
		mc := &matchCtx{s: s, folder: sel.folder, msg: m, seq: uint32(i + 1)}
		if header || sent {
			if mc.cached, err = pre.get(i); err != nil {
				return nil, s.fail("SEARCH", err)
			}
		}
		ok, err := mc.match(&crit)
		if err != nil {
			if isGone(err) {
				continue
			}
			return nil, s.fail("SEARCH", err)
		}
		if !ok {
			continue
		}
		uids.AddNum(imap.UID(m.uid))
		num := mc.seq
		if kind == imapserver.NumKindUID {
			num = m.uid
		} else {
			seqs.AddNum(mc.seq)
		}
		if data.Min == 0 || num < data.Min {
			data.Min = num
		}
		data.Max = max(data.Max, num)
		data.Count++
	}
	// All must be a typed (possibly empty) set: the library prints it.
	if kind == imapserver.NumKindUID {
		data.All = uids
	} else {
		data.All = seqs
	}
	if options != nil && options.ReturnSave {
		sel.searchRes = uids
	}
	return data, nil
}

// staticCriteria resolves "*" and "$" in the criteria's sets against the
// view (RFC 9051 6.4.4, RFC 5182).
func (sel *selected) staticCriteria(c imap.SearchCriteria) imap.SearchCriteria {
	n := uint32(len(sel.msgs))
	var maxUID uint32
	if n > 0 {
		maxUID = sel.msgs[n-1].uid
	}
	seqs := make([]imap.SeqSet, len(c.SeqNum))
	for i, set := range c.SeqNum {
		static := make(imap.SeqSet, len(set))
		for j, r := range set {
			static[j] = imap.SeqRange{Start: orMax(r.Start, n), Stop: orMax(r.Stop, n)}
			if static[j].Start > static[j].Stop {
				static[j].Start, static[j].Stop = static[j].Stop, static[j].Start
			}
		}
		seqs[i] = static
	}
	c.SeqNum = seqs
	uidSets := make([]imap.UIDSet, len(c.UID))
	for i, set := range c.UID {
		if imap.IsSearchRes(set) {
			uidSets[i] = append(imap.UIDSet{}, sel.searchRes...)
			continue
		}
		static := make(imap.UIDSet, len(set))
		for j, r := range set {
			static[j] = imap.UIDRange{Start: imap.UID(orMax(uint32(r.Start), maxUID)), Stop: imap.UID(orMax(uint32(r.Stop), maxUID))}
			if static[j].Start > static[j].Stop {
				static[j].Start, static[j].Stop = static[j].Stop, static[j].Start
			}
		}
		uidSets[i] = static
	}
	c.UID = uidSets
	nots := make([]imap.SearchCriteria, len(c.Not))
	for i := range c.Not {
		nots[i] = sel.staticCriteria(c.Not[i])
	}
	c.Not = nots
	ors := make([][2]imap.SearchCriteria, len(c.Or))
	for i := range c.Or {
		ors[i] = [2]imap.SearchCriteria{sel.staticCriteria(c.Or[i][0]), sel.staticCriteria(c.Or[i][1])}
	}
	c.Or = ors
	return c
}

// orMax replaces the "*" marker (0) by max.
func orMax(v, max uint32) uint32 {
	if v == 0 {
		return max
	}
	return v
}

// criteriaNeed reports whether c (with its NOT and OR branches) compares
// header fields, and whether it compares the Date header (SENTSINCE…).
func criteriaNeed(c *imap.SearchCriteria) (header, sent bool) {
	header = len(c.Header) > 0
	sent = !c.SentSince.IsZero() || !c.SentBefore.IsZero()
	sub := func(x *imap.SearchCriteria) {
		h, d := criteriaNeed(x)
		header, sent = header || h, sent || d
	}
	for i := range c.Not {
		sub(&c.Not[i])
	}
	for i := range c.Or {
		sub(&c.Or[i][0])
		sub(&c.Or[i][1])
	}
	return header, sent
}

// matchCtx evaluates criteria for one message, loading the cached header
// and the message file only when a criterion needs them.
type matchCtx struct {
	s      *session
	folder string
	msg    msgView
	seq    uint32
	// cached is the message's cached data read ahead by Search (nil: not
	// read ahead; Header only unless a Date criterion asked for more).
	cached *storage.Cached

	header    *mail.Header
	sentDate  *time.Time
	raw       []byte
	rawLoaded bool
}

func (mc *matchCtx) match(c *imap.SearchCriteria) (bool, error) {
	m := mc.msg
	for _, set := range c.SeqNum {
		if !set.Contains(mc.seq) {
			return false, nil
		}
	}
	for _, set := range c.UID {
		if !set.Contains(imap.UID(m.uid)) {
			return false, nil
		}
	}
	for _, f := range c.Flag {
		if !hasFlag(m.flags, f) {
			return false, nil
		}
	}
	for _, f := range c.NotFlag {
		if hasFlag(m.flags, f) {
			return false, nil
		}
	}
	if c.Larger > 0 && m.size <= c.Larger {
		return false, nil
	}
	if c.Smaller > 0 && m.size >= c.Smaller {
		return false, nil
	}
	if !matchDate(m.date, c.Since, c.Before) {
		return false, nil
	}
	if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		sent, err := mc.sent()
		if err != nil {
			return false, err
		}
		// RFC 9051 6.4.4: messages without a usable Date never match.
		if sent.IsZero() || !matchDate(sent, c.SentSince, c.SentBefore) {
			return false, nil
		}
	}
	if len(c.Header) > 0 {
		h, err := mc.loadHeader()
		if err != nil {
			return false, err
		}
		for _, hc := range c.Header {
			if !matchFields(h.FieldsByKey(hc.Key), hc.Value) {
				return false, nil
			}
		}
	}
	for _, text := range c.Body {
		ok, err := mc.matchContent(text, false)
		if err != nil || !ok {
			return false, err
		}
	}
	for _, text := range c.Text {
		ok, err := mc.matchContent(text, true)
		if err != nil || !ok {
			return false, err
		}
	}
	for i := range c.Not {
		ok, err := mc.match(&c.Not[i])
		if err != nil || ok {
			return false, err
		}
	}
	for i := range c.Or {
		ok, err := mc.match(&c.Or[i][0])
		if err != nil {
			return false, err
		}
		if !ok {
			if ok, err = mc.match(&c.Or[i][1]); err != nil || !ok {
				return false, err
			}
		}
	}
	return true, nil
}

// matchDate compares calendar dates only, ignoring time and zone as
// RFC 9051 6.4.4 requires: the date is taken in t's own zone.
func matchDate(t, since, before time.Time) bool {
	if since.IsZero() && before.IsZero() {
		return true
	}
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if !since.IsZero() && d.Before(since) {
		return false
	}
	if !before.IsZero() && !d.Before(before) {
		return false
	}
	return true
}

// fold prepares text for case-insensitive substring search (the store's
// definition, which its text filters use too).
func fold(s string) string { return storage.FoldText(s) }

// textExcluded asks the store which messages certainly fail the BODY and
// TEXT criteria that must all hold (the top level of c is an AND), so that
// their files are never read. Nil when there are none or the store keeps no
// text filters.
func (s *session) textExcluded(folder string, c *imap.SearchCriteria) (map[uint32]bool, error) {
	tf, ok := s.mbox.(storage.TextFilter)
	if !ok || len(c.Body)+len(c.Text) == 0 {
		return nil, nil
	}
	var folded []string
	for _, t := range append(append([]string(nil), c.Body...), c.Text...) {
		folded = append(folded, fold(t))
	}
	return tf.TextExcluded(s.ctx, folder, folded)
}

func matchFields(fields gomessage.HeaderFields, value string) bool {
	if value == "" {
		return fields.Len() > 0 // RFC 9051 6.4.4 HEADER with empty string
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
	}
	return false
}

func (mc *matchCtx) loadHeader() (*mail.Header, error) {
	if mc.header != nil {
		return mc.header, nil
	}
	c := mc.cached
	if c == nil {
		var err error
		if c, err = mc.s.mbox.Cached(mc.s.ctx, mc.folder, mc.msg.uid); err != nil {
			return nil, err
		}
	}
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(c.Header)))
	if err != nil && len(c.Header) > 0 {
		// Damaged header block: search what could be parsed.
		mc.s.log.Debug("search: header parse", "uid", mc.msg.uid, "err", err)
	}
	mc.header = &mail.Header{Header: gomessage.Header{Header: h}}
	if mc.sentDate == nil && c.Envelope != nil {
		d := c.Envelope.Date
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
			d, _ := mc.header.Date()
			mc.sentDate = &d
		}
	}
	return *mc.sentDate, nil
}

// matchContent searches decoded text parts (and with header, every
// header field) for text.
func (mc *matchCtx) matchContent(text string, header bool) (bool, error) {
	if !mc.rawLoaded {
		r, err := mc.s.mbox.Open(mc.s.ctx, mc.folder, mc.msg.uid)
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
