package storage

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"congvu/internal/mailerr"
)

// untar extracts a testdata tarball into dir.
func untar(t *testing.T, tarball, dir string) {
	t.Helper()
	f, err := os.Open(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.Clean(h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o700); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			os.MkdirAll(filepath.Dir(p), 0o700)
			out, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(out, tr); err != nil {
				t.Fatal(err)
			}
			out.Close()
			os.Chtimes(p, h.ModTime, h.ModTime)
		case tar.TypeLink: // COPY hard-links message files
			if err := os.Link(filepath.Join(dir, filepath.Clean(h.Linkname)), p); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// A store written by the code before schema version 4 (testdata, made
// with commit eaa34cc) opens with everything it had, and gains the
// expunge log, \Recent thresholds and lost subscriptions.
func TestMigrateSchema2Store(t *testing.T) {
	dir := t.TempDir()
	untar(t, filepath.Join("testdata", "store-schema2.tar.gz"), dir)
	s := openStore(t, dir)
	ctx := context.Background()
	mb := mailboxOf(t, s, "an.nguyen@sokhcn.gov.vn")
	msgs, err := mb.Messages(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 4 || msgs[0].UID != 1 || msgs[2].UID != 4 || !slices.Contains(msgs[0].Flags, `\Seen`) ||
		!slices.Contains(msgs[0].Flags, "$Label1") || msgs[0].ModSeq != 7 {
		t.Fatalf("INBOX after migration: %+v", msgs)
	}
	st := status(t, mb, "INBOX")
	if st.HighestModSeq != 9 || st.UIDNext != 6 || st.Messages != 4 {
		t.Fatalf("INBOX status %+v", st)
	}
	if got := readMsg(t, mb, "Dự án/2025", 1); len(got) == 0 {
		t.Fatal("copied message lost")
	}
	// The log knew nothing before: a client with MODSEQ 1 must resync.
	uids, complete, err := mb.Vanished(ctx, "INBOX", 1)
	if err != nil || complete || len(uids) != 0 {
		t.Fatalf("Vanished before any logged expunge: %v %v %v", uids, complete, err)
	}
	// Existing messages are not \Recent; new ones are.
	if first, err := mb.ClaimRecent(ctx, "INBOX", st.UIDNext, false); err != nil || first != st.UIDNext {
		t.Fatalf("first recent %d %v, want %d", first, err, st.UIDNext)
	}
	// Expunges from now on are logged with their MODSEQ.
	if _, _, err := mb.SetFlags(ctx, "INBOX", []uint32{4}, FlagsAdd, []string{`\Deleted`}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Expunge(ctx, "INBOX", nil); err != nil {
		t.Fatal(err)
	}
	st2 := status(t, mb, "INBOX")
	uids, complete, err = mb.Vanished(ctx, "INBOX", st.HighestModSeq)
	if err != nil || !complete || !slices.Equal(uids, []uint32{4}) {
		t.Fatalf("Vanished since %d: %v %v %v", st.HighestModSeq, uids, complete, err)
	}
	if uids, _, _ := mb.Vanished(ctx, "INBOX", st2.HighestModSeq); len(uids) != 0 {
		t.Fatalf("Vanished since now: %v", uids)
	}
	checkClean(t, s)
	var v int
	u, err := s.acquire(ctx, "an.nguyen@sokhcn.gov.vn", "sokhcn.gov.vn", "an.nguyen")
	if err != nil {
		t.Fatal(err)
	}
	u.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	s.release(u)
	if v != schemaVersion {
		t.Fatalf("user_version %d", v)
	}
}

// \Recent (RFC 3501 §2.3.2): a new message is \Recent for exactly one
// session, the first to claim it; EXAMINE looks without claiming.
func TestRecentClaims(t *testing.T) {
	s, dir := newStore(t)
	ctx := context.Background()
	mb := mailboxOf(t, s, "a@x.vn")
	appendMsg(t, mb, "INBOX", testMsg("one", "1"))
	appendMsg(t, mb, "INBOX", testMsg("two", "2"))
	if first, _ := mb.ClaimRecent(ctx, "INBOX", 3, false); first != 1 {
		t.Fatalf("peek: first recent %d, want 1", first)
	}
	if first, _ := mb.ClaimRecent(ctx, "INBOX", 3, true); first != 1 {
		t.Fatalf("claim: first recent %d, want 1", first)
	}
	if first, _ := mb.ClaimRecent(ctx, "INBOX", 3, true); first != 3 {
		t.Fatalf("second claim: first recent %d, want 3 (nothing recent)", first)
	}
	// Claims survive closing the store (they are written on close).
	s.Close()
	s = openStore(t, dir)
	mb = mailboxOf(t, s, "a@x.vn")
	if first, _ := mb.ClaimRecent(ctx, "INBOX", 3, false); first != 3 {
		t.Fatalf("after reopen: first recent %d, want 3", first)
	}
	if _, err := mb.ClaimRecent(ctx, "Nope", 1, true); !errorsIsNoFolder(err) {
		t.Fatalf("missing folder: %v", err)
	}
}

func errorsIsNoFolder(err error) bool {
	me := mailerr.As(err)
	return me != nil && me.IMAPCode == "NONEXISTENT"
}

// A deleted folder's subscription stays (RFC 9051 §6.3.7) until
// UNSUBSCRIBE, and comes back to life with the folder.
func TestSubscriptionsOutliveFolders(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	mb := mailboxOf(t, s, "a@x.vn")
	if err := mb.Create(ctx, "Dự án/Cũ"); err != nil {
		t.Fatal(err)
	}
	if err := mb.Subscribe(ctx, "Dự án/Cũ", true); err != nil {
		t.Fatal(err)
	}
	if err := mb.Delete(ctx, "Dự án/Cũ"); err != nil {
		t.Fatal(err)
	}
	subs, _ := mb.Subscriptions(ctx)
	if !slices.Contains(subs, "Dự án/Cũ") {
		t.Fatalf("subscription gone with its folder: %v", subs)
	}
	if err := mb.Create(ctx, "Dự án/Cũ"); err != nil {
		t.Fatal(err)
	}
	if st := status(t, mb, "Dự án/Cũ"); !st.Subscribed {
		t.Fatal("re-created folder not subscribed")
	}
	mb.Delete(ctx, "Dự án/Cũ")
	if err := mb.Subscribe(ctx, "Dự án/Cũ", false); err != nil {
		t.Fatalf("UNSUBSCRIBE of a deleted folder: %v", err)
	}
	subs, _ = mb.Subscriptions(ctx)
	if slices.Contains(subs, "Dự án/Cũ") {
		t.Fatalf("still subscribed: %v", subs)
	}
	if err := mb.Subscribe(ctx, "Không có", false); !errorsIsNoFolder(err) {
		t.Fatalf("UNSUBSCRIBE of an unknown name: %v", err)
	}
}

// Names clients turn into file paths are refused.
func TestDotFolderNamesRefused(t *testing.T) {
	s, _ := newStore(t)
	mb := mailboxOf(t, s, "a@x.vn")
	for _, name := range []string{".", "..", "../x", "a/../b", "a/.", "INBOX/.."} {
		if err := mb.Create(context.Background(), name); err == nil {
			t.Errorf("CREATE %q accepted", name)
		}
	}
	if err := mb.Create(context.Background(), ".hidden"); err != nil {
		t.Errorf("CREATE .hidden: %v", err)
	}
}

// The expunge log is bounded: once trimmed, a MODSEQ older than the
// floor gets an incomplete answer, a newer one the exact UIDs.
func TestExpungeLogBounded(t *testing.T) {
	s, _ := newStore(t)
	s.expungeLog = expungeLogLimits{max: 3, every: 1}
	ctx := context.Background()
	mb := mailboxOf(t, s, "a@x.vn")
	for i := range 8 {
		appendMsg(t, mb, "INBOX", testMsg(string(rune('a'+i)), "x"))
	}
	start := status(t, mb, "INBOX").HighestModSeq
	var mid uint64
	for uid := uint32(1); uid <= 6; uid++ {
		if _, _, err := mb.SetFlags(ctx, "INBOX", []uint32{uid}, FlagsAdd, []string{`\Deleted`}, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := mb.Expunge(ctx, "INBOX", nil); err != nil {
			t.Fatal(err)
		}
		if uid == 4 {
			mid = status(t, mb, "INBOX").HighestModSeq
		}
	}
	if uids, complete, _ := mb.Vanished(ctx, "INBOX", start); complete || len(uids) > 4 {
		t.Errorf("since before the floor: %v complete=%v, want incomplete", uids, complete)
	}
	if uids, complete, _ := mb.Vanished(ctx, "INBOX", mid); !complete || !slices.Equal(uids, []uint32{5, 6}) {
		t.Errorf("since after the floor: %v complete=%v, want [5 6]", uids, complete)
	}
}

// RFC 9208 MESSAGE resource: past the message limit, delivery, APPEND
// and COPY are refused with OVERQUOTA, and Usage reports the count.
func TestMessageLimit(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{MaxMessages: 2, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	mb := mailboxOf(t, s, "a@x.vn")
	appendMsg(t, mb, "INBOX", testMsg("one", "1"))
	res := deliver(t, s, testMsg("two", "2"), Recipient{User: "a@x.vn"})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	res = deliver(t, s, testMsg("three", "3"), Recipient{User: "a@x.vn"})
	if me := mailerr.As(res[0].Err); me == nil || me.IMAPCode != "OVERQUOTA" {
		t.Fatalf("third delivery: %v", res[0].Err)
	}
	if _, err := mb.Copy(ctx, "INBOX", []uint32{1}, "Archive"); mailerr.As(err) == nil || mailerr.As(err).IMAPCode != "OVERQUOTA" {
		t.Fatalf("COPY past the limit: %v", err)
	}
	if _, err := mb.Move(ctx, "INBOX", []uint32{1}, "Archive"); err != nil {
		t.Fatalf("MOVE keeps the count: %v", err)
	}
	us, err := mb.Usage(ctx)
	if err != nil || us.Messages != 2 || us.MessagesLimit != 2 || us.Bytes == 0 {
		t.Fatalf("usage %+v %v", us, err)
	}
}

// A shared mailbox: each reader has their own \Seen (RFC 4314 §4), the
// other flags and the messages are shared, and copies keep everyone's
// \Seen.
func TestSharedMailboxSeenPerReader(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	unit := "skhcn@x.vn"
	deliver(t, s, testMsg("cv1", "1"), Recipient{User: unit})
	deliver(t, s, testMsg("cv2", "2"), Recipient{User: unit})
	a, err := s.SharedMailbox(ctx, unit, "a@x.vn", 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.SharedMailbox(ctx, unit, "b@x.vn", 0)
	if _, _, err := a.SetFlags(ctx, "INBOX", []uint32{1}, FlagsAdd, []string{`\Seen`, `\Flagged`}, 0); err != nil {
		t.Fatal(err)
	}
	flagsOf := func(mb Mailbox, uid uint32) []string {
		msgs, err := mb.Messages(ctx, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.UID == uid {
				return m.Flags
			}
		}
		return nil
	}
	if f := flagsOf(a, 1); !slices.Equal(f, []string{`\Flagged`, `\Seen`}) {
		t.Errorf("reader A: %v", f)
	}
	if f := flagsOf(b, 1); !slices.Equal(f, []string{`\Flagged`}) {
		t.Errorf("reader B sees A's \\Seen: %v", f)
	}
	if st := status(t, a, "INBOX"); st.Unseen != 1 {
		t.Errorf("A unseen %d", st.Unseen)
	}
	if st := status(t, b, "INBOX"); st.Unseen != 2 {
		t.Errorf("B unseen %d", st.Unseen)
	}
	// STORE FLAGS (replace) by B keeps A's \Seen.
	if _, _, err := b.SetFlags(ctx, "INBOX", []uint32{1}, FlagsSet, []string{`\Answered`, `\Seen`}, 0); err != nil {
		t.Fatal(err)
	}
	if f := flagsOf(a, 1); !slices.Equal(f, []string{`\Answered`, `\Seen`}) {
		t.Errorf("A after B's STORE FLAGS: %v", f)
	}
	if _, err := a.Move(ctx, "INBOX", []uint32{1}, "Archive"); err != nil {
		t.Fatal(err)
	}
	for _, mb := range []Mailbox{a, b} {
		msgs, _ := mb.Messages(ctx, "Archive")
		if len(msgs) != 1 || !slices.Contains(msgs[0].Flags, `\Seen`) {
			t.Errorf("after MOVE: %+v", msgs)
		}
	}
	// APPEND with \Seen marks it for the appender only.
	sp, err := a.Spool(ctx, strings.NewReader(testMsg("cv3", "3")), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Discard()
	res, err := a.AppendSpooled(ctx, "INBOX", []SpooledMessage{{Msg: sp, Flags: []string{`\Seen`}}})
	if err != nil {
		t.Fatal(err)
	}
	if f := flagsOf(a, res[0].UID); !slices.Contains(f, `\Seen`) {
		t.Errorf("appender: %v", f)
	}
	if f := flagsOf(b, res[0].UID); slices.Contains(f, `\Seen`) {
		t.Errorf("other reader: %v", f)
	}
	checkClean(t, s)
}

// ChangedSince returns exactly the rows whose MODSEQ passed since, new
// ones included, with the reader's own \Seen in a shared mailbox.
func TestChangedSince(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	const unit = "vanthu@x.vn"
	owner := mailboxOf(t, s, unit)
	for i := range 4 {
		appendMsg(t, owner, "INBOX", testMsg(string(rune('a'+i)), "x"))
	}
	a, err := s.SharedMailbox(ctx, unit, "a@x.vn", 0)
	if err != nil {
		t.Fatal(err)
	}
	since := status(t, a, "INBOX").HighestModSeq
	if got, err := a.ChangedSince(ctx, "INBOX", since); err != nil || len(got) != 0 {
		t.Fatalf("nothing changed: %v %v", got, err)
	}
	if _, _, err := a.SetFlags(ctx, "INBOX", []uint32{2}, FlagsAdd, []string{`\Seen`}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := owner.SetFlags(ctx, "INBOX", []uint32{3}, FlagsAdd, []string{`\Flagged`}, 0); err != nil {
		t.Fatal(err)
	}
	appendMsg(t, owner, "INBOX", testMsg("e", "x"))
	got, err := a.ChangedSince(ctx, "INBOX", since)
	if err != nil {
		t.Fatal(err)
	}
	var uids []uint32
	for _, m := range got {
		uids = append(uids, m.UID)
		if m.ModSeq <= since {
			t.Errorf("uid %d modseq %d not above %d", m.UID, m.ModSeq, since)
		}
	}
	if !slices.Equal(uids, []uint32{2, 3, 5}) || !slices.Contains(got[0].Flags, `\Seen`) || !slices.Contains(got[1].Flags, `\Flagged`) {
		t.Fatalf("changed since %d: %+v", since, got)
	}
	// The owner's view has no \Seen from the reader.
	if got, _ := owner.ChangedSince(ctx, "INBOX", since); len(got) != 3 || slices.Contains(got[0].Flags, `\Seen`) {
		t.Fatalf("owner view: %+v", got)
	}
}

// A reader's \Seen never reaches the shared listing cache: the owner and
// the other readers keep theirs.
func TestSharedSeenKeepsListingCache(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	const unit = "vanthu@x.vn"
	owner := mailboxOf(t, s, unit)
	appendMsg(t, owner, "INBOX", testMsg("a", "x"))
	a, _ := s.SharedMailbox(ctx, unit, "a@x.vn", 0)
	b, _ := s.SharedMailbox(ctx, unit, "b@x.vn", 0)
	for _, mb := range []Mailbox{owner, a, b} {
		if _, err := mb.Messages(ctx, "INBOX"); err != nil { // fills the cache
			t.Fatal(err)
		}
	}
	if _, _, err := a.SetFlags(ctx, "INBOX", []uint32{1}, FlagsAdd, []string{`\Seen`, `\Flagged`}, 0); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]struct {
		mb   Mailbox
		seen bool
	}{"owner": {owner, false}, "a": {a, true}, "b": {b, false}} {
		msgs, err := want.mb.Messages(ctx, "INBOX")
		if err != nil || len(msgs) != 1 {
			t.Fatalf("%s: %v %v", name, msgs, err)
		}
		if slices.Contains(msgs[0].Flags, `\Seen`) != want.seen || !slices.Contains(msgs[0].Flags, `\Flagged`) {
			t.Errorf("%s sees %v", name, msgs[0].Flags)
		}
	}
}

// A store written by main's code at index schema version 3 (testdata,
// made with commit c229934: text filters packed into bit slices) opens
// with its messages, flags, counters and packs, and gains what version 4
// adds; `storage rebuild` of the same store, before any migration,
// salvages the version 3 index.
func TestMigrateOldStores(t *testing.T) {
	const user = "an.nguyen@sokhcn.gov.vn"
	ctx := context.Background()
	check := func(t *testing.T, s *FileStore) {
		mb := mailboxOf(t, s, user)
		msgs, err := mb.Messages(ctx, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 4 || msgs[0].UID != 1 || msgs[2].UID != 4 || !slices.Contains(msgs[0].Flags, `\Seen`) ||
			!slices.Contains(msgs[0].Flags, "$Label1") {
			t.Fatalf("INBOX: %+v", msgs)
		}
		st := status(t, mb, "INBOX")
		if st.HighestModSeq != 9 || st.UIDNext != 6 || st.Messages != 4 {
			t.Fatalf("INBOX status %+v", st)
		}
		if got := readMsg(t, mb, "Dự án/2025", 1); len(got) == 0 {
			t.Fatal("copied message lost")
		}
		// The cache rows came through the migration (version 6 keys them
		// by one integer): FETCH ENVELOPE of one message and of a range.
		c, err := mb.Cached(ctx, "INBOX", 1)
		if err != nil || c.Envelope == nil || c.Envelope.Subject == "" || len(c.Header) == 0 {
			t.Fatalf("cached INBOX 1: %+v, %v", c, err)
		}
		many, err := mb.(CachedLister).CachedMany(ctx, "Lưu trữ", []uint32{1, 2, 77, 78, 520}, false)
		if err != nil || len(many) != 5 || many[77].Envelope == nil || many[77].Envelope.Subject == c.Envelope.Subject {
			t.Fatalf("cached Lưu trữ: %d rows, %v", len(many), err)
		}
		if st := status(t, mb, "Lưu trữ"); st.Messages != 520 {
			t.Fatalf("Lưu trữ status %+v", st)
		}
		ex, err := mb.(TextFilter).TextExcluded(ctx, "Lưu trữ", []string{FoldText("công văn lưu trữ số 77")})
		if err != nil || ex[77] || !ex[78] {
			t.Fatalf("text search after migration: 77 excluded %v, 78 excluded %v, %v", ex[77], ex[78], err)
		}
		if uids, complete, err := mb.Vanished(ctx, "INBOX", 1); err != nil || complete || len(uids) != 0 {
			t.Fatalf("Vanished before any logged expunge: %v %v %v", uids, complete, err)
		}
		if first, err := mb.ClaimRecent(ctx, "INBOX", st.UIDNext, false); err != nil || first != st.UIDNext {
			t.Fatalf("first recent %d %v, want %d", first, err, st.UIDNext)
		}
		if _, _, err := mb.SetFlags(ctx, "INBOX", []uint32{4}, FlagsAdd, []string{`\Deleted`}, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := mb.Expunge(ctx, "INBOX", nil); err != nil {
			t.Fatal(err)
		}
		if uids, complete, err := mb.Vanished(ctx, "INBOX", st.HighestModSeq); err != nil || !complete || !slices.Equal(uids, []uint32{4}) {
			t.Fatalf("Vanished since %d: %v %v %v", st.HighestModSeq, uids, complete, err)
		}
		checkClean(t, s)
		var v int
		u, err := s.acquire(ctx, user, "sokhcn.gov.vn", "an.nguyen")
		if err != nil {
			t.Fatal(err)
		}
		u.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
		s.release(u)
		if v != schemaVersion {
			t.Fatalf("user_version %d", v)
		}
	}
	// Version 4 is the last release before the text-filter mark
	// (version 5) and the cache keyed by one integer (version 6).
	for _, fixture := range []string{"store-schema3.tar.gz", "store-schema4.tar.gz"} {
		t.Run(fixture+"/open", func(t *testing.T) {
			dir := t.TempDir()
			untar(t, filepath.Join("testdata", fixture), dir)
			s := openStore(t, dir)
			// Versions 3 and 4 built every text filter at delivery: none is left
			// for a search to build.
			u, err := s.acquire(ctx, user, "sokhcn.gov.vn", "an.nguyen")
			if err != nil {
				t.Fatal(err)
			}
			var pending int
			err = u.db.QueryRowContext(ctx, "SELECT count(*) FROM folders WHERE text_from_uid != uidnext").Scan(&pending)
			s.release(u)
			if err != nil || pending != 0 {
				t.Fatalf("%d migrated folders with pending text filters (%v)", pending, err)
			}
			check(t, s)
		})
		t.Run(fixture+"/rebuild", func(t *testing.T) {
			dir := t.TempDir()
			untar(t, filepath.Join("testdata", fixture), dir)
			s := openStore(t, dir)
			if err := s.Rebuild(ctx); err != nil {
				t.Fatal(err)
			}
			check(t, s)
		})
	}
}
