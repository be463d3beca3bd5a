package autoreply

import (
	"net/textproto"
	"testing"
)

func TestSkip(t *testing.T) {
	person := "anv.skhcn@khanhhoa.gov.vn"
	for _, tc := range []struct {
		sender string
		header map[string]string
		skip   bool
	}{
		{person, nil, false},
		{"", nil, true},
		{"MAILER-DAEMON@bocongan.gov.vn", nil, true},
		{"owner-tinhuy@lists.gov.vn", nil, true},
		{"thongbao-request@lists.gov.vn", nil, true},
		{"no-reply@dichvucong.gov.vn", nil, true},
		{person, map[string]string{"Auto-Submitted": "no"}, false},
		{person, map[string]string{"Auto-Submitted": "No (a person wrote it)"}, false},
		{person, map[string]string{"Auto-Submitted": "auto-replied"}, true},
		{person, map[string]string{"Auto-Submitted": "auto-generated; owner-email=x@y.vn"}, true},
		{person, map[string]string{"Precedence": "Bulk"}, true},
		{person, map[string]string{"Precedence": "first-class"}, false},
		{person, map[string]string{"List-Id": "<tinhuy.lists.gov.vn>"}, true},
		{person, map[string]string{"List-Unsubscribe": "<mailto:x@y.vn>"}, true},
		{person, map[string]string{"X-Auto-Response-Suppress": "OOF, AutoReply"}, true},
		{person, map[string]string{"X-Auto-Response-Suppress": "DR"}, false},
	} {
		h := textproto.MIMEHeader{}
		for k, v := range tc.header {
			h.Set(k, v)
		}
		if got := Skip(tc.sender, h); (got != "") != tc.skip {
			t.Errorf("Skip(%q, %v) = %q, want skip=%v", tc.sender, tc.header, got, tc.skip)
		}
	}
}
