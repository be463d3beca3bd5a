package storage

import (
	"congvu/internal/durable"
	"os"
	"path/filepath"
)

// writeFileDurable replaces path with data: write a temporary sibling,
// fsync it, rename it over path, fsync the directory.
func writeFileDurable(path string, data []byte) error {
	tmp := path + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return durable.SyncDir(filepath.Dir(path))
}

// tmpSuffix marks half-written files next to the files they replace; Check
// ignores them and Rebuild removes them.
const tmpSuffix = ".tmp"
