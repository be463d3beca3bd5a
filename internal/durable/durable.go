// Package durable holds the file-system steps that make a write survive
// power loss, shared by the mail store and the outbound queue: a file's own
// fsync does not cover its name, so every created, renamed or linked entry
// also needs its directory fsynced (the mox/Maildir discipline: write tmp,
// fsync, rename, fsync the directory).
package durable

import (
	"errors"
	"fmt"
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

// WriteFile replaces dir/name with data crash-safely: a temporary file in
// dir, fsynced, renamed over the old one, then dir fsynced. Readers see
// the old content or the new, never a mix. dir is created if needed.
func WriteFile(dir, name string, data []byte) error {
	if err := MkdirAll(dir); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(dir)
}

// ErrTargetExists refuses MoveDir onto an existing path.
var ErrTargetExists = errors.New("durable: target already exists")

// MoveDir renames the directory src to dst (creating dst's parents) and
// makes both directory entries durable. A missing src is no error (nothing
// to move); an existing dst is ErrTargetExists.
func MoveDir(src, dst string) error {
	if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("%w: %s", ErrTargetExists, dst)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := MkdirAll(filepath.Dir(dst)); err != nil {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		return err
	}
	return errors.Join(SyncDir(filepath.Dir(src)), SyncDir(filepath.Dir(dst)))
}
