package pdf

import (
	"bytes"
	"slices"
)

// Signature is a signature dictionary of a signed PDF (§12.8.1).
type Signature struct {
	// SubFilter is the encoding: adbe.pkcs7.detached or
	// ETSI.CAdES.detached (CMS over the byte ranges), adbe.pkcs7.sha1
	// (CMS over their SHA-1), …
	SubFilter string
	// Contents is the CMS object, usually followed by zero padding.
	Contents []byte
	// Signed is the concatenation of the two byte ranges: everything
	// but the Contents value.
	Signed []byte
	// WholeFile says the ranges reach the end of the file: nothing was
	// appended after this signature.
	WholeFile bool
	// Name, Reason are what the signer wrote (may be empty).
	Name, Reason string
	// Err says why the dictionary is unusable (then Signed is nil).
	Err string
}

// maxSignatures bounds the signatures read from one file.
const maxSignatures = 32

// Signatures returns the file's signatures, in file order (the last one
// is the latest revision's).
func (f *File) Signatures() []Signature {
	var out []Signature
	type found struct {
		off int
		s   Signature
	}
	var all []found
	for _, n := range f.Objects() {
		off := f.offsets[n]
		// Signature dictionaries are direct objects in the file body
		// (the byte ranges address the file), never in object streams.
		head := f.data[off:min(off+4096, len(f.data))]
		if !bytes.Contains(head, []byte("/ByteRange")) {
			continue
		}
		d, ok := f.Object(n).(Dict)
		if !ok || d["ByteRange"] == nil {
			continue
		}
		all = append(all, found{off, f.signature(d)})
		if len(all) >= maxSignatures {
			break
		}
	}
	slices.SortFunc(all, func(a, b found) int { return a.off - b.off })
	for _, x := range all {
		out = append(out, x.s)
	}
	return out
}

func (f *File) signature(d Dict) Signature {
	s := Signature{SubFilter: string(d.name("SubFilter"))}
	if v, ok := f.Resolve(d["Name"]).(String); ok {
		s.Name = textString(v)
	}
	if v, ok := f.Resolve(d["Reason"]).(String); ok {
		s.Reason = textString(v)
	}
	br, ok := f.Resolve(d["ByteRange"]).(Array)
	if !ok || len(br) != 4 {
		s.Err = "ByteRange is not four numbers"
		return s
	}
	var r [4]int
	for i, o := range br {
		n, ok := asInt(o)
		if !ok || n < 0 || n > int64(len(f.data)) {
			s.Err = "ByteRange out of the file"
			return s
		}
		r[i] = int(n)
	}
	a, b, c, e := r[0], r[1], r[2], r[3]
	if a != 0 || b > c || c+e > len(f.data) {
		s.Err = "ByteRange does not start the file or overlaps"
		return s
	}
	// The gap must be exactly the Contents hex string, so the ranges
	// cover everything else (§12.8.1).
	gap := f.data[b:c]
	if len(gap) < 2 || gap[0] != '<' || gap[len(gap)-1] != '>' {
		s.Err = "ByteRange gap is not the Contents string"
		return s
	}
	l := &lexer{b: gap}
	v, _ := l.hex()
	if cv, ok := d["Contents"].(String); !ok || !bytes.Equal(cv, v) {
		s.Err = "Contents is not in the ByteRange gap"
		return s
	}
	s.Contents = v // zero padding after the CMS object is ignored by its parser
	s.Signed = append(append(make([]byte, 0, b+e), f.data[:b]...), f.data[c:c+e]...)
	s.WholeFile = c+e == len(f.data)
	return s
}

// textString decodes a PDF text string (§7.9.2.2): UTF-16BE with a BOM,
// UTF-8 with one, or PDFDocEncoding (read as Latin-1).
func textString(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xfe, 0xff}):
		return utf16BE(b[2:])
	case bytes.HasPrefix(b, []byte{0xef, 0xbb, 0xbf}):
		return string(b[3:])
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}
