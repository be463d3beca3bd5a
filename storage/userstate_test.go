package storage

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestQuotaFollowsEveryWrite: the usage Quota reports (cached between
// writes) is the committed one after a delivery, an APPEND, an EXPUNGE
// and a failed append.
func TestQuotaFollowsEveryWrite(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	mb := mailboxOf(t, s, testUser)
	want := int64(0)
	check := func(what string) {
		t.Helper()
		used, _, err := mb.Quota(ctx)
		if err != nil || used != want {
			t.Fatalf("after %s: used %d (%v), want %d", what, used, err, want)
		}
	}
	check("opening")
	msg := testMsg("a", "báo cáo tuần")
	deliver(t, s, msg, Recipient{User: testUser})
	want += int64(len(msg))
	check("a delivery")
	check("a delivery, asked again")
	uid := appendMsg(t, mb, Inbox, msg, `\Seen`).UID
	want += int64(len(msg))
	check("an APPEND with flags")
	if _, err := mb.Append(ctx, "Không có", strings.NewReader(msg), nil, time.Time{}); err == nil {
		t.Fatal("append to a missing folder worked")
	}
	check("a failed APPEND")
	if _, _, err := mb.SetFlags(ctx, Inbox, []uint32{uid}, FlagsAdd, []string{`\Deleted`}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Expunge(ctx, Inbox, nil); err != nil {
		t.Fatal(err)
	}
	want -= int64(len(msg))
	check("an EXPUNGE")
}

// A query that read the usage before a commit must not store it after.
func TestUsedCacheIgnoresARacedQuery(t *testing.T) {
	var c usedCache
	now := time.Now()
	if _, _, ok := c.get(now); ok {
		t.Fatal("an empty cache knows a value")
	}
	_, gen, _ := c.get(now)
	c.committed(-1) // a write committed while the query ran
	c.put(gen, 100, now)
	if _, _, ok := c.get(now); ok {
		t.Fatal("the raced query's value was kept")
	}
	c.committed(250)
	if b, _, ok := c.get(time.Now()); !ok || b != 250 {
		t.Fatalf("after a commit that knows its value: %d %v", b, ok)
	}
	if _, _, ok := c.get(time.Now().Add(usedCacheTTL)); ok {
		t.Fatal("a value older than the TTL is trusted")
	}
}

// Deliveries fsync each folder directory through one descriptor kept
// while the index is open; deleting the folder closes it, and a folder
// made again under the same name gets its own.
func TestFolderDirectoriesStayOpenUntilDeleted(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	mb := mailboxOf(t, s, testUser)
	if err := mb.Create(ctx, "Dự án"); err != nil {
		t.Fatal(err)
	}
	appendMsg(t, mb, "Dự án", testMsg("a", "một"))
	appendMsg(t, mb, "Dự án", testMsg("b", "hai"))
	u, err := s.acquire(ctx, testUser, "angiang.gov.vn", "nva")
	if err != nil {
		t.Fatal(err)
	}
	defer s.release(u)
	open := func() int {
		u.dirsMu.Lock()
		defer u.dirsMu.Unlock()
		return len(u.dirs)
	}
	if n := open(); n != 1 {
		t.Fatalf("%d folder directories open after two appends to one folder", n)
	}
	if err := mb.Delete(ctx, "Dự án"); err != nil {
		t.Fatal(err)
	}
	if n := open(); n != 0 {
		t.Fatalf("%d folder directories open after deleting the folder", n)
	}
	if err := mb.Create(ctx, "Dự án"); err != nil {
		t.Fatal(err)
	}
	if res := appendMsg(t, mb, "Dự án", testMsg("c", "ba")); res.UID != 1 {
		t.Fatalf("append to the new folder: %+v", res)
	}
	if n := open(); n != 1 {
		t.Fatalf("%d folder directories open after appending to the new folder", n)
	}
	checkClean(t, s)
}
