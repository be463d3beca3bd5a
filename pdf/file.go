package pdf

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"context"
	"encoding/ascii85"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// Limits bound the work on one file.
type Limits struct {
	// MaxObjects is how many objects are indexed (default 200,000).
	MaxObjects int
	// MaxStreamBytes bounds one decoded stream (default 16 MiB) and
	// MaxDecodedBytes all decoded streams together (default 64 MiB).
	MaxStreamBytes, MaxDecodedBytes int64
	// MaxPages bounds the pages whose text is read (default 2,000).
	MaxPages int
	// MaxTextBytes bounds the text returned (default 4 MiB).
	MaxTextBytes int
}

func (l Limits) withDefaults() Limits {
	if l.MaxObjects <= 0 {
		l.MaxObjects = 200_000
	}
	if l.MaxStreamBytes <= 0 {
		l.MaxStreamBytes = 16 << 20
	}
	if l.MaxDecodedBytes <= 0 {
		l.MaxDecodedBytes = 64 << 20
	}
	if l.MaxPages <= 0 {
		l.MaxPages = 2000
	}
	if l.MaxTextBytes <= 0 {
		l.MaxTextBytes = 4 << 20
	}
	return l
}

// ErrLimit is returned (wrapped) when a limit stopped the work; what was
// read before it is still returned.
var ErrLimit = errors.New("pdf: limit reached")

// File is an indexed PDF.
type File struct {
	data    []byte
	lim     Limits
	ctx     context.Context
	offsets map[int]int         // object number → offset after "obj" (last definition wins)
	inStm   map[int][2]int      // object number → (object stream number, index)
	cache   map[int]Object      // resolved objects
	stmObjs map[int][]stmObject // parsed object streams
	decoded int64
	// Truncated is set when a limit cut the work short.
	Truncated bool
}

type stmObject struct {
	num int
	obj Object
}

// Open indexes data. ctx bounds the time every later call may take.
func Open(ctx context.Context, data []byte, lim Limits) *File {
	f := &File{data: data, lim: lim.withDefaults(), ctx: ctx, offsets: map[int]int{}, inStm: map[int][2]int{},
		cache: map[int]Object{}, stmObjs: map[int][]stmObject{}}
	f.index()
	f.indexObjectStreams()
	return f
}

// index finds every "N G obj" in the file.
func (f *File) index() {
	d := f.data
	for i := 0; ; {
		j := bytes.Index(d[i:], []byte("obj"))
		if j < 0 {
			return
		}
		at := i + j
		i = at + 3
		if i < len(d) && !isSpace(d[i]) && !isDelim(d[i]) {
			continue // "objects", "endobj"'s tail is handled below
		}
		if at >= 3 && string(d[at-3:at]) == "end" {
			continue
		}
		num, ok := numbersBefore(d, at)
		if !ok {
			continue
		}
		if len(f.offsets) >= f.lim.MaxObjects {
			f.Truncated = true
			return
		}
		f.offsets[num] = i
		if len(f.offsets)%1024 == 0 && f.ctx.Err() != nil {
			f.Truncated = true
			return
		}
	}
}

// numbersBefore reads "N G " backwards from the "obj" at position at.
func numbersBefore(d []byte, at int) (int, bool) {
	p := at
	for p > 0 && isSpace(d[p-1]) {
		p--
	}
	g := p
	for g > 0 && d[g-1] >= '0' && d[g-1] <= '9' {
		g--
	}
	if g == p || p-g > 5 {
		return 0, false
	}
	q := g
	for q > 0 && isSpace(d[q-1]) {
		q--
	}
	if q == g {
		return 0, false
	}
	n := q
	for n > 0 && d[n-1] >= '0' && d[n-1] <= '9' {
		n--
	}
	if n == q || q-n > 10 || (n > 0 && !isSpace(d[n-1]) && !isDelim(d[n-1])) {
		return 0, false
	}
	num, err := strconv.Atoi(string(d[n:q]))
	if err != nil || num <= 0 {
		return 0, false
	}
	return num, true
}

// Objects returns the numbers of the objects defined directly, in
// increasing order.
func (f *File) Objects() []int {
	out := make([]int, 0, len(f.offsets))
	for n := range f.offsets {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Object returns object num, parsed (streams with their data).
func (f *File) Object(num int) Object {
	if o, ok := f.cache[num]; ok {
		return o
	}
	f.cache[num] = nil // a reference cycle resolves to null
	var o Object
	if off, ok := f.offsets[num]; ok {
		o = f.parseAt(off)
	} else if loc, ok := f.inStm[num]; ok {
		for _, so := range f.objectStream(loc[0]) {
			if so.num == num {
				o = so.obj
				break
			}
		}
	}
	f.cache[num] = o
	return o
}

// parseAt parses the object that starts at off (after "obj").
func (f *File) parseAt(off int) Object {
	l := &lexer{b: f.data, pos: off}
	o, err := l.object(0)
	if err != nil {
		return o
	}
	d, ok := o.(Dict)
	if !ok {
		return o
	}
	l.skip()
	if !bytes.HasPrefix(f.data[l.pos:], []byte("stream")) {
		return d
	}
	start := l.pos + len("stream")
	if start < len(f.data) && f.data[start] == '\r' {
		start++
	}
	if start < len(f.data) && f.data[start] == '\n' {
		start++
	}
	end := -1
	if n, ok := asInt(f.resolveShallow(d["Length"])); ok && n >= 0 && start+int(n) <= len(f.data) {
		e := start + int(n)
		rest := f.data[e:min(e+32, len(f.data))]
		if bytes.Contains(rest, []byte("endstream")) {
			end = e
		}
	}
	if end < 0 { // a wrong or missing /Length: look for endstream
		k := bytes.Index(f.data[start:], []byte("endstream"))
		if k < 0 {
			end = len(f.data)
		} else {
			end = start + k
			for end > start && (f.data[end-1] == '\n' || f.data[end-1] == '\r') {
				end--
			}
		}
	}
	return &Stream{Dict: d, Data: f.data[start:end]}
}

// resolveShallow resolves a reference to a direct object without
// following streams' /Length references of its own (no recursion).
func (f *File) resolveShallow(o Object) Object {
	r, ok := o.(Ref)
	if !ok {
		return o
	}
	if c, ok := f.cache[r.Num]; ok {
		return c
	}
	if off, ok := f.offsets[r.Num]; ok {
		l := &lexer{b: f.data, pos: off}
		v, _ := l.object(0)
		return v
	}
	return nil
}

// Resolve follows references (a bounded chain).
func (f *File) Resolve(o Object) Object {
	for range 16 {
		r, ok := o.(Ref)
		if !ok {
			return o
		}
		o = f.Object(r.Num)
	}
	return nil
}

// Dict resolves o to a dictionary (a stream's dictionary too), or nil.
func (f *File) Dict(o Object) Dict {
	switch v := f.Resolve(o).(type) {
	case Dict:
		return v
	case *Stream:
		return v.Dict
	}
	return nil
}

// indexObjectStreams adds the objects of object streams (§7.5.7) that
// are not defined directly.
func (f *File) indexObjectStreams() {
	for num, off := range f.offsets {
		if f.ctx.Err() != nil {
			f.Truncated = true
			return
		}
		if !bytes.Contains(f.data[off:min(off+256, len(f.data))], []byte("ObjStm")) {
			continue
		}
		for i, so := range f.objectStream(num) {
			if _, direct := f.offsets[so.num]; !direct {
				if len(f.inStm) >= f.lim.MaxObjects {
					f.Truncated = true
					return
				}
				f.inStm[so.num] = [2]int{num, i}
			}
		}
	}
}

// objectStream parses object stream num.
func (f *File) objectStream(num int) []stmObject {
	if objs, ok := f.stmObjs[num]; ok {
		return objs
	}
	f.stmObjs[num] = nil
	off, ok := f.offsets[num]
	if !ok {
		return nil
	}
	s, ok := f.parseAt(off).(*Stream)
	if !ok || s.Dict.name("Type") != "ObjStm" {
		return nil
	}
	data, err := f.Decode(s)
	if err != nil {
		return nil
	}
	n, _ := asInt(s.Dict["N"])
	first, _ := asInt(s.Dict["First"])
	if n <= 0 || n > int64(f.lim.MaxObjects) || first < 0 || first > int64(len(data)) {
		return nil
	}
	l := &lexer{b: data[:first]}
	var objs []stmObject
	for range n {
		a, err1 := l.object(0)
		b, err2 := l.object(0)
		onum, ok1 := asInt(a)
		ooff, ok2 := asInt(b)
		if err1 != nil || err2 != nil || !ok1 || !ok2 || ooff < 0 || first+ooff > int64(len(data)) {
			break
		}
		ol := &lexer{b: data, pos: int(first + ooff)}
		o, _ := ol.object(0)
		objs = append(objs, stmObject{num: int(onum), obj: o})
	}
	f.stmObjs[num] = objs
	return objs
}

// Decode returns a stream's data without its filters (FlateDecode,
// ASCIIHexDecode, ASCII85Decode; others are an error), within the
// limits.
func (f *File) Decode(s *Stream) ([]byte, error) {
	if err := f.ctx.Err(); err != nil {
		f.Truncated = true
		return nil, err
	}
	var filters []Name
	switch v := f.Resolve(s.Dict["Filter"]).(type) {
	case Name:
		filters = []Name{v}
	case Array:
		for _, x := range v {
			if n, ok := f.Resolve(x).(Name); ok {
				filters = append(filters, n)
			}
		}
	}
	if len(filters) > 4 {
		return nil, fmt.Errorf("pdf: %d filters", len(filters))
	}
	data := s.Data
	for _, fl := range filters {
		var r io.Reader
		switch fl {
		case "FlateDecode", "Fl":
			zr, err := zlib.NewReader(bytes.NewReader(data))
			if err != nil {
				r = flate.NewReader(bytes.NewReader(data)) // raw deflate, as some writers do
			} else {
				r = zr
			}
		case "ASCIIHexDecode", "AHx":
			l := &lexer{b: append(append([]byte("<"), data...), '>')}
			h, _ := l.hex()
			data = h
			continue
		case "ASCII85Decode", "A85":
			d := bytes.TrimSuffix(bytes.TrimSpace(data), []byte("~>"))
			r = ascii85.NewDecoder(bytes.NewReader(d))
		default:
			return nil, fmt.Errorf("pdf: filter %s not supported", fl)
		}
		budget := min(f.lim.MaxStreamBytes, f.lim.MaxDecodedBytes-f.decoded)
		if budget <= 0 {
			f.Truncated = true
			return nil, fmt.Errorf("%w: decoded bytes", ErrLimit)
		}
		out, err := io.ReadAll(io.LimitReader(r, budget+1))
		if int64(len(out)) > budget {
			f.Truncated = true
			out = out[:budget]
		}
		f.decoded += int64(len(out))
		if err != nil && len(out) == 0 {
			return nil, err
		}
		data = out // a damaged tail keeps what inflated
	}
	return data, nil
}
