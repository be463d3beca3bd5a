package export

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"congvu/storage"
)

// corpus is what the tests store: awkward lines for mbox included.
var corpus = []struct {
	folder, raw string
	flags       []string
}{
	{"INBOX", "Return-Path: <vanthu@angiang.gov.vn>\r\nFrom: Văn thư <vanthu@angiang.gov.vn>\r\nSubject: =?UTF-8?B?R2nhuqV5IG3hu51p?=\r\n\r\nFrom the office\r\n>From quoted\r\n>>From twice\r\nFromage is not a From line\r\n", []string{`\Seen`, `\Answered`}},
	{"INBOX", "From: a@angiang.gov.vn\r\nStatus: RO\r\nX-Keywords: $Forged\r\nSubject: spoofed status\r\n\r\nbody without final newline", nil},
	{"INBOX", "From: b@angiang.gov.vn\r\nSubject: flagged\r\n X-continued: folded\r\n\r\nline\r\n\r\nFrom \r\n", []string{`\Flagged`, "$Label1"}},
	{"Dự án/2025", "From: c@angiang.gov.vn\r\nSubject: trong thư mục con\r\n\r\nNội dung tiếng Việt\r\n", []string{`\Seen`, `\Deleted`, `\Draft`}},
}

// expected is what a reader should get back: the stored message without
// the fields the exporter sets itself.
func expected(raw string) string {
	var out []string
	inHeader := true
	skipping := false
	for _, line := range strings.SplitAfter(raw, "\r\n") {
		if inHeader {
			if line == "\r\n" {
				inHeader = false
			} else if line[0] == ' ' || line[0] == '\t' {
				if skipping {
					continue
				}
			} else {
				name, _, _ := strings.Cut(line, ":")
				skipping = slices.Contains(dropHeaders, strings.ToLower(name))
				if skipping {
					continue
				}
			}
		}
		out = append(out, line)
	}
	s := strings.Join(out, "")
	if !strings.HasSuffix(s, "\r\n") {
		s += "\r\n"
	}
	return s
}

func fillStore(t *testing.T) storage.Mailbox {
	t.Helper()
	ctx := context.Background()
	s, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	mb, err := s.Mailbox(ctx, "nva.sotc@angiang.gov.vn", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := mb.Create(ctx, "Dự án/2025"); err != nil {
		t.Fatal(err)
	}
	date := time.Date(2025, 3, 3, 1, 15, 0, 0, time.UTC)
	for i, c := range corpus {
		if _, err := mb.Append(ctx, c.folder, strings.NewReader(c.raw), c.flags, date.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	return mb
}

// mboxMessage is one message read back from an mboxrd file.
type mboxMessage struct {
	fromLine string
	fields   map[string]string // the exporter's fields
	raw      string            // the rest, with CRLF line ends
}

// readMboxrd splits an mboxrd file (test-only reader): a message starts
// at a "From " line at the start or after an empty line; ">From" quoting
// loses one ">".
func readMboxrd(t *testing.T, data []byte) []mboxMessage {
	t.Helper()
	var msgs []mboxMessage
	var cur *mboxMessage
	var body []string
	prevBlank := true
	flush := func() {
		if cur == nil {
			return
		}
		// The empty line before the next From line is the separator.
		if n := len(body); n > 0 && body[n-1] == "" {
			body = body[:n-1]
		}
		cur.raw = strings.Join(body, "\r\n") + "\r\n"
		msgs = append(msgs, *cur)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	header := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasSuffix(line, "\r") {
			t.Fatalf("mbox line ends in CR: %q", line)
		}
		if prevBlank && strings.HasPrefix(line, "From ") {
			flush()
			cur = &mboxMessage{fromLine: line, fields: map[string]string{}}
			body = nil
			header = true
			prevBlank = false
			continue
		}
		prevBlank = line == ""
		if header {
			if name, v, ok := strings.Cut(line, ": "); ok && slices.Contains(dropHeaders, strings.ToLower(name)) {
				cur.fields[name] = v
				continue
			}
			header = false
		}
		if strings.HasPrefix(strings.TrimLeft(line, ">"), "From ") && strings.HasPrefix(line, ">") {
			line = line[1:]
		}
		body = append(body, line)
	}
	flush()
	return msgs
}

func TestMboxReadsBack(t *testing.T) {
	mb := fillStore(t)
	var buf bytes.Buffer
	st, err := Mbox(context.Background(), &buf, mb, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != len(corpus) {
		t.Fatalf("exported %d messages, want %d", st.Messages, len(corpus))
	}
	for _, q := range []string{"\n>From the office\n", "\n>>From quoted\n", "\n>>>From twice\n", "\nFromage is not", "\n>From \n"} {
		if !bytes.Contains(buf.Bytes(), []byte(q)) {
			t.Errorf("mbox lacks %q (mboxrd quoting):\n%s", q, buf.String())
		}
	}
	msgs := readMboxrd(t, buf.Bytes())
	if len(msgs) != len(corpus) {
		t.Fatalf("read back %d messages, want %d:\n%s", len(msgs), len(corpus), buf.String())
	}
	byRaw := map[string]mboxMessage{}
	for _, m := range msgs {
		byRaw[m.raw] = m
	}
	for i, c := range corpus {
		m, ok := byRaw[expected(c.raw)]
		if !ok {
			t.Errorf("message %d not read back as stored; got:\n%q", i, msgs[i].raw)
			continue
		}
		if m.fields[FolderHeader] != c.folder {
			t.Errorf("message %d: folder %q, want %q", i, m.fields[FolderHeader], c.folder)
		}
		wantStatus := "O"
		if slices.Contains(c.flags, `\Seen`) {
			wantStatus = "RO"
		}
		if m.fields["Status"] != wantStatus {
			t.Errorf("message %d: Status %q, want %q", i, m.fields["Status"], wantStatus)
		}
		if slices.Contains(c.flags, `\Flagged`) != strings.Contains(m.fields["X-Status"], "F") ||
			slices.Contains(c.flags, `\Answered`) != strings.Contains(m.fields["X-Status"], "A") {
			t.Errorf("message %d: X-Status %q for flags %v", i, m.fields["X-Status"], c.flags)
		}
		if slices.Contains(c.flags, "$Label1") && m.fields["X-Keywords"] != "$Label1" {
			t.Errorf("message %d: X-Keywords %q", i, m.fields["X-Keywords"])
		}
		if strings.Contains(m.fields["X-Keywords"], "$Forged") {
			t.Errorf("message %d: a keyword forged inside the message came through", i)
		}
	}
	if !strings.HasPrefix(msgs[0].fromLine, "From vanthu@angiang.gov.vn Mon Mar  3 01:15:00 2025") {
		t.Errorf("From line %q: want the Return-Path sender and the internal date in asctime form", msgs[0].fromLine)
	}
	if !strings.HasPrefix(msgs[1].fromLine, "From MAILER-DAEMON ") {
		t.Errorf("From line without Return-Path: %q", msgs[1].fromLine)
	}

	// One folder: no folder field.
	buf.Reset()
	if _, err := Mbox(context.Background(), &buf, mb, []string{"Dự án/2025"}); err != nil {
		t.Fatal(err)
	}
	one := readMboxrd(t, buf.Bytes())
	if len(one) != 1 || one[0].fields[FolderHeader] != "" || one[0].raw != expected(corpus[3].raw) {
		t.Errorf("single-folder export: %+v", one)
	}
}

func TestMaildirLayout(t *testing.T) {
	mb := fillStore(t)
	dir := filepath.Join(t.TempDir(), "out")
	st, err := Maildir(context.Background(), dir, mb, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != len(corpus) {
		t.Fatalf("exported %d, want %d", st.Messages, len(corpus))
	}
	sub := filepath.Join(dir, ".D&HvE- &AOE-n.2025")
	if _, err := os.Stat(filepath.Join(sub, "maildirfolder")); err != nil {
		t.Fatalf("subfolder in modified UTF-7: %v", err)
	}
	read := func(fdir string) map[string]string { // info → content
		out := map[string]string{}
		entries, _ := os.ReadDir(filepath.Join(fdir, "cur"))
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(fdir, "cur", e.Name()))
			_, info, _ := strings.Cut(e.Name(), ":2,")
			out[info] = strings.ReplaceAll(string(b), "\n", "\r\n")
		}
		return out
	}
	inbox := read(dir)
	if len(inbox) != 3 {
		t.Fatalf("INBOX cur holds %d messages: %v", len(inbox), inbox)
	}
	if got := inbox["RS"]; got != corpus[0].raw {
		t.Errorf("seen+answered message: %q", got)
	}
	if got := inbox["Fa"]; got != corpus[2].raw {
		t.Errorf("flagged+keyword message (info Fa): %q; have %v", got, inbox)
	}
	kw, _ := os.ReadFile(filepath.Join(dir, "dovecot-keywords"))
	if string(kw) != "0 $Label1\n" {
		t.Errorf("dovecot-keywords: %q", kw)
	}
	if got := read(sub)["DST"]; got != corpus[3].raw {
		t.Errorf("subfolder message (info DST): %q", got)
	}
	ul, _ := os.ReadFile(filepath.Join(dir, "dovecot-uidlist"))
	status, _ := mb.Status(context.Background(), "INBOX")
	lines := strings.Split(strings.TrimSpace(string(ul)), "\n")
	if lines[0] != fmt.Sprintf("3 V%d N%d", status.UIDValidity, status.UIDNext) || len(lines) != 4 || !strings.HasPrefix(lines[1], "1 :") {
		t.Errorf("dovecot-uidlist:\n%s", ul)
	}
	if _, err := Maildir(context.Background(), dir, mb, nil); err == nil {
		t.Error("export into a non-empty directory succeeded")
	}
}

func TestEncodeUTF7(t *testing.T) {
	for in, want := range map[string]string{"Dự án": "D&HvE- &AOE-n", "台北": "&U,BTFw-", "Thư rác": "Th&AbA- r&AOE-c", "A&B": "A&-B", "Sent": "Sent"} {
		if got := encodeUTF7(in); got != want {
			t.Errorf("encodeUTF7(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzMboxQuoting: whatever a message holds, its mbox form has no line a
// reader could take for the start of another message, and undoing the
// mboxrd quoting gives the message back (LF line ends, a final one).
func FuzzMboxQuoting(f *testing.F) {
	for _, c := range corpus {
		f.Add([]byte(c.raw))
	}
	for _, s := range []string{"From x\r\n", ">From \r\n\r\nFrom ", "a\rb\r\r\nFrom", "\r", "Fro", "\n\nFrom  \n>>From", "x: y\r\n \r\n\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReader(bytes.NewReader(in))
		fields, err := readHeader(r)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		bw := bufio.NewWriter(&out)
		lw := &lineWriter{w: bw}
		for _, fl := range fields {
			lw.Write(fl)
		}
		rest, _ := io.ReadAll(r)
		lw.Write(rest)
		lw.end()
		bw.Flush()
		if lw.n != int64(out.Len()) {
			t.Fatalf("counted %d bytes, wrote %d", lw.n, out.Len())
		}
		lines := strings.Split(out.String(), "\n")
		for i, line := range lines {
			if strings.HasPrefix(line, "From ") {
				t.Fatalf("line %d of the output starts a message: %q", i, line)
			}
			if strings.HasPrefix(strings.TrimLeft(line, ">"), "From ") {
				lines[i] = line[1:]
			}
		}
		want := strings.ReplaceAll(string(in), "\r\n", "\n")
		if strings.HasSuffix(want, "\r") {
			want = want[:len(want)-1] + "\n"
		}
		if want != "" && !strings.HasSuffix(want, "\n") {
			want += "\n"
		}
		if got := strings.Join(lines, "\n"); got != want {
			t.Fatalf("round trip:\n in %q\nout %q\ngot %q", in, out.String(), got)
		}
	})
}
