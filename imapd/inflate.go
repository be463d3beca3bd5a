package imapd

import (
	"bufio"
	"errors"
	"io"
)

// inflater decodes the client's side of COMPRESS=DEFLATE: a raw DEFLATE
// stream (RFC 1951). It exists because the inflaters at hand (Go's
// compress/flate and klauspost's) read ten bits past the end of a
// non-final block before they hand out its data, and a client that ends
// each command with zlib's Z_PARTIAL_FLUSH (mbsync) sends fewer: the
// command would wait for the next one. This decoder takes input bits one
// at a time, only as a symbol needs them (as zlib's "puff" does), and
// returns what it decoded as soon as the input already received is used
// up.
type inflater struct {
	src    *bufio.Reader
	bitbuf uint32
	bitcnt uint

	window [1 << 15]byte
	wpos   int
	filled bool // the window has wrapped: distances up to 32 KiB are valid

	inBlock, final, done bool
	stored               int // bytes left in a stored block; -1: none
	lit, dist            *huffman
	copyLen, copyDist    int // a match being copied
	err                  error

	fixedLit, fixedDist *huffman
}

// huffman is a canonical Huffman code: how many codes of each length,
// and the symbols in code order (RFC 1951 §3.2.2).
type huffman struct {
	count  [16]uint16
	symbol [288]uint16
}

var errCorrupt = errors.New("imapd: corrupt DEFLATE data")

func newInflater(src *bufio.Reader) *inflater {
	f := &inflater{src: src, stored: -1}
	var l [288]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	f.fixedLit = &huffman{}
	f.fixedLit.build(l[:])
	var d [30]uint8
	for i := range d {
		d[i] = 5
	}
	f.fixedDist = &huffman{}
	f.fixedDist.build(d[:])
	return f
}

// build makes a code from code lengths; an over-subscribed set is an
// error, an incomplete one is allowed (RFC 1951 permits a single
// distance code).
func (h *huffman) build(lengths []uint8) error {
	h.count = [16]uint16{}
	for _, l := range lengths {
		h.count[l]++
	}
	if int(h.count[0]) == len(lengths) {
		return nil // no codes: only an error when used
	}
	left := 1
	for l := 1; l < 16; l++ {
		left = left<<1 - int(h.count[l])
		if left < 0 {
			return errCorrupt
		}
	}
	var offs [16]uint16
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	for sym, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = uint16(sym)
			offs[l]++
		}
	}
	return nil
}

// bits returns the next n bits (n <= 16), reading input as needed.
func (f *inflater) bits(n uint) (uint32, error) {
	for f.bitcnt < n {
		b, err := f.src.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		f.bitbuf |= uint32(b) << f.bitcnt
		f.bitcnt += 8
	}
	v := f.bitbuf & (1<<n - 1)
	f.bitbuf >>= n
	f.bitcnt -= n
	return v, nil
}

// decode reads one symbol, bit by bit (codes are sent most significant
// bit first, RFC 1951 §3.1.1).
func (f *inflater) decode(h *huffman) (int, error) {
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		b, err := f.bits(1)
		if err != nil {
			return 0, err
		}
		code |= int(b)
		count := int(h.count[l])
		if code-count < first {
			return int(h.symbol[index+code-first]), nil
		}
		index += count
		first = (first + count) << 1
		code <<= 1
	}
	return 0, errCorrupt
}

// RFC 1951 §3.2.5 length and distance codes.
var (
	lenBase   = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra  = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase  = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	clOrder   = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

func (f *inflater) put(b byte) {
	f.window[f.wpos] = b
	f.wpos++
	if f.wpos == len(f.window) {
		f.wpos, f.filled = 0, true
	}
}

// Read decodes into p. It stops early, with what it has, when going on
// would wait for input the client has not sent yet.
func (f *inflater) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if f.err != nil {
			break
		}
		// Deliver what is decoded rather than wait for more input.
		if n > 0 && f.src.Buffered() == 0 && f.copyLen == 0 {
			break
		}
		switch {
		case f.copyLen > 0:
			for f.copyLen > 0 && n < len(p) {
				b := f.window[(f.wpos-f.copyDist+len(f.window))%len(f.window)]
				f.put(b)
				p[n] = b
				n++
				f.copyLen--
			}
		case !f.inBlock:
			if f.done {
				f.err = io.EOF
				break
			}
			f.err = f.blockHeader()
		case f.stored >= 0:
			if f.stored == 0 {
				f.inBlock, f.stored = false, -1
				f.done = f.final
				continue
			}
			b, err := f.src.ReadByte()
			if err != nil {
				f.err = noEOF(err)
				break
			}
			f.put(b)
			p[n] = b
			n++
			f.stored--
		default:
			f.err = f.symbol(p, &n)
		}
	}
	if n > 0 {
		return n, nil
	}
	return 0, f.err
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// symbol decodes one literal, match or end of block.
func (f *inflater) symbol(p []byte, n *int) error {
	sym, err := f.decode(f.lit)
	if err != nil {
		return err
	}
	switch {
	case sym < 256:
		f.put(byte(sym))
		p[*n] = byte(sym)
		*n++
		return nil
	case sym == 256:
		f.inBlock = false
		f.done = f.final
		return nil
	}
	sym -= 257
	if sym >= 29 {
		return errCorrupt
	}
	e, err := f.bits(uint(lenExtra[sym]))
	if err != nil {
		return err
	}
	length := int(lenBase[sym]) + int(e)
	d, err := f.decode(f.dist)
	if err != nil {
		return err
	}
	if d >= 30 {
		return errCorrupt
	}
	e, err = f.bits(uint(distExtra[d]))
	if err != nil {
		return err
	}
	dist := int(distBase[d]) + int(e)
	if !f.filled && dist > f.wpos {
		return errCorrupt // before the start of the stream
	}
	f.copyLen, f.copyDist = length, dist
	return nil
}

// blockHeader reads a block's header and, for a dynamic block, its codes.
func (f *inflater) blockHeader() error {
	h, err := f.bits(3)
	if err != nil {
		return err
	}
	f.final = h&1 == 1
	switch h >> 1 {
	case 0: // stored (RFC 1951 §3.2.4): aligned LEN and NLEN
		f.bitbuf, f.bitcnt = 0, 0
		var b [4]byte
		if _, err := io.ReadFull(f.src, b[:]); err != nil {
			return noEOF(err)
		}
		ln, nln := uint16(b[0])|uint16(b[1])<<8, uint16(b[2])|uint16(b[3])<<8
		if ln != ^nln {
			return errCorrupt
		}
		f.stored = int(ln)
	case 1:
		f.lit, f.dist = f.fixedLit, f.fixedDist
	case 2:
		if err := f.dynamic(); err != nil {
			return err
		}
	default:
		return errCorrupt
	}
	f.inBlock = true
	return nil
}

// dynamic reads the code lengths of a dynamic block (RFC 1951 §3.2.7).
func (f *inflater) dynamic() error {
	v, err := f.bits(14)
	if err != nil {
		return err
	}
	nlen, ndist, ncode := int(v&31)+257, int(v>>5&31)+1, int(v>>10)+4
	if nlen > 286 || ndist > 30 {
		return errCorrupt
	}
	var cl [19]uint8
	for i := range ncode {
		b, err := f.bits(3)
		if err != nil {
			return err
		}
		cl[clOrder[i]] = uint8(b)
	}
	var lencode huffman
	if err := lencode.build(cl[:]); err != nil {
		return err
	}
	var lengths [286 + 30]uint8
	for i := 0; i < nlen+ndist; {
		sym, err := f.decode(&lencode)
		if err != nil {
			return err
		}
		if sym < 16 {
			lengths[i] = uint8(sym)
			i++
			continue
		}
		var rep int
		var val uint8
		switch sym {
		case 16:
			if i == 0 {
				return errCorrupt
			}
			val = lengths[i-1]
			b, err := f.bits(2)
			if err != nil {
				return err
			}
			rep = 3 + int(b)
		case 17:
			b, err := f.bits(3)
			if err != nil {
				return err
			}
			rep = 3 + int(b)
		default:
			b, err := f.bits(7)
			if err != nil {
				return err
			}
			rep = 11 + int(b)
		}
		if i+rep > nlen+ndist {
			return errCorrupt
		}
		for range rep {
			lengths[i] = val
			i++
		}
	}
	if lengths[256] == 0 {
		return errCorrupt // no end-of-block code
	}
	f.lit, f.dist = &huffman{}, &huffman{}
	if err := f.lit.build(lengths[:nlen]); err != nil {
		return err
	}
	return f.dist.build(lengths[nlen : nlen+ndist])
}
