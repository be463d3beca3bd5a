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
