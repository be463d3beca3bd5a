package imapd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/emersion/go-imap/v2"

	"congvu/imapd/wire"
	"congvu/internal/mailerr"
	"congvu/sharing"
	"congvu/storage"
)

// internalDateLayout is the IMAP date-time (RFC 9051 §9 date-time).
const internalDateLayout = "02-Jan-2006 15:04:05 -0700"

// fetchNeeds says what FETCH has to read for each message.
type fetchNeeds struct {
	cached   bool // envelope, body structure or top-level header
	raw      bool // the whole message in memory (parts, BINARY)
	setsSeen bool // BODY[...] or BINARY[...] without PEEK, RFC822, RFC822.TEXT
}

func needsOf(atts []wire.FetchAtt) fetchNeeds {
	var n fetchNeeds
	for _, a := range atts {
		switch a.Name {
		case "ENVELOPE", "BODYSTRUCTURE", "BODY", "RFC822.HEADER":
			n.cached = true
		case "RFC822", "RFC822.TEXT":
			n.setsSeen = true
			if a.Name == "RFC822.TEXT" {
				n.raw = true
			}
		case "BODY[]":
			n.setsSeen = n.setsSeen || !a.Peek
			switch {
			case isWholeMessage(a.Section):
			case isTopHeader(a.Section):
				n.cached = true
			default:
				n.raw = true
			}
		case "BINARY[]", "BINARY.SIZE[]":
			n.setsSeen = n.setsSeen || a.Name == "BINARY[]" && !a.Peek
			n.raw = true
		}
	}
	return n
}

// isWholeMessage reports whether a section is the full RFC 5322 message.
func isWholeMessage(s wire.Section) bool { return len(s.Part) == 0 && s.Spec == "" }

// isTopHeader reports whether a section needs only the top-level header,
// which the store caches.
func isTopHeader(s wire.Section) bool {
	return len(s.Part) == 0 && (s.Spec == "HEADER" || s.Spec == "HEADER.FIELDS" || s.Spec == "HEADER.FIELDS.NOT")
}

// isGone tells whether err means the message vanished (expunged by another
// session after our last poll); such messages are left out of the answer
// (RFC 9051 §7.5.1, RFC 2180 §4.1) and reported as EXPUNGE later. The
// store says so with the RFC 5530 code EXPUNGEISSUED.
func isGone(err error) bool {
	if me := mailerr.As(err); me != nil && me.IMAPCode == "EXPUNGEISSUED" {
		return true
	}
	return errors.Is(err, fs.ErrNotExist)
}

// cmdFetch implements FETCH and UID FETCH (RFC 9051 §6.4.5, §6.4.9).
// FLAGS, INTERNALDATE and RFC822.SIZE come from the view, ENVELOPE and
// BODYSTRUCTURE from the store's cache, body parts from the message file.
func (c *conn) cmdFetch(cmd *wire.Command) error {
	sel := c.sel
	idx, err := sel.resolve(cmd.Set, cmd.UID)
	if err != nil {
		return err
	}
	atts := cmd.Fetch.Atts
	needs := needsOf(atts)
	f := cmd.Fetch
	if f.Vanished && !c.qresync {
		return bad("", "VANISHED needs ENABLE QRESYNC") // RFC 7162 §3.2.6
	}
	var list []storage.MessageInfo
	if f.ChangedSince > 0 || hasAtt(atts, "MODSEQ") {
		// RFC 7162 §3.1: CONDSTORE-enabling; MODSEQ comes from the store.
		c.enableCondstore()
		if list, err = c.listing(); err != nil {
			return err
		}
	}
	if f.ChangedSince > 0 {
		if f.Vanished {
			// RFC 7162 §3.2.6: expunged UIDs of the set first.
			var maxUID uint32
			if n := len(sel.msgs); n > 0 {
				maxUID = sel.msgs[n-1].uid
			}
			star := max(maxUID, sel.last.UIDNext-1)
			if err := c.writeVanishedEarlier(f.ChangedSince, &cmd.Set, func(u uint32) bool {
				return setContains(cmd.Set, u, star)
			}); err != nil {
				return err
			}
		}
		// RFC 7162 §3.1.4.1: only messages changed since.
		kept := idx[:0]
		for _, i := range idx {
			if modseqOf(list, sel.msgs[i].uid) > f.ChangedSince {
				kept = append(kept, i)
			}
		}
		idx = kept
	}
	seenNow := map[uint32]uint64{}
	if !sel.readOnly && needs.setsSeen && sharing.Has(sel.rights, "s") {
		if seenNow, err = c.markSeen(idx); err != nil {
			return err
		}
	}
	pre := newCachedWindow(c, sel, idx, needs.cached, false)
	for n, i := range idx {
		if sel.msgs[i].gone() {
			continue
		}
		m := sel.view(i)
		cached, err := pre.get(n)
		if err != nil {
			return err
		}
		it, err := c.loadFetch(sel.folder, m, needs, atts, cached)
		if err != nil {
			if isGone(err) {
				c.log.Debug("fetch of vanished message", "uid", m.uid)
				continue
			}
			return err
		}
		if list != nil {
			it.modseq = modseqOf(list, m.uid)
		}
		if ms := seenNow[m.uid]; ms > 0 {
			it.modseq = ms
		}
		err = c.writeFetch(uint32(i+1), m, it, cmd, seenNow[m.uid] > 0)
		it.close()
		if err != nil {
			return err
		}
	}
	return nil
}

// markSeen sets \Seen on the unseen messages at idx and returns their
// UIDs with their new MODSEQ.
func (c *conn) markSeen(idx []int) (map[uint32]uint64, error) {
	sel := c.sel
	var unseen []uint32
	for _, i := range idx {
		if m := sel.msgs[i]; !m.gone() && !hasFlag(sel.flagsOf(m), `\Seen`) {
			unseen = append(unseen, m.uid)
		}
	}
	seen := map[uint32]uint64{}
	if len(unseen) == 0 {
		return seen, nil
	}
	updated, _, err := sel.mbox.SetFlags(c.ctx, sel.folder, unseen, storage.FlagsAdd, []string{`\Seen`}, 0)
	if err != nil {
		return nil, err
	}
	newFlags := make(map[uint32][]string, len(updated))
	for _, m := range updated {
		seen[m.UID] = max(m.ModSeq, 1)
		newFlags[m.UID] = m.Flags
	}
	for _, i := range idx {
		if f, ok := newFlags[sel.msgs[i].uid]; ok {
			sel.setFlags(i, f)
		}
	}
	return seen, nil
}

// fetchItems is what one message's FETCH response needs, loaded before
// the response starts: once it is being written an error can no longer
// become a clean NO.
type fetchItems struct {
	cached *storage.Cached
	raw    []byte
	whole  io.ReadCloser // BODY[] streamed from the file
	size   int64         // of whole
	binary [][]byte      // decoded BINARY[] sections, by attribute index
	modseq uint64        // for MODSEQ, CHANGEDSINCE
}

func hasAtt(atts []wire.FetchAtt, name string) bool {
	for _, a := range atts {
		if a.Name == name {
			return true
		}
	}
	return false
}

func (f *fetchItems) close() {
	if f.whole != nil {
		f.whole.Close()
	}
}

func (c *conn) loadFetch(folder string, m msgView, needs fetchNeeds, atts []wire.FetchAtt, cached *storage.Cached) (_ *fetchItems, err error) {
	it := &fetchItems{cached: cached}
	if needs.cached && it.cached == nil {
		if it.cached, err = c.sel.mbox.Cached(c.ctx, folder, m.uid); err != nil {
			return nil, err
		}
	}
	if needs.raw {
		r, err := c.sel.mbox.Open(c.ctx, folder, m.uid)
		if err != nil {
			return nil, err
		}
		it.raw, err = io.ReadAll(r)
		r.Close()
		if err != nil {
			return nil, err
		}
	}
	for i, a := range atts {
		if a.Name == "BINARY[]" || a.Name == "BINARY.SIZE[]" {
			if it.binary == nil {
				it.binary = make([][]byte, len(atts))
			}
			if it.binary[i], err = extractBinary(it.raw, a.Section.Part); err != nil {
				return nil, err
			}
		}
		if (a.Name == "RFC822" || a.Name == "BODY[]" && isWholeMessage(a.Section)) && it.whole == nil && it.raw == nil {
			if it.whole, it.size, err = c.openWhole(folder, m.uid); err != nil {
				return nil, err
			}
		}
	}
	return it, nil
}

// openWhole opens the message file with its real length.
func (c *conn) openWhole(folder string, uid uint32) (io.ReadCloser, int64, error) {
	r, err := c.sel.mbox.Open(c.ctx, folder, uid)
	if err != nil {
		return nil, 0, err
	}
	if st, ok := r.(interface{ Stat() (os.FileInfo, error) }); ok {
		fi, err := st.Stat()
		if err != nil {
			r.Close()
			return nil, 0, err
		}
		return r, fi.Size(), nil
	}
	b, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		return nil, 0, err
	}
	return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
}

// writeFetch writes one untagged FETCH response.
func (c *conn) writeFetch(seq uint32, m msgView, it *fetchItems, cmd *wire.Command, seenChanged bool) error {
	w := c.w
	w.Raw("* ").Num32(seq).Raw(" FETCH (")
	first := true
	item := func(name string) {
		if !first {
			w.SP()
		}
		first = false
		w.Raw(name)
	}
	wroteUID, wroteFlags := false, false
	if cmd.UID {
		item("UID ")
		w.Num32(m.uid)
		wroteUID = true
	}
	for ai, a := range cmd.Fetch.Atts {
		switch a.Name {
		case "UID":
			if !wroteUID {
				item("UID ")
				w.Num32(m.uid)
				wroteUID = true
			}
		case "FLAGS":
			if !wroteFlags {
				item("FLAGS ")
				c.writeMsgFlags(m.uid, m.flags)
				wroteFlags = true
			}
		case "INTERNALDATE":
			item("INTERNALDATE ")
			w.Quoted(m.date.Format(internalDateLayout))
		case "RFC822.SIZE":
			item("RFC822.SIZE ")
			w.Num(uint64(m.size))
		case "ENVELOPE":
			item("ENVELOPE ")
			writeEnvelope(w, it.cached.Envelope)
		case "BODYSTRUCTURE", "BODY":
			item(a.Name + " ")
			writeBodyStructure(w, c.bodyStructure(it), a.Name == "BODYSTRUCTURE")
		case "RFC822":
			item("RFC822 ")
			if err := c.writeWholeBody(it); err != nil {
				return err
			}
		case "RFC822.HEADER":
			item("RFC822.HEADER ")
			writeBodyLiteral(w, it.cached.Header)
		case "RFC822.TEXT":
			item("RFC822.TEXT ")
			writeBodyLiteral(w, extractSection(it.raw, wire.Section{Spec: "TEXT"}))
		case "BODY[]":
			item("BODY[" + a.Section.String() + "]")
			if a.Partial != nil {
				w.Byte('<').Num32(a.Partial.Offset).Byte('>')
			}
			w.SP()
			if isWholeMessage(a.Section) && it.raw == nil {
				if err := c.writeWholeBodyPartial(it, a.Partial); err != nil {
					return err
				}
				continue
			}
			var data []byte
			switch {
			case it.raw != nil:
				data = extractSection(it.raw, a.Section)
			case a.Section.Spec == "HEADER":
				data = it.cached.Header
			default:
				data = filterHeader(it.cached.Header, a.Section.Fields, a.Section.Spec == "HEADER.FIELDS.NOT")
			}
			writeBodyLiteral(w, partialOf(data, a.Partial))
		case "BINARY[]":
			data := it.binary[ai]
			item("BINARY[" + a.Section.String() + "]")
			if a.Partial != nil {
				// The origin is echoed as for BODY[] (RFC 3516 §4.2 text).
				w.Byte('<').Num32(a.Partial.Offset).Byte('>')
			}
			w.SP()
			writeBinaryLiteral(w, partialOf(data, a.Partial))
		case "BINARY.SIZE[]":
			data := it.binary[ai]
			item("BINARY.SIZE[" + a.Section.String() + "] ")
			w.Num(uint64(len(data)))
		}
	}
	if seenChanged && !wroteFlags {
		item("FLAGS ")
		c.writeMsgFlags(m.uid, m.flags)
	}
	// RFC 7162 §3.1.4.1: MODSEQ when asked for, with CHANGEDSINCE, and
	// with flags that changed.
	if it.modseq > 0 && (hasAtt(cmd.Fetch.Atts, "MODSEQ") || cmd.Fetch.ChangedSince > 0 || seenChanged && c.condstore) {
		item("MODSEQ (")
		w.Num(it.modseq).Byte(')')
	}
	w.Byte(')').CRLF()
	return w.Err()
}

// bodyStructure returns the cached structure, parsing the file for old
// index rows without one.
func (c *conn) bodyStructure(it *fetchItems) imap.BodyStructure {
	if it.cached != nil && it.cached.BodyStructure != nil {
		return it.cached.BodyStructure
	}
	return nil
}

func partialOf(data []byte, p *wire.Partial) []byte {
	if p == nil {
		return data
	}
	// RFC 9051 §6.4.5: a partial beyond the end is empty.
	off := min(int64(p.Offset), int64(len(data)))
	end := min(off+int64(p.Count), int64(len(data)))
	return data[off:end]
}

// writeBodyLiteral writes BODY[] data as a literal. NUL cannot be sent
// in a literal (RFC 9051 §4.3): it is replaced by 0x80, keeping sizes, as
// Dovecot does; BINARY[] gives the exact bytes.
func writeBodyLiteral(w *wire.Writer, data []byte) {
	if data == nil {
		w.NIL()
		return
	}
	if bytes.IndexByte(data, 0) >= 0 {
		data = bytes.ReplaceAll(data, []byte{0}, []byte{0x80})
	}
	w.Literal(data)
}

// writeBinaryLiteral writes BINARY[] data: a literal8 when it holds NUL
// (RFC 3516 §4.3, RFC 9051 §4.3), else an ordinary literal.
func writeBinaryLiteral(w *wire.Writer, data []byte) {
	if data == nil {
		w.NIL()
		return
	}
	w.LiteralHeader(int64(len(data)), bytes.IndexByte(data, 0) >= 0)
	w.Write(data)
}

func (c *conn) writeWholeBody(it *fetchItems) error {
	if it.raw != nil {
		writeBodyLiteral(c.w, it.raw)
		return c.w.Err()
	}
	return c.writeWholeBodyPartial(it, nil)
}

// writeWholeBodyPartial streams BODY[] (or a partial of it) from the
// file, so a 30 MiB message is sent without being held in memory.
func (c *conn) writeWholeBodyPartial(it *fetchItems, p *wire.Partial) error {
	if it.raw != nil {
		writeBodyLiteral(c.w, partialOf(it.raw, p))
		return c.w.Err()
	}
	off, n := int64(0), it.size
	if p != nil {
		off = min(int64(p.Offset), it.size)
		n = min(int64(p.Count), it.size-off)
	}
	r := io.Reader(it.whole)
	if off > 0 {
		if sk, ok := it.whole.(io.Seeker); ok {
			if _, err := sk.Seek(off, io.SeekStart); err != nil {
				return err
			}
		} else if _, err := io.CopyN(io.Discard, r, off); err != nil {
			return err
		}
	}
	c.w.LiteralHeader(n, false)
	if err := c.w.Copy(nulFilter{r}, n); err != nil {
		return fmt.Errorf("imapd: message file shorter than its size: %w", err)
	}
	return nil
}

// nulFilter replaces NUL by 0x80 (see writeBodyLiteral).
type nulFilter struct{ r io.Reader }

func (f nulFilter) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	for i := range p[:n] {
		if p[i] == 0 {
			p[i] = 0x80
		}
	}
	return n, err
}

// cachedWindowSize is how many messages' cached data FETCH and SEARCH read
// per index query: enough to make the query cost vanish per message, small
// enough that FETCH 1:* of a huge folder does not hold it all in memory.
const cachedWindowSize = 256

// cachedWindow reads the cached data of the messages at idx (positions in
// the view) a window at a time, through storage.CachedLister when the
// mailbox has it. A message missing from a window (expunged meanwhile)
// gets nil, and the caller's own Cached call reports it as gone.
type cachedWindow struct {
	c          *conn
	sel        *selected
	idx        []int
	lister     storage.CachedLister
	headerOnly bool
	start, end int
	got        map[uint32]*storage.Cached
}

func newCachedWindow(c *conn, sel *selected, idx []int, need, headerOnly bool) *cachedWindow {
	w := &cachedWindow{c: c, sel: sel, idx: idx, headerOnly: headerOnly}
	if need {
		w.lister, _ = sel.mbox.(storage.CachedLister)
	}
	return w
}

// get returns the cached data of the message at position n of idx, or nil
// when it is not prefetched.
func (w *cachedWindow) get(n int) (*storage.Cached, error) {
	if w.lister == nil {
		return nil, nil
	}
	if n < w.start || n >= w.end {
		w.start, w.end = n, min(n+cachedWindowSize, len(w.idx))
		uids := make([]uint32, 0, w.end-w.start)
		for _, i := range w.idx[w.start:w.end] {
			if m := w.sel.msgs[i]; !m.gone() {
				uids = append(uids, m.uid)
			}
		}
		var err error
		if w.got, err = w.lister.CachedMany(w.c.ctx, w.sel.folder, uids, w.headerOnly); err != nil {
			w.start, w.end = 0, 0
			return nil, err
		}
	}
	return w.got[w.sel.msgs[w.idx[n]].uid], nil
}
