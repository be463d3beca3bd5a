package durable

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMkdirAllAndSyncDir(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b", "c")
	if err := MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("MkdirAll made %v, %v; want a 0700 directory", fi, err)
	}
	if err := MkdirAll(dir); err != nil {
		t.Errorf("MkdirAll on an existing directory: %v", err)
	}
	if err := SyncDir(dir); err != nil {
		t.Error(err)
	}
	if err := SyncDir(filepath.Join(root, "missing")); err == nil {
		t.Error("SyncDir of a missing directory succeeded")
	}
	file := filepath.Join(root, "file")
	os.WriteFile(file, nil, 0o600)
	if err := MkdirAll(filepath.Join(file, "sub")); err == nil {
		t.Error("MkdirAll below a file succeeded")
	}
}

func TestWriteFileReplaces(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	if err := WriteFile(dir, "f", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(dir, "f", []byte("two")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "f"))
	entries, _ := os.ReadDir(dir)
	if err != nil || string(b) != "two" || len(entries) != 1 {
		t.Errorf("content %q, %d entries (no temporary file may remain): %v", b, len(entries), err)
	}
}
