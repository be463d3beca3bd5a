package imapd

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func threadMsg(id, date, from, to, subject, refs string) string {
	m := "Message-ID: <" + id + ">\r\nDate: " + date + "\r\nFrom: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\n"
	if refs != "" {
		m += "References: " + refs + "\r\nIn-Reply-To: " + refs[strings.LastIndex(refs, "<"):] + "\r\n"
	}
	return m + "\r\nnội dung\r\n"
}

// RFC 5256 §2.1 base subjects.
func TestBaseSubject(t *testing.T) {
	for in, want := range map[string]string{
		"Re: Báo cáo":                 "báo cáo",
		"RE: re: FWD: Báo  cáo (fwd)": "báo cáo",
		"[Sở KHCN] Re: Báo cáo":       "báo cáo",
		"Fw[x]: Báo cáo":              "báo cáo",
		"[fwd: Re: Báo cáo]":          "báo cáo",
		"[Chỉ blob]":                  "[chỉ blob]",
		"Re:":                         "",
		"Giấy mời":                    "giấy mời",
	} {
		if got, _ := baseSubject(in); got != want {
			t.Errorf("baseSubject(%q) = %q, want %q", in, got, want)
		}
	}
	if _, reply := baseSubject("Re: x"); !reply {
		t.Error("Re: not a reply")
	}
}

func FuzzBaseSubject(f *testing.F) {
	for _, s := range []string{"Re: [a] Fwd: x (fwd)", "[fwd: [fwd: ]]", "re re: [", "["} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		b, _ := baseSubject(s)
		if again, _ := baseSubject(b); again != b {
			t.Fatalf("base subject of %q is %q, whose base is %q", s, b, again)
		}
	})
}

// RFC 5256 §3 SORT (with RFC 5957 DISPLAYFROM and RFC 5267 ESORT) and
// THREAD, over the wire.
func TestSortThread(t *testing.T) {
	e := newEnv(t)
	msgs := []string{
		// 1
		threadMsg("a@x", "Mon, 02 Jun 2025 08:00:00 +0700", `"Trần Bình" <binh@x.vn>`, "an@x.vn", "Kế hoạch", ""),
		// 2: reply to 1
		threadMsg("b@x", "Mon, 02 Jun 2025 09:00:00 +0700", "an@x.vn", "binh@x.vn", "Re: Kế hoạch", "<a@x>"),
		// 3: unrelated, earliest
		threadMsg("c@x", "Sun, 01 Jun 2025 08:00:00 +0700", "cuong@x.vn", "an@x.vn", "Giấy mời", ""),
		// 4: reply to 2, references 1 and 2
		threadMsg("d@x", "Mon, 02 Jun 2025 10:00:00 +0700", "binh@x.vn", "an@x.vn", "Re: Re: Kế hoạch", "<a@x> <b@x>"),
		// 5: another reply to 1
		threadMsg("e@x", "Tue, 03 Jun 2025 08:00:00 +0700", `"Ánh" <anh@x.vn>`, "an@x.vn", "Re: Kế hoạch", "<a@x>"),
		// 6: same subject as 3, no references
		threadMsg("f@x", "Wed, 04 Jun 2025 08:00:00 +0700", "dung@x.vn", "an@x.vn", "Re: Giấy mời", ""),
	}
	for _, m := range msgs {
		e.deliver(userAddr, m)
	}
	r := e.loggedIn(t)
	r.cmd("a0", "SELECT INBOX")
	for _, tc := range []struct{ cmd, want string }{
		{"SORT (DATE) UTF-8 ALL", "* SORT 3 1 2 4 5 6"},
		{"SORT (REVERSE DATE) UTF-8 ALL", "* SORT 6 5 4 2 1 3"},
		{"SORT (SUBJECT DATE) UTF-8 ALL", "* SORT 3 6 1 2 4 5"},
		{"SORT (FROM) UTF-8 ALL", "* SORT 2 5 1 4 3 6"},
		{"SORT (DISPLAYFROM) UTF-8 ALL", "* SORT 2 5 4 3 6 1"}, // "Ánh" sorts as "anh" (RFC 5051)
		{`SORT (ARRIVAL) UTF-8 SUBJECT "giấy"`, "* SORT 3 6"},
		{"SORT (ARRIVAL) UTF-8 SUBJECT giấy", "* SORT 3 6"}, // raw UTF-8 atom, as some clients send
		{"UID SORT (REVERSE SUBJECT REVERSE DATE) UTF-8 ALL", "* SORT 5 4 2 1 6 3"},
		{"SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL", `* ESEARCH (TAG "t") MIN 1 MAX 6 ALL 3,1:2,4:6 COUNT 6`},
		{"THREAD ORDEREDSUBJECT UTF-8 ALL", "* THREAD (3 6)(1 (2)(4)(5))"},
		{"THREAD REFERENCES UTF-8 ALL", "* THREAD (3 6)(1 (2 4)(5))"},
		{"UID THREAD REFERENCES UTF-8 SENTSINCE 2-Jun-2025", "* THREAD (1 (2 4)(5))(6)"},
	} {
		un, done := r.cmd("t", tc.cmd)
		if !strings.HasPrefix(done, "t OK") || len(un) != 1 || un[0] != tc.want {
			t.Errorf("%s:\n got %q %q\nwant %q", tc.cmd, un, done, tc.want)
		}
	}
	if _, done := r.cmd("t", "THREAD FOO UTF-8 ALL"); !strings.HasPrefix(done, "t BAD") {
		t.Errorf("unknown algorithm: %q", done)
	}
	if _, done := r.cmd("t", "SORT (DATE) KOI8-R ALL"); !strings.HasPrefix(done, "t NO [BADCHARSET") {
		t.Errorf("unknown charset: %q", done)
	}
	_ = fmt.Sprint
}
