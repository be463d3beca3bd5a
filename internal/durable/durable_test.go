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
