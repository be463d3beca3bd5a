// Package wire is congvu's IMAP protocol layer: it reads commands from a
// client with limits on every size and depth, parses them into typed
// values (RFC 9051 §9 and the extension RFCs' ABNF), and encodes
// responses. It knows nothing about mail storage; imapd drives it.
//
// Client mistakes are returned as *Error values that imapd answers with
// BAD (or NO with a response code) and a readable reason; only I/O
// failures and data the server cannot skip safely end the connection.
package wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Limits bound what one command may make the server read or hold.
type Limits struct {
	// MaxLine bounds one line of a command, CRLF and literals excluded.
	MaxLine int
	// MaxLiteral bounds one literal that is not an APPEND message.
	MaxLiteral int64
	// MaxLiterals bounds all literal bytes of one command besides APPEND
	// messages.
	MaxLiterals int64
	// MaxDepth bounds the nesting of parenthesised lists and SEARCH keys.
	MaxDepth int
	// MaxSetRanges bounds the ranges of one sequence set.
	MaxSetRanges int
	// MaxDiscard is the largest non-synchronizing literal the server
	// skips after refusing a command (RFC 7888 §4); a larger one ends the
	// connection.
	MaxDiscard int64
}

// DefaultLimits are the limits after login.
func DefaultLimits() Limits {
	return Limits{
		MaxLine:      64 << 10,
		MaxLiteral:   1 << 20,
		MaxLiterals:  4 << 20,
		MaxDepth:     64,
		MaxSetRanges: 8192,
		MaxDiscard:   64 << 20,
	}
}

// PreAuthLimits are the limits before login: nobody needs more to log in.
// Lines may still be long: ID may carry 30 values of 1 KiB (RFC 2971 §3.3).
func PreAuthLimits() Limits {
	return Limits{
		MaxLine:      64 << 10,
		MaxLiteral:   8 << 10,
		MaxLiterals:  16 << 10,
		MaxDepth:     8,
		MaxSetRanges: 16,
		MaxDiscard:   16 << 10,
	}
}

// Error is a client mistake, answered on the wire with the command's tag:
// BAD (RFC 9051 §7.1.3) unless No is set. Fatal errors are answered with
// BYE and the connection is closed.
type Error struct {
	No    bool
	Code  string // response code without brackets, e.g. "TOOBIG"; may be ""
	Text  string
	Fatal bool
	// Unknown marks an unknown command name; before login it ends the
	// connection (cross-protocol attacks).
	Unknown bool
}

func (e *Error) Error() string {
	kind := "BAD"
	if e.No {
		kind = "NO"
	}
	if e.Code != "" {
		return kind + " [" + e.Code + "] " + e.Text
	}
	return kind + " " + e.Text
}

// Bad is a syntax error.
func Bad(format string, args ...any) *Error {
	return &Error{Text: fmt.Sprintf(format, args...)}
}

// Literal is a literal announced at the end of a line: {n}, {n+}, ~{n}
// or ~{n+} (RFC 9051 §4.3, RFC 7888, RFC 3516 literal8).
type Literal struct {
	Size   int64
	Sync   bool // the client waits for a continuation request
	Binary bool // literal8: may contain NUL
}

// Reader reads command lines and literals from a client.
type Reader struct {
	src *bufio.Reader
	lim Limits
	// Continue sends a command continuation request (RFC 9051 §7.5) for
	// a synchronizing literal the server accepts.
	Continue func() error
	// NonSync says whether non-synchronizing literals are accepted
	// (LITERAL+, RFC 7888).
	NonSync bool
}

// NewReader reads commands from src.
func NewReader(src *bufio.Reader, lim Limits) *Reader {
	return &Reader{src: src, lim: lim, NonSync: true}
}

// Source returns the buffered reader commands come from.
func (r *Reader) Source() *bufio.Reader { return r.src }

// SetSource replaces the buffered reader (STARTTLS, COMPRESS).
func (r *Reader) SetSource(src *bufio.Reader) { r.src = src }

// Limits returns the current limits.
func (r *Reader) Limits() Limits { return r.lim }

// SetLimits replaces the limits (after login).
func (r *Reader) SetLimits(l Limits) { r.lim = l }

// errLineTooLong carries the literal the discarded line announced, so the
// caller can skip it as well.
type errLineTooLong struct{ lit *Literal }

func (errLineTooLong) Error() string { return "line too long" }

// ReadLine reads one line and returns it without CRLF. The slice is the
// caller's. A line longer than the limit is discarded and reported as an
// *Error; the literal it announced, if any, is then skipped too.
func (r *Reader) ReadLine() ([]byte, error) {
	line, err := r.readLine()
	var tl errLineTooLong
	if errors.As(err, &tl) {
		if err := r.skipLiteralChain(tl.lit); err != nil {
			return nil, err
		}
		return nil, &Error{Text: fmt.Sprintf("Line too long (limit %d bytes)", r.lim.MaxLine)}
	}
	return line, err
}

func (r *Reader) readLine() ([]byte, error) {
	var line []byte
	for {
		frag, err := r.src.ReadSlice('\n')
		if len(line)+len(frag) > r.lim.MaxLine+2 {
			// Keep the tail: it may announce a literal to skip.
			tail := append(lastBytes(line, 32), frag...)
			for errors.Is(err, bufio.ErrBufferFull) {
				frag, err = r.src.ReadSlice('\n')
				tail = append(lastBytes(tail, 32), frag...)
			}
			if err != nil {
				return nil, err
			}
			tail = bytes.TrimRight(tail, "\r\n")
			lit, _ := literalSuffix(tail)
			return nil, errLineTooLong{lit}
		}
		line = append(line, frag...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(line) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		break
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func lastBytes(b []byte, n int) []byte {
	if len(b) <= n {
		return append([]byte(nil), b...)
	}
	return append([]byte(nil), b[len(b)-n:]...)
}

// literalSuffix parses a literal announcement at the end of line and
// returns it with the length of the announcement. ok is false when the
// line does not end with "}".
func literalSuffix(line []byte) (lit *Literal, n int) {
	if len(line) < 3 || line[len(line)-1] != '}' {
		return nil, 0
	}
	open := bytes.LastIndexByte(line, '{')
	if open < 0 {
		return nil, 0
	}
	body := line[open+1 : len(line)-1]
	l := &Literal{Sync: true}
	if len(body) > 0 && body[len(body)-1] == '+' {
		l.Sync = false
		body = body[:len(body)-1]
	}
	if len(body) == 0 || len(body) > 19 {
		return nil, 0
	}
	for _, c := range body {
		if c < '0' || c > '9' {
			return nil, 0
		}
	}
	size, err := strconv.ParseInt(string(body), 10, 64)
	if err != nil {
		return nil, 0
	}
	l.Size = size
	n = len(line) - open
	if open > 0 && line[open-1] == '~' {
		l.Binary = true
		n++
	}
	return l, n
}

// skipLiteralChain discards a non-synchronizing literal and the lines and
// literals that follow it up to the end of the command. A synchronizing
// literal was never sent: nothing to skip.
func (r *Reader) skipLiteralChain(lit *Literal) error {
	for lit != nil && !lit.Sync {
		if lit.Size > r.lim.MaxDiscard {
			return &Error{Fatal: true, Code: "TOOBIG", Text: "Non-synchronizing literal too large to skip"}
		}
		if _, err := io.CopyN(io.Discard, r.src, lit.Size); err != nil {
			return err
		}
		line, err := r.readLine()
		var tl errLineTooLong
		switch {
		case errors.As(err, &tl):
			lit = tl.lit
			continue
		case err != nil:
			return err
		}
		lit, _ = literalSuffix(line)
	}
	return nil
}

// ReadFull reads exactly n literal bytes.
func (r *Reader) ReadFull(n int64) ([]byte, error) {
	buf := make([]byte, n)
	if _, err := io.ReadFull(r.src, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}
