package managesieve

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The ManageSieve command syntax (RFC 5804 4): a command name (atom),
// then strings — quoted ("…" with \" and \\) or literals ({n+} CRLF n
// octets; {n} is accepted too) — and numbers, ending with CRLF.

// Limits of one command.
const (
	maxLineBytes = 8 << 10 // a command line outside literals
	maxArgs      = 8
)

// errSyntax is a command the client got wrong; the session answers NO and
// reads on.
type errSyntax struct{ msg string }

func (e errSyntax) Error() string { return e.msg }

// errTooBig is a literal over the limit; the connection cannot be resynced
// without reading it, so the session reads and discards it.
var errTooBig = errors.New("literal too large")

// command is one parsed command.
type command struct {
	name string // upper case
	args []string
}

// readCommand reads one command. maxLiteral bounds a literal (the largest
// script plus room). An io error ends the session; errSyntax does not.
func readCommand(r *bufio.Reader, maxLiteral int) (command, error) {
	var c command
	line, err := readLine(r)
	if err != nil {
		return c, err
	}
	i := 0
	skipSpaces := func() {
		for i < len(line) && line[i] == ' ' {
			i++
		}
	}
	skipSpaces()
	start := i
	for i < len(line) && isAtomChar(line[i]) {
		i++
	}
	if i == start {
		return c, errSyntax{"expected a command name"}
	}
	c.name = strings.ToUpper(line[start:i])
	for {
		skipSpaces()
		if i >= len(line) {
			return c, nil
		}
		if len(c.args) == maxArgs {
			return c, errSyntax{"too many arguments"}
		}
		switch ch := line[i]; {
		case ch == '"':
			s, n, err := parseQuoted(line[i:])
			if err != nil {
				return c, err
			}
			c.args = append(c.args, s)
			i += n
		case ch == '{':
			end := strings.IndexByte(line[i:], '}')
			if end < 0 || i+end != len(line)-1 {
				return c, errSyntax{"a literal must end the line: {n+}"}
			}
			spec := strings.TrimSuffix(line[i+1:i+end], "+")
			n, err := strconv.Atoi(spec)
			if err != nil || n < 0 || len(spec) > 10 {
				return c, errSyntax{"bad literal length"}
			}
			if n > maxLiteral {
				// Read and drop it so the next command is found.
				if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
					return c, err
				}
				if _, err := readLine(r); err != nil {
					return c, err
				}
				return c, errTooBig
			}
			buf := make([]byte, n)
			if _, err := io.ReadFull(r, buf); err != nil {
				return c, err
			}
			c.args = append(c.args, string(buf))
			// The command goes on after the literal, on the next line.
			if line, err = readLine(r); err != nil {
				return c, err
			}
			i = 0
		case ch >= '0' && ch <= '9':
			start := i
			for i < len(line) && line[i] >= '0' && line[i] <= '9' {
				i++
			}
			if i-start > 10 {
				return c, errSyntax{"number too large"}
			}
			c.args = append(c.args, line[start:i])
		default:
			return c, errSyntax{fmt.Sprintf("unexpected %q", ch)}
		}
		if i < len(line) && line[i] != ' ' {
			return c, errSyntax{"arguments must be separated by spaces"}
		}
	}
}

func isAtomChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// parseQuoted reads a quoted string at the start of s and returns it and
// the bytes it took. RFC 5804 4: only \" and \\ are escapes; CR and LF are
// not allowed.
func parseQuoted(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '"' && s[i+1] != '\\') {
				return "", 0, errSyntax{`only \" and \\ may be escaped in a quoted string`}
			}
			i++
			b.WriteByte(s[i])
		case 0:
			return "", 0, errSyntax{"NUL in a quoted string"}
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, errSyntax{"unterminated quoted string"}
}

// readLine reads one CRLF (or LF) terminated line without its ending. A
// line over maxLineBytes is an error that ends the session: its end
// cannot be trusted.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := r.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxLineBytes {
			return "", errLineTooLong
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", err
		}
		s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		return s, nil
	}
}

var errLineTooLong = errors.New("command line too long")

// quote writes s as a ManageSieve string: quoted when it can be, else a
// literal (RFC 5804 4).
func quote(s string) string {
	if len(s) < 1024 && !strings.ContainsAny(s, "\r\n\x00") {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	return "{" + strconv.Itoa(len(s)) + "}\r\n" + s
}
