package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"congvu/internal/mailerr"
)

// messageFiles lists the message files of every folder of the store: the
// files named by a UID in a directory named by a folder id.
func messageFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		_, e1 := strconv.ParseUint(d.Name(), 10, 32)
		_, e2 := strconv.ParseUint(filepath.Base(filepath.Dir(p)), 10, 64)
		if e1 == nil && e2 == nil {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func inodeOf(t *testing.T, fi os.FileInfo) uint64 {
	t.Helper()
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		t.Skip("no inode numbers on this platform")
	}
	return st.Ino
}

// Concurrent deliveries and APPENDs, some to several users: every message
// in a folder had its data fsynced before it was linked there (a crash
// never leaves a partial file in a folder) and before its delivery was
// answered.
func TestDeliveriesFsyncBeforeLinkAndAnswer(t *testing.T) {
	s, dir := newStore(t)
	var mu sync.Mutex
	synced := map[uint64]bool{} // inode → fsynced
	var linked []string
	s.fileSync = func(f *os.File) error {
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		mu.Lock()
		synced[inodeOf(t, fi)] = true
		// An unlinked spool file has one name, or none when unnamed.
		if fi.Sys().(*syscall.Stat_t).Nlink > unlinkedSpoolLinks(s, f) {
			linked = append(linked, f.Name())
		}
		mu.Unlock()
		return f.Sync()
	}
	users := []string{testUser, "ttb@angiang.gov.vn", "lvc@angiang.gov.vn"}
	const n = 60
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var rcpts []Recipient
			for j, u := range users {
				if j == i%len(users) || i%5 == 0 {
					rcpts = append(rcpts, Recipient{User: u})
				}
			}
			var err error
			var stored []DeliveryResult
			if i%4 == 3 {
				var r DeliveryResult
				r, err = mailboxOf(t, s, rcpts[0].User).Append(context.Background(), Inbox, strings.NewReader(testMsg(fmt.Sprint("a", i), "x")), nil, time.Time{})
				stored = []DeliveryResult{r}
			} else {
				stored, err = s.Deliver(context.Background(), strings.NewReader(testMsg(fmt.Sprint("d", i), "x")), rcpts)
			}
			if err != nil {
				t.Error(err)
				return
			}
			for k, r := range stored {
				if r.Err != nil {
					t.Error(r.Err)
					continue
				}
				// Answered: the file must already be durable.
				u := rcpts[k].User
				mb := mailboxOf(t, s, u)
				p := mb.(*mailbox).pathOf(t, Inbox, r.UID)
				fi, err := os.Stat(p)
				if err != nil {
					t.Error(err)
					continue
				}
				mu.Lock()
				ok := synced[inodeOf(t, fi)]
				mu.Unlock()
				if !ok {
					t.Errorf("%s UID %d answered before its file was fsynced", u, r.UID)
				}
			}
		})
	}
	wg.Wait()
	if len(linked) > 0 {
		t.Errorf("%d files linked into a folder before their fsync, e.g. %s", len(linked), linked[0])
	}
	files := messageFiles(t, dir)
	if len(files) < n {
		t.Fatalf("%d message files for %d deliveries", len(files), n)
	}
	for _, p := range files {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if !synced[inodeOf(t, fi)] {
			t.Errorf("%s was never fsynced", p)
		}
	}
}

// A failed fsync fails the delivery with a temporary error and leaves
// nothing behind: no message in the folder, no file linked.
func TestDeliveryFsyncFailureStoresNothing(t *testing.T) {
	s, dir := newStore(t)
	mailboxOf(t, s, testUser)
	s.fileSync = func(*os.File) error { return errors.New("injected: I/O error") }
	res, err := s.Deliver(context.Background(), strings.NewReader(testMsg("lost", "x")),
		[]Recipient{{User: testUser}, {User: "ttb@angiang.gov.vn"}})
	if err == nil || !mailerr.Classify(err).Temporary {
		t.Errorf("delivery with a failed fsync: %v %+v, want a temporary error", err, res)
	}
	if _, err := mailboxOf(t, s, testUser).Append(context.Background(), Inbox, strings.NewReader(testMsg("lost2", "x")), nil, time.Time{}); err == nil {
		t.Error("APPEND with a failed fsync answered OK")
	}
	if got := len(uidsOf(t, mailboxOf(t, s, testUser), Inbox)); got != 0 {
		t.Errorf("%d messages in INBOX after failed fsyncs", got)
	}
	if files := messageFiles(t, dir); len(files) != 0 {
		t.Errorf("files left linked after failed fsyncs: %v", files)
	}
	checkClean(t, s)
}

// unlinkedSpoolLinks is the link count of spool file f while it is not
// linked into any folder: none for an unnamed file (named after the spool
// directory), its spool name otherwise.
func unlinkedSpoolLinks(s *FileStore, f *os.File) uint64 {
	if f.Name() == s.spool {
		return 0
	}
	return 1
}

// pathOf is the file of message uid in folder.
func (m *mailbox) pathOf(t *testing.T, folder string, uid uint32) string {
	t.Helper()
	var p string
	err := m.with(context.Background(), func(u *userState) error {
		f, err := getFolder(context.Background(), u.db, folder)
		if err != nil {
			return err
		}
		p = u.messagePath(f.id, uid)
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	return p
}

// copyFile copies src to dst (test helper for index snapshots).
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// An append without flags commits without the WAL's fsync
// (writeRecoverable). A machine that then loses those commits (power cut:
// the index goes back to what was last synced) must show, at the next
// open, every message it answered with the same UID, text, size and date,
// count them in the quota, and never show a lower HIGHESTMODSEQ than a
// client saw (RFC 7162 3.1.1).
func TestAppendCommitsLostByTheMachineAreAdopted(t *testing.T) {
	for _, rebuild := range []bool{false, true} {
		t.Run(fmt.Sprintf("rebuild=%v", rebuild), func(t *testing.T) { lostAppendCommits(t, rebuild) })
	}
}

// lostAppendCommits: with rebuild, the operator runs `storage rebuild`
// before the server opens the mailbox again.
func lostAppendCommits(t *testing.T, rebuild bool) {
	s, dir := newStore(t)
	ctx := context.Background()
	for i := range 2 {
		deliver(t, s, testMsg(fmt.Sprint("kept", i), "nội dung đã lưu"), Recipient{User: testUser})
	}
	s.Close()
	// The index as it was on disk before the commits the machine loses.
	index := filepath.Join(userDirOf(dir), indexFile)
	copyFile(t, index, index+".synced")

	s2 := openStore(t, dir)
	mb := mailboxOf(t, s2, testUser)
	subjects := map[uint32]string{}
	for i := range 3 {
		subj := fmt.Sprint("unsynced", i)
		res, err := s2.Deliver(ctx, strings.NewReader(testMsg(subj, strings.Repeat("công văn ", i+1))), []Recipient{{User: testUser}})
		if err != nil || res[0].Err != nil {
			t.Fatal(err, res)
		}
		subjects[res[0].UID] = subj
	}
	seen := status(t, mb, Inbox)
	usedSeen, _, err := mb.Quota(ctx)
	if err != nil {
		t.Fatal(err)
	}
	infos, err := mb.Messages(ctx, Inbox)
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()

	// Power cut: the WAL never reached the disk.
	os.Remove(index + "-wal")
	os.Remove(index + "-shm")
	copyFile(t, index+".synced", index)
	os.Remove(index + ".synced")

	s3 := openStore(t, dir)
	if rebuild {
		if err := s3.Rebuild(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mb3 := mailboxOf(t, s3, testUser)
	got := status(t, mb3, Inbox)
	if got.Messages != seen.Messages || got.UIDNext != seen.UIDNext || got.HighestModSeq < seen.HighestModSeq {
		t.Fatalf("after the lost commits: %+v, clients saw %+v", got, seen)
	}
	if used, _, _ := mb3.Quota(ctx); used != usedSeen {
		t.Errorf("quota used %d after recovery, %d before", used, usedSeen)
	}
	after, err := mb3.Messages(ctx, Inbox)
	if err != nil || len(after) != len(infos) {
		t.Fatalf("messages after recovery: %d (%v), before %d", len(after), err, len(infos))
	}
	for i := range infos {
		if after[i].UID != infos[i].UID || after[i].Size != infos[i].Size || !after[i].InternalDate.Equal(infos[i].InternalDate) {
			t.Errorf("message %d: %+v after recovery, %+v before", i, after[i], infos[i])
		}
	}
	for uid, subj := range subjects {
		c, err := mb3.Cached(ctx, Inbox, uid)
		if err != nil || c.Envelope.Subject != subj {
			t.Errorf("UID %d: %+v %v, want subject %q", uid, c, err, subj)
		}
	}
	checkClean(t, s3)
}

// The lower sync level of writeRecoverable stays on its transactions:
// every other write (flag changes, expunges, appends with flags) runs at
// FULL and is on disk when it returns, and no connection of the pool is
// left at the lower level.
func TestRecoverableCommitLeavesConnectionsAtFull(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	mailboxOf(t, s, testUser)
	key, domain, local, err := userPath(testUser)
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.acquire(ctx, key, domain, local)
	if err != nil {
		t.Fatal(err)
	}
	defer s.release(u)
	level := func(write func(context.Context, func(context.Context, *sql.Tx) error) error) int {
		t.Helper()
		var l int
		if err := write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&l)
		}); err != nil {
			t.Fatal(err)
		}
		return l
	}
	for i := range 2 {
		deliver(t, s, testMsg(fmt.Sprint("one", i), "x"), Recipient{User: testUser})
		if l := level(u.writeRecoverable); l != 1 {
			t.Errorf("recoverable write at synchronous=%d, want 1 (NORMAL)", l)
		}
		if l := level(u.write); l != 2 {
			t.Errorf("write after a delivery at synchronous=%d, want 2 (FULL)", l)
		}
	}
	deliver(t, s, testMsg("two", "x"), Recipient{User: testUser})
	// Every connection the pool can hand out is at FULL.
	conns := make([]*sql.Conn, 0, 4)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 4 {
		c, err := u.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var l int
		if err := c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&l); err != nil {
			t.Fatal(err)
		}
		if l != 2 {
			t.Errorf("pool connection at synchronous=%d after deliveries, want 2 (FULL)", l)
		}
	}
}
