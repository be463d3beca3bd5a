package mail

// Reading broken mail. A message may arrive with an unterminated
// multipart, bad base64 or quoted-printable, a malformed header line or no
// body at all; IMAP serves such a message as stored, and the web must
// open it too, showing what can be shown (issue 15, item 2). Three
// tolerances make that so:
//
//   - readHeaderLenient skips header lines that are not fields instead of
//     refusing the whole header;
//   - every part's body goes through a partReader that turns a decoding
//     or framing error (an unterminated boundary, a bad base64 quantum)
//     into the end of that part, marking the part damaged; only a failure
//     to read the stored file itself is an error;
//   - the transfer encodings are decoded leniently, as RFC 2045 asks of
//     decoders (6.7 note 1, 6.8: ignore characters outside the alphabet).

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// maxHeaderBytes bounds a header block read leniently (storage refuses
// larger ones at delivery; this only keeps a stray file from costing more).
const maxHeaderBytes = 1 << 20

// sourceReader remembers the first error reading the stored message, so
// that it is reported even though the parts' readers hide errors.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// partReader ends a part at the first error of its decoder or its
// multipart framing, marking it damaged.
type partReader struct {
	r       io.Reader
	damaged *bool
}

func (p partReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err != nil && err != io.EOF {
		*p.damaged = true
		return n, io.EOF
	}
	return n, err
}

// readHeaderLenient reads a header block up to the empty line (or the end
// of the message), dropping lines that are neither a field (RFC 5322 2.2:
// printable ASCII name, colon) nor the continuation of one.
func readHeaderLenient(br *bufio.Reader) (textproto.Header, error) {
	var clean bytes.Buffer
	total := 0
	inField := false
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// An over-long line: keep reading it, it is dropped below
			// unless it is the start of a field.
			rest := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) && len(rest) < maxHeaderBytes {
				line, err = br.ReadSlice('\n')
				rest = append(rest, line...)
			}
			line = rest
		}
		total += len(line)
		if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			return textproto.Header{}, err
		}
		trimmed := bytes.TrimRight(line, "\r\n")
		switch {
		case len(trimmed) == 0 && len(line) > 0:
			err = io.EOF // the empty line: the body follows
		case len(trimmed) == 0:
		case trimmed[0] == ' ' || trimmed[0] == '\t':
			if inField {
				clean.Write(trimmed)
				clean.WriteString("\r\n")
			}
		case isFieldStart(trimmed):
			clean.Write(trimmed)
			clean.WriteString("\r\n")
			inField = true
		default:
			inField = false // not a field: skipped, and so are its continuations
		}
		if err != nil || total > maxHeaderBytes {
			break
		}
	}
	clean.WriteString("\r\n")
	return textproto.ReadHeader(bufio.NewReader(&clean))
}

// isFieldStart: a field name of printable ASCII other than colon, then a
// colon (RFC 5322 3.6.8).
func isFieldStart(line []byte) bool {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return false
	}
	for _, c := range line[:colon] {
		if c < 33 || c > 126 {
			return false
		}
	}
	return true
}

// decodeTransfer undoes a part's Content-Transfer-Encoding. Unknown
// encodings (and 7bit, 8bit, binary) are passed through as sent.
func decodeTransfer(encoding string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "base64":
		return base64.NewDecoder(base64.RawStdEncoding, &base64Filter{r: r})
	case "quoted-printable":
		return &qpReader{r: bufio.NewReader(r)}
	}
	return r
}

// base64Filter keeps only the base64 alphabet (RFC 2045 6.8: "any
// characters outside of the base64 alphabet are to be ignored"), padding
// included, so that line breaks, stray punctuation and a "=" between
// concatenated blocks do not stop the decoding.
type base64Filter struct {
	r io.Reader
}

func (f *base64Filter) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		k := 0
		for _, c := range p[:n] {
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' {
				p[k] = c
				k++
			}
		}
		if k > 0 || err != nil {
			return k, err
		}
	}
}

// qpReader decodes quoted-printable (RFC 2045 6.7) leniently: "=XX" with
// hex digits of either case is the byte, "=" before a line break (with
// transport padding) is a soft break, and any other "=" stays as it is
// (note 1: "include the '=' character and the following characters in the
// decoded data without any transformation").
type qpReader struct {
	r   *bufio.Reader
	out []byte // decoded bytes not yet returned
}

func (q *qpReader) Read(p []byte) (int, error) {
	for len(q.out) == 0 {
		if err := q.step(); err != nil {
			return 0, err
		}
	}
	n := copy(p, q.out)
	q.out = q.out[n:]
	return n, nil
}

// step decodes one byte or one "=" sequence into q.out.
func (q *qpReader) step() error {
	c, err := q.r.ReadByte()
	if err != nil {
		return err
	}
	if c != '=' {
		// This byte and the run up to the next "=" that is buffered.
		buf, _ := q.r.Peek(q.r.Buffered())
		k := bytes.IndexByte(buf, '=')
		if k < 0 {
			k = len(buf)
		}
		q.out = append(append(q.out[:0], c), buf[:k]...)
		q.r.Discard(k)
		return nil
	}
	// Up to 76 characters of transport padding, then CRLF or LF: a soft
	// line break.
	look, _ := q.r.Peek(80)
	i := 0
	for i < len(look) && (look[i] == ' ' || look[i] == '\t') {
		i++
	}
	switch {
	case i < len(look) && look[i] == '\n':
		q.r.Discard(i + 1)
		q.out = q.out[:0]
		return nil
	case i+1 < len(look) && look[i] == '\r' && look[i+1] == '\n':
		q.r.Discard(i + 2)
		q.out = q.out[:0]
		return nil
	case i == len(look) && len(look) < 80:
		q.r.Discard(i) // "=" and padding at the very end
		q.out = q.out[:0]
		return nil
	case len(look) >= 2 && isHex(look[0]) && isHex(look[1]):
		q.r.Discard(2)
		q.out = append(q.out[:0], unhex(look[0])<<4|unhex(look[1]))
		return nil
	}
	q.out = append(q.out[:0], '=')
	return nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
