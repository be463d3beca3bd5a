//go:build linux

package storage

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

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
