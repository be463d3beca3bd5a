package backup

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"congvu/internal/config"
	"congvu/internal/durable"
	"congvu/storage"
)

// manifestName is written last into a backup; restore reads it first.
const manifestName = "manifest.json"

// timeLayout names backups: sortable, no colons (portable file names).
const timeLayout = "20060102T150405Z"

// Options configure one backup.
type Options struct {
	Config     config.Config
	ConfigPath string // the configuration file, backed up as root "config"
	// To is the backup directory; each backup is a new directory in it.
	To string
	// Incremental hard-links files an earlier backup in To holds unchanged
	// (same name, size and time) instead of copying them.
	Incremental bool
	// LinkStore hard-links message files from the live mail store and
	// queue (same file system only): instant and without extra space,
	// but it shares the disk with the data, so it guards against
	// mistakes and corruption, not against losing the disk.
	LinkStore bool
	// Workers copy mailboxes in parallel (default 4).
	Workers int
	Version string // the congvu version, recorded in the manifest
	Logger  *slog.Logger
	Now     func() time.Time
}

// Manifest describes a backup.
type Manifest struct {
	Format   int       `json:"format"`
	Created  time.Time `json:"created"`
	Finished time.Time `json:"finished"`
	Hostname string    `json:"hostname"`
	Version  string    `json:"version"`
	// Base is the earlier backup an incremental one linked files from.
	Base   string              `json:"base,omitempty"`
	Roots  []root              `json:"roots"`
	Store  storage.BackupStats `json:"store"`
	Files  int64               `json:"files"`  // files in the backup
	Copied int64               `json:"copied"` // of which copied (the rest hard-linked)
	Bytes  int64               `json:"bytes"`  // bytes copied
}

// Result is a finished backup.
type Result struct {
	Path     string
	Manifest Manifest
}

// Run takes one backup of the node described by opts.Config into a new
// directory in opts.To, while the server keeps running.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.To == "" {
		return nil, errors.New("backup: no destination directory")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	to, err := filepath.Abs(opts.To)
	if err != nil {
		return nil, err
	}
	if err := durable.MkdirAll(to); err != nil {
		return nil, err
	}
	started := opts.Now().UTC()
	name := started.Format(timeLayout)
	final := filepath.Join(to, name)
	if _, err := os.Stat(final); err == nil {
		return nil, fmt.Errorf("backup: %s already exists", final)
	}
	partial := filepath.Join(to, ".partial-"+name)
	if err := os.RemoveAll(partial); err != nil {
		return nil, err
	}
	if err := os.Mkdir(partial, 0o700); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(partial)
		}
	}()
	b := &backer{opts: opts, dest: partial, to: to}
	if opts.Incremental {
		if base, err := Latest(to); err == nil {
			b.base = filepath.Join(to, base)
			b.m.Base = base
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	b.m.Format, b.m.Created, b.m.Version = 1, started, opts.Version
	b.m.Hostname = opts.Config.Server.Hostname
	rs := roots(opts.Config, opts.ConfigPath)
	b.m.Roots = rs
	for _, r := range rs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := b.root(ctx, r, rs); err != nil {
			return nil, fmt.Errorf("backup of %s (%s): %w", r.Name, r.Path, err)
		}
	}
	// One sync of the whole file system instead of one per file.
	if err := syncFS(partial); err != nil {
		return nil, err
	}
	b.m.Files, b.m.Copied, b.m.Bytes = b.files.Load(), b.copied.Load(), b.bytes.Load()
	b.m.Finished = opts.Now().UTC()
	data, err := json.MarshalIndent(b.m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := durable.WriteFile(partial, manifestName, append(data, '\n')); err != nil {
		return nil, err
	}
	if err := os.Rename(partial, final); err != nil {
		return nil, err
	}
	if err := durable.SyncDir(to); err != nil {
		return nil, err
	}
	ok = true
	return &Result{Path: final, Manifest: b.m}, nil
}

// Latest names the newest complete backup in dir.
func Latest(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, e.Name(), manifestName)); err == nil {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return "", fmt.Errorf("no backup in %s: %w", dir, fs.ErrNotExist)
	}
	sort.Strings(names)
	return names[len(names)-1], nil
}

// backer is one backup being written.
type backer struct {
	opts Options
	dest string // the partial backup directory
	to   string // the backup root (never walked into)
	base string // earlier backup to link unchanged files from, or ""
	m    Manifest

	files, copied, bytes atomic.Int64
}

func (b *backer) root(ctx context.Context, r root, all []root) error {
	dst := filepath.Join(b.dest, r.Name)
	switch r.Kind {
	case kindStore:
		put := func(src, dst string) error { return b.put(src, dst, b.opts.LinkStore) }
		st, err := storage.Backup(ctx, r.Path, dst, put, max(b.opts.Workers, 4))
		b.m.Store = st
		return err
	case kindQueue:
		return b.queue(ctx, r.Path, dst)
	case kindFile:
		return b.file(ctx, r.Path, dst)
	}
	// Trees: the data directory leaves out the other roots inside it.
	skip := func(path string) bool {
		if within(path, b.to) {
			return true
		}
		for _, o := range all {
			if o.Name != r.Name && o.Kind != kindData && path == o.Path {
				return true
			}
		}
		return false
	}
	return b.tree(ctx, r.Path, dst, skip)
}

// tree copies a directory: SQLite databases as snapshots, other regular
// files as they are (congvu replaces them by rename, never in place).
func (b *backer) tree(ctx context.Context, src, dst string, skip func(string) bool) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walked
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if path != src && (skip(path) || skipName(d.Name())) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o700)
		case d.Type().IsRegular():
			err := b.file(ctx, path, target)
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		return nil // sockets, symlinks: not data
	})
}

// file copies one file, as a snapshot when it is an SQLite database.
func (b *backer) file(ctx context.Context, src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	if isSQLite(src) {
		if err := storage.SnapshotSQLite(ctx, src, dst); err != nil {
			return err
		}
		fi, err := os.Stat(dst)
		if err != nil {
			return err
		}
		b.files.Add(1)
		b.copied.Add(1)
		b.bytes.Add(fi.Size())
		return nil
	}
	return b.put(src, dst, false)
}

// queue copies the outbound queue: its index as a snapshot, then the
// message file of every message the snapshot lists (a file whose message
// was delivered meanwhile is gone, and the restored queue drops its row).
func (b *backer) queue(ctx context.Context, src, dst string) error {
	index := filepath.Join(src, "index.db")
	if _, err := os.Stat(index); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(dst, "msg"), 0o700); err != nil {
		return err
	}
	snap := filepath.Join(dst, "index.db")
	if err := storage.SnapshotSQLite(ctx, index, snap); err != nil {
		return err
	}
	db, err := sql.Open("sqlite3", "file:"+snap+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT id FROM messages")
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		if strings.ContainsAny(id, `/\`) || id == "." || id == ".." {
			continue
		}
		err := b.put(filepath.Join(src, "msg", id), filepath.Join(dst, "msg", id), b.opts.LinkStore)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// put copies src to dst keeping its mode and time, or hard-links it: from
// the live file when linkLive, else from the base backup when it holds the
// same file unchanged.
func (b *backer) put(src, dst string, linkLive bool) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	b.files.Add(1)
	if linkLive && os.Link(src, dst) == nil {
		return nil
	}
	if b.base != "" {
		rel, err := filepath.Rel(b.dest, dst)
		if err == nil {
			old := filepath.Join(b.base, rel)
			if ofi, err := os.Stat(old); err == nil && ofi.Mode().IsRegular() && ofi.Size() == fi.Size() &&
				ofi.ModTime().Equal(fi.ModTime()) && os.Link(old, dst) == nil {
				return nil
			}
		}
	}
	n, err := copyFile(src, dst, fi)
	if err != nil {
		return err
	}
	b.copied.Add(1)
	b.bytes.Add(n)
	return nil
}
