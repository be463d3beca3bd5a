package pop3d

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line string
		cmd  string
		args []string
		err  error
	}{
		{"CAPA\r\n", "CAPA", nil, nil},
		{"capa", "CAPA", nil, nil},
		{"list 1\r\n", "LIST", []string{"1"}, nil},
		{"TOP 1  10\n", "TOP", []string{"1", "10"}, nil},
		{"USER thanh@skhcn.laocai.gov.vn\r\n", "USER", []string{"thanh@skhcn.laocai.gov.vn"}, nil},
		// RFC 1939 section 7: spaces belong to the password.
		{"PASS Mật khẩu 1!\r\n", "PASS", []string{"Mật khẩu 1!"}, nil},
		{"PASS  lead\r\n", "PASS", []string{" lead"}, nil},
		{"PASS\r\n", "PASS", nil, nil},
		{"PASS \r\n", "PASS", nil, nil},
		{"AUTH PLAIN AHRoYW5oAHNlY3JldA==\r\n", "AUTH", []string{"PLAIN", "AHRoYW5oAHNlY3JldA=="}, nil},
		{"NOOP \r\n", "NOOP", nil, nil},
		{"\r\n", "", nil, errEmptyLine},
		{"", "", nil, errEmptyLine},
		{" LIST\r\n", "", nil, errBadKeyword},
		{"RETRX 1\r\n", "", nil, errBadKeyword},
		{"RE1R 1\r\n", "", nil, errBadKeyword},
		{"LIST\x001\r\n", "", nil, errBadChar},
		{"LIST 1\rDELE 1\r\n", "", nil, errBadChar},
		{"LIST\t1\r\n", "", nil, errBadChar},
		{"PASS a\x7fb\r\n", "", nil, errBadChar},
		{"LIST " + strings.Repeat("1", maxLine) + "\r\n", "", nil, errLineTooLong},
	}
	for _, tt := range tests {
		cmd, args, err := parseCommand([]byte(tt.line))
		if !errors.Is(err, tt.err) || cmd != tt.cmd || !slices.Equal(args, tt.args) {
			t.Errorf("parseCommand(%q) = %q, %q, %v; want %q, %q, %v", tt.line, cmd, args, err, tt.cmd, tt.args, tt.err)
		}
	}
}

// FuzzParseCommand checks that the parser never panics and that whatever it
// accepts is a well-formed command: a keyword of 1-4 upper-case letters and
// arguments without control characters (nor spaces, except PASS's one).
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"CAPA\r\n", "USER a@b.vn\r\n", "PASS x y z\r\n", "LIST 1\r\n",
		"TOP 1 0\r\n", "AUTH PLAIN =\r\n", "RETR 4294967296\r\n", ".\r\n", "\xff\xfe\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		cmd, args, err := parseCommand(line)
		if err != nil {
			if cmd != "" || args != nil {
				t.Fatalf("error %v with results %q %q", err, cmd, args)
			}
			return
		}
		if len(cmd) < 1 || len(cmd) > maxKeyword || strings.ToUpper(cmd) != cmd {
			t.Fatalf("bad keyword %q", cmd)
		}
		for _, c := range []byte(cmd) {
			if c < 'A' || c > 'Z' {
				t.Fatalf("bad keyword %q", cmd)
			}
		}
		if cmd == "PASS" && len(args) > 1 {
			t.Fatalf("PASS with %d arguments", len(args))
		}
		for _, a := range args {
			if a == "" || strings.ContainsFunc(a, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("bad argument %q", a)
			}
			if cmd != "PASS" && strings.Contains(a, " ") {
				t.Fatalf("argument with space %q", a)
			}
		}
		if !bytes.HasPrefix(bytes.ToUpper(line), []byte(cmd)) {
			t.Fatalf("keyword %q not from line %q", cmd, line)
		}
	})
}

func TestReadLine(t *testing.T) {
	long := strings.Repeat("x", 5000)
	in := "CAPA\r\n" + long + "\r\nNOOP\r\n" + strings.Repeat("y", maxDiscard+10)
	r := bufio.NewReaderSize(strings.NewReader(in), 4096)
	if l, err := readLine(r); err != nil || string(l) != "CAPA\r\n" {
		t.Fatalf("first line %q, %v", l, err)
	}
	if _, err := readLine(r); !errors.Is(err, errLineTooLong) {
		t.Fatalf("long line: %v", err)
	}
	if l, err := readLine(r); err != nil || string(l) != "NOOP\r\n" {
		t.Fatalf("line after long one %q, %v", l, err)
	}
	if _, err := readLine(r); !errors.Is(err, errGarbage) {
		t.Fatalf("endless line: %v", err)
	}
	r = bufio.NewReader(strings.NewReader("QUIT"))
	if _, err := readLine(r); !errors.Is(err, io.EOF) {
		t.Fatalf("unterminated last line: %v", err)
	}
}

func TestWriteMessage(t *testing.T) {
	big := strings.Repeat("z", 40000) // longer than the read buffer
	tests := []struct {
		name, in  string
		bodyLines int
		want      string
	}{
		{"plain", "A: b\r\n\r\nhello\r\n", -1, "A: b\r\n\r\nhello\r\n.\r\n"},
		{"dots", "A: b\r\n\r\n.\r\n..x\r\n.y\r\nz.\r\n", -1, "A: b\r\n\r\n..\r\n...x\r\n..y\r\nz.\r\n.\r\n"},
		{"bare LF", "A: b\n\nl1\nl2\n", -1, "A: b\r\n\r\nl1\r\nl2\r\n.\r\n"},
		{"no final CRLF", "A: b\r\n\r\nend", -1, "A: b\r\n\r\nend\r\n.\r\n"},
		{"empty", "", -1, ".\r\n"},
		{"long line", "A: b\r\n\r\n" + big + "\r\n." + big + "\r\n", -1,
			"A: b\r\n\r\n" + big + "\r\n.." + big + "\r\n.\r\n"},
		{"top 0", "A: b\r\nC: d\r\n\r\nl1\r\nl2\r\n", 0, "A: b\r\nC: d\r\n\r\n.\r\n"},
		{"top 1", "A: b\r\n\r\n.l1\r\nl2\r\n", 1, "A: b\r\n\r\n..l1\r\n.\r\n"},
		{"top more than body", "A: b\r\n\r\nl1\r\n", 5, "A: b\r\n\r\nl1\r\n.\r\n"},
		{"top bare LF", "A: b\n\nl1\nl2\n", 1, "A: b\r\n\r\nl1\r\n.\r\n"},
		{"top no body", "A: b\r\n", 0, "A: b\r\n.\r\n"},
		{"top long line", "A: b\r\n\r\n" + big + "\r\nl2\r\n", 1, "A: b\r\n\r\n" + big + "\r\n.\r\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		n, err := writeMessage(w, strings.NewReader(tt.in), tt.bodyLines)
		w.Flush()
		if err != nil || out.String() != tt.want {
			t.Errorf("%s: got %.80q, %v; want %.80q", tt.name, out.String(), err, tt.want)
			continue
		}
		// The count excludes stuffed dots and the terminator.
		unstuffed := unstuff(t, out.String())
		if n != int64(len(unstuffed)) {
			t.Errorf("%s: counted %d octets, sent %d", tt.name, n, len(unstuffed))
		}
	}
}

// TestWriteMessageSplitCRLF puts a CRLF across the reader's buffer boundary:
// the CR must not be doubled.
func TestWriteMessageSplitCRLF(t *testing.T) {
	line := strings.Repeat("a", 32<<10-1) + "\r\n"
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	if _, err := writeMessage(w, strings.NewReader(line+line), -1); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if out.String() != line+line+".\r\n" {
		t.Fatalf("split CRLF mangled (%d octets)", out.Len())
	}
}

// unstuff removes the terminator and the byte-stuffing of a multi-line
// response body (RFC 1939 section 3).
func unstuff(t testing.TB, s string) string {
	t.Helper()
	if !strings.HasSuffix(s, ".\r\n") || (len(s) > 3 && !strings.HasSuffix(s, "\r\n.\r\n")) {
		t.Fatalf("no terminator in %.80q", s)
	}
	s = s[:len(s)-3]
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\r\n") {
		if strings.HasPrefix(l, ".") {
			if !strings.HasPrefix(l, "..") {
				t.Fatalf("unstuffed dot line %q", l)
			}
			l = l[1:]
		}
		b.WriteString(l)
	}
	return b.String()
}
