// Package pdf reads what congvu needs from untrusted PDF files (ISO
// 32000-1): the text layer, for the state-secret guard, and the signature
// dictionaries (ByteRange and the CMS Contents, §12.8.1), for signed
// documents. It is not a renderer: objects are found by scanning for
// "N G obj" and in object streams (§7.5.7), which also reads damaged files
// and incremental updates without trusting a cross-reference table, and
// every size, depth, count and the time are bounded so a hostile file
// cannot stall or exhaust delivery.
package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// Object is a PDF object: nil (null), bool, int64, float64, Name, String,
// Array, Dict, Ref or *Stream.
type Object any

// Name is a name object without its slash (§7.3.5).
type Name string

// String is a string object's bytes (§7.3.4).
type String []byte

// Array is an array object.
type Array []Object

// Dict is a dictionary object.
type Dict map[Name]Object

// Ref is an indirect reference "N G R".
type Ref struct{ Num, Gen int }

// Stream is a stream object; Data is still encoded.
type Stream struct {
	Dict Dict
	Data []byte
}

var errSyntax = errors.New("pdf: syntax error")

// maxObjectDepth bounds nesting of arrays and dictionaries.
const maxObjectDepth = 64

// lexer reads PDF tokens from b.
type lexer struct {
	b   []byte
	pos int
}

func isSpace(c byte) bool {
	return c == 0 || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '
}

func isDelim(c byte) bool {
	return c == '(' || c == ')' || c == '<' || c == '>' || c == '[' || c == ']' || c == '{' || c == '}' || c == '/' || c == '%'
}

// skip skips white space and comments.
func (l *lexer) skip() {
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		switch {
		case isSpace(c):
			l.pos++
		case c == '%':
			for l.pos < len(l.b) && l.b[l.pos] != '\n' && l.b[l.pos] != '\r' {
				l.pos++
			}
		default:
			return
		}
	}
}

// regular reads a run of regular characters (a keyword or number).
func (l *lexer) regular() []byte {
	start := l.pos
	for l.pos < len(l.b) && !isSpace(l.b[l.pos]) && !isDelim(l.b[l.pos]) {
		l.pos++
	}
	return l.b[start:l.pos]
}

// object reads one object; references "N G R" are recognised.
func (l *lexer) object(depth int) (Object, error) {
	if depth > maxObjectDepth {
		return nil, fmt.Errorf("%w: nested too deep", errSyntax)
	}
	l.skip()
	if l.pos >= len(l.b) {
		return nil, fmt.Errorf("%w: unexpected end", errSyntax)
	}
	switch c := l.b[l.pos]; {
	case c == '/':
		l.pos++
		return Name(decodeName(l.regular())), nil
	case c == '(':
		return l.literal()
	case c == '<' && l.pos+1 < len(l.b) && l.b[l.pos+1] == '<':
		l.pos += 2
		d := Dict{}
		for {
			l.skip()
			if l.pos+1 < len(l.b) && l.b[l.pos] == '>' && l.b[l.pos+1] == '>' {
				l.pos += 2
				return d, nil
			}
			if l.pos >= len(l.b) {
				return d, fmt.Errorf("%w: unterminated dictionary", errSyntax)
			}
			k, err := l.object(depth + 1)
			if err != nil {
				return d, err
			}
			key, ok := k.(Name)
			if !ok {
				continue // garbage where a key belongs: skip it
			}
			v, err := l.object(depth + 1)
			if err != nil {
				return d, err
			}
			d[key] = v
		}
	case c == '<':
		return l.hex()
	case c == '[':
		l.pos++
		var a Array
		for {
			l.skip()
			if l.pos < len(l.b) && l.b[l.pos] == ']' {
				l.pos++
				return a, nil
			}
			if l.pos >= len(l.b) {
				return a, fmt.Errorf("%w: unterminated array", errSyntax)
			}
			v, err := l.object(depth + 1)
			if err != nil {
				return a, err
			}
			a = append(a, v)
		}
	case c == ')' || c == '>' || c == ']' || c == '{' || c == '}':
		l.pos++
		return nil, fmt.Errorf("%w: stray %q", errSyntax, c)
	}
	tok := l.regular()
	if len(tok) == 0 {
		l.pos++
		return nil, fmt.Errorf("%w: unexpected byte", errSyntax)
	}
	switch string(tok) {
	case "null":
		return nil, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	if n, err := strconv.ParseInt(string(tok), 10, 64); err == nil {
		// "N G R"?
		save := l.pos
		l.skip()
		gen := l.regular()
		if g, err := strconv.Atoi(string(gen)); err == nil && len(gen) > 0 {
			l.skip()
			if r := l.regular(); string(r) == "R" {
				return Ref{int(n), g}, nil
			}
		}
		l.pos = save
		return n, nil
	}
	if f, err := strconv.ParseFloat(string(tok), 64); err == nil {
		return f, nil
	}
	return keyword(tok), nil
}

// keyword is an operator or unknown token (content streams).
type keyword string

// literal reads a literal string with balanced parentheses and escapes
// (§7.3.4.2).
func (l *lexer) literal() (String, error) {
	l.pos++ // (
	var out []byte
	depth := 1
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		l.pos++
		switch c {
		case '\\':
			if l.pos >= len(l.b) {
				return out, nil
			}
			e := l.b[l.pos]
			l.pos++
			switch e {
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case '\r':
				if l.pos < len(l.b) && l.b[l.pos] == '\n' {
					l.pos++
				}
			case '\n':
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && l.pos < len(l.b) && l.b[l.pos] >= '0' && l.b[l.pos] <= '7'; k++ {
						v = v*8 + int(l.b[l.pos]-'0')
						l.pos++
					}
					out = append(out, byte(v))
				} else {
					out = append(out, e)
				}
			}
		case '(':
			depth++
			out = append(out, c)
		case ')':
			depth--
			if depth == 0 {
				return out, nil
			}
			out = append(out, c)
		default:
			out = append(out, c)
		}
	}
	return out, nil
}

// hex reads a hexadecimal string (§7.3.4.3).
func (l *lexer) hex() (String, error) {
	l.pos++ // <
	end := bytes.IndexByte(l.b[l.pos:], '>')
	if end < 0 {
		end = len(l.b) - l.pos
	}
	raw := l.b[l.pos : l.pos+end]
	l.pos += end + 1
	out := make([]byte, 0, len(raw)/2+1)
	var hi byte
	half := false
	for _, c := range raw {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			continue
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		out = append(out, hi<<4) // §7.3.4.3: a missing last digit is 0
	}
	return out, nil
}

// decodeName resolves #xx escapes (§7.3.5).
func decodeName(b []byte) string {
	if bytes.IndexByte(b, '#') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '#' && i+2 < len(b) {
			if v, err := strconv.ParseUint(string(b[i+1:i+3]), 16, 8); err == nil {
				out = append(out, byte(v))
				i += 2
				continue
			}
		}
		out = append(out, b[i])
	}
	return string(out)
}

// Helpers to read dictionary values of an expected type.

func (d Dict) name(k Name) Name {
	n, _ := d[k].(Name)
	return n
}

func asInt(o Object) (int64, bool) {
	switch v := o.(type) {
	case int64:
		return v, true
	case float64:
		return int64(v), true
	}
	return 0, false
}

func asFloat(o Object) (float64, bool) {
	switch v := o.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}
