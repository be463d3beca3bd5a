package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// diskResult is the disk's own ceiling for durable small-file delivery:
// write a 10 KB file, fsync it, rename it into place, fsync the directory
// (the same sequence congvu and Maildir deliveries need for crash safety).
type diskResult struct {
	Batch    int     `json:"batch"` // files per directory fsync
	Files    int     `json:"files"`
	Seconds  float64 `json:"seconds"`
	FilesPer float64 `json:"files_per_s"`
}

// measureDisk writes files in dir for at most d (and at most maxFiles),
// fsyncing the directory once per batch files, and leaves them there.
func measureDisk(dir string, batch, maxFiles int, d time.Duration) (diskResult, error) {
	res := diskResult{Batch: batch}
	tmp, cur := filepath.Join(dir, "tmp"), filepath.Join(dir, "new")
	for _, p := range []string{tmp, cur} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return res, err
		}
	}
	// The files stay until the run's temporary directory goes. Removing
	// them here made the next test pay for it: on ext4 without a journal
	// (this VM's disk) the inode allocator skips every inode freed in the
	// last ~35 s, one inode-table read each, so the first server measured
	// after a mass removal spent a tenth of its CPU (one profile) finding free
	// inodes (perf: recently_deleted), and the server measured later did
	// not (issue 16).
	data := make([]byte, 10*1024)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	dirf, err := os.Open(cur)
	if err != nil {
		return res, err
	}
	defer dirf.Close()
	start := time.Now()
	deadline := start.Add(d)
	n := 0
	for n < maxFiles && time.Now().Before(deadline) {
		for j := 0; j < batch; j++ {
			name := fmt.Sprintf("%d.%d", n, j)
			if err := writeSynced(filepath.Join(tmp, name), data); err != nil {
				return res, err
			}
			if err := os.Rename(filepath.Join(tmp, name), filepath.Join(cur, name)); err != nil {
				return res, err
			}
		}
		if err := dirf.Sync(); err != nil {
			return res, err
		}
		n += batch
	}
	res.Seconds = time.Since(start).Seconds()
	res.Files = n
	if res.Seconds > 0 {
		res.FilesPer = float64(n) / res.Seconds
	}
	return res, nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
