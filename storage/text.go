package storage

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"io"
	"math"
	stdbits "math/bits"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"congvu/internal/ascii"
	"congvu/internal/bufsize"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
	"golang.org/x/text/unicode/norm"
)

// IMAP SEARCH BODY and TEXT (RFC 9051 6.4.4) are case-insensitive
// substring searches of the decoded text. The functions below are the one
// definition of what is searched, used both to match (ContainsText) and, at
// delivery, to build each message's text filter: a Bloom filter of the
// byte trigrams of everything ContainsText would look at. A search first
// drops the messages whose filter lacks one of the query's trigrams; they
// cannot match. The rest are matched for real, so answers are exactly those
// of a full scan.

// FoldText prepares text for case-insensitive substring search. NFC first,
// so Vietnamese typed with combining marks matches precomposed text.
func FoldText(s string) string {
	return strings.ToLower(norm.NFC.String(s))
}

// maxSearchBody bounds how much of one body part is searched.
const maxSearchBody = 64 << 20

// walkText visits, folded, every string a BODY (header=false) or TEXT
// (header=true) search looks at: decoded header field values of every
// entity (TEXT only), and the decoded bodies of text/*, message/* and
// untyped leaf parts; attachments are not searched. visit returns true to
// stop the walk.
func walkText(e *gomessage.Entity, header bool, visit func(folded string) bool) bool {
	var scratch bytes.Buffer
	return walkTextDepth(e, header, 0, &scratch, func(raw []byte) bool { return visit(FoldText(string(raw))) })
}

// walkTextDepth is walkText below depth levels of multiparts, visiting the
// decoded text before folding. A body is read into scratch, which the
// next part reuses: visit must not keep raw. Parts nested deeper than
// maxMIMEDepth are not searched: each level reads through the readers of
// all its parents, so unbounded nesting would cost time quadratic in the
// message (issue 15 §1).
func walkTextDepth(e *gomessage.Entity, header bool, depth int, scratch *bytes.Buffer, visit func(raw []byte) bool) bool {
	if header {
		fields := e.Header.Fields()
		for fields.Next() {
			v, err := fields.Text()
			if err != nil {
				v = fields.Value()
			}
			if visit([]byte(v)) {
				return true
			}
		}
	}
	t, params, _ := e.Header.ContentType()
	// A multipart without a boundary cannot be split (RFC 2046 5.1.1): its
	// body is searched as text, as the webmail shows it.
	multipart := strings.HasPrefix(t, "multipart/") && params["boundary"] != ""
	if mr := e.MultipartReader(); mr != nil && multipart {
		if depth >= maxMIMEDepth {
			return false
		}
		for {
			p, err := mr.NextPart()
			if p == nil || (err != nil && err != io.EOF && !gomessage.IsUnknownCharset(err) && !gomessage.IsUnknownEncoding(err)) {
				return false
			}
			if walkTextDepth(p, header, depth+1, scratch, visit) {
				return true
			}
		}
	}
	if t != "" && !strings.HasPrefix(t, "text/") && !strings.HasPrefix(t, "message/") && !strings.HasPrefix(t, "multipart/") {
		return false
	}
	scratch.Reset()
	_, err := scratch.ReadFrom(io.LimitReader(e.Body, maxSearchBody))
	b := scratch.Bytes()
	if err != nil && len(b) == 0 {
		return false
	}
	return visit(b)
}

// readEntity parses a message for text search, leniently: a header line
// that is not a field (no colon) is skipped rather than losing the whole
// message, as the store's own parser and the webmail do.
func readEntity(r io.Reader) *gomessage.Entity {
	return readEntityFrom(bufio.NewReaderSize(r, 16<<10))
}

// readEntityFrom is readEntity from a buffered reader.
func readEntityFrom(br *bufio.Reader) *gomessage.Entity {
	raw, _ := readRawHeader(br)
	h, err := textproto.ReadHeader(bufsize.Bytes(raw))
	if err != nil {
		h, _ = textproto.ReadHeader(bufsize.Bytes(dropMalformedLines(raw)))
	}
	e, _ := gomessage.New(gomessage.Header{Header: h}, br)
	return e
}

// dropMalformedLines keeps the header lines that are fields or their
// continuations.
func dropMalformedLines(header []byte) []byte {
	var out []byte
	for _, line := range bytes.SplitAfter(header, []byte("\n")) {
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(trimmed) == 0 || trimmed[0] == ' ' || trimmed[0] == '\t' || bytes.IndexByte(trimmed, ':') > 0 {
			out = append(out, line...)
		}
	}
	return out
}

// ContainsText reports whether the raw message contains folded (the result
// of FoldText) in its decoded text, and with header in its header fields
// too.
func ContainsText(raw []byte, folded string, header bool) bool {
	e := readEntity(bytes.NewReader(raw))
	if e == nil {
		return false
	}
	return walkText(e, header, func(s string) bool { return strings.Contains(s, folded) })
}

const (
	// maxFilterText: messages with more searchable text get no filter
	// (they are always matched for real).
	maxFilterText = 4 << 20
	// A filter has about bloomBitsPerTrigram bits per distinct trigram
	// (two hash functions: about 5% false positives per trigram, so a
	// 10-letter word passes a non-matching message once in 10^13).
	bloomBitsPerTrigram = 8
	minBloomBytes       = 64
	maxBloomBytes       = 32 << 10
	// bloomVersion is the first byte of every filter. Version 2 filters
	// also hold the trigrams of the accent-free text (unaccent.go).
	bloomVersion = 2
)

// trigramHash hashes three bytes (FNV-1a), giving two bit positions.
func trigramHash(a, b, c byte) uint32 {
	h := uint32(2166136261)
	for _, x := range [3]byte{a, b, c} {
		h ^= uint32(x)
		h *= 16777619
	}
	return h
}

func addTrigrams(dst []uint32, s string) []uint32 {
	for i := 0; i+3 <= len(s); i++ {
		dst = append(dst, trigramHash(s[i], s[i+1], s[i+2]))
	}
	return dst
}

// bloomBits are the two bit positions of hash h in a filter of mask+1 bits.
func bloomBits(h, mask uint32) [2]uint32 {
	return [2]uint32{h & mask, (h>>16 | h<<16) & mask}
}

// buildTextFilter reads a message and returns its text filter, or nil when
// it has too much text for one. The filter is first built for the number
// of trigram occurrences (an upper bound of the distinct ones), then halved
// while it stays large enough for the distinct trigrams its fill shows:
// halving a filter whose bit positions are hash&mask is OR-ing its two
// halves, so nothing is lost.
//
// bufs, when not nil, lends the reader and the working filter (a delivery
// would otherwise allocate about 50 KiB for them).
func buildTextFilter(r io.Reader, bufs *filterBuffers) []byte {
	var br *bufio.Reader
	var ft *filterText
	if bufs != nil {
		br = bufs.reader(r)
		defer bufs.putReader(br)
		ft = bufs.texts.Get().(*filterText)
		defer bufs.putText(ft)
	} else {
		br = bufio.NewReaderSize(r, 16<<10)
		ft = new(filterText)
	}
	e := readEntityFrom(br)
	if e == nil {
		return nil
	}
	if walkTextDepth(e, true, 0, &ft.scratch, ft.add) {
		return nil // more than maxFilterText
	}
	size := bloomSize(ft.occurrences)
	var bits []byte
	if bufs != nil {
		bp := bufs.blooms.Get().(*[]byte)
		defer bufs.blooms.Put(bp)
		bits = (*bp)[:size]
		clear(bits)
	} else {
		bits = make([]byte, size)
	}
	mask := uint32(size*8 - 1)
	for _, seg := range ft.segs {
		s := ft.folded[seg[0]:seg[1]]
		for i := 0; i+3 <= len(s); i++ {
			h := trigramHash(s[i], s[i+1], s[i+2])
			for _, bit := range bloomBits(h, mask) {
				bits[bit>>3] |= 1 << (bit & 7)
			}
		}
	}
	// Distinct trigrams from the fill of a k=2 filter of m bits:
	// n = -m/2 · ln(1 - set/m).
	set := 0
	for _, b := range bits {
		set += stdbits.OnesCount8(b)
	}
	m := float64(size * 8)
	distinct := int(math.Ceil(-m / 2 * math.Log(max(1-float64(set)/m, 1e-9))))
	for size > minBloomBytes && bloomSize(distinct) < size {
		half := size / 2
		for i := range half {
			bits[i] |= bits[half+i]
		}
		size = half
		bits = bits[:size]
	}
	return append([]byte{bloomVersion}, bits...)
}

// filterText collects the folded strings a filter covers, one after the
// other in one reusable buffer (segs are their bounds), with their
// unaccented forms where those differ.
type filterText struct {
	scratch     bytes.Buffer // walkTextDepth's body buffer
	folded      []byte
	segs        [][2]int
	total       int // bytes of folded text, without the unaccented copies
	occurrences int // trigram occurrences, an upper bound of the distinct ones
}

// add takes one decoded string of the walk; true (stop) once the text is
// over maxFilterText.
func (ft *filterText) add(raw []byte) bool {
	if ascii.Is(raw) {
		// FoldText of ASCII is its ASCII lower case (NFC leaves it as it
		// is), and Unaccent changes nothing in that: fold in place of
		// the string conversions, without a second copy (issue 16: the
		// filter was a sixth of a delivery's CPU).
		ft.total += len(raw)
		if ft.total > maxFilterText {
			return true
		}
		start := len(ft.folded)
		ft.folded = append(ft.folded, raw...)
		lowerASCII(ft.folded[start:])
		ft.addSeg(start)
		return false
	}
	// FoldText and Unaccent, appended in place: NFC, then lower case rune
	// by rune as strings.ToLower does (invalid bytes become U+FFFD).
	nfc := raw
	if !norm.NFC.IsNormal(raw) {
		nfc = norm.NFC.Bytes(raw)
	}
	start := len(ft.folded)
	for rest := nfc; len(rest) > 0; {
		r, w := utf8.DecodeRune(rest)
		rest = rest[w:]
		ft.folded = utf8.AppendRune(ft.folded, unicode.ToLower(r))
	}
	ft.total += len(ft.folded) - start
	if ft.total > maxFilterText {
		return true
	}
	ft.addSeg(start)
	folded := ft.folded[start:]
	start = len(ft.folded)
	ft.folded = appendUnaccent(ft.folded, folded)
	if bytes.Equal(ft.folded[start:], ft.folded[start-len(folded):start]) {
		ft.folded = ft.folded[:start]
	} else {
		ft.addSeg(start)
	}
	return false
}

func (ft *filterText) addSeg(start int) {
	ft.segs = append(ft.segs, [2]int{start, len(ft.folded)})
	ft.occurrences += max(len(ft.folded)-start-2, 0)
}

func (ft *filterText) reset() {
	ft.scratch.Reset()
	ft.folded, ft.segs = ft.folded[:0], ft.segs[:0]
	ft.total, ft.occurrences = 0, 0
}

func lowerASCII(b []byte) {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}

// filterBuffers are the reusable buffers of buildTextFilter: readers and
// working filters of the largest size.
type filterBuffers struct {
	readers sync.Pool // *bufio.Reader
	blooms  sync.Pool // *[]byte of maxBloomBytes
	texts   sync.Pool // *filterText
}

func newFilterBuffers() *filterBuffers {
	b := &filterBuffers{}
	b.readers.New = func() any { return bufio.NewReaderSize(nil, 16<<10) }
	b.blooms.New = func() any { p := make([]byte, maxBloomBytes); return &p }
	b.texts.New = func() any { return new(filterText) }
	return b
}

// maxPooledText bounds the text buffers kept for the next delivery: a rare
// large message should not pin megabytes in the pool.
const maxPooledText = 256 << 10

func (b *filterBuffers) putText(ft *filterText) {
	if cap(ft.folded) > maxPooledText || ft.scratch.Cap() > maxPooledText {
		return
	}
	ft.reset()
	b.texts.Put(ft)
}

// reader returns a pooled reader of r, for putReader.
func (b *filterBuffers) reader(r io.Reader) *bufio.Reader {
	br := b.readers.Get().(*bufio.Reader)
	br.Reset(r)
	return br
}

func (b *filterBuffers) putReader(br *bufio.Reader) {
	br.Reset(nil) // not to hold on to the message
	b.readers.Put(br)
}

// textQuery is the trigrams a message must have to contain all of some
// folded strings; strings shorter than three bytes say nothing.
type textQuery struct {
	trigrams []uint32
	// unaccented: the strings are Unaccent results, which only version 2
	// filters index.
	unaccented bool
}

func newTextQuery(folded []string) textQuery {
	var q []uint32
	for _, s := range folded {
		q = addTrigrams(q, s)
	}
	slices.Sort(q)
	return textQuery{trigrams: slices.Compact(q)}
}

// mayMatch reports whether a message with filter f can contain the query
// (true for messages without a usable filter).
func (q textQuery) mayMatch(f []byte) bool {
	if len(q.trigrams) == 0 || len(f) < 1+minBloomBytes || f[0] > bloomVersion || f[0] < 1 || q.unaccented && f[0] < 2 {
		return true
	}
	bits := f[1:]
	size := len(bits)
	if size&(size-1) != 0 {
		return true // not a power of two: not ours
	}
	mask := uint32(size*8 - 1)
	for _, h := range q.trigrams {
		for _, bit := range bloomBits(h, mask) {
			if bits[bit/8]&(1<<(bit%8)) == 0 {
				return false
			}
		}
	}
	return true
}

// TextFilter is implemented by mailboxes that keep text filters: Search
// BODY/TEXT asks it which messages cannot match before reading any file.
// Type-assert a Mailbox to use it.
type TextFilter interface {
	// TextExcluded returns the UIDs of folder that certainly do not
	// contain all of folded (FoldText results) in the text ContainsText
	// searches with header=true (so also not with header=false).
	TextExcluded(ctx context.Context, folder string, folded []string) (map[uint32]bool, error)
}

var _ TextFilter = (*mailbox)(nil)

func (m *mailbox) TextExcluded(ctx context.Context, folder string, folded []string) (map[uint32]bool, error) {
	return m.textExcluded(ctx, folder, newTextQuery(folded))
}

func (m *mailbox) textExcluded(ctx context.Context, folder string, q textQuery) (map[uint32]bool, error) {
	out := map[uint32]bool{}
	if len(q.trigrams) == 0 {
		return out, nil
	}
	name, err := normalizeFolder(folder)
	if err != nil {
		return nil, err
	}
	err = m.with(ctx, func(u *userState) error {
		f, err := getFolder(ctx, u.db, name)
		if err != nil {
			return err
		}
		if err := u.indexPendingText(ctx, f); err != nil {
			// Not fatal: messages without a filter are searched for real.
			u.log.Warn("storage: building pending text filters", "folder", name, "err", err)
		}
		if err := u.packTextFilters(ctx, f.id); err != nil {
			// Not fatal: the unpacked rows are read below.
			u.log.Warn("storage: packing text filters", "folder", name, "err", err)
		}
		// Dropping empty packs reads every pack and counts its messages:
		// done only when messages left the folder since the last time
		// (every search paid it, ~40% of a search on 40,000 messages).
		if mark := [2]int64{f.counts.messages, int64(f.uidNext)}; u.packsNeedCheck(f.id, mark) {
			if err := u.dropEmptyPacks(ctx, f.id); err != nil {
				u.log.Warn("storage: dropping empty text filter packs", "folder", name, "err", err)
			} else {
				u.packsCheckedAt(f.id, mark)
			}
		}
		if err := excludePacked(ctx, u.db, f.id, q, out); err != nil {
			return err
		}
		rows, err := u.db.QueryContext(ctx, "SELECT uid, filter FROM textidx WHERE folder_id = ?", f.id)
		if err != nil {
			return err
		}
		defer rows.Close()
		var raw sql.RawBytes
		for rows.Next() {
			var uid uint32
			if err := rows.Scan(&uid, &raw); err != nil {
				return err
			}
			if !q.mayMatch(raw) {
				out[uid] = true
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// bloomSize is the filter size in bytes for n distinct trigrams.
func bloomSize(n int) int {
	size := minBloomBytes
	for size*8 < n*bloomBitsPerTrigram && size < maxBloomBytes {
		size *= 2
	}
	return size
}
