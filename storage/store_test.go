package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"congvu/internal/mailerr"
)

// testLogger sends store logs to the test log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func openStore(t testing.TB, dir string) *FileStore {
	t.Helper()
	s, err := Open(dir, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newStore(t testing.TB) (*FileStore, string) {
	dir := t.TempDir()
	return openStore(t, dir), dir
}

func mailboxOf(t testing.TB, s *FileStore, user string) Mailbox {
	t.Helper()
	mb, err := s.Mailbox(context.Background(), user, 0)
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

// testMsg builds a small CRLF message.
func testMsg(subject, body string) string {
	return "From: Van Thu <vanthu@angiang.gov.vn>\r\nTo: nva@angiang.gov.vn\r\nSubject: " + subject +
		"\r\nDate: Mon, 3 Mar 2025 08:15:00 +0700\r\nMessage-ID: <" + subject + "@angiang.gov.vn>\r\n\r\n" + body + "\r\n"
}

func deliver(t testing.TB, s *FileStore, msg string, rcpts ...Recipient) []DeliveryResult {
	t.Helper()
	res, err := s.Deliver(context.Background(), strings.NewReader(msg), rcpts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func appendMsg(t testing.TB, mb Mailbox, folder, msg string, flags ...string) DeliveryResult {
	t.Helper()
	res, err := mb.Append(context.Background(), folder, strings.NewReader(msg), flags, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func readMsg(t testing.TB, mb Mailbox, folder string, uid uint32) []byte {
	t.Helper()
	rc, err := mb.Open(context.Background(), folder, uid)
	if err != nil {
		t.Fatalf("open %s/%d: %v", folder, uid, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func uidsOf(t testing.TB, mb Mailbox, folder string) []uint32 {
	t.Helper()
	msgs, err := mb.Messages(context.Background(), folder)
	if err != nil {
		t.Fatal(err)
	}
	var out []uint32
	for _, m := range msgs {
		out = append(out, m.UID)
	}
	return out
}

func status(t testing.TB, mb Mailbox, folder string) FolderStatus {
	t.Helper()
	st, err := mb.Status(context.Background(), folder)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
}

func checkClean(t testing.TB, s *FileStore) *CheckReport {
	t.Helper()
	rep, err := s.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Clean() {
		t.Fatalf("check not clean:\n%s", rep)
	}
	return rep
}

func TestNewMailboxHasSpecialUseFolders(t *testing.T) {
	s, _ := newStore(t)
	mb := mailboxOf(t, s, "NVA@AnGiang.gov.vn")
	if mb.User() != "nva@angiang.gov.vn" {
		t.Errorf("user %q", mb.User())
	}
	folders, err := mb.Folders(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{Inbox: "", Sent: `\Sent`, Drafts: `\Drafts`, Trash: `\Trash`, Junk: `\Junk`, Archive: `\Archive`}
	if len(folders) != len(want) || folders[0].Name != Inbox {
		t.Fatalf("folders %+v", folders)
	}
	validities := map[uint32]bool{}
	for _, f := range folders {
		if use, ok := want[f.Name]; !ok || use != f.SpecialUse || !f.Subscribed {
			t.Errorf("folder %+v", f)
		}
		if f.UIDNext != 1 || f.HighestModSeq == 0 || f.UIDValidity == 0 || validities[f.UIDValidity] {
			t.Errorf("folder %+v: bad UIDNEXT/HIGHESTMODSEQ/UIDVALIDITY", f)
		}
		validities[f.UIDValidity] = true
	}
	if st := status(t, mb, "inbox"); st.Name != Inbox {
		t.Errorf("INBOX is case-insensitive, got %+v", st)
	}
	checkClean(t, s)
}

func TestDeliverToSeveralRecipients(t *testing.T) {
	s, dir := newStore(t)
	msg := testMsg("giao-ban", "Lich hop giao ban.")
	res := deliver(t, s, msg,
		Recipient{User: "a@angiang.gov.vn"},
		Recipient{User: "b@angiang.gov.vn", Folder: "Junk"},
		Recipient{User: "c@skhcn.angiang.gov.vn"},
		Recipient{User: "../evil@angiang.gov.vn"},
	)
	for i, r := range res[:3] {
		if r.Err != nil || r.UID != 1 || r.UIDValidity == 0 {
			t.Errorf("recipient %d: %+v", i, r)
		}
	}
	wantErr(t, res[3].Err, mailerr.ErrUnknownUser)

	a := mailboxOf(t, s, "a@angiang.gov.vn")
	b := mailboxOf(t, s, "b@angiang.gov.vn")
	if got := readMsg(t, a, Inbox, 1); string(got) != msg {
		t.Errorf("a's copy differs: %q", got)
	}
	if got := readMsg(t, b, Junk, 1); string(got) != msg {
		t.Errorf("b's copy differs: %q", got)
	}
	if res[1].UIDValidity != status(t, b, Junk).UIDValidity {
		t.Errorf("delivery reported UIDVALIDITY %d, folder has %d", res[1].UIDValidity, status(t, b, Junk).UIDValidity)
	}
	// One fsynced file, hard-linked into every mailbox.
	st1, err := os.Stat(filepath.Join(dir, "users", "angiang.gov.vn", "a", "1", "1"))
	if err != nil {
		t.Fatal(err)
	}
	st2, err := os.Stat(filepath.Join(dir, "users", "skhcn.angiang.gov.vn", "c", "1", "1"))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(st1, st2) {
		t.Error("recipients do not share one hard-linked file")
	}
	c, err := a.Cached(context.Background(), Inbox, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c.Envelope.Subject != "giao-ban" || !bytes.HasSuffix(c.Header, []byte("\r\n\r\n")) || c.BodyStructure.MediaType() != "text/plain" {
		t.Errorf("cached %+v", c)
	}
	entries, _ := os.ReadDir(s.spool)
	if len(entries) != 0 {
		t.Errorf("spool not empty after delivery: %v", entries)
	}
	checkClean(t, s)
}

func TestAppendListOpenIdentity(t *testing.T) {
	s, _ := newStore(t)
	mb := mailboxOf(t, s, "nva@angiang.gov.vn")
	msgs := readTestMessages(t)
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range msgs {
			if !yield(n) {
				return
			}
		}
	})
	extra := map[string][]byte{
		"bare-lf":  []byte("Subject: bare LF\n\nline one\nline two\n"),
		"empty":    {},
		"binary":   bytes.Repeat([]byte{0, 1, 2, 0xff, '\r', '\n'}, 1000),
		"no-final": []byte("Subject: x\r\n\r\nno final newline"),
	}
	for n := range extra {
		names = append(names, n)
		msgs[n] = extra[n]
	}
	date := time.Date(2024, 12, 31, 23, 59, 58, 0, time.FixedZone("ICT", 7*3600))
	for i, n := range names {
		res, err := mb.Append(context.Background(), Sent, bytes.NewReader(msgs[n]), []string{`\seen`, "$Label1"}, date)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if res.UID != uint32(i+1) {
			t.Errorf("%s: UID %d, want %d", n, res.UID, i+1)
		}
	}
	list, err := mb.Messages(context.Background(), Sent)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(names) {
		t.Fatalf("%d messages listed, want %d", len(list), len(names))
	}
	for i, m := range list {
		raw := msgs[names[i]]
		if got := readMsg(t, mb, Sent, m.UID); !bytes.Equal(got, raw) {
			t.Errorf("%s: stored bytes differ", names[i])
		}
		if m.Size != int64(len(raw)) || !m.InternalDate.Equal(date) || !slices.Equal(m.Flags, []string{"$Label1", `\Seen`}) {
			t.Errorf("%s: row %+v", names[i], m)
		}
		if _, err := mb.Cached(context.Background(), Sent, m.UID); err != nil {
			t.Errorf("%s: cached: %v", names[i], err)
		}
	}
	st := status(t, mb, Sent)
	var size int64
	for _, n := range names {
		size += int64(len(msgs[n]))
	}
	if st.Messages != uint32(len(names)) || st.Unseen != 0 || st.Size != size || st.UIDNext != uint32(len(names)+1) {
		t.Errorf("status %+v", st)
	}
	if used, _, _ := mb.Quota(context.Background()); used != size {
		t.Errorf("quota used %d, want %d", used, size)
	}
	_, err = mb.Append(context.Background(), "Nope", strings.NewReader("x"), nil, time.Time{})
	wantErr(t, err, mailerr.ErrNoSuchFolder)
	_, err = mb.Append(context.Background(), Inbox, strings.NewReader("x"), []string{`\Bogus`}, time.Time{})
	wantErr(t, err, mailerr.ErrCannotDo)
	_, err = mb.Open(context.Background(), Sent, 999)
	wantErr(t, err, ErrNoSuchMessage)
	_, err = mb.Cached(context.Background(), Sent, 999)
	wantErr(t, err, ErrNoSuchMessage)
	_, err = mb.Cached(context.Background(), "Nope", 1)
	wantErr(t, err, mailerr.ErrNoSuchFolder)
	checkClean(t, s)
}

func TestFlagsAndModSeq(t *testing.T) {
	s, _ := newStore(t)
	mb := mailboxOf(t, s, "nva@angiang.gov.vn")
	ctx := context.Background()
	for i := range 3 {
		appendMsg(t, mb, Inbox, testMsg(fmt.Sprint("m", i), "x"))
	}
	st0 := status(t, mb, Inbox)
	if st0.Unseen != 3 {
		t.Fatalf("status %+v", st0)
	}
	upd, failed, err := mb.SetFlags(ctx, Inbox, []uint32{1, 2, 99}, FlagsAdd, []string{`\SEEN`, "Work"}, 0)
	if err != nil || len(failed) != 0 || len(upd) != 2 {
		t.Fatalf("SetFlags: %v %v %v", upd, failed, err)
	}
	st1 := status(t, mb, Inbox)
	if st1.HighestModSeq <= st0.HighestModSeq || st1.Unseen != 1 {
		t.Errorf("after add: %+v (before %+v)", st1, st0)
	}
	for _, m := range upd {
		if m.ModSeq != st1.HighestModSeq || !slices.Equal(m.Flags, []string{"Work", `\Seen`}) {
			t.Errorf("updated row %+v", m)
		}
	}
	// Adding a keyword already present in another case changes nothing.
	upd, _, _ = mb.SetFlags(ctx, Inbox, []uint32{1}, FlagsAdd, []string{"work"}, 0)
	if status(t, mb, Inbox).HighestModSeq != st1.HighestModSeq || upd[0].ModSeq != st1.HighestModSeq {
		t.Error("a no-op STORE bumped MODSEQ")
	}
	// UNCHANGEDSINCE (RFC 7162 3.1.3): message 3 is older and succeeds,
	// messages 1 and 2 were changed after st0 and fail.
	upd, failed, err = mb.SetFlags(ctx, Inbox, []uint32{1, 2, 3}, FlagsAdd, []string{`\Flagged`}, st0.HighestModSeq)
	if err != nil || !slices.Equal(failed, []uint32{1, 2}) || len(upd) != 1 || upd[0].UID != 3 {
		t.Fatalf("UNCHANGEDSINCE: upd %v failed %v err %v", upd, failed, err)
	}
	st2 := status(t, mb, Inbox)
	upd, _, _ = mb.SetFlags(ctx, Inbox, []uint32{1}, FlagsRemove, []string{"WORK", `\Seen`}, 0)
	if len(upd[0].Flags) != 0 || upd[0].ModSeq <= st2.HighestModSeq {
		t.Errorf("remove: %+v", upd[0])
	}
	upd, _, _ = mb.SetFlags(ctx, Inbox, []uint32{2}, FlagsSet, []string{`\Deleted`, `\Recent`}, 0)
	if !slices.Equal(upd[0].Flags, []string{`\Deleted`}) {
		t.Errorf("set: %+v", upd[0])
	}
	if st := status(t, mb, Inbox); st.Deleted != 1 || st.Unseen != 3 {
		t.Errorf("status %+v", st)
	}
	list, _ := mb.Messages(ctx, Inbox)
	for _, m := range list {
		if m.ModSeq > status(t, mb, Inbox).HighestModSeq {
			t.Errorf("message MODSEQ %d above HIGHESTMODSEQ", m.ModSeq)
		}
	}
	_, _, err = mb.SetFlags(ctx, Inbox, []uint32{1}, FlagsAdd, []string{"bad flag"}, 0)
	wantErr(t, err, mailerr.ErrCannotDo)
	_, _, err = mb.SetFlags(ctx, "Nope", []uint32{1}, FlagsAdd, nil, 0)
	wantErr(t, err, mailerr.ErrNoSuchFolder)
	checkClean(t, s)
}

func TestExpunge(t *testing.T) {
	s, dir := newStore(t)
	mb := mailboxOf(t, s, "nva@angiang.gov.vn")
	ctx := context.Background()
	for i := range 5 {
		appendMsg(t, mb, Inbox, testMsg(fmt.Sprint("m", i), strings.Repeat("x", 100)))
	}
	usedBefore, _, _ := mb.Quota(ctx)
	mb.SetFlags(ctx, Inbox, []uint32{2, 4, 5}, FlagsAdd, []string{`\Deleted`}, 0)
	before := status(t, mb, Inbox)
	// UID EXPUNGE only removes the listed \Deleted messages.
	removed, err := mb.Expunge(ctx, Inbox, []uint32{1, 2})
	if err != nil || !slices.Equal(removed, []uint32{2}) {
		t.Fatalf("UID EXPUNGE: %v %v", removed, err)
	}
	removed, err = mb.Expunge(ctx, Inbox, nil)
	if err != nil || !slices.Equal(removed, []uint32{4, 5}) {
		t.Fatalf("EXPUNGE: %v %v", removed, err)
	}
	if got := uidsOf(t, mb, Inbox); !slices.Equal(got, []uint32{1, 3}) {
		t.Errorf("left %v", got)
	}
	st := status(t, mb, Inbox)
	if st.Messages != 2 || st.Deleted != 0 || st.HighestModSeq <= before.HighestModSeq || st.UIDNext != 6 {
		t.Errorf("status %+v", st)
	}
	for _, uid := range []string{"2", "4", "5"} {
		if _, err := os.Stat(filepath.Join(dir, "users", "angiang.gov.vn", "nva", "1", uid)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("file of expunged UID %s still there: %v", uid, err)
		}
	}
	if used, _, _ := mb.Quota(ctx); used != usedBefore/5*2 || st.Size != used {
		t.Errorf("used %d, before %d, folder size %d", used, usedBefore, st.Size)
	}
	// UIDs are never reused, even for the highest expunged one.
	if res := appendMsg(t, mb, Inbox, testMsg("new", "y")); res.UID != 6 {
		t.Errorf("new message got UID %d, want 6", res.UID)
	}
	_, err = mb.Open(ctx, Inbox, 4)
	wantErr(t, err, ErrNoSuchMessage)
	if removed, err := mb.Expunge(ctx, Inbox, nil); err != nil || len(removed) != 0 {
		t.Errorf("empty expunge: %v %v", removed, err)
	}
	checkClean(t, s)
}

func TestCopyAndMove(t *testing.T) {
	s, _ := newStore(t)
	mb := mailboxOf(t, s, "nva@angiang.gov.vn")
	ctx := context.Background()
	var raws []string
	for i := range 4 {
		raws = append(raws, testMsg(fmt.Sprint("m", i), "body"))
		appendMsg(t, mb, Inbox, raws[i])
	}
	mb.SetFlags(ctx, Inbox, []uint32{2}, FlagsAdd, []string{`\Flagged`, `\Seen`}, 0)
	appendMsg(t, mb, Archive, testMsg("already", "there"))
	arch := status(t, mb, Archive)
	usedBefore, _, _ := mb.Quota(ctx)

	res, err := mb.Copy(ctx, Inbox, []uint32{4, 2, 77}, Archive)
	if err != nil {
		t.Fatal(err)
	}
	if res.UIDValidity != arch.UIDValidity || !slices.Equal(res.SourceUIDs, []uint32{2, 4}) || !slices.Equal(res.DestUIDs, []uint32{2, 3}) {
		t.Fatalf("COPYUID %+v", res)
	}
	for i, src := range res.SourceUIDs {
		if got := readMsg(t, mb, Archive, res.DestUIDs[i]); string(got) != raws[src-1] {
			t.Errorf("copy of %d differs", src)
		}
	}
	list, _ := mb.Messages(ctx, Archive)
	if !slices.Equal(list[1].Flags, []string{`\Flagged`, `\Seen`}) {
		t.Errorf("flags not preserved: %+v", list[1])
	}
	if used, _, _ := mb.Quota(ctx); used != usedBefore+2*int64(len(raws[0])) {
		t.Errorf("copies must count against the quota: used %d", used)
	}
	if got := uidsOf(t, mb, Inbox); len(got) != 4 {
		t.Errorf("copy changed the source: %v", got)
	}

	inboxBefore := status(t, mb, Inbox)
	res, err = mb.Move(ctx, Inbox, []uint32{1, 2}, "Trash")
	if err != nil || !slices.Equal(res.SourceUIDs, []uint32{1, 2}) || !slices.Equal(res.DestUIDs, []uint32{1, 2}) {
		t.Fatalf("MOVE: %+v %v", res, err)
	}
	if got := uidsOf(t, mb, Inbox); !slices.Equal(got, []uint32{3, 4}) {
		t.Errorf("inbox after move %v", got)
	}
	if got := readMsg(t, mb, Trash, 2); string(got) != raws[1] {
		t.Error("moved message differs")
	}
	if st := status(t, mb, Inbox); st.HighestModSeq <= inboxBefore.HighestModSeq || st.Unseen != 2 {
		t.Errorf("inbox status after move %+v", st)
	}
	if used, _, _ := mb.Quota(ctx); used != usedBefore+2*int64(len(raws[0])) {
		t.Errorf("move changed quota use: %d", used)
	}
	_, err = mb.Move(ctx, Inbox, []uint32{3}, "Nope")
	wantErr(t, err, mailerr.ErrNoSuchFolder)
	if res, err := mb.Copy(ctx, Inbox, []uint32{100}, Trash); err != nil || len(res.DestUIDs) != 0 {
		t.Errorf("copy of nothing: %+v %v", res, err)
	}
	// Moving within the same folder renumbers.
	res, err = mb.Move(ctx, Inbox, []uint32{3}, "inbox")
	if err != nil || !slices.Equal(res.DestUIDs, []uint32{5}) {
		t.Errorf("move to same folder: %+v %v", res, err)
	}
	checkClean(t, s)
}

func TestQuota(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	msg := testMsg("q", strings.Repeat("x", 1000))
	size := int64(len(msg))
	res := deliver(t, s, msg,
		Recipient{User: "small@angiang.gov.vn", QuotaBytes: size},
		Recipient{User: "big@angiang.gov.vn"},
	)
	if res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("first delivery: %+v", res)
	}
	res = deliver(t, s, msg,
		Recipient{User: "small@angiang.gov.vn", QuotaBytes: size},
		Recipient{User: "big@angiang.gov.vn"},
	)
	wantErr(t, res[0].Err, mailerr.ErrOverQuota)
	if res[1].Err != nil || res[1].UID != 2 {
		t.Errorf("other recipient: %+v", res[1])
	}
	small, err := s.Mailbox(ctx, "small@angiang.gov.vn", size)
	if err != nil {
		t.Fatal(err)
	}
	if used, limit, _ := small.Quota(ctx); used != size || limit != size {
		t.Errorf("quota %d/%d", used, limit)
	}
	_, err = small.Append(ctx, Inbox, strings.NewReader(msg), nil, time.Time{})
	wantErr(t, err, mailerr.ErrOverQuota)
	_, err = small.Copy(ctx, Inbox, []uint32{1}, Archive)
	wantErr(t, err, mailerr.ErrOverQuota)
	if _, err := small.Move(ctx, Inbox, []uint32{1}, Archive); err != nil {
		t.Errorf("move within quota refused: %v", err)
	}
	if got := uidsOf(t, small, Inbox); len(got) != 0 {
		t.Errorf("inbox %v", got)
	}
	// Expunging frees the space.
	small.SetFlags(ctx, Archive, []uint32{1}, FlagsAdd, []string{`\Deleted`}, 0)
	small.Expunge(ctx, Archive, nil)
	if _, err := small.Append(ctx, Inbox, strings.NewReader(msg), nil, time.Time{}); err != nil {
		t.Errorf("append after expunge: %v", err)
	}
	if _, limit, _ := mailboxOf(t, s, "big@angiang.gov.vn").Quota(ctx); limit != defaultQuota {
		t.Errorf("default limit %d", limit)
	}
	checkClean(t, s)
}

func TestFolderOperations(t *testing.T) {
	s, _ := newStore(t)
	mb := mailboxOf(t, s, "nva@angiang.gov.vn")
	ctx := context.Background()
	wantErr(t, mb.Create(ctx, "Sent"), mailerr.ErrFolderExists)
	wantErr(t, mb.Create(ctx, "inbox"), mailerr.ErrFolderExists)
	for _, bad := range []string{"a//b", "/a", "a/*", "x%", "bad\x00name", " lead"} {
		if err := mb.Create(ctx, bad); err == nil {
			t.Errorf("Create(%q) accepted", bad)
		}
	}
	if err := mb.Create(ctx, "Công văn/Đến/2025/"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"Công văn", "Công văn/Đến", "Công văn/Đến/2025"} {
		if st := status(t, mb, n); st.Subscribed || st.UIDNext != 1 {
			t.Errorf("%s: %+v", n, st)
		}
	}
	appendMsg(t, mb, "Công văn/Đến", testMsg("cv", "x"))
	old := status(t, mb, "Công văn/Đến")

	wantErr(t, mb.Rename(ctx, "Công văn", "Sent"), mailerr.ErrFolderExists)
	wantErr(t, mb.Rename(ctx, "Công văn", "Công văn/x"), mailerr.ErrCannotDo)
	wantErr(t, mb.Rename(ctx, "Nope", "X"), mailerr.ErrNoSuchFolder)
	if err := mb.Rename(ctx, "Công văn", "Lưu trữ/Văn bản"); err != nil {
		t.Fatal(err)
	}
	moved := status(t, mb, "Lưu trữ/Văn bản/Đến")
	if moved.UIDValidity != old.UIDValidity || moved.Messages != 1 {
		t.Errorf("renamed folder lost its state: %+v vs %+v", moved, old)
	}
	status(t, mb, "Lưu trữ")
	status(t, mb, "Lưu trữ/Văn bản/Đến/2025")
	_, err := mb.Status(ctx, "Công văn/Đến")
	wantErr(t, err, mailerr.ErrNoSuchFolder)

	wantErr(t, mb.Delete(ctx, "INBOX"), mailerr.ErrCannotDo)
	wantErr(t, mb.Delete(ctx, "Lưu trữ/Văn bản"), mailerr.ErrCannotDo) // has children
	wantErr(t, mb.Delete(ctx, "Nope"), mailerr.ErrNoSuchFolder)
	used, _, _ := mb.Quota(ctx)
	if err := mb.Delete(ctx, "Lưu trữ/Văn bản/Đến/2025"); err != nil {
		t.Fatal(err)
	}
	if err := mb.Delete(ctx, "Lưu trữ/Văn bản/Đến"); err != nil {
		t.Fatal(err)
	}
	if after, _, _ := mb.Quota(ctx); after >= used {
		t.Errorf("deleting a folder did not free its bytes: %d → %d", used, after)
	}
	// A folder created again under the same name gets a new UIDVALIDITY.
	if err := mb.Create(ctx, "Lưu trữ/Văn bản/Đến"); err != nil {
		t.Fatal(err)
	}
	if st := status(t, mb, "Lưu trữ/Văn bản/Đến"); st.UIDValidity == old.UIDValidity || st.Messages != 0 {
		t.Errorf("re-created folder %+v", st)
	}

	if err := mb.Subscribe(ctx, "Lưu trữ", true); err != nil || !status(t, mb, "Lưu trữ").Subscribed {
		t.Errorf("subscribe: %v", err)
	}
	wantErr(t, mb.Subscribe(ctx, "Nope", true), mailerr.ErrNoSuchFolder)

	// RENAME INBOX moves its messages to the new folder (RFC 9051 6.3.6).
	appendMsg(t, mb, Inbox, testMsg("one", "1"))
	appendMsg(t, mb, Inbox, testMsg("two", "2"))
	if err := mb.Rename(ctx, "INBOX", "Old mail"); err != nil {
		t.Fatal(err)
	}
	if st := status(t, mb, Inbox); st.Messages != 0 {
		t.Errorf("INBOX not empty after RENAME INBOX: %+v", st)
	}
	if st := status(t, mb, "Old mail"); st.Messages != 2 {
		t.Errorf("RENAME INBOX target %+v", st)
	}
	wantErr(t, mb.Rename(ctx, "Old mail", "inbox"), mailerr.ErrFolderExists)
	checkClean(t, s)
}

func TestSanitizesUserNames(t *testing.T) {
	s, dir := newStore(t)
	for _, bad := range []string{"../x@y.vn", "a/b@y.vn", "x@..", "a@b/../../c", "a\x00@b.vn", "@b.vn", "a@", "noat",
		".hidden@b.vn", "a@.b", "a\\b@c.vn", "\xff@b.vn"} {
		_, err := s.Mailbox(context.Background(), bad, 0)
		wantErr(t, err, mailerr.ErrUnknownUser)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "users"))
	if len(entries) != 0 {
		t.Errorf("users dir not empty: %v", entries)
	}
	if _, err := s.Mailbox(context.Background(), "nguyễn.văn.a@bình-định.gov.vn", 0); err != nil {
		t.Errorf("UTF-8 address refused: %v", err)
	}
}

func TestWatch(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	imap1 := mailboxOf(t, s, "nva@angiang.gov.vn")
	imap2 := mailboxOf(t, s, "NVA@angiang.gov.vn")
	events, cancel := imap1.Watch("inbox")
	defer cancel()
	other, cancelOther := mailboxOf(t, s, "ttl@angiang.gov.vn").Watch(Inbox)
	defer cancelOther()
	sent, cancelSent := imap1.Watch(Sent)
	defer cancelSent()

	expect := func(what string) Event {
		t.Helper()
		select {
		case ev := <-events:
			if ev.Folder != Inbox {
				t.Errorf("%s: event for %q", what, ev.Folder)
			}
			return ev
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no event", what)
		}
		return Event{}
	}
	deliver(t, s, testMsg("w1", "x"), Recipient{User: "nva@angiang.gov.vn"})
	ev := expect("deliver")
	if ev.ModSeq != status(t, imap2, Inbox).HighestModSeq {
		t.Errorf("event MODSEQ %d", ev.ModSeq)
	}
	// Several changes while nobody reads coalesce into one pending event
	// carrying the latest MODSEQ.
	appendMsg(t, imap2, Inbox, testMsg("w2", "x"))
	imap2.SetFlags(ctx, Inbox, []uint32{1}, FlagsAdd, []string{`\Deleted`}, 0)
	imap2.Expunge(ctx, Inbox, nil)
	ev = expect("coalesced")
	if ev.ModSeq != status(t, imap2, Inbox).HighestModSeq {
		t.Errorf("coalesced event MODSEQ %d, want %d", ev.ModSeq, status(t, imap2, Inbox).HighestModSeq)
	}
	select {
	case ev := <-events:
		t.Errorf("unexpected extra event %+v", ev)
	default:
	}
	imap2.Copy(ctx, Inbox, []uint32{2}, Sent)
	select {
	case <-sent:
	case <-time.After(5 * time.Second):
		t.Error("copy did not notify the target folder")
	}
	imap2.Move(ctx, Sent, []uint32{1}, Inbox)
	expect("move into INBOX")
	select {
	case <-sent:
	case <-time.After(5 * time.Second):
		t.Error("move did not notify the source folder")
	}
	select {
	case ev := <-other:
		t.Errorf("another user's watcher got %+v", ev)
	default:
	}
	// Watchers survive the user's index being closed when idle.
	s.evictIdle(0)
	deliver(t, s, testMsg("w3", "x"), Recipient{User: "nva@angiang.gov.vn"})
	expect("after eviction")
	cancel()
	cancel() // idempotent
	deliver(t, s, testMsg("w4", "x"), Recipient{User: "nva@angiang.gov.vn"})
	select {
	case ev := <-events:
		t.Errorf("event after cancel: %+v", ev)
	default:
	}
}
