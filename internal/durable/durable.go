// Package durable holds the file-system steps that make a write survive
// power loss, shared by the mail store and the outbound queue: a file's own
// fsync does not cover its name, so every created, renamed or linked entry
// also needs its directory fsynced (the mox/Maildir discipline: write tmp,
// fsync, rename, fsync the directory).
package durable

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// SyncDir fsyncs a directory so that entries created, renamed or linked in
// it survive power loss.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// MkdirAll creates dir (mode 0700) and any missing parents, fsyncing each
// parent whose contents changed, so the new directory survives a crash.
func MkdirAll(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := MkdirAll(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return SyncDir(parent)
}
