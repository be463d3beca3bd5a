// Package bufsize gives a bufio.Reader no larger than what it will read.
//
// Every delivery parses its message several times (structure check,
// authentication, attachments, state-secret check, store), and most of
// those reads are of a header or a message already in memory. A default
// 4 KiB or a 16 KiB buffer for a 1 KB header was a third of the bytes a
// delivery allocated (issue 16).
package bufsize

import (
	"bufio"
	"bytes"
	"io"
)

// For returns max, or less when r says how much it holds (Len, as
// bytes.Reader and strings.Reader have, or Size, as io.SectionReader has,
// for one read from its start): a buffer longer than the input reads
// exactly as a max-sized one would.
func For(r io.Reader, max int) int {
	switch l := r.(type) {
	case interface{ Len() int }:
		return min(max, l.Len()+1)
	case interface{ Size() int64 }:
		return int(min(int64(max), l.Size()+1))
	}
	return max
}

// Reader is a bufio.Reader of r with a buffer of For(r, max) bytes.
func Reader(r io.Reader, max int) *bufio.Reader {
	return bufio.NewReaderSize(r, For(r, max))
}

// Bytes is a bufio.Reader of b with a buffer just larger than b.
func Bytes(b []byte) *bufio.Reader {
	return bufio.NewReaderSize(bytes.NewReader(b), len(b)+1)
}
