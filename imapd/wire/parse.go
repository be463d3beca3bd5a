package wire

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Parser parses one command at a time from a Reader. A command may span
// several lines when it carries literals; the parser reads them as it
// reaches them, sending continuation requests for synchronizing ones.
type Parser struct {
	r    *Reader
	line []byte // current line, CRLF excluded
	pos  int
	// UTF8 says mailbox names are UTF-8 (IMAP4rev2 or UTF8=ACCEPT
	// enabled); otherwise they are modified UTF-7 (RFC 3501 §5.1.3).
	UTF8     bool
	depth    int
	litBytes int64
	// line of the current command where the client's tag starts, for
	// Discard.
	done bool
}

// NewParser parses commands read by r.
func NewParser(r *Reader) *Parser { return &Parser{r: r} }

// Reader returns the parser's reader.
func (p *Parser) Reader() *Reader { return p.r }

// Begin reads the first line of the next command.
func (p *Parser) Begin() error {
	line, err := p.r.ReadLine()
	if err != nil {
		return err
	}
	p.line, p.pos, p.depth, p.litBytes, p.done = line, 0, 0, 0, false
	return nil
}

// Discard skips what is left of the current command after an error: a
// non-synchronizing literal announced at the end of the current line is
// read and dropped, with everything after it. It returns an error only
// when that cannot be done safely (the connection must then end).
func (p *Parser) Discard() error {
	if p.done {
		return nil
	}
	p.done = true
	lit, _ := literalSuffix(p.line)
	return p.r.skipLiteralChain(lit)
}

// End checks that the command has no more arguments.
func (p *Parser) End() error {
	if p.pos != len(p.line) {
		return p.errf("unexpected %q after the arguments", p.rest(20))
	}
	p.done = true
	return nil
}

// rest is up to n bytes of the unparsed line, for messages.
func (p *Parser) rest(n int) string {
	r := p.line[p.pos:]
	if len(r) > n {
		r = r[:n]
	}
	return string(r)
}

func (p *Parser) errf(format string, args ...any) *Error {
	return Bad(format, args...)
}

// EOL reports whether the line is fully parsed.
func (p *Parser) EOL() bool { return p.pos >= len(p.line) }

func (p *Parser) peek() byte {
	if p.pos >= len(p.line) {
		return 0
	}
	return p.line[p.pos]
}

// Peek returns the next byte without consuming it (0 at the end).
func (p *Parser) Peek() byte { return p.peek() }

// Take consumes c if it is next.
func (p *Parser) Take(c byte) bool {
	if p.peek() == c && p.pos < len(p.line) {
		p.pos++
		return true
	}
	return false
}

// Expect consumes c or fails.
func (p *Parser) Expect(c byte) error {
	if !p.Take(c) {
		if p.EOL() {
			return p.errf("expected %q, got the end of the line", c)
		}
		return p.errf("expected %q at %q", c, p.rest(20))
	}
	return nil
}

// SP consumes one space.
func (p *Parser) SP() error { return p.Expect(' ') }

// TakeWord consumes word (case-insensitive) when it is next and is
// followed by a delimiter.
func (p *Parser) TakeWord(word string) bool {
	end := p.pos + len(word)
	if end > len(p.line) || !strings.EqualFold(string(p.line[p.pos:end]), word) {
		return false
	}
	if end < len(p.line) && isAtomChar(p.line[end]) && p.line[end] != ']' {
		return false
	}
	p.pos = end
	return true
}

// enter and leave bound nesting (RFC 9051 §9 lists can nest without
// limit in the grammar; we do not).
func (p *Parser) enter() error {
	p.depth++
	if p.depth > p.r.lim.MaxDepth {
		return &Error{Code: "LIMIT", Text: fmt.Sprintf("Too deeply nested (limit %d)", p.r.lim.MaxDepth)}
	}
	return nil
}

func (p *Parser) leave() { p.depth-- }

// isAtomChar: ATOM-CHAR = <any CHAR except atom-specials> (RFC 9051 §9);
// resp-specials "]" is allowed here and excluded by callers that need it.
func isAtomChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	switch c {
	case '(', ')', '{', '%', '*', '"', '\\':
		return false
	}
	return true
}

// Atom parses an atom (no "]").
func (p *Parser) Atom() (string, error) {
	start := p.pos
	for p.pos < len(p.line) && isAtomChar(p.line[p.pos]) && p.line[p.pos] != ']' {
		p.pos++
	}
	if p.pos == start {
		return "", p.errAt("an atom")
	}
	return string(p.line[start:p.pos]), nil
}

func (p *Parser) errAt(what string) *Error {
	if p.EOL() {
		return p.errf("expected %s, got the end of the line", what)
	}
	return p.errf("expected %s at %q", what, p.rest(20))
}

// Tag parses a command tag: 1*<any ASTRING-CHAR except "+">.
func (p *Parser) Tag() (string, error) {
	start := p.pos
	for p.pos < len(p.line) && (isAtomChar(p.line[p.pos])) && p.line[p.pos] != '+' {
		p.pos++
	}
	if p.pos == start {
		return "", p.errAt("a tag")
	}
	return string(p.line[start:p.pos]), nil
}

// Number parses a 32-bit unsigned number (RFC 9051 §9 number).
func (p *Parser) Number() (uint32, error) {
	n, err := p.number(math.MaxUint32)
	return uint32(n), err
}

// NzNumber parses a non-zero 32-bit number.
func (p *Parser) NzNumber() (uint32, error) {
	n, err := p.Number()
	if err == nil && n == 0 {
		return 0, p.errf("expected a non-zero number")
	}
	return n, err
}

// Number64 parses a 63-bit number (RFC 9051 number64, RFC 7162 mod-sequence-value).
func (p *Parser) Number64() (uint64, error) {
	return p.number(math.MaxInt64)
}

func (p *Parser) number(max uint64) (uint64, error) {
	start := p.pos
	for p.pos < len(p.line) && p.line[p.pos] >= '0' && p.line[p.pos] <= '9' {
		p.pos++
	}
	if p.pos == start {
		return 0, p.errAt("a number")
	}
	n, err := strconv.ParseUint(string(p.line[start:p.pos]), 10, 64)
	if err != nil || n > max {
		return 0, p.errf("number %s out of range", p.line[start:p.pos])
	}
	return n, nil
}

// quoted parses a quoted string after its opening DQUOTE.
func (p *Parser) quoted() (string, error) {
	var b []byte
	for p.pos < len(p.line) {
		c := p.line[p.pos]
		p.pos++
		switch c {
		case '"':
			return string(b), nil
		case '\\':
			if p.pos >= len(p.line) {
				return "", p.errf("unterminated quoted string")
			}
			c = p.line[p.pos]
			p.pos++
			if c != '"' && c != '\\' {
				return "", p.errf("invalid escape \\%c in quoted string", c)
			}
			b = append(b, c)
		case 0:
			return "", p.errf("NUL in quoted string")
		default:
			b = append(b, c)
		}
	}
	return "", p.errf("unterminated quoted string")
}

// announcedLiteral parses "{n}" / "{n+}" (and with binary, "~{n}") when it
// is the rest of the line.
func (p *Parser) announcedLiteral(binaryOK bool) (*Literal, error) {
	lit, n := literalSuffix(p.line)
	if lit == nil || len(p.line)-n != p.pos {
		return nil, p.errf("malformed literal at %q", p.rest(24))
	}
	if lit.Binary && !binaryOK {
		return nil, p.errf("literal8 is only allowed in APPEND")
	}
	if !lit.Sync && !p.r.NonSync {
		return nil, p.errf("non-synchronizing literals are not allowed")
	}
	return lit, nil
}

// literal reads a literal string (not an APPEND message).
func (p *Parser) literal() ([]byte, error) {
	lit, err := p.announcedLiteral(false)
	if err != nil {
		return nil, err
	}
	if lit.Size > p.r.lim.MaxLiteral || p.litBytes+lit.Size > p.r.lim.MaxLiterals {
		return nil, &Error{Code: "TOOBIG", Text: fmt.Sprintf("Literal of %d bytes too large (limit %d)", lit.Size, min(p.r.lim.MaxLiteral, p.r.lim.MaxLiterals-p.litBytes))}
	}
	p.litBytes += lit.Size
	if lit.Sync && p.r.Continue != nil {
		if err := p.r.Continue(); err != nil {
			return nil, err
		}
	}
	data, err := p.r.ReadFull(lit.Size)
	if err != nil {
		return nil, err
	}
	if err := p.nextLine(); err != nil {
		return nil, err
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, p.errf("NUL in literal string")
	}
	return data, nil
}

// nextLine continues the command on the line after a literal.
func (p *Parser) nextLine() error {
	line, err := p.r.ReadLine()
	if err != nil {
		var we *Error
		if errors.As(err, &we) {
			p.done = true // the reader already skipped the long line
		}
		return err
	}
	p.line, p.pos = line, 0
	return nil
}

// String parses a quoted string or a literal (RFC 9051 string).
func (p *Parser) String() (string, error) {
	switch p.peek() {
	case '"':
		p.pos++
		return p.quoted()
	case '{':
		b, err := p.literal()
		return string(b), err
	}
	return "", p.errAt("a string")
}

// AString parses an astring: atom (with "]"), quoted string or literal.
func (p *Parser) AString() (string, error) {
	switch p.peek() {
	case '"', '{':
		return p.String()
	}
	start := p.pos
	// 8-bit bytes are not ATOM-CHARs, but clients send raw UTF-8 names and
	// search words unquoted; they are accepted (and checked as UTF-8
	// where it matters).
	for p.pos < len(p.line) && (isAtomChar(p.line[p.pos]) || p.line[p.pos] >= 0x80) {
		p.pos++
	}
	if p.pos == start {
		return "", p.errAt("a string")
	}
	return string(p.line[start:p.pos]), nil
}

// NString parses a string or NIL; ok is false for NIL.
func (p *Parser) NString() (s string, ok bool, err error) {
	if p.TakeWord("NIL") {
		return "", false, nil
	}
	s, err = p.String()
	return s, err == nil, err
}

// Mailbox parses a mailbox name and decodes it (RFC 9051 §5.1, RFC 3501
// §5.1.3 modified UTF-7).
func (p *Parser) Mailbox() (string, error) {
	raw, err := p.AString()
	if err != nil {
		return "", err
	}
	return p.DecodeMailbox(raw)
}

// DecodeMailbox decodes a mailbox name as the session sends them.
func (p *Parser) DecodeMailbox(raw string) (string, error) {
	if strings.EqualFold(raw, "INBOX") {
		return "INBOX", nil
	}
	if !utf8.ValidString(raw) {
		return "", &Error{Text: "Mailbox name is not valid UTF-8"}
	}
	if p.UTF8 || !strings.Contains(raw, "&") {
		// IMAP4rev1 clients that send raw UTF-8 names are understood too.
		return raw, nil
	}
	name, err := DecodeUTF7(raw)
	if err != nil {
		return "", &Error{Text: "Mailbox name is not valid modified UTF-7: " + err.Error()}
	}
	return name, nil
}

// ListMailbox parses a LIST pattern: list-mailbox = 1*list-char / string.
func (p *Parser) ListMailbox() (string, error) {
	var raw string
	switch p.peek() {
	case '"', '{':
		s, err := p.String()
		if err != nil {
			return "", err
		}
		raw = s
	default:
		start := p.pos
		for p.pos < len(p.line) {
			c := p.line[p.pos]
			if !isAtomChar(c) && c != '%' && c != '*' && c < 0x80 {
				break
			}
			p.pos++
		}
		if p.pos == start {
			return "", p.errAt("a mailbox pattern")
		}
		raw = string(p.line[start:p.pos])
	}
	if !utf8.ValidString(raw) {
		return "", &Error{Text: "Mailbox pattern is not valid UTF-8"}
	}
	if p.UTF8 || !strings.Contains(raw, "&") {
		return raw, nil
	}
	name, err := DecodeUTF7(raw)
	if err != nil {
		return "", &Error{Text: "Mailbox pattern is not valid modified UTF-7: " + err.Error()}
	}
	return name, nil
}

// List parses a parenthesised list, calling item for each element.
func (p *Parser) List(item func() error) error {
	if err := p.Expect('('); err != nil {
		return err
	}
	if err := p.enter(); err != nil {
		return err
	}
	defer p.leave()
	if p.Take(')') {
		return nil
	}
	for {
		if err := item(); err != nil {
			return err
		}
		if p.Take(')') {
			return nil
		}
		if err := p.SP(); err != nil {
			return err
		}
	}
}

// Flag parses a flag: "\" atom or a keyword atom (RFC 9051 §9 flag).
// With star, "\*" is accepted (PERMANENTFLAGS only, never from clients).
func (p *Parser) Flag() (string, error) {
	if p.Take('\\') {
		a, err := p.Atom()
		if err != nil {
			return "", err
		}
		return `\` + a, nil
	}
	return p.Atom()
}

// FlagList parses a flag-list: "(" [flag *(SP flag)] ")".
func (p *Parser) FlagList() ([]string, error) {
	var flags []string
	err := p.List(func() error {
		f, err := p.Flag()
		flags = append(flags, f)
		return err
	})
	return flags, err
}

// NumRange is one range of a sequence set; 0 stands for "*".
type NumRange struct{ Start, Stop uint32 }

// NumSet is a sequence set (RFC 9051 sequence-set) or "$", the saved
// search result (RFC 5182).
type NumSet struct {
	Ranges    []NumRange
	SearchRes bool
}

// NumSet parses a sequence set; with dollar, "$" is accepted.
func (p *Parser) NumSet(dollar bool) (NumSet, error) {
	if p.peek() == '$' {
		if !dollar {
			return NumSet{}, p.errf(`"$" not allowed here`)
		}
		p.pos++
		return NumSet{SearchRes: true}, nil
	}
	var set NumSet
	for {
		r, err := p.numRange()
		if err != nil {
			return NumSet{}, err
		}
		if len(set.Ranges) >= p.r.lim.MaxSetRanges {
			return NumSet{}, &Error{Code: "LIMIT", Text: fmt.Sprintf("Sequence set has too many ranges (limit %d)", p.r.lim.MaxSetRanges)}
		}
		set.Ranges = append(set.Ranges, r)
		if !p.Take(',') {
			return set, nil
		}
	}
}

func (p *Parser) seqNumber() (uint32, error) {
	if p.Take('*') {
		return 0, nil
	}
	return p.NzNumber()
}

func (p *Parser) numRange() (NumRange, error) {
	a, err := p.seqNumber()
	if err != nil {
		return NumRange{}, err
	}
	if !p.Take(':') {
		return NumRange{a, a}, nil
	}
	b, err := p.seqNumber()
	return NumRange{a, b}, err
}

// isNumSetStart reports whether a sequence set may start here.
func (p *Parser) isNumSetStart() bool {
	c := p.peek()
	return c == '*' || c == '$' || c >= '1' && c <= '9'
}

var months = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

func parseMonth(s string) (time.Month, bool) {
	for i, m := range months {
		if strings.EqualFold(s, m) {
			return time.Month(i + 1), true
		}
	}
	return 0, false
}

// Date parses a SEARCH date: date-text or DQUOTE date-text DQUOTE
// (RFC 9051 §9), returned as midnight UTC of that day.
func (p *Parser) Date() (time.Time, error) {
	quoted := p.Take('"')
	start := p.pos
	for p.pos < len(p.line) && p.line[p.pos] != ' ' && p.line[p.pos] != ')' && p.line[p.pos] != '"' {
		p.pos++
	}
	s := string(p.line[start:p.pos])
	if quoted {
		if err := p.Expect('"'); err != nil {
			return time.Time{}, err
		}
	}
	parts := strings.Split(s, "-")
	if len(parts) != 3 || len(parts[0]) < 1 || len(parts[0]) > 2 || len(parts[2]) != 4 {
		return time.Time{}, p.errf("invalid date %q, want d-Mon-yyyy", s)
	}
	day, err1 := strconv.Atoi(parts[0])
	month, ok := parseMonth(parts[1])
	year, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil || !ok || day < 1 || day > 31 {
		return time.Time{}, p.errf("invalid date %q", s)
	}
	return time.Date(year, month, day, 0, 0, 0, 0, time.UTC), nil
}

// DateTime parses an APPEND date-time: DQUOTE date-day-fixed "-"
// date-month "-" date-year SP time SP zone DQUOTE.
func (p *Parser) DateTime() (time.Time, error) {
	if err := p.Expect('"'); err != nil {
		return time.Time{}, err
	}
	end := bytes.IndexByte(p.line[p.pos:], '"')
	if end < 0 {
		return time.Time{}, p.errf("unterminated date-time")
	}
	s := string(p.line[p.pos : p.pos+end])
	p.pos += end + 1
	t, err := time.Parse("_2-Jan-2006 15:04:05 -0700", s)
	if err != nil {
		// Month names are case-insensitive in IMAP.
		if len(s) >= 6 {
			if m, ok := parseMonth(s[3:6]); ok {
				fixed := s[:3] + time.Month(m).String()[:3] + s[6:]
				if t, err = time.Parse("_2-Jan-2006 15:04:05 -0700", fixed); err == nil {
					return t, nil
				}
			}
		}
		return time.Time{}, p.errf("invalid date-time %q", s)
	}
	return t, nil
}
