package storage

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
)

// visited returns what a TEXT search looks at in raw.
func visited(t *testing.T, raw []byte) []string {
	t.Helper()
	e := readEntity(bytes.NewReader(raw))
	if e == nil {
		return nil
	}
	var out []string
	walkText(e, true, func(s string) bool { out = append(out, s); return false })
	return out
}

// TestTextFilterNoFalseNegative: every substring that ContainsText finds
// passes the message's filter, for the test messages (several charsets,
// encodings, multipart, attachments) and for long Vietnamese text.
func TestTextFilterNoFalseNegative(t *testing.T) {
	msgs := readTestMessages(t)
	long := testMsg("dai", strings.Repeat("Báo cáo tình hình kinh tế xã hội tháng mười hai, Ủy ban nhân dân tỉnh Khánh Hòa. ", 400))
	msgs["long"] = []byte(long)
	rng := rand.New(rand.NewPCG(1, 2))
	for name, raw := range msgs {
		f := buildTextFilter(bytes.NewReader(raw), nil)
		texts := visited(t, raw)
		if f == nil && len(texts) > 0 {
			t.Fatalf("%s: searchable text but no filter", name)
		}
		tried := 0
		for _, s := range texts {
			for range 50 {
				if len(s) < 3 {
					break
				}
				i := rng.IntN(len(s) - 2)
				j := min(len(s), i+3+rng.IntN(20))
				sub := s[i:j]
				if !ContainsText(raw, sub, true) {
					t.Fatalf("%s: ContainsText misses %q, which walkText visited", name, sub)
				}
				if !newTextQuery([]string{sub}).mayMatch(f) {
					t.Fatalf("%s: filter excludes %q, which the message contains", name, sub)
				}
				tried++
			}
		}
		if tried == 0 && f != nil {
			t.Errorf("%s: nothing to try", name)
		}
	}
}

func TestTextFilterExcludes(t *testing.T) {
	raw := []byte(testMsg("giao ban", "Lịch họp giao ban tuần 10 tại phòng họp số 2."))
	f := buildTextFilter(bytes.NewReader(raw), nil)
	for _, word := range []string{"tuyetmat7931", "ngân sách nhà nước", "xylophone"} {
		if newTextQuery([]string{FoldText(word)}).mayMatch(f) {
			t.Errorf("filter lets %q through", word)
		}
	}
	for _, word := range []string{"giao ban", "LỊCH HỌP", "vanthu@angiang"} {
		if !newTextQuery([]string{FoldText(word)}).mayMatch(f) {
			t.Errorf("filter excludes %q", word)
		}
	}
	// Short queries and unknown filters exclude nothing.
	if !newTextQuery([]string{"zz"}).mayMatch(f) || !newTextQuery([]string{"xylophone"}).mayMatch(nil) ||
		!newTextQuery([]string{"xylophone"}).mayMatch([]byte{99, 1, 2}) {
		t.Error("excluded without a usable filter or trigram")
	}
}

// TestTextExcluded: the store excludes messages without the words, keeps
// the one that has them, keeps messages that have no filter, and follows
// COPY and EXPUNGE.
func TestTextExcluded(t *testing.T) {
	s, _ := newStore(t)
	mb := mailboxOf(t, s, testUser)
	ctx := context.Background()
	var uids []uint32
	for i := range 40 {
		body := fmt.Sprintf("Công văn số %d về việc triển khai thư điện tử.", i)
		if i == 17 {
			body += " Mã hồ sơ: tuyetmat7931."
		}
		uids = append(uids, appendMsg(t, mb, Inbox, testMsg(fmt.Sprintf("cv%d", i), body)).UID)
	}
	tf := mb.(TextFilter)
	query := []string{FoldText("TuyetMat7931")}
	ex, err := tf.TextExcluded(ctx, Inbox, query)
	if err != nil {
		t.Fatal(err)
	}
	if ex[uids[17]] || len(ex) < 35 {
		t.Fatalf("excluded %d of 40, the match excluded: %v", len(ex), ex[uids[17]])
	}
	if ex, _ := tf.TextExcluded(ctx, Inbox, []string{"ab"}); len(ex) != 0 {
		t.Errorf("a two-byte query excluded %d messages", len(ex))
	}

	res, err := mb.Copy(ctx, Inbox, []uint32{uids[17], uids[3]}, Archive)
	if err != nil {
		t.Fatal(err)
	}
	ex, _ = tf.TextExcluded(ctx, Archive, query)
	copyOf := map[uint32]uint32{}
	for i, src := range res.SourceUIDs {
		copyOf[src] = res.DestUIDs[i]
	}
	if ex[copyOf[uids[17]]] || !ex[copyOf[uids[3]]] {
		t.Errorf("after COPY: %v (dest %v)", ex, res.DestUIDs)
	}

	mb.SetFlags(ctx, Inbox, uids[:5], FlagsAdd, []string{`\Deleted`}, 0)
	mb.Expunge(ctx, Inbox, nil)
	ex, _ = tf.TextExcluded(ctx, Inbox, query)
	for _, uid := range uids[:5] {
		if ex[uid] {
			t.Errorf("expunged UID %d still has a filter", uid)
		}
	}
	checkClean(t, s)
}

// TestIndexUpgradeToTextFilters opens an index of schema version 1 (no
// text filters): it is upgraded, old messages are never excluded, new ones
// get filters.
func TestIndexUpgradeToTextFilters(t *testing.T) {
	s, dir := newStore(t)
	mb := mailboxOf(t, s, testUser)
	old := appendMsg(t, mb, Inbox, testMsg("cu", "thư cũ không có bộ lọc")).UID
	s.Close()
	db, err := sql.Open("sqlite3", filepath.Join(dir, usersDir, "angiang.gov.vn", "nva", indexFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TABLE textidx", "PRAGMA user_version = 1"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s2 := openStore(t, dir)
	mb2 := mailboxOf(t, s2, testUser)
	fresh := appendMsg(t, mb2, Inbox, testMsg("moi", "thư mới")).UID
	ex, err := mb2.(TextFilter).TextExcluded(context.Background(), Inbox, []string{FoldText("không có bộ lọc")})
	if err != nil {
		t.Fatal(err)
	}
	if ex[old] || !ex[fresh] {
		t.Errorf("excluded %v; old UID %d must not be, new UID %d must be", ex, old, fresh)
	}
}

// The store builds filters with shared buffers: a filter must not depend
// on what the buffers held before (a stale bit would never make a search
// miss, but the filters would differ from message to message of equal
// text; a dropped bit would).
func TestTextFilterSharedBuffersSame(t *testing.T) {
	msgs := readTestMessages(t)
	msgs["10KB"] = msg10KB()
	bufs := newFilterBuffers()
	for round := range 2 {
		for name, raw := range msgs {
			want := buildTextFilter(bytes.NewReader(raw), nil)
			if got := buildTextFilter(bytes.NewReader(raw), bufs); !bytes.Equal(got, want) {
				t.Errorf("round %d, %s: filter with shared buffers differs (%d vs %d bytes)", round, name, len(got), len(want))
			}
		}
	}
}

// referenceTextFilter is the filter as the search side defines it: the
// trigrams of every string walkText visits (FoldText) and of its Unaccent
// form, built from strings. buildTextFilter folds in place (issue 16) and
// must index exactly the same trigrams.
func referenceTextFilter(raw []byte) []byte {
	e := readEntity(bytes.NewReader(raw))
	if e == nil {
		return nil
	}
	var texts []string
	occurrences := 0
	walkText(e, true, func(s string) bool {
		texts = append(texts, s)
		occurrences += max(len(s)-2, 0)
		if u := Unaccent(s); u != s {
			texts = append(texts, u)
			occurrences += max(len(u)-2, 0)
		}
		return false
	})
	size := bloomSize(occurrences)
	bits := make([]byte, size)
	mask := uint32(size*8 - 1)
	for _, s := range texts {
		for i := 0; i+3 <= len(s); i++ {
			for _, bit := range bloomBits(trigramHash(s[i], s[i+1], s[i+2]), mask) {
				bits[bit/8] |= 1 << (bit % 8)
			}
		}
	}
	return bits
}

// TestTextFilterFoldsAsFoldText: the in-place folding of the filter gives
// the bits of FoldText and Unaccent on strings, for ASCII, upper-case
// Vietnamese, decomposed marks (NFC), invalid UTF-8 and the test messages.
func TestTextFilterFoldsAsFoldText(t *testing.T) {
	msgs := readTestMessages(t)
	msgs["10KB"] = msg10KB()
	bodies := map[string]string{
		"ascii":      "Cong Van So 123/UBND-VP ve viec TRIEN KHAI.\r\n",
		"upper":      "ỦY BAN NHÂN DÂN TỈNH KHÁNH HÒA — QUYẾT ĐỊNH số 12/QĐ-UBND\r\n",
		"decomposed": "Nguye\u0302\u0303n Va\u0306n An, Ho\u0300a\r\n",
		"invalid":    "Bá\xffo cáo \xc3 tháng \xe1\xbb Mười\r\n",
		"other":      "Straße ΣΊΣΥΦΟΣ Ǆemal İstanbul ﬁ\r\n",
	}
	for name, body := range bodies {
		msgs[name] = []byte(testMsg("Tiêu Đề "+name, body))
	}
	bufs := newFilterBuffers()
	for name, raw := range msgs {
		want := referenceTextFilter(raw)
		got := buildTextFilter(bytes.NewReader(raw), bufs)
		if len(got) == 0 {
			t.Errorf("%s: no filter", name)
			continue
		}
		// The built filter may be halved: fold the reference the same way.
		for len(want) > len(got)-1 && len(want) > minBloomBytes {
			half := len(want) / 2
			for i := range half {
				want[i] |= want[half+i]
			}
			want = want[:half]
		}
		if !bytes.Equal(got[1:], want) {
			t.Errorf("%s: filter differs from FoldText/Unaccent's (%d vs %d bytes)", name, len(got)-1, len(want))
		}
	}
}

// TestTextFiltersBuiltByFirstSearch: a delivery or an APPEND stores no
// text filter; the first search builds the missing ones (and excludes by
// them), skips what was expunged meanwhile, and moves the folder's mark so
// the next search does not look again; an import builds them at once.
func TestTextFiltersBuiltByFirstSearch(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	mb := mailboxOf(t, s, testUser)
	var uids []uint32
	for i, body := range []string{"kế hoạch chuyển đổi số năm 2026", "giấy mời họp giao ban", "báo cáo tài chính quý ba"} {
		res := deliver(t, s, testMsg(fmt.Sprintf("d%d", i), body), Recipient{User: testUser})
		uids = append(uids, res[0].UID)
	}
	uids = append(uids, appendMsg(t, mb, Inbox, testMsg("a", "công văn đề nghị phối hợp")).UID)
	gone := appendMsg(t, mb, Inbox, testMsg("x", "thư sẽ bị xoá trước khi tìm")).UID
	if _, _, err := mb.SetFlags(ctx, Inbox, []uint32{gone}, FlagsAdd, []string{`\Deleted`}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Expunge(ctx, Inbox, nil); err != nil {
		t.Fatal(err)
	}
	u, err := s.acquire(ctx, testUser, "angiang.gov.vn", "nva")
	if err != nil {
		t.Fatal(err)
	}
	defer s.release(u)
	state := func() (rows int, from, next uint32) {
		t.Helper()
		if err := u.db.QueryRowContext(ctx, "SELECT count(*) FROM textidx").Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if err := u.db.QueryRowContext(ctx, "SELECT text_from_uid, uidnext FROM folders WHERE name = ?", Inbox).Scan(&from, &next); err != nil {
			t.Fatal(err)
		}
		return rows, from, next
	}
	if rows, from, _ := state(); rows != 0 || from != 1 {
		t.Fatalf("after delivery: %d filters, mark %d; want none, 1", rows, from)
	}
	tf := mb.(TextFilter)
	ex, err := tf.TextExcluded(ctx, Inbox, []string{FoldText("giao ban")})
	if err != nil {
		t.Fatal(err)
	}
	if ex[uids[1]] || !ex[uids[0]] || !ex[uids[2]] || !ex[uids[3]] {
		t.Fatalf("first search excluded %v of %v; want all but %d", ex, uids, uids[1])
	}
	if rows, from, next := state(); rows != 4 || from != next {
		t.Fatalf("after the first search: %d filters, mark %d (UIDNEXT %d); want 4, UIDNEXT", rows, from, next)
	}
	late := deliver(t, s, testMsg("d9", "giao ban tuần sau"), Recipient{User: testUser})[0].UID
	ex, err = tf.TextExcluded(ctx, Inbox, []string{FoldText("giao ban")})
	if err != nil {
		t.Fatal(err)
	}
	if ex[late] || ex[uids[1]] || !ex[uids[0]] {
		t.Fatalf("second search excluded %v; %d and %d match", ex, late, uids[1])
	}
	if rows, from, next := state(); rows != 5 || from != next {
		t.Fatalf("after the second search: %d filters, mark %d (UIDNEXT %d)", rows, from, next)
	}

	// An import builds the filters as it stores.
	imported := NewMessage{Open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(testMsg("nhap", "thư nhập từ hệ thống cũ"))), nil
	}}
	n, err := mb.(BulkAppender).AppendMany(ctx, Inbox, []NewMessage{imported}, 1)
	if err != nil || n != 1 {
		t.Fatal(n, err)
	}
	if rows, from, next := state(); rows != 6 || from == next {
		t.Fatalf("after an import: %d filters, mark %d (UIDNEXT %d); want 6 and the mark unmoved", rows, from, next)
	}
}
