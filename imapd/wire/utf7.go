package wire

import (
	"errors"
	"strings"
	"unicode/utf16"
)

// Modified UTF-7 for mailbox names (RFC 3501 §5.1.3): printable US-ASCII
// except "&" stands for itself, "&-" is "&", and other characters are
// UTF-16 in a modified base64 (with "," for "/") between "&" and "-".

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"

// DecodeUTF7 decodes a modified UTF-7 name. It refuses what RFC 3501
// forbids: 8-bit or control characters, an unterminated or empty shift,
// base64 that encodes printable ASCII or lone surrogates, non-zero
// padding bits, and two shifts in a row (which must be one).
func DecodeUTF7(s string) (string, error) {
	var b strings.Builder
	prevShift := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", errors.New("character outside printable US-ASCII")
		}
		if c != '&' {
			b.WriteByte(c)
			i++
			prevShift = false
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return "", errors.New(`"&" without closing "-"`)
		}
		run := s[i+1 : i+1+end]
		i += end + 2
		if run == "" {
			b.WriteByte('&')
			prevShift = false
			continue
		}
		if prevShift {
			return "", errors.New("two encoded runs in a row")
		}
		units, err := decodeB64Run(run)
		if err != nil {
			return "", err
		}
		runes := utf16.Decode(units)
		for _, r := range runes {
			if r >= 0x20 && r <= 0x7e {
				return "", errors.New("printable ASCII must not be encoded")
			}
			b.WriteRune(r)
		}
		prevShift = true
	}
	return b.String(), nil
}

func decodeB64Run(run string) ([]uint16, error) {
	var bits uint32
	var nbits uint
	var units []uint16
	for i := 0; i < len(run); i++ {
		v := strings.IndexByte(b64Alphabet, run[i])
		if v < 0 {
			return nil, errors.New("invalid character in encoded run")
		}
		bits = bits<<6 | uint32(v)
		nbits += 6
		if nbits >= 16 {
			nbits -= 16
			units = append(units, uint16(bits>>nbits))
			bits &= 1<<nbits - 1
		}
	}
	if nbits >= 6 || bits != 0 {
		return nil, errors.New("invalid padding in encoded run")
	}
	// Lone surrogates make utf16.Decode produce U+FFFD; check pairs here.
	for i := 0; i < len(units); i++ {
		u := units[i]
		switch {
		case u >= 0xd800 && u < 0xdc00:
			if i+1 >= len(units) || units[i+1] < 0xdc00 || units[i+1] >= 0xe000 {
				return nil, errors.New("invalid UTF-16 surrogate")
			}
			i++
		case u >= 0xdc00 && u < 0xe000:
			return nil, errors.New("invalid UTF-16 surrogate")
		}
	}
	return units, nil
}

// EncodeUTF7 encodes a UTF-8 name in modified UTF-7.
func EncodeUTF7(s string) string {
	var b strings.Builder
	var pending []uint16
	flush := func() {
		if len(pending) == 0 {
			return
		}
		b.WriteByte('&')
		var bits uint32
		var nbits uint
		for _, u := range pending {
			bits = bits<<16 | uint32(u)
			nbits += 16
			for nbits >= 6 {
				nbits -= 6
				b.WriteByte(b64Alphabet[bits>>nbits&63])
			}
			bits &= 1<<nbits - 1
		}
		if nbits > 0 {
			b.WriteByte(b64Alphabet[bits<<(6-nbits)&63])
		}
		b.WriteByte('-')
		pending = pending[:0]
	}
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			flush()
			if r == '&' {
				b.WriteString("&-")
			} else {
				b.WriteRune(r)
			}
			continue
		}
		pending = utf16.AppendRune(pending, r)
	}
	flush()
	return b.String()
}
