//go:build unix

package storage

import (
	"os"
	"syscall"
)

// lockDir takes a non-blocking exclusive flock on dir. The kernel drops the
// lock when the process dies, so a spool directory that can be locked by
// someone else belongs to a dead process and may be removed.
func lockDir(dir string) (*os.File, bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if err == syscall.EWOULDBLOCK {
			return nil, false, nil
		}
		return nil, false, err
	}
	return f, true, nil
}

// lockShared takes a shared flock on path (created if needed): every open
// FileStore holds one on the store's lock file.
func lockShared(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// tryExclusive converts the shared lock to an exclusive one if nobody else
// holds it, and reports whether it did. release turns it back.
func tryExclusive(f *os.File) (ok bool, release func(), err error) {
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err == syscall.EWOULDBLOCK {
		return false, nil, nil
	} else if err != nil {
		return false, nil, err
	}
	return true, func() { syscall.Flock(int(f.Fd()), syscall.LOCK_SH) }, nil
}
