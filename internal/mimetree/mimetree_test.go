package mimetree

import (
	"strings"
	"testing"
)

const signedMsg = "From: a@b.vn\r\nContent-Type: multipart/mixed; boundary=\"o\"\r\n\r\npreamble\r\n--o\r\n" +
	"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=\"s\"\r\n\r\n" +
	"--s\r\nContent-Type: text/plain\r\n\r\nline 1\r\nline 2\r\n--s\r\nContent-Type: application/pkcs7-signature\r\n" +
	"Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--s--\r\n" +
	"--o\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: text/plain\r\n\r\nhi\r\n" +
	"--o\r\nContent-Type: application/pdf; name=\"=?utf-8?b?Q8O0bmcgdsSDbi5wZGY=?=\"\r\n\r\n%PDF\r\n--o--\r\nepilogue\r\n"

func TestParseKeepsExactBytes(t *testing.T) {
	root := Parse([]byte(signedMsg), Options{})
	if len(root.Children) != 3 {
		t.Fatalf("%d parts", len(root.Children))
	}
	signed := root.Children[0]
	if signed.Number != "1" || signed.MediaType != "multipart/signed" || len(signed.Children) != 2 {
		t.Fatalf("signed part %+v", signed)
	}
	// RFC 2046 5.1.1: the CRLF before a delimiter belongs to it.
	if got := string(signed.Children[0].Raw); got != "Content-Type: text/plain\r\n\r\nline 1\r\nline 2" {
		t.Fatalf("signed content %q", got)
	}
	if sig, err := signed.Children[1].Decoded(100); err != nil || string(sig) != "\x00\x01\x02" || signed.Children[1].Number != "1.2" {
		t.Fatalf("signature %q %v", sig, err)
	}
	fwd := root.Children[1]
	if fwd.Embedded == nil || fwd.Embedded.Header.Get("Subject") != "inner" || fwd.Embedded.Number != "2" {
		t.Fatalf("forwarded %+v", fwd.Embedded)
	}
	if f := root.Children[2]; f.Filename != "Công văn.pdf" || !f.IsAttachment() || f.Number != "3" {
		t.Fatalf("attachment %q", f.Filename)
	}
}

func TestParseBounded(t *testing.T) {
	// 10,000 nested multiparts stop at MaxDepth.
	var b strings.Builder
	for i := range 10000 {
		b.WriteString("Content-Type: multipart/mixed; boundary=\"b" + strings.Repeat("x", i%5) + "\"\r\n\r\n--b" + strings.Repeat("x", i%5) + "\r\n")
	}
	depth := 0
	Parse([]byte(b.String()), Options{}).Walk(func(p *Part) bool { depth = max(depth, p.Depth); return true })
	if depth > MaxDepth {
		t.Fatalf("depth %d", depth)
	}
	n := 0
	msg := "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + strings.Repeat("--b\r\n\r\nx\r\n", 10000) + "--b--\r\n"
	Parse([]byte(msg), Options{}).Walk(func(*Part) bool { n++; return true })
	if n > MaxParts {
		t.Fatalf("%d parts", n)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(signedMsg))
	f.Add([]byte("Content-Type: multipart/x; boundary=\"\"\r\n\r\n--\r\n"))
	f.Add([]byte("\n\n--b"))
	f.Fuzz(func(t *testing.T, data []byte) {
		root := Parse(data, Options{Unwrap: func(p *Part) []byte {
			if p.MediaType == "application/pkcs7-mime" {
				return p.Body
			}
			return nil
		}})
		root.Walk(func(p *Part) bool {
			if len(p.Raw) > len(data)*2+16 {
				t.Fatalf("part larger than the message")
			}
			p.Decoded(1 << 16)
			return true
		})
	})
}

// Decoded undoes base64 and quoted-printable, passes other bodies through,
// and stops at the limit with ErrTooLarge, whatever the encoding.
func TestDecodedEncodingsAndLimit(t *testing.T) {
	text := strings.Repeat("Công văn số 12/UBND. ", 40)
	cases := map[string]string{
		"":                 text,
		"7bit":             text,
		"8bit":             text,
		"base64":           "Q8O0bmcgdsSDbiBz\r\n" + "4buRIDEyL1VCTkQu\r\nIA==\r\n",
		"quoted-printable": "C=C3=B4ng v=C4=83n s=E1=BB=91=\r\n 12/UBND.=20",
	}
	want := map[string]string{"base64": "Công văn số 12/UBND. ", "quoted-printable": "Công văn số 12/UBND. "}
	for enc, body := range cases {
		w, ok := want[enc]
		if !ok {
			w = text
		}
		p := Parse([]byte("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "+enc+"\r\n\r\n"+body), Options{})
		got, err := p.Decoded(int64(len(w)))
		if err != nil || string(got) != w {
			t.Errorf("%q: %q, %v; want %q", enc, got, err, w)
		}
		short, err := p.Decoded(int64(len(w) - 1))
		if err != ErrTooLarge || string(short) != w[:len(w)-1] {
			t.Errorf("%q one byte under the limit: %q, %v", enc, short, err)
		}
	}
}

// A body without encoding is returned without a copy: appending to it
// must not write over what follows it in the message.
func TestDecodedSharesNothingWritable(t *testing.T) {
	raw := []byte("Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n" +
		"noi dung\r\n--b\r\nContent-Type: text/plain\r\n\r\nphan hai\r\n--b--\r\n")
	before := string(raw)
	p := Parse(raw, Options{})
	got, err := p.Children[0].Decoded(1 << 10)
	if err != nil || string(got) != "noi dung" {
		t.Fatalf("%q, %v", got, err)
	}
	_ = append(got, "XXXXXXXXXXXX"...)
	if string(raw) != before {
		t.Errorf("an append to the decoded body wrote into the message:\n%s", raw)
	}
}
