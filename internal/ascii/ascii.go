// Package ascii has the byte-level checks the delivery path runs over
// whole messages, where most official mail is plain ASCII and a fast path
// spares Unicode work (issue 16).
package ascii

import "encoding/binary"

// Is reports whether b has only 7-bit bytes, eight at a time.
func Is(b []byte) bool {
	const high = 0x8080808080808080
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&high != 0 {
			return false
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= 0x80 {
			return false
		}
	}
	return true
}

// IsString reports whether s has only 7-bit bytes: an envelope address
// that needs SMTPUTF8 (RFC 6531) is one that is not.
func IsString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
