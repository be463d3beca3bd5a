// Package backup takes consistent online backups of a congvu node and
// restores a node from one (`congvu backup`, `congvu restore`).
//
// A backup is a directory DIR/<UTC time>/ holding manifest.json and one
// entry per root: what the configuration names (mail store, queue, the
// SQLite databases, Sieve scripts, personal address books, DKIM keys, TLS
// files, secrets, the configuration file) and whatever else lies in the
// data directory. Every SQLite database is copied as a snapshot (VACUUM
// INTO: one read transaction, so consistent while the server writes); the
// mail store and the queue are copied index first, then the files the
// index snapshot lists (storage.Backup), so everything committed before
// the backup began is in it. Message files never change, so an incremental
// backup hard-links those an earlier backup in DIR already holds and
// copies only new ones; every backup is complete on its own. A backup is
// written under DIR/.partial-<time>, synced, and renamed into place last:
// a directory without the prefix is always whole.
package backup

import (
	"os"
	"path/filepath"
	"strings"

	"congvu/internal/config"
	"congvu/internal/sealbox"
)

// Root kinds: how a root is copied.
const (
	kindData  = "data"  // the data directory: walked, other roots left out
	kindStore = "store" // the mail store (storage.Backup)
	kindQueue = "queue" // the outbound queue: index snapshot, then its files
	kindTree  = "tree"  // a directory walked like the data directory
	kindFile  = "file"  // one file (SQLite databases are snapshotted)
)

// root is one thing a backup holds, under its name in the backup.
type root struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Path is where it was on the node backed up (restore puts it where
	// the restoring node's configuration says).
	Path string `json:"path"`
}

// roots lists what a node's configuration names. Paths that are not set,
// or do not exist, are left out. The configuration file itself is the
// root "config".
func roots(cfg config.Config, configPath string) []root {
	out := []root{{Name: "data", Kind: kindData, Path: absPath(cfg.Server.DataDir)}}
	for _, r := range namedPaths(cfg) {
		if r.Path == "" {
			continue
		}
		if _, err := os.Stat(r.Path); err != nil {
			continue
		}
		out = append(out, r)
	}
	if configPath != "" {
		if abs, err := filepath.Abs(configPath); err == nil {
			out = append(out, root{Name: "config", Kind: kindFile, Path: abs})
		}
	}
	return out
}

// namedPaths are the roots a configuration names, resolved (the data
// directory and the configuration file aside). Restore resolves the same
// names in the restoring node's configuration.
func namedPaths(cfg config.Config) []root {
	opt := func(p string) string {
		if p == "" {
			return ""
		}
		return cfg.Path(p)
	}
	rs := []root{
		{Name: "store", Kind: kindStore, Path: cfg.Path(cfg.Storage.Path)},
		{Name: "queue", Kind: kindQueue, Path: cfg.Path(cfg.Outbound.QueuePath)},
		{Name: "policy.db", Kind: kindFile, Path: cfg.Path(cfg.Policy.DBPath)},
		{Name: "web.db", Kind: kindFile, Path: cfg.Path(cfg.Web.DBPath)},
		{Name: "sieve", Kind: kindTree, Path: cfg.Path(cfg.Sieve.Path)},
		{Name: "contacts", Kind: kindTree, Path: cfg.Path(cfg.AddressBook.PersonalPath)},
		{Name: "dkim", Kind: kindTree, Path: cfg.Path(cfg.DKIM.KeysPath)},
		// The key the secrets in web.db and org.db are sealed under: a
		// restore without it would leave them unreadable.
		{Name: "seal-key", Kind: kindFile, Path: cfg.Path(sealbox.KeyFile)},
		{Name: "tls-cert", Kind: kindFile, Path: opt(cfg.TLS.CertFile)},
		{Name: "tls-key", Kind: kindFile, Path: opt(cfg.TLS.KeyFile)},
		{Name: "ldap-password", Kind: kindFile, Path: opt(cfg.Directory.LDAP.BindPasswordFile)},
		{Name: "ldap-ca", Kind: kindFile, Path: opt(cfg.Directory.LDAP.CAFile)},
		{Name: "smarthost-password", Kind: kindFile, Path: opt(cfg.Outbound.SmarthostPasswordFile)},
		{Name: "outbound-ca", Kind: kindFile, Path: opt(cfg.Outbound.TLSCAFile)},
	}
	if cfg.Directory.Backend == "sqlite" {
		rs = append(rs, root{Name: "directory.db", Kind: kindFile, Path: cfg.Path(cfg.Directory.SQLitePath)})
	}
	for i := range rs {
		rs[i].Path = absPath(rs[i].Path)
	}
	return rs
}

// absPath makes a path absolute: the data directory of a configuration
// given by a relative path (quickstart's data_dir = ".") is relative too,
// and the roots are compared with each other and with the configuration
// file, which is absolute.
func absPath(p string) string {
	if p == "" {
		return ""
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// skipName reports files of a data directory that are never backed up:
// SQLite's side files (the snapshot holds their content), temporary files,
// the running server's PID and lock files.
func skipName(name string) bool {
	switch {
	case strings.HasSuffix(name, "-wal"), strings.HasSuffix(name, "-shm"), strings.HasSuffix(name, "-journal"),
		strings.HasSuffix(name, ".tmp"), strings.HasPrefix(name, ".tmp-"), strings.HasPrefix(name, ".partial-"),
		name == "congvu.pid", name == "store.lock":
		return true
	}
	return false
}
