package wire

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"unicode/utf8"
)

// Writer encodes responses. Errors stick: after the first failed write
// every call is a no-op and Err reports it, so response code can be
// written straight through and checked once.
type Writer struct {
	w *bufio.Writer
	// UTF8 allows UTF-8 in quoted strings (IMAP4rev2 or UTF8=ACCEPT
	// enabled, RFC 9051 §4.3, RFC 6855); otherwise 8-bit text is sent as
	// a literal.
	UTF8 bool
	err  error
	// open is set while a response line is being written: a failure
	// then leaves the client with half a response.
	open bool
}

// Open reports whether a response line is unfinished.
func (w *Writer) Open() bool { return w.open }

// NewWriter writes to w.
func NewWriter(w *bufio.Writer) *Writer { return &Writer{w: w} }

// SetDest replaces the buffered writer (STARTTLS, COMPRESS).
func (w *Writer) SetDest(bw *bufio.Writer) { w.w = bw }

// Dest returns the buffered writer.
func (w *Writer) Dest() *bufio.Writer { return w.w }

// Err is the first write error.
func (w *Writer) Err() error { return w.err }

func (w *Writer) fail(err error) {
	if w.err == nil && err != nil {
		w.err = err
	}
}

// Raw writes s as it is.
func (w *Writer) Raw(s string) *Writer {
	w.open = true
	if w.err == nil {
		_, err := w.w.WriteString(s)
		w.fail(err)
	}
	return w
}

// Byte writes one byte.
func (w *Writer) Byte(c byte) *Writer {
	w.open = true
	if w.err == nil {
		w.fail(w.w.WriteByte(c))
	}
	return w
}

// SP writes a space.
func (w *Writer) SP() *Writer { return w.Byte(' ') }

// CRLF ends a response line.
func (w *Writer) CRLF() *Writer {
	w.Raw("\r\n")
	w.open = false
	return w
}

// Num writes a number.
func (w *Writer) Num(n uint64) *Writer {
	if w.err == nil {
		var buf [20]byte
		_, err := w.w.Write(strconv.AppendUint(buf[:0], n, 10))
		w.fail(err)
	}
	return w
}

// Num32 writes a 32-bit number.
func (w *Writer) Num32(n uint32) *Writer { return w.Num(uint64(n)) }

// NIL writes NIL.
func (w *Writer) NIL() *Writer { return w.Raw("NIL") }

// canQuote reports whether s can be sent as a quoted string.
func (w *Writer) canQuote(s string) bool {
	if len(s) > 1024 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0 || c == '\r' || c == '\n' {
			return false
		}
		if c >= 0x80 && !w.UTF8 {
			return false
		}
	}
	return !w.UTF8 || utf8.ValidString(s)
}

// Quoted writes a quoted string; the caller checked it can be one.
func (w *Writer) Quoted(s string) *Writer {
	w.Byte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			w.Raw(s[start:i]).Byte('\\')
			start = i
		}
	}
	return w.Raw(s[start:]).Byte('"')
}

// String writes s quoted when it can be, else as a literal (RFC 9051
// string). NUL cannot be sent in a string: it is replaced by U+FFFD
// (strings from the store never contain it).
func (w *Writer) String(s string) *Writer {
	if w.canQuote(s) {
		return w.Quoted(s)
	}
	b := []byte(s)
	if bytes.IndexByte(b, 0) >= 0 {
		b = bytes.ReplaceAll(b, []byte{0}, []byte("\uFFFD"))
	}
	return w.Literal(b)
}

// NString writes s, or NIL when s is empty.
func (w *Writer) NString(s string) *Writer {
	if s == "" {
		return w.NIL()
	}
	return w.String(s)
}

// AString writes s as an atom when it can be one.
func (w *Writer) AString(s string) *Writer {
	if s != "" && len(s) < 1024 {
		atom := true
		for i := 0; i < len(s); i++ {
			if !isAtomChar(s[i]) {
				atom = false
				break
			}
		}
		if atom {
			return w.Raw(s)
		}
	}
	return w.String(s)
}

// Literal writes {n} CRLF and b. The caller guarantees b has no NUL
// (RFC 9051 §4.3); see LiteralBytes for data that may.
func (w *Writer) Literal(b []byte) *Writer {
	w.Byte('{').Num(uint64(len(b))).Raw("}\r\n")
	if w.err == nil {
		_, err := w.w.Write(b)
		w.fail(err)
	}
	return w
}

// LiteralHeader writes the announcement of a literal of n bytes; with
// binary, a literal8 (RFC 3516 §4.2, RFC 9051 §4.3).
func (w *Writer) LiteralHeader(n int64, binary bool) *Writer {
	if binary {
		w.Byte('~')
	}
	return w.Byte('{').Num(uint64(n)).Raw("}\r\n")
}

// Copy writes exactly n bytes from r (the data of a literal).
func (w *Writer) Copy(r io.Reader, n int64) error {
	if w.err != nil {
		return w.err
	}
	m, err := io.CopyN(w.w, r, n)
	if err == nil && m != n {
		err = io.ErrUnexpectedEOF
	}
	w.fail(err)
	return err
}

// Write writes data bytes (part of a literal).
func (w *Writer) Write(b []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.w.Write(b)
	w.fail(err)
	return n, err
}

// Mailbox writes a mailbox name: UTF-8 when the session allows it, else
// modified UTF-7 (RFC 3501 §5.1.3).
func (w *Writer) Mailbox(name string) *Writer {
	if name == "INBOX" {
		return w.Raw("INBOX")
	}
	if !w.UTF8 {
		name = EncodeUTF7(name)
	}
	return w.AString(name)
}

// Flush sends what is buffered.
func (w *Writer) Flush() error {
	if w.err == nil {
		w.fail(w.w.Flush())
	}
	return w.err
}

// Status writes a tagged or untagged ("*") status response:
// tag SP kind [SP "[" code "]"] SP text CRLF.
func (w *Writer) Status(tag, kind, code, text string) *Writer {
	w.Raw(tag).SP().Raw(kind).SP()
	if code != "" {
		w.Byte('[').Raw(code).Raw("] ")
	}
	return w.Raw(cleanText(text)).CRLF()
}

// cleanText keeps response text on one line (RFC 9051 text = 1*TEXT-CHAR).
func cleanText(s string) string {
	if s == "" {
		return "."
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' || s[i] == '\n' || s[i] == 0 {
			b := []byte(s)
			for j := range b {
				if b[j] == '\r' || b[j] == '\n' || b[j] == 0 {
					b[j] = ' '
				}
			}
			return string(b)
		}
	}
	return s
}
