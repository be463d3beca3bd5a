package storage

import (
	"context"
	"fmt"
	"testing"
)

// TestListingCacheFollowsChanges: a cached listing is never served after
// the folder changed, whether the change came through this store or
// another process sharing the directory.
func TestListingCacheFollowsChanges(t *testing.T) {
	s, dir := newStore(t)
	other := openStore(t, dir) // a second process on the same store
	ctx := context.Background()
	mb, theirs := mailboxOf(t, s, testUser), mailboxOf(t, other, testUser)
	appendMsg(t, mb, Inbox, testMsg("a", "x"))
	list := func() []MessageInfo {
		t.Helper()
		msgs, err := mb.Messages(ctx, Inbox)
		if err != nil {
			t.Fatal(err)
		}
		return msgs
	}
	if first, again := list(), list(); len(first) != 1 || &first[0] != &again[0] {
		t.Fatalf("unchanged folder listed again instead of cached: %d", len(first))
	}
	appendMsg(t, theirs, Inbox, testMsg("b", "y"))
	if got := list(); len(got) != 2 {
		t.Fatalf("after another process appended: %d messages", len(got))
	}
	uid := list()[0].UID
	if _, _, err := theirs.SetFlags(ctx, Inbox, []uint32{uid}, FlagsAdd, []string{`\Flagged`}, 0); err != nil {
		t.Fatal(err)
	}
	if got := list(); len(got[0].Flags) != 1 || got[0].Flags[0] != `\Flagged` {
		t.Fatalf("after another process flagged UID %d: %q", uid, got[0].Flags)
	}
	theirs.SetFlags(ctx, Inbox, []uint32{uid}, FlagsAdd, []string{`\Deleted`}, 0)
	theirs.Expunge(ctx, Inbox, nil)
	if got := list(); len(got) != 1 || got[0].UID == uid {
		t.Fatalf("after another process expunged UID %d: %+v", uid, got)
	}
	if err := mb.Rename(ctx, "Archive", "Archive 2025"); err != nil {
		t.Fatal(err)
	}
	appendMsg(t, mb, "Archive 2025", testMsg("c", "z"))
	if err := mb.Create(ctx, "Archive"); err != nil {
		t.Fatal(err)
	}
	if got, err := mb.Messages(ctx, "Archive"); err != nil || len(got) != 0 {
		t.Fatalf("new folder under an old name: %d messages, %v", len(got), err)
	}
}

func TestListCacheBound(t *testing.T) {
	c := newListCache(10000)
	msgs := make([]MessageInfo, 10) // about 640 bytes each
	for i := range 100 {
		c.put(listKey{"u", int64(i)}, listStamp{modseq: 1}, msgs)
	}
	if c.size > 10000 || c.get(listKey{"u", 99}, listStamp{modseq: 1}) == nil || c.get(listKey{"u", 0}, listStamp{modseq: 1}) != nil {
		t.Fatalf("size %d, %d entries", c.size, len(c.items))
	}
	if c.get(listKey{"u", 99}, listStamp{modseq: 2}) != nil {
		t.Error("listing served for another stamp")
	}
	c.purgeUser("u")
	if len(c.items) != 0 || c.size != 0 {
		t.Errorf("after purge: %d entries, size %d", len(c.items), c.size)
	}
}

// TestOpenIndexesBounded: delivering to many users keeps at most about
// maxOpen indexes open; a closed one reopens with its mail.
func TestOpenIndexesBounded(t *testing.T) {
	s, _ := newStore(t)
	s.maxOpen = 8
	for i := range 40 {
		user := fmt.Sprintf("u%d@angiang.gov.vn", i)
		if res := deliver(t, s, testMsg("m", "x"), Recipient{User: user}); res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
		s.mu.Lock()
		open := len(s.users)
		s.mu.Unlock()
		if open > s.maxOpen+s.maxOpen/8 {
			t.Fatalf("after %d users, %d indexes open", i+1, open)
		}
	}
	if got := uidsOf(t, mailboxOf(t, s, "u0@angiang.gov.vn"), Inbox); len(got) != 1 {
		t.Errorf("first user's INBOX after its index was closed: %v", got)
	}
}

// TestListingCacheKeptOnFlagChange: a flag change in this process updates
// the cached listing (a copy: callers' slices stay as they were) instead
// of dropping it, so the next listing is not read from the index again.
func TestListingCacheKeptOnFlagChange(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	mb := mailboxOf(t, s, testUser)
	for i := range 3 {
		appendMsg(t, mb, Inbox, testMsg(fmt.Sprint(i), "x"))
	}
	before, _ := mb.Messages(ctx, Inbox)
	if _, _, err := mb.SetFlags(ctx, Inbox, []uint32{before[1].UID}, FlagsAdd, []string{`\Seen`}, 0); err != nil {
		t.Fatal(err)
	}
	u, err := s.acquire(ctx, mb.(*mailbox).key, mb.(*mailbox).domain, mb.(*mailbox).local)
	if err != nil {
		t.Fatal(err)
	}
	f, err := getFolder(ctx, u.db, Inbox)
	s.release(u)
	if err != nil {
		t.Fatal(err)
	}
	cached := s.lists.get(listKey{mb.(*mailbox).key, f.id}, stampOf(f))
	if cached == nil {
		t.Fatal("the listing was dropped by a flag change")
	}
	if len(cached[1].Flags) != 1 || cached[1].Flags[0] != `\Seen` || len(before[1].Flags) != 0 {
		t.Errorf("cached %q, caller's copy %q", cached[1].Flags, before[1].Flags)
	}
	after, _ := mb.Messages(ctx, Inbox)
	if &after[0] != &cached[0] {
		t.Error("Messages did not use the updated listing")
	}
}
