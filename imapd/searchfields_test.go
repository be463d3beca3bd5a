package imapd

import (
	"testing"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

	"congvu/internal/bufsize"
)

// TestSelectedFieldsParseAsTheWholeHeader checks that parsing only a
// field's lines gives the same values, raw and decoded, in the same order,
// as parsing the whole header block.
func TestSelectedFieldsParseAsTheWholeHeader(t *testing.T) {
	headers := []string{
		"Subject: Kế hoạch\r\nFrom: a@b.example\r\n\r\n",
		"From: \"Nguyen\" <a@b.example>\r\nSubject: =?UTF-8?B?S+G6vyBob+G6oWNo?=\r\n =?UTF-8?Q?_c=E1=BA=A3i_c=C3=A1ch?=\r\nTo: c@d.example,\r\n\te@f.example\r\n\r\n",
		"subject: lower\r\nSUBJECT: upper\r\nX-Subject: not this\r\nSubjects: nor this\r\n\r\n",
		"Subject : obsolete space\r\nTo: x@y.example\r\n\r\n",
		"To: x@y.example\nSubject: bare newlines\n\tfolded\n\n",
		"To: x@y.example\r\nSubject: no blank line at the end",
		"To: x@y.example\r\n\r\n",
		"",
	}
	for _, h := range headers {
		whole, _ := textproto.ReadHeader(bufsize.Bytes([]byte(h)))
		for _, key := range []string{"Subject", "subject", "To", "From", "X-Missing"} {
			want := (&gomessage.Header{Header: whole}).FieldsByKey(key)
			part, _ := textproto.ReadHeader(bufsize.Bytes(selectFields([]byte(h), key)))
			got := (&gomessage.Header{Header: part}).FieldsByKey(key)
			for i := 0; ; i++ {
				wn, gn := want.Next(), got.Next()
				if wn != gn {
					t.Errorf("%q, %s: field %d present in whole %v, in selected %v", h, key, i, wn, gn)
					break
				}
				if !wn {
					break
				}
				wt, _ := want.Text()
				gt, _ := got.Text()
				if want.Value() != got.Value() || wt != gt {
					t.Errorf("%q, %s: field %d is %q (%q) whole, %q (%q) selected", h, key, i, want.Value(), wt, got.Value(), gt)
				}
			}
		}
	}
}
