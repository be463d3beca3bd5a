package storage

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
)

// TestTextSlices: once a folder is packed, no message that contains a
// query is excluded (accented or accent-free, small filters tiled and
// large ones folded), most that do not are, new deliveries and copies
// still count, and the rows go with their folder.
func TestTextSlices(t *testing.T) {
	s, dir := newStore(t)
	mb := mailboxOf(t, s, testUser)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	words := strings.Fields("ủy ban nhân dân tỉnh sở nội vụ tài chính kế hoạch đầu tư văn phòng cán bộ công chức triển khai báo cáo đề nghị phối hợp kiểm tra giám sát hướng dẫn quyết định công văn tờ trình giấy mời")
	texts := map[uint32]string{}
	var raws = map[uint32][]byte{}
	for i := range packMin + 100 {
		n := 5 + rng.IntN(40)
		if i%50 == 0 {
			n = 3000 // a large filter, folded
		}
		var b strings.Builder
		for range n {
			b.WriteString(words[rng.IntN(len(words))] + " ")
		}
		fmt.Fprintf(&b, "mã %d-%d", i, rng.IntN(1000))
		raw := testMsg(fmt.Sprintf("cv%d", i), b.String())
		uid := appendMsg(t, mb, Inbox, raw).UID
		texts[uid], raws[uid] = b.String(), []byte(raw)
	}
	tf, uf := mb.(TextFilter), mb.(UnaccentedTextFilter)
	check := func(query string) {
		t.Helper()
		folded, bare := FoldText(query), Unaccent(query)
		ex, err := tf.TextExcluded(ctx, Inbox, []string{folded})
		if err != nil {
			t.Fatal(err)
		}
		exU, err := uf.TextExcludedUnaccented(ctx, Inbox, []string{bare})
		if err != nil {
			t.Fatal(err)
		}
		excluded, matches := 0, 0
		for uid, raw := range raws {
			has, hasU := ContainsText(raw, folded, true), ContainsUnaccented(raw, bare, true)
			if has && ex[uid] || hasU && exU[uid] {
				t.Fatalf("%q: UID %d contains it but was excluded", query, uid)
			}
			if has {
				matches++
			} else if ex[uid] {
				excluded++
			}
		}
		if nonMatching := len(raws) - matches; nonMatching > 20 && excluded < nonMatching/2 {
			t.Errorf("%q: excluded only %d of %d that do not match", query, excluded, nonMatching)
		}
	}
	for i := 0; i < 40; i++ {
		uid := uint32(1 + rng.IntN(len(raws)))
		text := texts[uid]
		j := rng.IntN(len(text) - 12)
		check(text[j : j+8+rng.IntN(4)])
	}
	check("mã 17-")
	check("ma 4")
	var left, sliced int
	db, err := sql.Open("sqlite3", filepath.Join(dir, usersDir, "angiang.gov.vn", "nva", indexFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.QueryRow("SELECT count(*) FROM textidx").Scan(&left)
	db.QueryRow("SELECT count(DISTINCT pack) FROM textslice").Scan(&sliced)
	if left != 0 || sliced != 1 {
		t.Errorf("after packing: %d textidx rows, %d packs", left, sliced)
	}
	// A delivery after packing, and a copy of a packed message.
	var res CopyResult
	late := appendMsg(t, mb, Inbox, testMsg("muộn", "tuyetmat7931 đến sau")).UID
	res, err = mb.Copy(ctx, Inbox, []uint32{1}, Archive)
	if err != nil {
		t.Fatal(err)
	}
	ex, _ := tf.TextExcluded(ctx, Inbox, []string{"tuyetmat7931"})
	if ex[late] {
		t.Error("a message delivered after packing was excluded")
	}
	ex, _ = tf.TextExcluded(ctx, Archive, []string{FoldText(texts[1][:10])})
	if ex[res.DestUIDs[0]] {
		t.Error("the copy of a packed message was excluded")
	}
	// The copy got its filter back: a word it lacks excludes it.
	if ex, _ = tf.TextExcluded(ctx, Archive, []string{"tuyetmat7931"}); !ex[res.DestUIDs[0]] {
		t.Error("the copy of a packed message has no filter")
	}
	// A deleted folder takes its packs along.
	if err := mb.Create(ctx, "Dự án"); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Copy(ctx, Inbox, []uint32{1, 2, 3}, "Dự án"); err != nil {
		t.Fatal(err)
	}
	if err := mb.Delete(ctx, Inbox+"/khong-co"); err == nil {
		t.Fatal("deleted a folder that does not exist")
	}
	checkClean(t, s)
	// Renaming INBOX moves its messages: the packs left behind go at the
	// next search, the moved messages keep filters, and a deleted
	// folder takes its packs along.
	if err := mb.Rename(ctx, Inbox, "Cũ"); err != nil {
		t.Fatal(err)
	}
	tf.TextExcluded(ctx, Inbox, []string{"tuyetmat7931"})
	ex, _ = tf.TextExcluded(ctx, "Cũ", []string{"tuyetmat7931"})
	if len(ex) < packMin {
		t.Errorf("after the move only %d messages are excluded", len(ex))
	}
	if err := mb.Delete(ctx, "Cũ"); err != nil {
		t.Fatal(err)
	}
	db.QueryRow("SELECT count(*) FROM textslice").Scan(&sliced)
	if sliced != 0 {
		t.Errorf("%d slice rows left after deleting the folder", sliced)
	}
	checkClean(t, s)
}
