package pdf

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Text returns the text layer of the file's pages, a line per text line
// as well as a content stream lets us tell (§9.4: a new line at each
// BT…ET block, T*, ' and ", and a move to another baseline). Fonts are
// decoded through their ToUnicode CMaps (§9.10.3), which is how every
// current writer (Word, LibreOffice, the Government's signing tools)
// records Vietnamese text; simple fonts without one are read as
// WinAnsi. A file with no page tree has its content streams read in
// file order. ErrLimit (wrapped) says the text was cut short.
func (f *File) Text() (string, error) {
	x := &extractor{f: f, fonts: map[int]*font{}}
	pages := f.pages()
	if len(pages) == 0 {
		// No page tree: read every stream that looks like page content.
		for _, n := range f.Objects() {
			if s, ok := f.Object(n).(*Stream); ok && s.Dict["Type"] == nil && s.Dict["Subtype"] == nil {
				if data, err := f.Decode(s); err == nil && bytes.Contains(data, []byte("BT")) {
					x.content(data, nil, 0)
				}
			}
			if x.full() || f.ctx.Err() != nil {
				break
			}
		}
	}
	for _, p := range pages {
		if x.full() || f.ctx.Err() != nil {
			f.Truncated = true
			break
		}
		x.page(p)
	}
	if f.Truncated {
		return x.out.String(), fmt.Errorf("%w (text of %d bytes)", ErrLimit, x.out.Len())
	}
	return x.out.String(), nil
}

// page is a page dictionary with its inherited resources.
type page struct {
	dict      Dict
	resources Dict
}

// pages walks the page tree from the catalog (§7.7.3), bounded in pages,
// depth and visits.
func (f *File) pages() []page {
	root := f.catalog()
	if root == nil {
		return nil
	}
	var out []page
	seen := map[Ref]bool{}
	var walk func(o Object, res Dict, depth int)
	walk = func(o Object, res Dict, depth int) {
		if r, ok := o.(Ref); ok {
			if seen[r] {
				return
			}
			seen[r] = true
		}
		if len(out) >= f.lim.MaxPages {
			f.Truncated = true
			return
		}
		d := f.Dict(o)
		if d == nil || depth > 32 {
			return
		}
		if r := f.Dict(d["Resources"]); r != nil {
			res = r
		}
		if kids, ok := f.Resolve(d["Kids"]).(Array); ok {
			for _, k := range kids {
				walk(k, res, depth+1)
			}
			return
		}
		if d.name("Type") == "Page" || d["Contents"] != nil {
			out = append(out, page{dict: d, resources: res})
		}
	}
	walk(root["Pages"], nil, 0)
	return out
}

// catalog finds the document catalog (§7.7.2): the /Root of the last
// trailer (or cross-reference stream), else the highest-numbered object
// of type Catalog.
func (f *File) catalog() Dict {
	if i := bytes.LastIndex(f.data, []byte("/Root")); i >= 0 {
		l := &lexer{b: f.data, pos: i + len("/Root")}
		if r, err := l.object(0); err == nil {
			if d := f.Dict(r); d != nil && d.name("Type") == "Catalog" {
				return d
			}
		}
	}
	var root Dict
	for _, n := range f.Objects() {
		off := f.offsets[n]
		if !bytes.Contains(f.data[off:min(off+512, len(f.data))], []byte("Catalog")) {
			continue
		}
		if d := f.Dict(Ref{n, 0}); d != nil && d.name("Type") == "Catalog" {
			root = d
		}
	}
	for n := range f.inStm {
		if d := f.Dict(Ref{n, 0}); root == nil && d != nil && d.name("Type") == "Catalog" {
			root = d
		}
	}
	return root
}

// extractor collects the text.
type extractor struct {
	f     *File
	out   bytes.Buffer
	fonts map[int]*font
}

func (x *extractor) full() bool { return x.out.Len() >= x.f.lim.MaxTextBytes }

func (x *extractor) page(p page) {
	var data []byte
	switch c := x.f.Resolve(p.dict["Contents"]).(type) {
	case *Stream:
		data, _ = x.f.Decode(c)
	case Array:
		for _, part := range c {
			if s, ok := x.f.Resolve(part).(*Stream); ok {
				if d, err := x.f.Decode(s); err == nil {
					data = append(append(data, d...), '\n')
				}
			}
		}
	}
	x.content(data, p.resources, 0)
	// Annotation appearances (stamps, signature boxes) carry text too.
	if annots, ok := x.f.Resolve(p.dict["Annots"]).(Array); ok {
		for i, a := range annots {
			if i >= 256 {
				break
			}
			ad := x.f.Dict(a)
			if ad == nil {
				continue
			}
			if ap := x.f.Dict(ad["AP"]); ap != nil {
				if s, ok := x.f.Resolve(ap["N"]).(*Stream); ok {
					x.form(s, 1)
				}
			}
		}
	}
	x.newline()
}

// form runs a form XObject (§8.10) with its own resources.
func (x *extractor) form(s *Stream, depth int) {
	if depth > 8 || s.Dict.name("Subtype") != "Form" {
		return
	}
	data, err := x.f.Decode(s)
	if err != nil {
		return
	}
	x.content(data, x.f.Dict(s.Dict["Resources"]), depth)
}

func (x *extractor) newline() {
	if b := x.out.Bytes(); len(b) > 0 && b[len(b)-1] != '\n' {
		x.out.WriteByte('\n')
	}
}

func (x *extractor) write(s string) {
	if !x.full() {
		x.out.WriteString(s)
	}
}

// content interprets the text operators of a content stream (§9.4).
func (x *extractor) content(data []byte, res Dict, depth int) {
	l := &lexer{b: data}
	var operands []Object
	var cur *font
	lastY, haveY := 0.0, false
	fontsOf := x.f.Dict(res["Font"])
	xobjects := x.f.Dict(res["XObject"])
	for steps := 0; ; steps++ {
		if steps%4096 == 0 && (x.f.ctx.Err() != nil || x.full()) {
			x.f.Truncated = true
			return
		}
		l.skip()
		if l.pos >= len(l.b) {
			return
		}
		o, err := l.object(0)
		if err != nil {
			operands = operands[:0]
			continue
		}
		op, isOp := o.(keyword)
		if !isOp {
			if len(operands) < 64 {
				operands = append(operands, o)
			}
			continue
		}
		switch op {
		case "BI": // inline image: skip to EI
			if k := bytes.Index(l.b[l.pos:], []byte("EI")); k >= 0 {
				l.pos += k + 2
			} else {
				return
			}
		case "BT":
			haveY = false
		case "ET", "T*":
			x.newline()
		case "Tf":
			if len(operands) >= 2 {
				if n, ok := operands[0].(Name); ok && fontsOf != nil {
					cur = x.font(fontsOf[n])
				}
			}
		case "Td", "TD":
			if len(operands) >= 2 {
				if ty, ok := asFloat(operands[1]); ok && ty != 0 {
					x.newline()
				} else {
					x.write(" ")
				}
			}
		case "Tm":
			if len(operands) >= 6 {
				if y, ok := asFloat(operands[5]); ok {
					if haveY && y != lastY {
						x.newline()
					}
					lastY, haveY = y, true
				}
			}
		case "Tj":
			if len(operands) >= 1 {
				x.show(cur, operands[len(operands)-1])
			}
		case "'", "\"":
			x.newline()
			if len(operands) >= 1 {
				x.show(cur, operands[len(operands)-1])
			}
		case "TJ":
			if len(operands) >= 1 {
				if a, ok := operands[len(operands)-1].(Array); ok {
					for _, e := range a {
						if n, ok := asFloat(e); ok {
							if n < -200 { // a gap wider than a fifth of an em
								x.write(" ")
							}
							continue
						}
						x.show(cur, e)
					}
				}
			}
		case "Do":
			if len(operands) >= 1 && xobjects != nil {
				if n, ok := operands[0].(Name); ok {
					if s, ok := x.f.Resolve(xobjects[n]).(*Stream); ok {
						x.form(s, depth+1)
					}
				}
			}
		}
		operands = operands[:0]
	}
}

func (x *extractor) show(f *font, o Object) {
	s, ok := o.(String)
	if !ok {
		return
	}
	x.write(f.decode(s))
}

// font is what decoding a font's strings needs.
type font struct {
	cmap     *cmap
	twoBytes bool // Type0 without a ToUnicode map: 2-byte codes, unknown text
}

func (x *extractor) font(o Object) *font {
	r, isRef := o.(Ref)
	if isRef {
		if f, ok := x.fonts[r.Num]; ok {
			return f
		}
	}
	d := x.f.Dict(o)
	f := &font{}
	if d != nil {
		if s, ok := x.f.Resolve(d["ToUnicode"]).(*Stream); ok {
			if data, err := x.f.Decode(s); err == nil {
				f.cmap = parseCMap(data)
			}
		}
		f.twoBytes = d.name("Subtype") == "Type0"
	}
	if isRef {
		x.fonts[r.Num] = f
	}
	return f
}

// decode turns a shown string into text.
func (f *font) decode(s []byte) string {
	if f != nil && f.cmap != nil {
		return f.cmap.decode(s)
	}
	if f != nil && f.twoBytes {
		return "" // glyph ids without a map say nothing
	}
	var b strings.Builder
	for _, c := range s {
		b.WriteRune(winAnsi(c))
	}
	return b.String()
}

// winAnsi maps a WinAnsiEncoding code (§D.2) to a rune; the 0x80-0x9F
// block differs from Latin-1.
func winAnsi(c byte) rune {
	if c < 0x80 || c >= 0xa0 {
		return rune(c)
	}
	const block = "€\uFFFD‚ƒ„…†‡ˆ‰Š‹Œ\uFFFDŽ\uFFFD\uFFFD‘’“”•–—˜™š›œ\uFFFDžŸ"
	return []rune(block)[c-0x80]
}

// cmap is a ToUnicode CMap (§9.10.3): code lengths from the codespace
// ranges and code → text from bfchar and bfrange.
type cmap struct {
	lengths []int // code byte lengths in use, shortest first
	m       map[uint32]string
}

// maxCMapEntries bounds a CMap (bfrange expansions included).
const maxCMapEntries = 1 << 17

func parseCMap(data []byte) *cmap {
	c := &cmap{m: map[uint32]string{}}
	l := &lexer{b: data}
	var stack []Object
	have := map[int]bool{}
	mode := ""
	for l.pos < len(l.b) {
		l.skip()
		if l.pos >= len(l.b) {
			break
		}
		o, err := l.object(0)
		if err != nil {
			continue
		}
		k, isOp := o.(keyword)
		if !isOp {
			stack = append(stack, o)
			if len(stack) > 3 {
				stack = stack[1:]
			}
		} else {
			switch k {
			case "begincodespacerange", "beginbfchar", "beginbfrange":
				mode = string(k)
			case "endcodespacerange", "endbfchar", "endbfrange":
				mode = ""
			}
			stack = stack[:0]
			continue
		}
		switch mode {
		case "begincodespacerange":
			if len(stack) == 2 {
				if lo, ok := stack[0].(String); ok && len(lo) >= 1 && len(lo) <= 4 {
					have[len(lo)] = true
				}
				stack = stack[:0]
			}
		case "beginbfchar":
			if len(stack) == 2 {
				src, ok1 := stack[0].(String)
				dst, ok2 := stack[1].(String)
				if ok1 && ok2 && len(src) <= 4 && len(c.m) < maxCMapEntries {
					c.m[code(src)|uint32(len(src))<<28] = utf16BE(dst)
					have[len(src)] = true
				}
				stack = stack[:0]
			}
		case "beginbfrange":
			if len(stack) == 3 {
				lo, ok1 := stack[0].(String)
				hi, ok2 := stack[1].(String)
				if ok1 && ok2 && len(lo) <= 4 && len(lo) == len(hi) {
					c.addRange(lo, code(lo), code(hi), stack[2])
					have[len(lo)] = true
				}
				stack = stack[:0]
			}
		}
	}
	for n := 1; n <= 4; n++ {
		if have[n] {
			c.lengths = append(c.lengths, n)
		}
	}
	if len(c.lengths) == 0 {
		c.lengths = []int{2}
	}
	return c
}

func (c *cmap) addRange(lo []byte, from, to uint32, dst Object) {
	if to < from || to-from > 0xffff {
		return
	}
	tag := uint32(len(lo)) << 28
	switch d := dst.(type) {
	case String:
		base := []rune(utf16BE(d))
		for i := uint32(0); i <= to-from && len(c.m) < maxCMapEntries; i++ {
			if len(base) == 0 {
				break
			}
			r := append([]rune{}, base...)
			r[len(r)-1] += rune(i)
			c.m[(from+i)|tag] = string(r)
		}
	case Array:
		for i, e := range d {
			if s, ok := e.(String); ok && uint32(i) <= to-from && len(c.m) < maxCMapEntries {
				c.m[(from+uint32(i))|tag] = utf16BE(s)
			}
		}
	}
}

func (c *cmap) decode(s []byte) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		matched := false
		for _, n := range c.lengths {
			if i+n > len(s) {
				break
			}
			if t, ok := c.m[code(s[i:i+n])|uint32(n)<<28]; ok {
				b.WriteString(t)
				i += n
				matched = true
				break
			}
		}
		if !matched {
			i += c.lengths[len(c.lengths)-1]
		}
	}
	return b.String()
}

func code(b []byte) uint32 {
	var v uint32
	for _, c := range b {
		v = v<<8 | uint32(c)
	}
	return v & 0x0fffffff
}

// utf16BE decodes a CMap destination (UTF-16BE, §9.10.3).
func utf16BE(b []byte) string {
	if len(b)%2 == 1 {
		b = b[:len(b)-1]
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	s := string(utf16.Decode(u))
	if !utf8.ValidString(s) {
		return ""
	}
	return s
}
