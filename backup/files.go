package backup

import (
	"bytes"
	"io"
	"io/fs"
	"os"
)

// isSQLite reports whether path starts with the SQLite file header.
func isSQLite(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var hdr [16]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return false
	}
	return bytes.Equal(hdr[:], []byte("SQLite format 3\x00"))
}

// copyFile copies src (whose Stat is fi) to the new file dst with the same
// permission bits and modification time (Rebuild takes internal dates
// from message files' times). It is not fsynced: callers sync the file
// system once (syncFS).
func copyFile(src, dst string, fi fs.FileInfo) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return 0, err
	}
	// io.Copy between files uses copy_file_range where the kernel has it.
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(dst, fi.ModTime(), fi.ModTime())
	}
	if err != nil {
		os.Remove(dst)
	}
	return n, err
}
