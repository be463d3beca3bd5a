package storage

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// copyPut is the simplest PutFile: a plain copy.
func copyPut(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// TestBackupIsTheSnapshotWhileDeliveriesGoOn backs a store up while
// messages keep arriving and one is expunged between the index snapshot
// and the copy of its file: the backup holds every message committed
// before it began, with UIDs and flags, nothing expunged, and a store
// opened on it checks clean and never reuses a UID.
func TestBackupIsTheSnapshotWhileDeliveriesGoOn(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t)
	mb := mailboxOf(t, s, "nva@angiang.gov.vn")
	type want struct {
		uid   uint32
		flags []string
	}
	before := map[string]want{}
	for i := range 30 {
		subj := fmt.Sprintf("before-%d", i)
		var flags []string
		if i%3 == 0 {
			flags = []string{`\Flagged`, `\Seen`}
		}
		r := appendMsg(t, mb, "INBOX", testMsg(subj, "body"), flags...)
		before[subj] = want{r.UID, flags}
	}
	if err := mb.Create(ctx, "Dự án/2025"); err != nil {
		t.Fatal(err)
	}
	r := appendMsg(t, mb, "Dự án/2025", testMsg("in-subfolder", "x"), `$Label1`)
	doomed := before["before-7"].uid

	dest := filepath.Join(t.TempDir(), "store")
	expunged := false
	during := 0
	put := func(src, dst string) error {
		// Deliveries go on while the backup copies.
		during++
		if _, err := mb.Append(ctx, "INBOX", strings.NewReader(testMsg(fmt.Sprintf("during-%d", during), "body")), nil, time.Time{}); err != nil {
			return err
		}
		// The message is expunged after the snapshot, before its copy.
		if !expunged && strings.HasSuffix(src, string(filepath.Separator)+fmt.Sprint(doomed)) &&
			strings.Contains(src, string(filepath.Separator)+"1"+string(filepath.Separator)) {
			expunged = true
			if _, _, err := mb.SetFlags(ctx, "INBOX", []uint32{doomed}, FlagsAdd, []string{`\Deleted`}, 0); err != nil {
				return err
			}
			if _, err := mb.Expunge(ctx, "INBOX", []uint32{doomed}); err != nil {
				return err
			}
		}
		return copyPut(src, dst)
	}
	st, err := Backup(ctx, dir, dest, put, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !expunged || st.Vanished != 1 {
		t.Fatalf("expunged %v, vanished %d: the expunge-after-snapshot case did not happen", expunged, st.Vanished)
	}
	delete(before, "before-7")

	restored := openStore(t, dest)
	rep, err := restored.Check(ctx)
	if err != nil || !rep.Clean() {
		t.Fatalf("check of the backup: %v\n%s", err, rep)
	}
	rmb := mailboxOf(t, restored, "nva@angiang.gov.vn")
	msgs, err := rmb.Messages(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint32][]string{}
	for _, m := range msgs {
		got[m.UID] = m.Flags
	}
	for subj, w := range before {
		flags, ok := got[w.uid]
		if !ok {
			t.Errorf("%s (UID %d) missing from the backup", subj, w.uid)
			continue
		}
		if !slices.Equal(flags, w.flags) && !(len(flags) == 0 && len(w.flags) == 0) {
			t.Errorf("%s: flags %v, want %v", subj, flags, w.flags)
		}
		if b := readMsg(t, rmb, "INBOX", w.uid); !strings.Contains(string(b), "Subject: "+subj+"\r\n") {
			t.Errorf("UID %d holds another message: %.80q", w.uid, b)
		}
	}
	if _, ok := got[doomed]; ok {
		t.Errorf("UID %d was expunged during the backup but is in it", doomed)
	}
	sub, err := rmb.Messages(ctx, "Dự án/2025")
	if err != nil || len(sub) != 1 || sub[0].UID != r.UID || !slices.Contains(sub[0].Flags, "$Label1") {
		t.Errorf("subfolder in the backup: %v, %v", sub, err)
	}
	// UIDs handed out after the snapshot are never handed out again.
	live, _ := mb.Status(ctx, "INBOX")
	back, _ := rmb.Status(ctx, "INBOX")
	if back.UIDNext < live.UIDNext {
		t.Errorf("restored UIDNEXT %d is below the live store's %d (a UID could be reused)", back.UIDNext, live.UIDNext)
	}
	if back.UIDValidity != live.UIDValidity {
		t.Errorf("UIDVALIDITY changed: %d, was %d", back.UIDValidity, live.UIDValidity)
	}
}

// TestBackupSkipsMailboxBeingCreated: a mailbox whose index exists but
// whose account row is not committed yet (the moment between opening the
// index and creating the default folders) holds nothing; the backup passes
// over it instead of failing, and keeps the others.
func TestBackupSkipsMailboxBeingCreated(t *testing.T) {
	ctx := context.Background()
	s, dir := newStore(t)
	mb := mailboxOf(t, s, "nva@angiang.gov.vn")
	appendMsg(t, mb, "INBOX", testMsg("kept", "body"))
	creating := filepath.Join(dir, "users", "angiang.gov.vn", "ttb")
	if err := os.MkdirAll(creating, 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := openIndex(filepath.Join(creating, indexFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := initSchema(ctx, db); err != nil {
		t.Fatal(err)
	}
	db.Close()
	dest := filepath.Join(t.TempDir(), "store")
	st, err := Backup(ctx, dir, dest, copyPut, 2)
	if err != nil {
		t.Fatalf("backup with a mailbox being created: %v", err)
	}
	if st.Messages != 1 {
		t.Errorf("backup holds %d messages, want the 1 committed", st.Messages)
	}
	if _, err := os.Stat(filepath.Join(dest, "users", "angiang.gov.vn", "ttb")); err == nil {
		t.Errorf("the mailbox being created is in the backup")
	}
}
