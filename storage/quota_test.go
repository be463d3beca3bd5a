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
