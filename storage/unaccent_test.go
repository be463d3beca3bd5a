package storage

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestUnaccent(t *testing.T) {
	for in, want := range map[string]string{
		"Nguyễn Văn Ân":            "nguyen van an",
		"ĐẶNG THÙY TRÂM":           "dang thuy tram",
		"Công văn số 12/UBND-VP":   "cong van so 12/ubnd-vp",
		"Nguye\u0302\u0303n (NFD)": "nguyen (nfd)",
	} {
		if got := Unaccent(in); got != want {
			t.Errorf("Unaccent(%q) = %q, want %q", in, got, want)
		}
	}
	if HasAccents("nguyen van an") || !HasAccents("nguyễn") {
		t.Error("HasAccents")
	}
}

// TestUnaccentedFilterNoFalseNegative: every accent-free substring of the
// text passes the filter and is found by ContainsUnaccented; a version 1
// filter never excludes an accent-free query.
func TestUnaccentedFilterNoFalseNegative(t *testing.T) {
	msgs := readTestMessages(t)
	msgs["long"] = []byte(testMsg("Báo cáo", strings.Repeat("Ủy ban nhân dân tỉnh Khánh Hòa đề nghị các sở, ngành báo cáo tình hình. ", 300)))
	rng := rand.New(rand.NewPCG(3, 4))
	for name, raw := range msgs {
		f := buildTextFilter(bytes.NewReader(raw), nil)
		for _, s := range visited(t, raw) {
			u := Unaccent(s)
			for range 30 {
				if len(u) < 3 {
					break
				}
				i := rng.IntN(len(u) - 2)
				sub := u[i:min(len(u), i+3+rng.IntN(20))]
				if !ContainsUnaccented(raw, sub, true) {
					t.Fatalf("%s: ContainsUnaccented misses %q", name, sub)
				}
				q := newTextQuery([]string{sub})
				q.unaccented = true
				if !q.mayMatch(f) {
					t.Fatalf("%s: filter excludes accent-free %q", name, sub)
				}
				if f != nil {
					old := append([]byte{1}, f[1:]...)
					if !q.mayMatch(old) {
						t.Fatalf("%s: a version 1 filter excluded an accent-free query", name)
					}
				}
			}
		}
	}
}

func TestTextExcludedUnaccented(t *testing.T) {
	s, _ := newStore(t)
	mb := mailboxOf(t, s, testUser)
	ctx := context.Background()
	var uids []uint32
	for i := range 30 {
		body := fmt.Sprintf("Công văn số %d về việc triển khai thư điện tử.", i)
		if i == 11 {
			body += " Người ký: Phó Chủ tịch Nguyễn Thị Hường."
		}
		uids = append(uids, appendMsg(t, mb, Inbox, testMsg(fmt.Sprintf("cv%d", i), body)).UID)
	}
	ex, err := mb.(UnaccentedTextFilter).TextExcludedUnaccented(ctx, Inbox, []string{Unaccent("nguyen thi huong")})
	if err != nil {
		t.Fatal(err)
	}
	if ex[uids[11]] || len(ex) < 25 {
		t.Fatalf("excluded %d of 30, the match excluded: %v", len(ex), ex[uids[11]])
	}
}
