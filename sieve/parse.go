package sieve

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The Sieve grammar (RFC 5228 8): lexical tokens (8.1) and the syntax of
// commands, arguments, tests and blocks (8.2), parsed into a tree that
// compile.go checks against the commands and extensions we implement.

// Limits on what one script may make the parser hold.
const (
	maxDepth       = 32   // nested blocks and tests
	maxListEntries = 1024 // strings in one string list
	maxNodes       = 4096 // commands and tests in a script
	maxNumber      = 1<<40 - 1
)

// SyntaxError is a script error with the line it was found on; its text
// is what ManageSieve's PUTSCRIPT/CHECKSCRIPT answer (RFC 5804 2.6).
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIdent
	tokTag
	tokNumber
	tokString
	tokPunct // one of ; , ( ) [ ] { }
)

type token struct {
	kind tokenKind
	text string // identifier/tag name (lower case), string value, punctuation
	num  int64
	line int
	pos  int // byte offset where the token starts
}

type lexer struct {
	src  string
	pos  int
	line int
}

func (l *lexer) errf(format string, args ...any) error {
	return &SyntaxError{Line: l.line, Msg: fmt.Sprintf(format, args...)}
}

// skip passes white space and comments (RFC 5228 2.3).
func (l *lexer) skip() error {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '\n':
			l.line++
			l.pos++
		case c == ' ' || c == '\t' || c == '\r':
			l.pos++
		case c == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
		case c == '/' && strings.HasPrefix(l.src[l.pos:], "/*"):
			end := strings.Index(l.src[l.pos+2:], "*/")
			if end < 0 {
				return l.errf("unterminated comment")
			}
			l.line += strings.Count(l.src[l.pos:l.pos+2+end], "\n")
			l.pos += end + 4
		default:
			return nil
		}
	}
	return nil
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (l *lexer) next() (token, error) {
	if err := l.skip(); err != nil {
		return token{}, err
	}
	start := l.pos
	t, err := l.token()
	t.pos = start
	return t, err
}

func (l *lexer) token() (token, error) {
	if l.pos >= len(l.src) {
		return token{kind: tokEOF, line: l.line}, nil
	}
	start, line := l.pos, l.line
	c := l.src[l.pos]
	switch {
	case strings.ContainsRune(";,()[]{}", rune(c)):
		l.pos++
		return token{kind: tokPunct, text: string(c), line: line}, nil
	case c == '"':
		s, err := l.quoted()
		return token{kind: tokString, text: s, line: line}, err
	case c == ':':
		l.pos++
		if l.pos >= len(l.src) || !isAlpha(l.src[l.pos]) {
			return token{}, l.errf("tag without a name")
		}
		return token{kind: tokTag, text: strings.ToLower(l.ident()), line: line}, nil
	case isDigit(c):
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
		}
		digits := l.src[start:l.pos]
		if len(digits) > 13 {
			return token{}, l.errf("number %s is too large", digits)
		}
		var n int64
		for _, d := range digits {
			n = n*10 + int64(d-'0')
		}
		// RFC 5228 2.4.1: quantifiers K, M, G (powers of 1024).
		if l.pos < len(l.src) {
			switch l.src[l.pos] | 0x20 {
			case 'k':
				n <<= 10
				l.pos++
			case 'm':
				n <<= 20
				l.pos++
			case 'g':
				n <<= 30
				l.pos++
			}
		}
		if n > maxNumber {
			return token{}, l.errf("number %s is too large", l.src[start:l.pos])
		}
		return token{kind: tokNumber, num: n, line: line}, nil
	case isAlpha(c):
		id := l.ident()
		if strings.EqualFold(id, "text") && l.pos < len(l.src) && l.src[l.pos] == ':' {
			l.pos++
			s, err := l.multiline()
			return token{kind: tokString, text: s, line: line}, err
		}
		return token{kind: tokIdent, text: strings.ToLower(id), line: line}, nil
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.pos:])
	return token{}, l.errf("unexpected character %q", r)
}

func (l *lexer) ident() string {
	start := l.pos
	for l.pos < len(l.src) && (isAlpha(l.src[l.pos]) || isDigit(l.src[l.pos])) {
		l.pos++
	}
	return l.src[start:l.pos]
}

// quoted reads a quoted-string (RFC 5228 2.4.2): a backslash makes the
// next character literal ("\\" and "\"" are the defined escapes; other
// backslashes are removed, 2.4.2).
func (l *lexer) quoted() (string, error) {
	l.pos++ // opening quote
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch c {
		case '"':
			l.pos++
			return b.String(), nil
		case '\\':
			if l.pos+1 >= len(l.src) {
				return "", l.errf("unterminated string")
			}
			c = l.src[l.pos+1]
			l.pos += 2
		default:
			l.pos++
		}
		if c == '\n' {
			l.line++
		}
		b.WriteByte(c)
	}
	return "", l.errf("unterminated string")
}

// multiline reads the rest of a multi-line string after "text:" (RFC 5228
// 2.4.2): to the end of the line (blanks and a #-comment allowed), then
// lines up to one holding a single ".", with a leading ".." unstuffed.
func (l *lexer) multiline() (string, error) {
	for l.pos < len(l.src) && (l.src[l.pos] == ' ' || l.src[l.pos] == '\t') {
		l.pos++
	}
	if l.pos < len(l.src) && l.src[l.pos] == '#' {
		for l.pos < len(l.src) && l.src[l.pos] != '\n' {
			l.pos++
		}
	}
	if l.pos < len(l.src) && l.src[l.pos] == '\r' {
		l.pos++
	}
	if l.pos >= len(l.src) || l.src[l.pos] != '\n' {
		return "", l.errf("text: must be followed by a line break")
	}
	l.pos++
	l.line++
	var b strings.Builder
	for l.pos < len(l.src) {
		end := strings.IndexByte(l.src[l.pos:], '\n')
		var line string
		if end < 0 {
			line, l.pos = l.src[l.pos:], len(l.src)
		} else {
			line, l.pos = l.src[l.pos:l.pos+end], l.pos+end+1
			l.line++
		}
		line = strings.TrimSuffix(line, "\r")
		if line == "." {
			return b.String(), nil
		}
		line = strings.TrimPrefix(line, ".") // ".." → "."; a lone leading "." is not allowed but harmless
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	return "", l.errf("multi-line string not ended by a line holding \".\"")
}

// argKind is the kind of one argument.
type argKind int

const (
	argTag argKind = iota
	argNumber
	argStrings // a string or a string list
)

type arg struct {
	kind   argKind
	tag    string
	num    int64
	strs   []string
	isList bool // written with [ ] (a string-list rather than a string)
	line   int
}

// node is a command or a test: its name, arguments, tests and block.
type node struct {
	name     string
	args     []arg
	tests    []*node // the test (one) or test-list of a command or test
	list     bool    // tests came as a test-list "( … )"
	block    []*node // nil unless the command has a block
	hasBlock bool
	line     int
	end      int // byte offset just after the command's ";" or "}"
}

type parser struct {
	lex   lexer
	tok   token
	nodes int
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	p.tok = t
	return err
}

func (p *parser) errf(format string, args ...any) error {
	return &SyntaxError{Line: p.tok.line, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) isPunct(s string) bool { return p.tok.kind == tokPunct && p.tok.text == s }

// parse parses a whole script into its commands.
func parse(src string) ([]*node, error) {
	p := &parser{lex: lexer{src: src, line: 1}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	cmds, err := p.commands(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.errf("unexpected %q", p.tok.text)
	}
	return cmds, nil
}

func (p *parser) commands(depth int) ([]*node, error) {
	var out []*node
	for p.tok.kind == tokIdent {
		c, err := p.command(depth)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (p *parser) count() error {
	p.nodes++
	if p.nodes > maxNodes {
		return p.errf("script has more than %d commands and tests", maxNodes)
	}
	return nil
}

// command = identifier arguments (";" / block)
func (p *parser) command(depth int) (*node, error) {
	if depth > maxDepth {
		return nil, p.errf("blocks nested more than %d deep", maxDepth)
	}
	if err := p.count(); err != nil {
		return nil, err
	}
	n := &node{name: p.tok.text, line: p.tok.line}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.arguments(n, depth); err != nil {
		return nil, err
	}
	switch {
	case p.isPunct(";"):
		n.end = p.tok.pos + 1
		return n, p.advance()
	case p.isPunct("{"):
		if err := p.advance(); err != nil {
			return nil, err
		}
		block, err := p.commands(depth + 1)
		if err != nil {
			return nil, err
		}
		if !p.isPunct("}") {
			return nil, p.errf("expected } to end the block of %s (from line %d)", n.name, n.line)
		}
		n.block, n.hasBlock = block, true
		n.end = p.tok.pos + 1
		return n, p.advance()
	}
	return nil, p.errf("expected ; or { after %s", n.name)
}

// arguments = *argument [ test / test-list ]
func (p *parser) arguments(n *node, depth int) error {
	for {
		switch {
		case p.tok.kind == tokTag:
			n.args = append(n.args, arg{kind: argTag, tag: p.tok.text, line: p.tok.line})
		case p.tok.kind == tokNumber:
			n.args = append(n.args, arg{kind: argNumber, num: p.tok.num, line: p.tok.line})
		case p.tok.kind == tokString:
			n.args = append(n.args, arg{kind: argStrings, strs: []string{p.tok.text}, line: p.tok.line})
		case p.isPunct("["):
			a, err := p.stringList()
			if err != nil {
				return err
			}
			n.args = append(n.args, a)
			continue
		case p.tok.kind == tokIdent:
			t, err := p.test(depth + 1)
			if err != nil {
				return err
			}
			n.tests = []*node{t}
			return nil
		case p.isPunct("("):
			tests, err := p.testList(depth + 1)
			if err != nil {
				return err
			}
			n.tests, n.list = tests, true
			return nil
		default:
			return nil
		}
		if err := p.advance(); err != nil {
			return err
		}
	}
}

// string-list = "[" string *("," string) "]"
func (p *parser) stringList() (arg, error) {
	a := arg{kind: argStrings, isList: true, line: p.tok.line}
	for {
		if err := p.advance(); err != nil {
			return a, err
		}
		if p.tok.kind != tokString {
			return a, p.errf("expected a string in the list")
		}
		if len(a.strs) == maxListEntries {
			return a, p.errf("string list longer than %d", maxListEntries)
		}
		a.strs = append(a.strs, p.tok.text)
		if err := p.advance(); err != nil {
			return a, err
		}
		switch {
		case p.isPunct(","):
			continue
		case p.isPunct("]"):
			return a, p.advance()
		}
		return a, p.errf("expected , or ] in the string list")
	}
}

// test = identifier arguments
func (p *parser) test(depth int) (*node, error) {
	if depth > maxDepth {
		return nil, p.errf("tests nested more than %d deep", maxDepth)
	}
	if err := p.count(); err != nil {
		return nil, err
	}
	n := &node{name: p.tok.text, line: p.tok.line}
	if err := p.advance(); err != nil {
		return nil, err
	}
	return n, p.arguments(n, depth)
}

// test-list = "(" test *("," test) ")"
func (p *parser) testList(depth int) ([]*node, error) {
	var out []*node
	for {
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tokIdent {
			return nil, p.errf("expected a test")
		}
		t, err := p.test(depth)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		switch {
		case p.isPunct(","):
			continue
		case p.isPunct(")"):
			return out, p.advance()
		}
		return nil, p.errf("expected , or ) in the test list")
	}
}
