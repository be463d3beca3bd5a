package smime

import (
	"errors"
	"fmt"
)

// CMS objects from mail clients are often BER, not DER: NSS (Thunderbird)
// and streaming encoders write indefinite lengths and chunked (constructed)
// OCTET STRINGs. toDER rewrites BER into DER-shaped TLVs (definite
// lengths, primitive strings) so cryptobyte can parse them; the signed
// attributes, which RFC 5652 5.3 requires to be DER already, pass through
// unchanged and hash the same.

// Limits of toDER: nesting depth and the number of elements.
const (
	maxBERDepth    = 32
	maxBERElements = 200_000
)

var errBER = errors.New("smime: malformed BER")

type berState struct {
	elements int
}

// toDER converts one BER element at the start of b (trailing bytes are
// ignored) to definite-length form.
func toDER(b []byte) ([]byte, error) {
	st := &berState{}
	out, _, err := st.element(b, 0)
	return out, err
}

// element converts the element at the start of b and returns it and the
// number of bytes it used.
func (st *berState) element(b []byte, depth int) ([]byte, int, error) {
	if depth > maxBERDepth {
		return nil, 0, fmt.Errorf("%w: nested deeper than %d", errBER, maxBERDepth)
	}
	if st.elements++; st.elements > maxBERElements {
		return nil, 0, fmt.Errorf("%w: more than %d elements", errBER, maxBERElements)
	}
	tag, tlen, err := readTag(b)
	if err != nil {
		return nil, 0, err
	}
	constructed := b[0]&0x20 != 0
	rest := b[tlen:]
	if len(rest) == 0 {
		return nil, 0, fmt.Errorf("%w: missing length", errBER)
	}
	var contents [][]byte // converted children, or the primitive value
	used := tlen
	if rest[0] == 0x80 { // indefinite length (X.690 8.1.3.6)
		if !constructed {
			return nil, 0, fmt.Errorf("%w: indefinite length on a primitive", errBER)
		}
		used++
		rest = rest[1:]
		for {
			if len(rest) < 2 {
				return nil, 0, fmt.Errorf("%w: missing end-of-contents", errBER)
			}
			if rest[0] == 0 && rest[1] == 0 {
				used += 2
				break
			}
			c, n, err := st.element(rest, depth+1)
			if err != nil {
				return nil, 0, err
			}
			contents = append(contents, c)
			rest = rest[n:]
			used += n
		}
	} else {
		l, llen, err := readLength(rest)
		if err != nil {
			return nil, 0, err
		}
		used += llen
		rest = rest[llen:]
		if l > len(rest) {
			return nil, 0, fmt.Errorf("%w: length %d beyond the data", errBER, l)
		}
		body := rest[:l]
		used += l
		if !constructed {
			return encodeTLV(b[:tlen], body), used, nil
		}
		for len(body) > 0 {
			c, n, err := st.element(body, depth+1)
			if err != nil {
				return nil, 0, err
			}
			contents = append(contents, c)
			body = body[n:]
		}
	}
	// X.690 10.2: DER strings are primitive. A constructed universal
	// OCTET STRING (tag 4) is the concatenation of its chunks.
	if tag == 4 && b[0]&0xc0 == 0 {
		var v []byte
		for _, c := range contents {
			inner, err := primitiveValue(c)
			if err != nil {
				return nil, 0, err
			}
			v = append(v, inner...)
		}
		return encodeTLV([]byte{0x04}, v), used, nil
	}
	var v []byte
	for _, c := range contents {
		v = append(v, c...)
	}
	return encodeTLV(b[:tlen], v), used, nil
}

// primitiveValue returns the value of a converted (definite, primitive
// or flattened) OCTET STRING chunk.
func primitiveValue(tlv []byte) ([]byte, error) {
	if len(tlv) < 2 || tlv[0] != 0x04 {
		return nil, fmt.Errorf("%w: OCTET STRING chunk is not an OCTET STRING", errBER)
	}
	l, n, err := readLength(tlv[1:])
	if err != nil || 1+n+l != len(tlv) {
		return nil, fmt.Errorf("%w: bad chunk", errBER)
	}
	return tlv[1+n:], nil
}

// readTag returns the tag number and the identifier's length (X.690
// 8.1.2), high tag numbers included.
func readTag(b []byte) (tag int, n int, err error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: empty", errBER)
	}
	tag = int(b[0] & 0x1f)
	n = 1
	if tag != 0x1f {
		return tag, n, nil
	}
	tag = 0
	for {
		if n >= len(b) || n > 5 {
			return 0, 0, fmt.Errorf("%w: bad high tag", errBER)
		}
		c := b[n]
		n++
		tag = tag<<7 | int(c&0x7f)
		if c&0x80 == 0 {
			return tag, n, nil
		}
	}
}

// readLength reads a definite length (X.690 8.1.3).
func readLength(b []byte) (l, n int, err error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: missing length", errBER)
	}
	if b[0] < 0x80 {
		return int(b[0]), 1, nil
	}
	k := int(b[0] & 0x7f)
	if k == 0 || k > 4 || len(b) < 1+k {
		return 0, 0, fmt.Errorf("%w: bad length", errBER)
	}
	for _, c := range b[1 : 1+k] {
		l = l<<8 | int(c)
	}
	if l < 0 || l > 1<<30 {
		return 0, 0, fmt.Errorf("%w: length too large", errBER)
	}
	return l, 1 + k, nil
}

// encodeTLV writes identifier, definite length and value.
func encodeTLV(id, v []byte) []byte {
	out := make([]byte, 0, len(id)+6+len(v))
	out = append(out, id...)
	out = appendLength(out, len(v))
	return append(out, v...)
}

func appendLength(out []byte, l int) []byte {
	switch {
	case l < 0x80:
		return append(out, byte(l))
	case l < 0x100:
		return append(out, 0x81, byte(l))
	case l < 0x10000:
		return append(out, 0x82, byte(l>>8), byte(l))
	case l < 0x1000000:
		return append(out, 0x83, byte(l>>16), byte(l>>8), byte(l))
	}
	return append(out, 0x84, byte(l>>24), byte(l>>16), byte(l>>8), byte(l))
}
