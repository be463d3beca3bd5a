package mail

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMailSearch(t *testing.T) {
	e := newMailEnv(t)
	msg := func(from, subject, body, date string) string {
		return fmt.Sprintf("\nFrom: %s\nTo: %s\nSubject: %s\nDate: %s\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n%s\n",
			from, anAddr, subject, date, body)
	}
	var uids []uint32
	for i := range 60 {
		uids = append(uids, e.appendMsg(anAddr, "INBOX", msg("Văn thư <vanthu.skhcn@khanhhoa.gov.vn>", fmt.Sprintf("Công văn số %d", i),
			"Kính gửi các phòng ban về việc triển khai thư điện tử.", "Mon, 02 Mar 2026 09:15:04 +0700")))
	}
	at := func(folder, raw, day string) uint32 {
		t.Helper()
		d, _ := time.Parse(time.RFC3339, day+"T10:00:00+07:00")
		res, err := e.mailbox(anAddr).Append(t.Context(), folder, strings.NewReader(crlf(raw)), nil, d)
		if err != nil {
			t.Fatal(err)
		}
		return res.UID
	}
	old := at("INBOX", msg("=?UTF-8?Q?Nguy=E1=BB=85n_Th=E1=BB=8B_H=C6=B0=E1=BB=9Dng?= <huongnt.stc@khanhhoa.gov.vn>",
		"=?UTF-8?Q?Quy=E1=BA=BFt_to=C3=A1n_ng=C3=A2n_s=C3=A1ch?=", "Đề nghị Sở quyết toán kinh phí đào tạo năm 2025.", "Tue, 06 Jan 2026 10:00:00 +0700"), "2026-01-06")
	archived := at("Archive", msg("Đặng Thùy Trâm <tramdt.nhatrang@khanhhoa.gov.vn>", "Biên bản họp phường",
		"Biên bản cuộc họp ngày 5/1 về đô thị.", "Mon, 05 Jan 2026 08:00:00 +0700"), "2026-01-05")
	b := e.Browser()
	expect(t, b.Login(anAddr, secretPW), 200)
	find := func(query url.Values) []string {
		t.Helper()
		r := b.Get("/mail/search?" + query.Encode())
		expect(t, r, 200, "Kết quả tìm kiếm")
		return rowUIDs(r.Body)
	}
	one := func(uid uint32) []string { return []string{fmt.Sprint(uid)} }
	for _, c := range []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"sender without marks", url.Values{"q": {"nguyen thi huong"}}, one(old)},
		{"sender field, capitals", url.Values{"from": {"NGUYỄN THỊ HƯỜNG"}}, one(old)},
		{"marks must match when typed", url.Values{"q": {"nguyễn thị hương"}}, nil},
		{"text without marks", url.Values{"body": {"quyet toan kinh phi"}}, one(old)},
		{"subject without marks", url.Values{"subject": {"ngan sach"}}, one(old)},
		{"address", url.Values{"q": {"huongnt.stc"}}, one(old)},
		{"another folder is not searched", url.Values{"q": {"bien ban"}}, nil},
		{"all folders", url.Values{"q": {"bien ban hop"}, "scope": {"all"}}, one(archived)},
		{"đ typed as d", url.Values{"q": {"dang thuy tram"}, "scope": {"all"}}, one(archived)},
		{"dates", url.Values{"from": {"vanthu"}, "since": {"2026-01-01"}, "until": {"2026-01-31"}}, nil},
		{"dates, all folders", url.Values{"since": {"2026-01-05"}, "until": {"2026-01-05"}, "scope": {"all"}}, one(archived)},
	} {
		if got := find(c.query); !slices.Equal(got, c.want) {
			t.Errorf("%s (%v): got %v, want %v", c.name, c.query, got, c.want)
		}
	}
	// Many matches: newest first, 50 a page.
	got := find(url.Values{"q": {"cong van"}})
	if len(got) != 50 || got[0] != fmt.Sprint(uids[59]) {
		t.Errorf("first page of 60 matches: %d rows, first %v", len(got), got[:min(1, len(got))])
	}
	r := b.Get("/mail/search?" + url.Values{"q": {"cong van"}, "page": {"2"}}.Encode())
	if rows := rowUIDs(r.Body); len(rows) != 10 || rows[9] != fmt.Sprint(uids[0]) {
		t.Errorf("second page: %v", rows)
	}
	expect(t, b.Get("/mail/search?since=2026-13-40"), 400, "Ngày không hợp lệ")
	expect(t, b.Get("/mail?folder=INBOX"), 200, `action="/mail/search"`, "Tìm nâng cao")
}
