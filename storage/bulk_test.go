package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"congvu/internal/mailerr"
)

func newMessages(n int, size int) []NewMessage {
	msgs := make([]NewMessage, n)
	base := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := range msgs {
		body := testMsg(fmt.Sprintf("bulk-%d", i), strings.Repeat("x", size))
		flags := []string(nil)
		if i%2 == 0 {
			flags = []string{`\seen`}
		}
		msgs[i] = NewMessage{
			Open:  func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil },
			Flags: flags,
			Date:  base.Add(time.Duration(i) * time.Minute),
		}
	}
	return msgs
}

// TestAppendManyKeepsOrder stores messages spooled in parallel with UIDs,
// flags and dates in input order, and leaves nothing in the spool.
func TestAppendManyKeepsOrder(t *testing.T) {
	s, _ := newStore(t)
	mb := mailboxOf(t, s, testUser)
	ctx := context.Background()
	appendMsg(t, mb, Inbox, testMsg("before", "x"))
	msgs := newMessages(700, 100) // several group-commit batches
	n, err := mb.(BulkAppender).AppendMany(ctx, Inbox, msgs, 8)
	if err != nil || n != len(msgs) {
		t.Fatalf("AppendMany: %d, %v", n, err)
	}
	infos, err := mb.Messages(ctx, Inbox)
	if err != nil || len(infos) != len(msgs)+1 {
		t.Fatalf("%d messages, %v", len(infos), err)
	}
	for i, info := range infos[1:] {
		raw := readMsg(t, mb, Inbox, info.UID)
		if !strings.Contains(string(raw), fmt.Sprintf("Subject: bulk-%d\r\n", i)) {
			t.Fatalf("UID %d holds %.60q, want message %d", info.UID, raw, i)
		}
		if seen := len(info.Flags) == 1 && info.Flags[0] == `\Seen`; seen != (i%2 == 0) {
			t.Errorf("message %d flags %q", i, info.Flags)
		}
		if !info.InternalDate.Equal(msgs[i].Date) {
			t.Errorf("message %d date %v, want %v", i, info.InternalDate, msgs[i].Date)
		}
	}
	if st := status(t, mb, Inbox); st.Messages != uint32(len(msgs)+1) || st.Unseen != uint32(len(msgs)/2+1) {
		t.Errorf("status %+v", st)
	}
	if left, _ := os.ReadDir(s.spool); len(left) != 0 {
		t.Errorf("%d files left in the spool", len(left))
	}
	checkClean(t, s)
}

// TestAppendManyStopsAtQuota counts only what was stored and reports the
// quota error.
func TestAppendManyStopsAtQuota(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	msgs := newMessages(50, 1000)
	probe, _ := msgs[0].Open()
	one, _ := io.ReadAll(probe)
	limit := int64(len(one))*10 + 10
	mb, err := s.Mailbox(ctx, testUser, limit)
	if err != nil {
		t.Fatal(err)
	}
	n, err := mb.(BulkAppender).AppendMany(ctx, Inbox, msgs, 4)
	wantErr(t, err, mailerr.ErrOverQuota)
	if got := len(uidsOf(t, mb, Inbox)); got != n || n != 10 {
		t.Errorf("stored %d, INBOX has %d, want 10", n, got)
	}
	if left, _ := os.ReadDir(s.spool); len(left) != 0 {
		t.Errorf("%d files left in the spool", len(left))
	}
	checkClean(t, s)
}

func TestAppendManyOpenError(t *testing.T) {
	s, _ := newStore(t)
	mb := mailboxOf(t, s, testUser)
	msgs := newMessages(20, 10)
	missing := filepath.Join(t.TempDir(), "gone")
	msgs[5].Open = func() (io.ReadCloser, error) { return os.Open(missing) }
	n, err := mb.(BulkAppender).AppendMany(context.Background(), Inbox, msgs, 4)
	if !errors.Is(err, os.ErrNotExist) || n != 5 {
		t.Fatalf("AppendMany: %d, %v; want 5 stored and the open error", n, err)
	}
	if _, err := mb.(BulkAppender).AppendMany(context.Background(), "Nowhere", msgs[:1], 1); !errors.Is(err, mailerr.ErrNoSuchFolder) {
		t.Errorf("unknown folder: %v", err)
	}
	checkClean(t, s)
}
