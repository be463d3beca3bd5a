package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const testUser = "nva@angiang.gov.vn"

func userDirOf(dir string) string { return filepath.Join(dir, "users", "angiang.gov.vn", "nva") }

// snapshot is what a client could have cached about a mailbox.
type snapshot map[string]folderSnap

type folderSnap struct {
	st    FolderStatus
	msgs  []MessageInfo
	bytes map[uint32]string
}

func takeSnapshot(t *testing.T, mb Mailbox) snapshot {
	t.Helper()
	ctx := context.Background()
	folders, err := mb.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := snapshot{}
	for _, f := range folders {
		msgs, err := mb.Messages(ctx, f.Name)
		if err != nil {
			t.Fatal(err)
		}
		fs := folderSnap{st: f, msgs: msgs, bytes: map[uint32]string{}}
		for _, m := range msgs {
			fs.bytes[m.UID] = string(readMsg(t, mb, f.Name, m.UID))
		}
		out[f.Name] = fs
	}
	return out
}

// fillMailbox creates a mailbox with some history: folders, flags,
// renames, expunges of the highest UID.
func fillMailbox(t *testing.T, s *FileStore) Mailbox {
	t.Helper()
	ctx := context.Background()
	mb := mailboxOf(t, s, testUser)
	for i := range 6 {
		deliver(t, s, testMsg(fmt.Sprint("in", i), strings.Repeat("nội dung ", i+1)), Recipient{User: testUser})
	}
	if err := mb.Create(ctx, "Dự án/2025"); err != nil {
		t.Fatal(err)
	}
	appendMsg(t, mb, "Dự án/2025", testMsg("p1", "x"), `\Seen`)
	appendMsg(t, mb, "Dự án/2025", testMsg("p2", "y"), `\Flagged`)
	if err := mb.Rename(ctx, Archive, "Lưu trữ"); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Copy(ctx, Inbox, []uint32{1, 3}, "Lưu trữ"); err != nil {
		t.Fatal(err)
	}
	mb.SetFlags(ctx, Inbox, []uint32{2, 6}, FlagsAdd, []string{`\Deleted`}, 0)
	if _, err := mb.Expunge(ctx, Inbox, nil); err != nil {
		t.Fatal(err)
	}
	mb.SetFlags(ctx, Inbox, []uint32{1}, FlagsAdd, []string{`\Seen`, "$Important"}, 0)
	if err := mb.Subscribe(ctx, "Dự án", true); err != nil {
		t.Fatal(err)
	}
	return mb
}

func TestCheckCleanAfterNormalUseAndReopen(t *testing.T) {
	s, dir := newStore(t)
	fillMailbox(t, s)
	rep := checkClean(t, s)
	if rep.Users != 1 || rep.Messages != 8 || rep.Files != 8 || rep.Folders != 8 {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(rep.String(), "no problems") {
		t.Errorf("report text %q", rep.String())
	}
	s.Close()
	checkClean(t, openStore(t, dir))
}

func TestCheckDetectsMissingAndOrphanFiles(t *testing.T) {
	s, dir := newStore(t)
	fillMailbox(t, s)
	s.Close()
	inbox := filepath.Join(userDirOf(dir), "1")
	if err := os.Remove(filepath.Join(inbox, "3")); err != nil {
		t.Fatal(err)
	}
	// An interrupted delivery leaves a file at UIDNEXT; a stray file below
	// UIDNEXT has no explanation.
	data, _ := os.ReadFile(filepath.Join(inbox, "1"))
	os.WriteFile(filepath.Join(inbox, "7"), data, 0o600)
	os.WriteFile(filepath.Join(inbox, "2"), data, 0o600)

	s2 := openStore(t, dir)
	rep, err := s2.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Clean() || len(rep.Problems) != 3 {
		t.Fatalf("want 3 problems, got:\n%s", rep)
	}
	text := rep.String()
	for _, want := range []string{"UID 3: index row without message file", "UID 7: message file without index row (interrupted",
		"UID 2: message file without index row (rebuild adds it under a new UID)"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
}

func TestRecoveryAddsInterruptedDelivery(t *testing.T) {
	s, dir := newStore(t)
	mb := fillMailbox(t, s)
	before := status(t, mb, Inbox)
	s.Close()
	// A batch linked UIDNEXT and UIDNEXT+1, then the process died.
	inbox := filepath.Join(userDirOf(dir), "1")
	for i, subj := range []string{"lost-1", "lost-2"} {
		path := filepath.Join(inbox, fmt.Sprint(before.UIDNext+uint32(i)))
		os.WriteFile(path, []byte(testMsg(subj, "x")), 0o600)
	}
	s2 := openStore(t, dir)
	if rep, _ := s2.Check(context.Background()); len(rep.Problems) != 2 {
		t.Fatalf("check before recovery:\n%s", rep)
	}
	mb2 := mailboxOf(t, s2, testUser) // first open recovers
	st := status(t, mb2, Inbox)
	if st.Messages != before.Messages+2 || st.UIDNext != before.UIDNext+2 || st.HighestModSeq <= before.HighestModSeq {
		t.Errorf("after recovery %+v, before %+v", st, before)
	}
	c, err := mb2.Cached(context.Background(), Inbox, before.UIDNext+1)
	if err != nil || c.Envelope.Subject != "lost-2" {
		t.Errorf("recovered message: %+v %v", c, err)
	}
	checkClean(t, s2)
}

func TestRecoveryFinishesRemovalsAndCreates(t *testing.T) {
	s, dir := newStore(t)
	mb := fillMailbox(t, s)
	msgs, _ := mb.Messages(context.Background(), Inbox)
	victim := msgs[0]
	s.Close()
	udir := userDirOf(dir)
	// Crash after an EXPUNGE commit, before the file was removed.
	db, err := openIndex(filepath.Join(udir, indexFile))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	if slices.Contains(victim.Flags, `\Seen`) {
		seen = 1
	}
	for _, q := range []string{
		fmt.Sprintf("DELETE FROM messages WHERE folder_id = 1 AND uid = %d", victim.UID),
		fmt.Sprintf("DELETE FROM cache WHERE id = %d", cacheKey(1, victim.UID)),
		fmt.Sprintf("INSERT INTO removals VALUES (1, %d)", victim.UID),
		fmt.Sprintf("UPDATE folders SET messages = messages - 1, unseen = unseen - %d, size = size - %d WHERE id = 1", 1-seen, victim.Size),
		fmt.Sprintf("UPDATE account SET used_bytes = used_bytes - %d", victim.Size),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	db.Close()
	// Crash during CREATE: directory and metadata, no row.
	os.Mkdir(filepath.Join(udir, "99"), 0o700)
	os.WriteFile(filepath.Join(udir, "99", metaFile), []byte(`{"name":"Half","uidvalidity":5,"uidnext":1}`), 0o600)
	// Crash during a metadata rewrite, and crash after a RENAME commit
	// before its metadata rewrite.
	os.WriteFile(filepath.Join(udir, "1", metaFile+tmpSuffix), []byte("{"), 0o600)
	meta, _ := readMeta(filepath.Join(udir, "2"))
	meta.Name = "Old name"
	data, _ := json.Marshal(meta)
	os.WriteFile(filepath.Join(udir, "2", metaFile), data, 0o600)

	s2 := openStore(t, dir)
	rep, _ := s2.Check(context.Background())
	if rep.PendingRemovals != 1 || len(rep.Problems) != 2 || !strings.Contains(rep.String(), "folder directory 99") ||
		!strings.Contains(rep.String(), `folder.json says "Old name"`) {
		t.Fatalf("check before recovery: %+v\n%s", rep, rep)
	}
	mailboxOf(t, s2, testUser)
	rep = checkClean(t, s2)
	if rep.PendingRemovals != 0 {
		t.Errorf("removal not finished: %+v", rep)
	}
	if _, err := os.Stat(filepath.Join(udir, "1", fmt.Sprint(victim.UID))); !os.IsNotExist(err) {
		t.Errorf("expunged file still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(udir, "99")); !os.IsNotExist(err) {
		t.Errorf("half-created folder still there: %v", err)
	}
}

func TestSpoolLeftoversAreCleaned(t *testing.T) {
	dir := t.TempDir()
	dead := filepath.Join(dir, "tmp", "4242-deadbeef")
	os.MkdirAll(dead, 0o700)
	os.WriteFile(filepath.Join(dead, "msg-123"), []byte("half a message"), 0o600)
	os.WriteFile(filepath.Join(dir, "tmp", "stray"), nil, 0o600)
	live := openStore(t, dir) // its spool is locked while it is open
	os.WriteFile(filepath.Join(live.spool, "msg-in-flight"), nil, 0o600)

	s := openStore(t, dir)
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("dead spool not removed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tmp", "stray")); !os.IsNotExist(err) {
		t.Errorf("stray spool file not removed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(live.spool, "msg-in-flight")); err != nil {
		t.Errorf("live spool was touched: %v", err)
	}
	deliver(t, s, testMsg("x", "y"), Recipient{User: testUser})
	checkClean(t, s)
}

func TestRebuildAfterIndexLoss(t *testing.T) {
	s, dir := newStore(t)
	mb := fillMailbox(t, s)
	want := takeSnapshot(t, mb)
	s.Close()
	udir := userDirOf(dir)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(udir, indexFile+suffix))
	}

	s2 := openStore(t, dir)
	if rep, _ := s2.Check(context.Background()); rep.Clean() {
		t.Fatal("check did not notice the missing index")
	}
	if err := s2.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkClean(t, s2)
	got := takeSnapshot(t, mailboxOf(t, s2, testUser))
	compareSnapshots(t, want, got, false)
	// UIDNEXT survived although the highest UID (6) was expunged.
	if res := appendMsg(t, mailboxOf(t, s2, testUser), Inbox, testMsg("after", "x")); res.UID != 7 {
		t.Errorf("UID after rebuild %d, want 7", res.UID)
	}
	s2.Close()

	// Opening a mailbox whose index is gone rebuilds it on the spot rather
	// than creating an empty account over the files.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(udir, indexFile+suffix))
	}
	s3 := openStore(t, dir)
	if got := uidsOf(t, mailboxOf(t, s3, testUser), Inbox); !slices.Equal(got, []uint32{1, 3, 4, 5, 7}) {
		t.Errorf("INBOX after automatic rebuild: %v", got)
	}
	checkClean(t, s3)
}

func TestRebuildKeepsFlagsAndRenumbersStrays(t *testing.T) {
	s, dir := newStore(t)
	mb := fillMailbox(t, s)
	want := takeSnapshot(t, mb)
	s.Close()
	inbox := filepath.Join(userDirOf(dir), "1")
	stray := testMsg("stray", "z")
	os.WriteFile(filepath.Join(inbox, "2"), []byte(stray), 0o600) // below UIDNEXT, unknown
	os.WriteFile(filepath.Join(inbox, metaFile+tmpSuffix), []byte("{"), 0o600)

	s2 := openStore(t, dir)
	if err := s2.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkClean(t, s2)
	mb2 := mailboxOf(t, s2, testUser)
	got := takeSnapshot(t, mb2)
	in := got[Inbox]
	last := in.msgs[len(in.msgs)-1]
	if last.UID != want[Inbox].st.UIDNext || in.bytes[last.UID] != stray {
		t.Errorf("stray file got UID %d, want %d", last.UID, want[Inbox].st.UIDNext)
	}
	in.msgs = in.msgs[:len(in.msgs)-1]
	delete(in.bytes, last.UID)
	in.st.UIDNext--
	in.st.HighestModSeq-- // the renumbered message is one change
	in.st.Messages--
	in.st.Unseen--
	in.st.Size -= int64(len(stray))
	got[Inbox] = in
	compareSnapshots(t, want, got, true)
	if _, err := os.Stat(filepath.Join(inbox, metaFile+tmpSuffix)); !os.IsNotExist(err) {
		t.Error("rebuild left a .tmp file")
	}
}

// compareSnapshots compares mailboxes before and after a rebuild. With
// salvaged, flags and MODSEQs must be identical too.
func compareSnapshots(t *testing.T, want, got snapshot, salvaged bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d folders, want %d", len(got), len(want))
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("folder %q lost", name)
			continue
		}
		if g.st.UIDValidity != w.st.UIDValidity || g.st.UIDNext != w.st.UIDNext || g.st.SpecialUse != w.st.SpecialUse ||
			g.st.Subscribed != w.st.Subscribed || g.st.Messages != w.st.Messages || g.st.Size != w.st.Size ||
			g.st.HighestModSeq < w.st.HighestModSeq {
			t.Errorf("%s: status %+v, want %+v", name, g.st, w.st)
		}
		if salvaged && (g.st.HighestModSeq != w.st.HighestModSeq || g.st.Unseen != w.st.Unseen) {
			t.Errorf("%s: salvaged status %+v, want %+v", name, g.st, w.st)
		}
		if len(g.msgs) != len(w.msgs) {
			t.Errorf("%s: %d messages, want %d", name, len(g.msgs), len(w.msgs))
			continue
		}
		for i, wm := range w.msgs {
			gm := g.msgs[i]
			if gm.UID != wm.UID || gm.Size != wm.Size || !gm.InternalDate.Equal(wm.InternalDate) || g.bytes[gm.UID] != w.bytes[wm.UID] {
				t.Errorf("%s: message %+v, want %+v", name, gm, wm)
			}
			if salvaged && (gm.ModSeq != wm.ModSeq || !slices.Equal(gm.Flags, wm.Flags)) {
				t.Errorf("%s: salvaged message %+v, want %+v", name, gm, wm)
			}
		}
	}
}

// TestConcurrentDeliverExpunge runs deliveries, appends, flag changes,
// expunges, moves and a Check from a second store (as `congvu storage
// check` would) at the same time, and verifies that no UID was handed out
// twice and the files and index agree.
func TestConcurrentDeliverExpunge(t *testing.T) {
	s, dir := newStore(t)
	ctx := context.Background()
	mb := mailboxOf(t, s, testUser)
	other := "ttl@angiang.gov.vn"

	var mu sync.Mutex
	seen := map[uint32]string{} // INBOX UID → who got it
	record := func(uid uint32, who string) {
		mu.Lock()
		defer mu.Unlock()
		if prev, dup := seen[uid]; dup {
			t.Errorf("UID %d handed out twice (%s and %s)", uid, prev, who)
		}
		seen[uid] = who
	}
	var wg sync.WaitGroup
	var stop atomic.Bool
	const writers, perWriter = 8, 25
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				who := fmt.Sprintf("deliver %d/%d", w, i)
				res := deliver(t, s, testMsg(who, "x"), Recipient{User: testUser}, Recipient{User: other})
				if res[0].Err != nil || res[1].Err != nil {
					t.Errorf("%s: %+v", who, res)
					return
				}
				record(res[0].UID, who)
			}
		})
	}
	wg.Go(func() {
		for i := range perWriter {
			res, err := mb.Append(ctx, Inbox, strings.NewReader(testMsg("app", "y")), []string{`\Seen`}, time.Time{})
			if err != nil {
				t.Error(err)
				return
			}
			record(res.UID, fmt.Sprint("append ", i))
		}
	})
	var expunged atomic.Int64
	var moved atomic.Int64
	cleaner := sync.WaitGroup{}
	cleaner.Go(func() {
		for !stop.Load() {
			msgs, err := mb.Messages(ctx, Inbox)
			if err != nil {
				t.Error(err)
				return
			}
			if len(msgs) < 3 {
				continue
			}
			mb.SetFlags(ctx, Inbox, []uint32{msgs[0].UID, msgs[2].UID}, FlagsAdd, []string{`\Deleted`}, 0)
			removed, err := mb.Expunge(ctx, Inbox, nil)
			if err != nil {
				t.Error(err)
				return
			}
			expunged.Add(int64(len(removed)))
			res, err := mb.Move(ctx, Inbox, []uint32{msgs[1].UID}, Trash)
			if err != nil {
				t.Error(err)
				return
			}
			moved.Add(int64(len(res.DestUIDs)))
		}
	})
	checker := openStore(t, dir)
	cleaner.Go(func() {
		for !stop.Load() {
			rep, err := checker.Check(ctx)
			if err != nil || !rep.Clean() {
				t.Errorf("concurrent check: %v\n%s", err, rep)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	wg.Wait()
	stop.Store(true)
	cleaner.Wait()

	total := writers*perWriter + perWriter
	if len(seen) != total {
		t.Errorf("%d distinct UIDs, want %d", len(seen), total)
	}
	left := uidsOf(t, mb, Inbox)
	if !slices.IsSorted(left) || len(slices.Compact(slices.Clone(left))) != len(left) {
		t.Errorf("INBOX UIDs not strictly increasing: %v", left)
	}
	if int64(len(left))+expunged.Load()+moved.Load() != int64(total) {
		t.Errorf("%d left + %d expunged + %d moved != %d delivered", len(left), expunged.Load(), moved.Load(), total)
	}
	if n := len(uidsOf(t, mailboxOf(t, s, other), Inbox)); n != writers*perWriter {
		t.Errorf("second recipient has %d messages", n)
	}
	checkClean(t, s)
}

// TestGroupCommit makes directory fsyncs slow and checks that concurrent
// deliveries share them instead of queueing one fsync each.
func TestGroupCommit(t *testing.T) {
	s, _ := newStore(t)
	var syncs atomic.Int64
	s.dirSync = func(dir *os.File) error {
		syncs.Add(1)
		time.Sleep(20 * time.Millisecond)
		return dir.Sync()
	}
	mailboxOf(t, s, testUser)
	const n = 100
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res := deliver(t, s, testMsg(fmt.Sprint("g", i), "x"), Recipient{User: testUser})
			if res[0].Err != nil {
				t.Error(res[0].Err)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d deliveries, %d directory fsyncs, %v", n, syncs.Load(), elapsed)
	if syncs.Load() > n/4 {
		t.Errorf("%d directory fsyncs for %d concurrent deliveries: no group commit", syncs.Load(), n)
	}
	if got := len(uidsOf(t, mailboxOf(t, s, testUser), Inbox)); got != n {
		t.Errorf("%d messages stored", got)
	}
}

// openRawIndex is for tests that inspect the index directly.
func openRawIndex(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := openIndex(filepath.Join(userDirOf(dir), indexFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestIndexIsWALWithFullSync(t *testing.T) {
	s, dir := newStore(t)
	mailboxOf(t, s, testUser)
	db := openRawIndex(t, dir)
	var mode string
	var syncMode int
	db.QueryRow("PRAGMA journal_mode").Scan(&mode)
	db.QueryRow("PRAGMA synchronous").Scan(&syncMode)
	if mode != "wal" || syncMode != 2 {
		t.Errorf("journal_mode %q synchronous %d, want wal and FULL (2)", mode, syncMode)
	}
}

// TestInterruptedAccountCreation: the folder directories of a new user were
// created but the account transaction never committed. Opening the
// mailbox must rebuild from the directories, not create a second set.
func TestInterruptedAccountCreation(t *testing.T) {
	s, dir := newStore(t)
	want := takeSnapshot(t, mailboxOf(t, s, testUser))
	s.Close()
	db, err := openIndex(filepath.Join(userDirOf(dir), indexFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("DELETE FROM account; DELETE FROM folders"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s2 := openStore(t, dir)
	got := takeSnapshot(t, mailboxOf(t, s2, testUser))
	compareSnapshots(t, want, got, false)
	checkClean(t, s2)
	entries, _ := os.ReadDir(userDirOf(dir))
	var dirs int
	for _, e := range entries {
		if e.IsDir() {
			dirs++
		}
	}
	if dirs != len(defaultFolders) {
		t.Errorf("%d folder directories, want %d", dirs, len(defaultFolders))
	}
}

func TestCanceledDeliveryStoresNothing(t *testing.T) {
	s, _ := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Deliver(ctx, strings.NewReader(testMsg("x", "y")), []Recipient{{User: testUser}}); err == nil {
		t.Error("delivery with a canceled context succeeded")
	}
	if got := uidsOf(t, mailboxOf(t, s, testUser), Inbox); len(got) != 0 {
		t.Errorf("stored %v", got)
	}
}

func TestRebuildRefusedWhileStoreInUse(t *testing.T) {
	s, dir := newStore(t)
	deliver(t, s, testMsg("x", "y"), Recipient{User: testUser})
	admin := openStore(t, dir)
	if err := admin.Rebuild(context.Background()); err != errStoreInUse {
		t.Fatalf("rebuild with the server running: %v", err)
	}
	s.Close()
	if err := admin.Rebuild(context.Background()); err != nil {
		t.Fatalf("rebuild after the server stopped: %v", err)
	}
	checkClean(t, admin)
}

// A mailbox directory made a moment ago, before its index exists, holds
// no mail: a check running at that moment reports nothing (it did report
// "index.db missing", the flake of TestConcurrentDeliverExpunge).
func TestCheckPassesOverMailboxBeingCreated(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	if err := os.MkdirAll(filepath.Join(dir, "users", "angiang.gov.vn", "moi"), 0o700); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Check(context.Background())
	if err != nil || !rep.Clean() {
		t.Fatalf("check: %v\n%s", err, rep)
	}
}

// A rebuild keeps each reader's own \Seen in a shared mailbox (RFC 4314
// §4): the văn thư's colleagues would otherwise find every message they had
// read unread again after an operator rebuilt the index.
func TestRebuildKeepsReadersSeen(t *testing.T) {
	s, dir := newStore(t)
	ctx := context.Background()
	unit := "skhcn@x.vn"
	deliver(t, s, testMsg("cv1", "1"), Recipient{User: unit})
	deliver(t, s, testMsg("cv2", "2"), Recipient{User: unit})
	a, err := s.SharedMailbox(ctx, unit, "a@x.vn", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.SetFlags(ctx, "INBOX", []uint32{2}, FlagsAdd, []string{`\Seen`}, 0); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s2 := openStore(t, dir)
	if err := s2.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	checkClean(t, s2)
	for _, tc := range []struct {
		reader string
		unseen int
	}{{"a@x.vn", 1}, {"b@x.vn", 2}} {
		mb, err := s2.SharedMailbox(ctx, unit, tc.reader, 0)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := mb.Messages(ctx, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		unseen := 0
		for _, m := range msgs {
			if !slices.Contains(m.Flags, `\Seen`) {
				unseen++
			} else if tc.reader == "a@x.vn" && m.UID != 2 {
				t.Errorf("%s: UID %d seen, want only 2", tc.reader, m.UID)
			}
		}
		if unseen != tc.unseen {
			t.Errorf("%s after rebuild: %d unseen, want %d", tc.reader, unseen, tc.unseen)
		}
	}
}

// A delivered message's INTERNALDATE is the second it was written, and a
// rebuild from the files gives it back exactly (the file's mtime), for a
// message delivered to one folder and one linked into several.
func TestDeliveryDateSurvivesRebuild(t *testing.T) {
	s, dir := newStore(t)
	start := time.Now().Truncate(time.Second)
	deliver(t, s, testMsg("one", "x"), Recipient{User: testUser})
	deliver(t, s, testMsg("two", "y"), Recipient{User: testUser}, Recipient{User: testUser, Folder: "Junk"})
	end := time.Now()
	dates := func(s *FileStore) map[string]time.Time {
		out := map[string]time.Time{}
		for _, folder := range []string{Inbox, "Junk"} {
			msgs, err := mailboxOf(t, s, testUser).Messages(context.Background(), folder)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				out[fmt.Sprintf("%s/%d", folder, m.UID)] = m.InternalDate
			}
		}
		return out
	}
	want := dates(s)
	if len(want) != 3 {
		t.Fatalf("delivered %d copies, want 3", len(want))
	}
	for k, d := range want {
		if d.Nanosecond() != 0 || d.Before(start) || d.After(end) {
			t.Errorf("%s: INTERNALDATE %v, want a whole second in [%v, %v]", k, d, start, end)
		}
	}
	s.Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(userDirOf(dir), indexFile+suffix))
	}
	s2 := openStore(t, dir)
	if err := s2.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := dates(s2)
	for k, d := range want {
		if !got[k].Equal(d) {
			t.Errorf("%s: INTERNALDATE %v after rebuild, %v before", k, got[k], d)
		}
	}
}

// TestDirectorySyncedBeforeCommit checks the order a delivery keeps: its
// folder's directory fsync has returned before the row is committed, so
// no committed row names a link the disk may not have (the commit itself
// runs at synchronous=NORMAL, writeRecoverable).
func TestDirectorySyncedBeforeCommit(t *testing.T) {
	s, dir := newStore(t)
	mailboxOf(t, s, testUser)
	raw := openRawIndex(t, dir)
	var rowsWhenSynced []int
	s.dirSync = func(d *os.File) error {
		time.Sleep(20 * time.Millisecond) // the index writes finish meanwhile
		err := d.Sync()
		var n int
		if qerr := raw.QueryRow("SELECT COUNT(*) FROM messages").Scan(&n); qerr != nil {
			t.Error(qerr)
		}
		rowsWhenSynced = append(rowsWhenSynced, n)
		return err
	}
	for i := range 3 {
		if res := deliver(t, s, testMsg(fmt.Sprint("order ", i), "x"), Recipient{User: testUser}); res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
	}
	if want := []int{0, 1, 2}; !slices.Equal(rowsWhenSynced, want) {
		t.Errorf("committed rows when each directory fsync returned: %v, want %v", rowsWhenSynced, want)
	}
}

// Deleting older mail leaves folder.json alone (its UIDNEXT already lies
// above the removed UIDs: two fsyncs saved per EXPUNGE); removing a UID at
// or above it rewrites the file first, so a rebuild without the index never
// hands out an expunged UID again.
func TestExpungeRewritesFolderMetaOnlyWhenItMust(t *testing.T) {
	s, dir := newStore(t)
	ctx := context.Background()
	mb := mailboxOf(t, s, testUser)
	for i := range 3 {
		appendMsg(t, mb, Inbox, testMsg(fmt.Sprint("m", i), "x"))
	}
	inboxDir := filepath.Join(userDirOf(dir), "1")
	expunge := func(uid uint32) {
		t.Helper()
		if _, _, err := mb.SetFlags(ctx, Inbox, []uint32{uid}, FlagsAdd, []string{`\Deleted`}, 0); err != nil {
			t.Fatal(err)
		}
		if removed, err := mb.Expunge(ctx, Inbox, []uint32{uid}); err != nil || !slices.Equal(removed, []uint32{uid}) {
			t.Fatalf("expunge %d: %v %v", uid, removed, err)
		}
	}
	metaState := func() (uidNext uint32, inode uint64) {
		t.Helper()
		m, err := readMeta(inboxDir)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(inboxDir, metaFile))
		if err != nil {
			t.Fatal(err)
		}
		return m.UIDNext, fi.Sys().(*syscall.Stat_t).Ino
	}

	expunge(3) // the newest: folder.json must say 4 before its file goes
	next, written := metaState()
	if next != 4 {
		t.Fatalf("folder.json UIDNEXT %d after expunging UID 3, want 4", next)
	}
	appendMsg(t, mb, Inbox, testMsg("m4", "x"))
	appendMsg(t, mb, Inbox, testMsg("m5", "x"))
	expunge(1)
	if next, inode := metaState(); next != 4 || inode != written {
		t.Errorf("folder.json rewritten for UID 1 (UIDNEXT %d, inode %d, was %d)", next, inode, written)
	}

	// A new process remembers nothing and reads the file instead.
	s.Close()
	s = openStore(t, dir)
	mb = mailboxOf(t, s, testUser)
	expunge(2)
	if next, inode := metaState(); next != 4 || inode != written {
		t.Errorf("folder.json rewritten for UID 2 after reopening (UIDNEXT %d)", next)
	}
	expunge(4) // the UIDNEXT folder.json holds, handed out since
	next, rewritten := metaState()
	if next != 6 || rewritten == written {
		t.Errorf("folder.json UIDNEXT %d after expunging UID 4, want 6 (rewritten: %v)", next, rewritten != written)
	}
	expunge(5) // the highest UID ever, below the new UIDNEXT
	if next, inode := metaState(); next != 6 || inode != rewritten {
		t.Errorf("folder.json rewritten for UID 5 (UIDNEXT %d)", next)
	}
	checkClean(t, s)
	s.Close()

	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(userDirOf(dir), indexFile+suffix))
	}
	s = openStore(t, dir)
	if err := s.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	mb = mailboxOf(t, s, testUser)
	if got := uidsOf(t, mb, Inbox); len(got) != 0 {
		t.Errorf("INBOX after rebuild %v, want it empty", got)
	}
	if res := appendMsg(t, mb, Inbox, testMsg("m6", "x")); res.UID != 6 {
		t.Errorf("UID after rebuild %d, want 6 (5 was expunged)", res.UID)
	}
	checkClean(t, s)
}
