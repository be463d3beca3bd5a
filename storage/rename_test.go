package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"congvu/internal/mailerr"
)

// A renamed mailbox keeps every folder, message, UID and flag under the
// new name across domains, the old name has no mailbox left, and it
// survives reopening the store; a failed directory update moves it back.
func TestRenameUser(t *testing.T) {
	s, dir := newStore(t)
	ctx := context.Background()
	old, moved := "thanhnn.skhcn@khanhhoa.gov.vn", "thanhnn.snv@ninhhoa.gov.vn"
	deliver(t, s, testMsg("a", "Noi dung 1"), Recipient{User: old})
	deliver(t, s, testMsg("b", "Noi dung 2"), Recipient{User: old, Flags: []string{`\Flagged`}})
	mb := mailboxOf(t, s, old)
	if err := mb.Create(ctx, "Công văn"); err != nil {
		t.Fatal(err)
	}
	appendMsg(t, mb, "Công văn", testMsg("c", "Luu"), `\Seen`)

	failed := errors.New("directory down")
	if err := s.RenameUser(ctx, old, moved, func() error { return failed }); !errors.Is(err, failed) {
		t.Fatalf("failed update: %v", err)
	}
	if msgs, _ := mailboxOf(t, s, old).Messages(ctx, Inbox); len(msgs) != 2 {
		t.Fatalf("after a failed update the old mailbox has %d messages", len(msgs))
	}
	called := false
	if err := s.RenameUser(ctx, old, moved, func() error { called = true; return nil }); err != nil || !called {
		t.Fatalf("RenameUser: %v (update called %v)", err, called)
	}
	if _, err := os.Stat(filepath.Join(dir, usersDir, "khanhhoa.gov.vn", "thanhnn.skhcn")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old mailbox directory still there: %v", err)
	}
	check := func(s *FileStore) {
		t.Helper()
		mb := mailboxOf(t, s, moved)
		msgs, err := mb.Messages(ctx, Inbox)
		if err != nil || len(msgs) != 2 || msgs[0].UID != 1 || msgs[1].UID != 2 || !slices.Contains(msgs[1].Flags, `\Flagged`) {
			t.Fatalf("INBOX after rename: %+v, %v", msgs, err)
		}
		kept, err := mb.Messages(ctx, "Công văn")
		if err != nil || len(kept) != 1 || !slices.Contains(kept[0].Flags, `\Seen`) {
			t.Fatalf("folder after rename: %+v, %v", kept, err)
		}
		if got := string(readMsg(t, mb, Inbox, 1)); got != testMsg("a", "Noi dung 1") {
			t.Errorf("message 1 reads %q", got)
		}
	}
	check(s)
	s.Close()
	check(openStore(t, dir))
}

// A rename onto an existing mailbox is refused; a user without mail yet
// only runs the update; a mailbox in use is refused as temporary.
func TestRenameUserRefusals(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	a, b := "a@khanhhoa.gov.vn", "b@khanhhoa.gov.vn"
	deliver(t, s, testMsg("a", "x"), Recipient{User: a})
	deliver(t, s, testMsg("b", "y"), Recipient{User: b})
	if err := s.RenameUser(ctx, a, b, func() error { return nil }); !errors.Is(err, ErrMailboxExists) {
		t.Errorf("onto an existing mailbox: %v", err)
	}
	called := false
	if err := s.RenameUser(ctx, "moi@khanhhoa.gov.vn", "moi2@khanhhoa.gov.vn", func() error { called = true; return nil }); err != nil || !called {
		t.Errorf("no mailbox yet: %v, update called %v", err, called)
	}
	u, err := s.acquire(ctx, a, "khanhhoa.gov.vn", "a")
	if err != nil {
		t.Fatal(err)
	}
	err = s.RenameUser(ctx, a, "c@khanhhoa.gov.vn", func() error { return nil })
	s.release(u)
	if me := mailerr.As(err); me == nil || !errors.Is(err, mailerr.ErrInUse) || !me.Temporary {
		t.Errorf("in use: %v", err)
	}
}
