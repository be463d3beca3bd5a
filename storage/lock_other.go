//go:build !unix

package storage

import (
	"os"
	"time"
)

// lockDir without flock: a spool directory untouched for a day is assumed
// to belong to a dead process. Deliveries never take that long.
func lockDir(dir string) (*os.File, bool, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, false, err
	}
	if time.Since(st.ModTime()) < 24*time.Hour {
		return nil, false, nil
	}
	f, err := os.Open(dir)
	return f, err == nil, err
}

// Without flock, other processes cannot be detected.
func lockShared(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}

func tryExclusive(*os.File) (bool, func(), error) { return true, func() {}, nil }
