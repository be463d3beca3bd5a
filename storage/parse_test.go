package storage

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

func readTestMessages(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/messages/*.eml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test messages: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

func wireJSON(t testing.TB, env *imap.Envelope, bs imap.BodyStructure) string {
	t.Helper()
	b, err := encodeParsed(&parsedMessage{Envelope: env, Body: bs})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBodyStructureMatchesGoIMAP checks that our streaming, depth-bounded
// extractor gives exactly what imapserver.ExtractBodyStructure gives on
// well-formed mail.
func TestBodyStructureMatchesGoIMAP(t *testing.T) {
	for name, raw := range readTestMessages(t) {
		if name == "malformed.eml" || name == "header-only.eml" {
			continue // our RFC 2045 defaults differ from go-imap here on purpose
		}
		t.Run(name, func(t *testing.T) {
			p := parseMessage(bytes.NewReader(raw))
			want := imapserver.ExtractBodyStructure(bytes.NewReader(raw))
			if got, exp := wireJSON(t, p.Envelope, p.Body), wireJSON(t, p.Envelope, want); got != exp {
				t.Errorf("body structure differs from go-imap:\n got %s\nwant %s", got, exp)
			}
			if !bytes.HasPrefix(raw, p.Header) || !bytes.HasSuffix(p.Header, []byte("\r\n\r\n")) {
				t.Errorf("header %q is not the message's header block", p.Header)
			}
		})
	}
}

func TestParseVietnamese(t *testing.T) {
	raw := readTestMessages(t)["vietnamese.eml"]
	p := parseMessage(bytes.NewReader(raw))
	if want := "Thông báo về việc triển khai hệ thống thư điện tử công vụ"; p.Envelope.Subject != want {
		t.Errorf("subject %q, want %q", p.Envelope.Subject, want)
	}
	if len(p.Envelope.From) != 1 || p.Envelope.From[0].Name != "Nguyễn Ngọc Thành" {
		t.Errorf("from %+v", p.Envelope.From)
	}
	if len(p.Envelope.To) != 2 || p.Envelope.To[0].Name != "Trần Thị Lan" || p.Envelope.To[1].Name != "Lê Văn Bình" {
		t.Errorf("to %+v", p.Envelope.To)
	}
	mp, ok := p.Body.(*imap.BodyStructureMultiPart)
	if !ok || len(mp.Children) != 2 {
		t.Fatalf("body %#v", p.Body)
	}
	att := mp.Children[1].(*imap.BodyStructureSinglePart)
	if got := att.Filename(); got != "Kế hoạch tập huấn.docx" {
		t.Errorf("attachment filename %q", got)
	}
}

func TestParseMalformedFallsBack(t *testing.T) {
	msgs := readTestMessages(t)
	for _, raw := range [][]byte{msgs["malformed.eml"], msgs["header-only.eml"], nil, []byte("\r\n"), []byte("\x00\xff")} {
		p := parseMessage(bytes.NewReader(raw))
		if p.Envelope == nil || p.Body == nil {
			t.Fatalf("%q: nil envelope or body", raw)
		}
		checkParsed(t, raw, p)
	}
	// A multipart without a boundary is text/plain (RFC 2045 5.2), never
	// an empty multipart, which BODYSTRUCTURE cannot express.
	p := parseMessage(strings.NewReader("Content-Type: multipart/mixed\r\n\r\nhello\r\n"))
	if sp, ok := p.Body.(*imap.BodyStructureSinglePart); !ok || sp.MediaType() != "text/plain" || sp.Size != 7 {
		t.Errorf("boundary-less multipart parsed as %#v", p.Body)
	}
}

func TestParseDeepNestingIsBounded(t *testing.T) {
	var b strings.Builder
	const depth = 5000
	for i := range depth {
		b.WriteString("Content-Type: multipart/mixed; boundary=b" + strconv.Itoa(i) + "\r\n\r\n--b" + strconv.Itoa(i) + "\r\n")
	}
	b.WriteString("Content-Type: text/plain\r\n\r\nleaf\r\n")
	p := parseMessage(strings.NewReader(b.String()))
	levels := 0
	for bs := p.Body; ; levels++ {
		mp, ok := bs.(*imap.BodyStructureMultiPart)
		if !ok {
			break
		}
		bs = mp.Children[0]
	}
	if levels > maxMIMEDepth {
		t.Errorf("nesting %d levels deep, limit %d", levels, maxMIMEDepth)
	}
}

// checkParsed asserts the invariants FuzzParseMessage relies on.
func checkParsed(t *testing.T, raw []byte, p *parsedMessage) {
	t.Helper()
	if !bytes.HasPrefix(raw, p.Header) {
		t.Fatalf("header is not a prefix of the message")
	}
	enc, err := encodeParsed(p)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	c, err := decodeCached(p.Header, enc)
	if err != nil {
		t.Fatalf("decode: %v (%s)", err, enc)
	}
	enc2, err := encodeParsed(&parsedMessage{Envelope: c.Envelope, Body: c.BodyStructure})
	if err != nil || !bytes.Equal(enc, enc2) {
		t.Fatalf("cache does not round-trip:\n%s\n%s", enc, enc2)
	}
	var total int64
	c.BodyStructure.Walk(func(path []int, part imap.BodyStructure) bool {
		if sp, ok := part.(*imap.BodyStructureSinglePart); ok {
			total += int64(sp.Size)
			for _, s := range []string{sp.Type, sp.Subtype, sp.ID, sp.Description, sp.Encoding} {
				if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
					t.Fatalf("invalid string %q in cached body structure", s)
				}
			}
		}
		return true
	})
	if total > int64(len(raw)) {
		t.Fatalf("parts add up to %d bytes, message has %d", total, len(raw))
	}
	if !utf8.ValidString(c.Envelope.Subject) {
		t.Fatalf("subject not UTF-8")
	}
	if !json.Valid(enc) {
		t.Fatalf("invalid JSON")
	}
}

// FuzzParseMessage runs the delivery-time parse and cache encoding on
// arbitrary input: it must not panic, must produce a header that is a
// prefix of the message, and a cache value that decodes and re-encodes to
// the same bytes. Seeds: testdata/fuzz/FuzzParseMessage.
func FuzzParseMessage(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\nbody\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkParsed(t, raw, parseMessage(bytes.NewReader(raw)))
	})
}
