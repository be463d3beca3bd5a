package storage

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
)

func TestEnvelopeAddresses(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []imap.Address
	}{
		{`"Nguyễn Văn An" <an.nguyen@sokhcn.gov.vn>`, []imap.Address{{Name: "Nguyễn Văn An", Mailbox: "an.nguyen", Host: "sokhcn.gov.vn"}}},
		// RFC 5322 §A.1.3: a comment gives the name when there is no phrase.
		{`an.nguyen@sokhcn.gov.vn (=?utf-8?q?Nguy=E1=BB=85n_An?=)`, []imap.Address{{Name: "Nguyễn An", Mailbox: "an.nguyen", Host: "sokhcn.gov.vn"}}},
		// RFC 5322 §A.1.3 group syntax; RFC 9051 §7.5.2 markers.
		{`Phòng TH: a@x.vn, "B" <b@x.vn>; c@y.vn`, []imap.Address{
			{Mailbox: "Phòng TH"}, {Mailbox: "a", Host: "x.vn"}, {Name: "B", Mailbox: "b", Host: "x.vn"}, {},
			{Mailbox: "c", Host: "y.vn"}}},
		{`undisclosed-recipients:;`, []imap.Address{{Mailbox: "undisclosed-recipients"}, {}}},
		{`Pete(A nice \) chap) <pete(his account)@silly.test(his host)>`, []imap.Address{{Name: "Pete", Mailbox: "pete", Host: "silly.test"}}},
		{`<@route.vn:x@y.vn>, z`, []imap.Address{{Mailbox: "x", Host: "y.vn"}, {Mailbox: "z", Host: missingDomain}}},
		{`=?windows-1258?q?Tr=E2n?= <t@x.vn>`, []imap.Address{{Name: "Trân", Mailbox: "t", Host: "x.vn"}}},
	} {
		got := envelopeAddresses(tc.in)
		if len(got) != len(tc.want) {
			t.Errorf("%q: got %+v, want %+v", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%q [%d]: got %+v, want %+v", tc.in, i, got[i], tc.want[i])
			}
		}
	}
	env := envelopeOf([]byte("From: an@x.vn (Nguyễn An)\r\nTo: Ban: a@x.vn;\r\nSubject: =?utf-8?q?Th=C6=B0?=\r\n\r\n"))
	if env.Subject != "Thư" || len(env.To) != 3 || env.To[0].Mailbox != "Ban" || env.From[0].Name != "Nguyễn An" {
		t.Errorf("envelope %+v", env)
	}
	if s := AddressSearchText(`an.nguyen@sokhcn.gov.vn (=?utf-8?q?Nguy=E1=BB=85n_An?=)`); !strings.Contains(s, "Nguyễn An") ||
		!strings.Contains(s, "an.nguyen@sokhcn.gov.vn") {
		t.Errorf("search text %q", s)
	}
}

// FuzzAddressList: any field value parses without panicking, in bounded
// output, and group markers are balanced.
func FuzzAddressList(f *testing.F) {
	for _, s := range []string{`"A" <a@b>`, `g: a@b, c@d;`, `(((x)))a@b`, `<@r:a@b>`, `a..b@[1.2.3.4]`, `x:y:z;;`, "\x00(\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		addrs := parseAddressList(s)
		if len(addrs) > maxAddresses+1 {
			t.Fatalf("%d addresses", len(addrs))
		}
		open := false
		for _, a := range addrs {
			if a.group {
				if a.name != "" {
					if open {
						t.Fatalf("nested group in %q: %+v", s, addrs)
					}
					open = true
				} else {
					if !open {
						t.Fatalf("group end without start in %q: %+v", s, addrs)
					}
					open = false
				}
			}
		}
		if open {
			t.Fatalf("unclosed group in %q", s)
		}
		if utf8.ValidString(s) {
			_ = AddressSearchText(s)
		}
	})
}
