package wire

import (
	"bufio"
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"
)

func parseOne(t *testing.T, s string) (*Command, *Parser, error) {
	t.Helper()
	r := NewReader(bufio.NewReader(strings.NewReader(s)), DefaultLimits())
	p := NewParser(r)
	if err := p.Begin(); err != nil {
		return nil, p, err
	}
	cmd, err := p.ParseHead()
	if err == nil {
		err = p.ParseArgs(cmd)
	}
	return cmd, p, err
}

func TestParseCommands(t *testing.T) {
	cmd, _, err := parseOne(t, "A1 UID FETCH 1:*,7 (UID BODY.PEEK[1.2.HEADER.FIELDS (From \"X-Y\")]<10.20> BINARY[3]<0.5> RFC822.SIZE) (CHANGEDSINCE 9 VANISHED)\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Name != "UID FETCH" || !cmd.UID || !reflect.DeepEqual(cmd.Set.Ranges, []NumRange{{1, 0}, {7, 7}}) {
		t.Fatalf("%+v", cmd)
	}
	f := cmd.Fetch
	if len(f.Atts) != 4 || f.ChangedSince != 9 || !f.Vanished {
		t.Fatalf("fetch %+v", f)
	}
	body := f.Atts[1]
	if body.Name != "BODY[]" || !body.Peek || body.Section.String() != "1.2.HEADER.FIELDS (From X-Y)" ||
		*body.Partial != (Partial{10, 20}) {
		t.Fatalf("body att %+v %q", body, body.Section.String())
	}
	if bin := f.Atts[2]; bin.Name != "BINARY[]" || bin.Section.String() != "3" || bin.Partial.Offset != 0 {
		t.Fatalf("binary att %+v", bin)
	}

	cmd, _, err = parseOne(t, "a SEARCH RETURN (MIN COUNT) CHARSET utf-8 OR FROM \"an\" (SEEN NOT 2:4) UID $ SINCE 1-Feb-2025\r\n")
	if err != nil {
		t.Fatal(err)
	}
	s := cmd.Search
	if s.Charset != "UTF-8" || !reflect.DeepEqual(s.Return, []string{"MIN", "COUNT"}) || len(s.Key.Sub) != 3 {
		t.Fatalf("search %+v", s)
	}
	or := s.Key.Sub[0]
	if or.Op != SearchOr || or.Sub[0].Op != SearchHeader || or.Sub[0].Field != "From" || or.Sub[1].Op != SearchAnd ||
		or.Sub[1].Sub[1].Op != SearchNot || or.Sub[1].Sub[1].Sub[0].Op != SearchSeq {
		t.Fatalf("OR key %+v", or)
	}
	if k := s.Key.Sub[1]; k.Op != SearchUID || !k.Set.SearchRes {
		t.Fatalf("UID $ key %+v", k)
	}

	cmd, _, err = parseOne(t, "a SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541 (1:10 5:20)) CONDSTORE)\r\n")
	if err != nil {
		t.Fatal(err)
	}
	q := cmd.Select.QResync
	if !cmd.Select.CondStore || q.UIDValidity != 67890007 || q.ModSeq != 90060115194045000 || q.KnownUIDs == nil ||
		q.KnownSeqs == nil || len(q.KnownSeqUIDs.Ranges) != 1 {
		t.Fatalf("qresync %+v", q)
	}

	cmd, _, err = parseOne(t, "a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (\"%\" &AMQ-*) RETURN (CHILDREN STATUS (MESSAGES))\r\n")
	if err != nil {
		t.Fatal(err)
	}
	l := cmd.List
	if !l.SelectSubscribed || !l.SelectRecursive || !reflect.DeepEqual(l.Patterns, []string{"%", "Ä*"}) ||
		!l.ReturnChildren || !reflect.DeepEqual(l.ReturnStatus, []string{"MESSAGES"}) {
		t.Fatalf("list %+v", l)
	}

	for _, bad := range []string{
		"a LIST (RECURSIVEMATCH) \"\" *\r\n",
		"a FETCH 1 (BODY.PEEK)\r\n",
		"a FETCH 1 FLAGS (VANISHED)\r\n",
		"a STORE 1 FLAGS.LOUD (\\Seen)\r\n",
		"a SELECT INBOX (QRESYNC (0 1))\r\n",
		"a SEARCH BEFORE 31-Foo-2025\r\n",
		"a NOOP extra\r\n",
		"a LOGIN \"unterminated\r\n",
	} {
		if _, _, err := parseOne(t, bad); err == nil {
			t.Errorf("%q parsed without error", bad)
		} else if _, ok := err.(*Error); !ok {
			t.Errorf("%q: %T %v, want *Error", bad, err, err)
		}
	}
}

// APPEND: options, a synchronizing literal that gets its continuation
// only when the command is accepted, then the next message (MULTIAPPEND).
func TestParseAppend(t *testing.T) {
	in := "a APPEND \"Dự án\" (\\Seen $X) \"02-Jun-2025 08:30:00 +0700\" {5}\r\nhello ~{3+}\r\na\x00b\r\n"
	r := NewReader(bufio.NewReader(strings.NewReader(in)), DefaultLimits())
	conts := 0
	r.Continue = func() error { conts++; return nil }
	p := NewParser(r)
	p.UTF8 = true
	if err := p.Begin(); err != nil {
		t.Fatal(err)
	}
	cmd, err := p.ParseHead()
	if err == nil {
		err = p.ParseArgs(cmd)
	}
	if err != nil || cmd.Mailbox != "Dự án" {
		t.Fatalf("%+v %v", cmd, err)
	}
	var bodies []string
	for {
		m, done, err := p.AppendMessage()
		if err != nil {
			t.Fatal(err)
		}
		if done {
			break
		}
		data, err := p.LiteralData(m.Literal)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(data)
		bodies = append(bodies, string(b))
		if len(bodies) == 1 && (!reflect.DeepEqual(m.Flags, []string{`\Seen`, "$X"}) || m.Date.Day() != 2) {
			t.Errorf("first message options %+v", m)
		}
		if len(bodies) == 2 && !m.Literal.Binary {
			t.Errorf("literal8 not marked binary")
		}
		if err := p.AfterLiteral(); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(bodies, []string{"hello", "a\x00b"}) || conts != 1 {
		t.Fatalf("bodies %q, continuations %d", bodies, conts)
	}
}

func TestEncodeStrings(t *testing.T) {
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	w := NewWriter(bw)
	w.String(`a "q" \b`).SP().String("Dự án").SP().Mailbox("Dự án").SP().NString("")
	w.UTF8 = true
	w.SP().String("Dự án").SP().Mailbox("Dự án")
	w.Flush()
	want := `"a \"q\" \\b" {8}` + "\r\nDự án" + ` "D&HvE- &AOE-n" NIL "Dự án" "Dự án"`
	if buf.String() != want {
		t.Fatalf("got  %q\nwant %q", buf.String(), want)
	}
}
