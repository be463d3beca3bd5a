//go:build linux

package storage

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// On Linux a message for one folder is spooled as an unnamed file: it has
// no name anywhere while it is written and fsynced, nothing is left in the
// spool directory, and it ends up with exactly one name, in the folder. A
// message for several users keeps a spool name until it is linked
// everywhere (an EXPUNGE of the first copy must not stop the others).
func TestSpoolUnnamedForOneFolder(t *testing.T) {
	s, dir := newStore(t)
	if !s.anonSpool {
		t.Fatal("the store does not spool unnamed files on Linux")
	}
	var mu sync.Mutex
	var links []uint64
	s.fileSync = func(f *os.File) error {
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		entries, err := os.ReadDir(s.spool)
		if err != nil {
			return err
		}
		mu.Lock()
		links = append(links, uint64(fi.Sys().(*syscall.Stat_t).Nlink)+uint64(len(entries))*100)
		mu.Unlock()
		return f.Sync()
	}
	res, err := s.Deliver(context.Background(), strings.NewReader(testMsg("one", "x")), []Recipient{{User: testUser}})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	if _, err := s.Deliver(context.Background(), strings.NewReader(testMsg("two", "x")),
		[]Recipient{{User: testUser}, {User: "ttb@angiang.gov.vn"}}); err != nil {
		t.Fatal(err)
	}
	// links: 100 × spool entries + the file's link count, at its fsync.
	if len(links) != 2 || links[0] != 0 || links[1] != 101 {
		t.Errorf("at fsync (100 × spool entries + links): %v, want [0 101]", links)
	}
	p := mailboxOf(t, s, testUser).(*mailbox).pathOf(t, Inbox, res[0].UID)
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if n := fi.Sys().(*syscall.Stat_t).Nlink; n != 1 {
		t.Errorf("delivered file has %d links, want 1", n)
	}
	if entries, _ := os.ReadDir(s.spool); len(entries) != 0 {
		t.Errorf("spool not empty after delivery: %v", entries)
	}
	if got := len(messageFiles(t, dir)); got != 3 {
		t.Errorf("%d message files, want 3", got)
	}
	checkClean(t, s)
}

// Both ways of naming an unnamed spool file give the same file, once per
// name: linkAnonymous (the descriptor itself, or /proc without the
// capability) and linkThroughProc (what an unprivileged congvu on an
// older kernel uses).
func TestLinkAnonymousBothWays(t *testing.T) {
	dir := t.TempDir()
	f, err := createAnonymous(dir)
	if err != nil {
		t.Skipf("no O_TMPFILE here: %v", err)
	}
	defer f.Close()
	if _, err := f.WriteString("Subject: x\r\n\r\nbody\r\n"); err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(dir, "1"), filepath.Join(dir, "2")
	if err := linkAnonymous(f, a); err != nil {
		t.Fatal(err)
	}
	if err := linkThroughProc(f, b); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{a, b} {
		got, err := os.ReadFile(p)
		if err != nil || string(got) != "Subject: x\r\n\r\nbody\r\n" {
			t.Fatalf("%s: %q, %v", p, got, err)
		}
	}
	sa, _ := os.Stat(a)
	sb, _ := os.Stat(b)
	if !os.SameFile(sa, sb) {
		t.Fatal("the two names are different files")
	}
	if err := linkAnonymous(f, b); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("linking over an existing name: %v, want it to exist", err)
	}
	if err := linkThroughProc(f, a); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("linking over an existing name through /proc: %v", err)
	}
}
