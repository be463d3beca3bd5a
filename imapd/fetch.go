package imapd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"congvu/internal/mailerr"
	"congvu/storage"
)

// fetchItems is everything needed to answer FETCH for one message, loaded
// before the response starts: once the untagged FETCH is being written an
// error can no longer become a clean NO.
type fetchItems struct {
	cached   *storage.Cached
	bodyStr  imap.BodyStructure
	sections [][]byte // per options.BodySection; nil where whole is used
	whole    []wholeBody
	binary   [][]byte
	binSizes []uint32
}

// wholeBody streams BODY[] (or a partial of it) straight from the file, so
// a 30 MiB message is sent byte for byte without being held in memory.
type wholeBody struct {
	r      io.ReadCloser
	offset int64
	size   int64
}

func (f *fetchItems) close() {
	for _, w := range f.whole {
		if w.r != nil {
			w.r.Close()
		}
	}
}

// isWholeMessage reports whether a section is the full RFC 5322 message.
func isWholeMessage(bs *imap.FetchItemBodySection) bool {
	return len(bs.Part) == 0 && bs.Specifier == imap.PartSpecifierNone &&
		len(bs.HeaderFields) == 0 && len(bs.HeaderFieldsNot) == 0
}

// isTopHeader reports whether a section needs only the top-level header,
// which the store caches.
func isTopHeader(bs *imap.FetchItemBodySection) bool {
	return len(bs.Part) == 0 && bs.Specifier == imap.PartSpecifierHeader
}

// setsSeen reports whether FETCH implicitly sets \Seen (RFC 9051 6.4.5:
// BODY[...] and BINARY[...] without .PEEK, and RFC822 / RFC822.TEXT).
func setsSeen(options *imap.FetchOptions) bool {
	for _, bs := range options.BodySection {
		if !bs.Peek {
			return true
		}
	}
	for _, bs := range options.BinarySection {
		if !bs.Peek {
			return true
		}
	}
	return false
}

// isGone tells whether err means the message vanished (expunged by another
// session after our last poll); such messages are left out of the answer
// (RFC 9051 7.5.1, RFC 2180 4.1) and reported as EXPUNGE later. The store
// says so with the RFC 5530 code EXPUNGEISSUED.
func isGone(err error) bool {
	if me := mailerr.As(err); me != nil && me.IMAPCode == "EXPUNGEISSUED" {
		return true
	}
	return errors.Is(err, fs.ErrNotExist)
}

// Fetch implements FETCH and UID FETCH (RFC 9051 6.4.5). FLAGS,
// INTERNALDATE and RFC822.SIZE come from the view, ENVELOPE and
// BODYSTRUCTURE from the store's cache, body parts from the message file.
func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) (err error) {
	defer s.recoverPanic("FETCH", &err)
	s.mu.Lock()
	defer s.mu.Unlock()
	sel := s.sel
	idx, err := sel.resolve(numSet)
	if err != nil {
		return err
	}
	seenSet := map[uint32]bool{}
	if !sel.readOnly && setsSeen(options) {
		var unseen []uint32
		for _, i := range idx {
			if m := sel.msgs[i]; !m.gone() && !hasFlag(sel.flagsOf(m), imap.FlagSeen) {
				unseen = append(unseen, m.uid)
			}
		}
		if len(unseen) > 0 {
			updated, _, err := s.mbox.SetFlags(s.ctx, sel.folder, unseen, storage.FlagsAdd, []string{string(imap.FlagSeen)}, 0)
			if err != nil {
				return s.fail("FETCH", err)
			}
			newFlags := make(map[uint32][]string, len(updated))
			for _, m := range updated {
				seenSet[m.UID] = true
				newFlags[m.UID] = m.Flags
			}
			for _, i := range idx {
				if f, ok := newFlags[sel.msgs[i].uid]; ok {
					sel.setFlags(i, f)
				}
			}
		}
	}
	pre := newCachedWindow(s, sel, idx, needsCache(options), false)
	for n, i := range idx {
		if sel.msgs[i].gone() {
			continue
		}
		m := sel.view(i)
		cached, err := pre.get(n)
		if err != nil {
			return s.fail("FETCH", err)
		}
		items, err := s.loadFetch(sel.folder, m, options, cached)
		if err != nil {
			if isGone(err) {
				s.log.Debug("fetch of vanished message", "uid", m.uid)
				continue
			}
			return s.fail("FETCH", err)
		}
		err = s.writeFetch(w, uint32(i+1), m, items, options, seenSet[m.uid])
		items.close()
		if err != nil {
			return err
		}
	}
	return nil
}

// needsCache reports whether FETCH needs the store's cached envelope, body
// structure or header.
func needsCache(options *imap.FetchOptions) bool {
	need := options.Envelope || options.BodyStructure != nil
	for _, bs := range options.BodySection {
		need = need || isTopHeader(bs)
	}
	return need
}

// loadFetch reads what options asks for. Only body sections open the file.
// cached is the message's cached data when the caller read it already.
func (s *session) loadFetch(folder string, m msgView, options *imap.FetchOptions, cached *storage.Cached) (_ *fetchItems, err error) {
	items := &fetchItems{cached: cached}
	defer func() {
		if err != nil {
			items.close()
		}
	}()
	if needsCache(options) && items.cached == nil {
		if items.cached, err = s.mbox.Cached(s.ctx, folder, m.uid); err != nil {
			return nil, err
		}
	}
	if bs := options.BodyStructure; bs != nil {
		items.bodyStr = items.cached.BodyStructure
		if items.bodyStr == nil || (bs.Extended && !isExtended(items.bodyStr)) {
			// Old index rows without an extended structure: parse the file.
			if items.bodyStr, err = parseFile(s, folder, m.uid, imapserver.ExtractBodyStructure); err != nil {
				return nil, err
			}
		}
	}
	items.sections = make([][]byte, len(options.BodySection))
	items.whole = make([]wholeBody, len(options.BodySection))
	for i, bs := range options.BodySection {
		switch {
		case isWholeMessage(bs):
			if items.whole[i], err = s.openWhole(folder, m.uid, bs.Partial); err != nil {
				return nil, err
			}
		case isTopHeader(bs) && len(items.cached.Header) > 0:
			items.sections[i] = imapserver.ExtractBodySection(bytes.NewReader(items.cached.Header), bs)
		default:
			if items.sections[i], err = parseFile(s, folder, m.uid, func(r io.Reader) []byte {
				return imapserver.ExtractBodySection(r, bs)
			}); err != nil {
				return nil, err
			}
		}
	}
	for _, bs := range options.BinarySection {
		b, err := parseFile(s, folder, m.uid, func(r io.Reader) []byte {
			return imapserver.ExtractBinarySection(r, bs)
		})
		if err != nil {
			return nil, err
		}
		items.binary = append(items.binary, b)
	}
	for _, bs := range options.BinarySectionSize {
		n, err := parseFile(s, folder, m.uid, func(r io.Reader) uint32 {
			return imapserver.ExtractBinarySectionSize(r, bs)
		})
		if err != nil {
			return nil, err
		}
		items.binSizes = append(items.binSizes, n)
	}
	return items, nil
}

// parseFile runs f over the message file.
func parseFile[T any](s *session, folder string, uid uint32, f func(io.Reader) T) (T, error) {
	var zero T
	r, err := s.mbox.Open(s.ctx, folder, uid)
	if err != nil {
		return zero, err
	}
	defer r.Close()
	return f(r), nil
}

func isExtended(bs imap.BodyStructure) bool {
	switch bs := bs.(type) {
	case *imap.BodyStructureSinglePart:
		return bs.Extended != nil
	case *imap.BodyStructureMultiPart:
		if bs.Extended == nil || len(bs.Children) == 0 {
			return false
		}
		for _, c := range bs.Children {
			if !isExtended(c) {
				return false
			}
		}
		return true
	}
	return false
}

// openWhole opens the message file and computes the literal size of
// BODY[] or BODY[]<offset.size> from its real length.
func (s *session) openWhole(folder string, uid uint32, partial *imap.SectionPartial) (wholeBody, error) {
	r, err := s.mbox.Open(s.ctx, folder, uid)
	if err != nil {
		return wholeBody{}, err
	}
	var size int64
	if st, ok := r.(interface{ Stat() (os.FileInfo, error) }); ok {
		fi, err := st.Stat()
		if err != nil {
			r.Close()
			return wholeBody{}, err
		}
		size = fi.Size()
	} else {
		// Unknown length: buffer it so the literal length is exact.
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return wholeBody{}, err
		}
		r, size = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	}
	wb := wholeBody{r: r, size: size}
	if partial != nil {
		// RFC 9051 6.4.5: a partial beyond the end is empty.
		wb.offset = min(partial.Offset, size)
		wb.size = min(partial.Size, size-wb.offset)
	}
	return wb, nil
}

// writeFetch writes one untagged FETCH. If a literal cannot be completed
// the protocol stream is broken, so the connection is closed.
func (s *session) writeFetch(w *imapserver.FetchWriter, seq uint32, m msgView, items *fetchItems,
	options *imap.FetchOptions, seenChanged bool) (err error) {
	resp := w.CreateMessage(seq)
	broken := true
	defer func() {
		if broken {
			// Panic or failed literal: nothing sane can follow on this
			// connection. Release the writer, then drop the client.
			if nc := s.conn.NetConn(); nc != nil {
				nc.Close()
			}
			resp.Close()
			if err == nil {
				err = errors.New("imapd: fetch response aborted")
			}
		}
	}()
	if options.UID {
		resp.WriteUID(imap.UID(m.uid))
	}
	if options.Flags || seenChanged {
		resp.WriteFlags(imapFlags(m.flags))
	}
	if options.InternalDate {
		resp.WriteInternalDate(m.date)
	}
	if options.RFC822Size {
		resp.WriteRFC822Size(m.size)
	}
	if options.Envelope {
		resp.WriteEnvelope(items.cached.Envelope)
	}
	if options.BodyStructure != nil {
		resp.WriteBodyStructure(items.bodyStr)
	}
	for i, bs := range options.BodySection {
		if wb := items.whole[i]; wb.r != nil {
			if err := writeWhole(resp.WriteBodySection(bs, wb.size), wb); err != nil {
				return err
			}
			continue
		}
		if err := writeLiteral(resp.WriteBodySection(bs, int64(len(items.sections[i]))), items.sections[i]); err != nil {
			return err
		}
	}
	for i, bs := range options.BinarySection {
		if err := writeLiteral(resp.WriteBinarySection(bs, int64(len(items.binary[i]))), items.binary[i]); err != nil {
			return err
		}
	}
	for i, bs := range options.BinarySectionSize {
		resp.WriteBinarySectionSize(bs, items.binSizes[i])
	}
	broken = false
	return resp.Close()
}

func writeLiteral(wc io.WriteCloser, b []byte) error {
	if _, err := wc.Write(b); err != nil {
		wc.Close()
		return err
	}
	return wc.Close()
}

func writeWhole(wc io.WriteCloser, wb wholeBody) error {
	r := io.Reader(wb.r)
	if wb.offset > 0 {
		if sk, ok := wb.r.(io.Seeker); ok {
			if _, err := sk.Seek(wb.offset, io.SeekStart); err != nil {
				wc.Close()
				return err
			}
		} else if _, err := io.CopyN(io.Discard, r, wb.offset); err != nil {
			wc.Close()
			return err
		}
	}
	if _, err := io.CopyN(wc, r, wb.size); err != nil {
		wc.Close()
		return fmt.Errorf("imapd: message file shorter than its size: %w", err)
	}
	return wc.Close()
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
	s          *session
	sel        *selected
	idx        []int
	lister     storage.CachedLister
	headerOnly bool
	start, end int
	got        map[uint32]*storage.Cached
}

func newCachedWindow(s *session, sel *selected, idx []int, need, headerOnly bool) *cachedWindow {
	w := &cachedWindow{s: s, sel: sel, idx: idx, headerOnly: headerOnly}
	if need {
		w.lister, _ = s.mbox.(storage.CachedLister)
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
		if w.got, err = w.lister.CachedMany(w.s.ctx, w.sel.folder, uids, w.headerOnly); err != nil {
			w.start, w.end = 0, 0
			return nil, err
		}
	}
	return w.got[w.sel.msgs[w.idx[n]].uid], nil
}
