package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"congvu/internal/config"
	"congvu/internal/durable"
	"congvu/storage"
)

// RestoreOptions configure a restore.
type RestoreOptions struct {
	// From is one backup (DIR/<time>), or a backup directory DIR, whose
	// newest backup is then used.
	From string
	// ConfigPath is the restoring node's configuration. When the file does
	// not exist, the backed-up configuration is written there first.
	ConfigPath string
	// Force moves what is already at a restored path aside (NAME.before-
	// restore-<time>) instead of refusing. Nothing is deleted.
	Force bool
	Now   func() time.Time
}

// RestoreResult tells what was restored.
type RestoreResult struct {
	From     string
	Manifest Manifest
	Restored []string // target paths, in order
	MovedOut []string // what Force moved aside
	Check    *storage.CheckReport
}

// ErrServerRunning: restore refuses to write under a running server.
var ErrServerRunning = errors.New("máy chủ đang chạy trên kho thư này, hãy dừng nó trước khi phục hồi / " +
	"a server has this mail store open; stop it before restoring")

// Restore rebuilds a node from a backup: each root goes back where the
// restoring node's configuration puts it (the data directory, the store…),
// then the store is checked. The server must be stopped.
func Restore(ctx context.Context, opts RestoreOptions) (*RestoreResult, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	from, err := filepath.Abs(opts.From)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(from, manifestName)); errors.Is(err, fs.ErrNotExist) {
		latest, lerr := Latest(from)
		if lerr != nil {
			return nil, fmt.Errorf("restore: %s is not a backup: %w", from, lerr)
		}
		from = filepath.Join(from, latest)
	}
	var m Manifest
	data, err := os.ReadFile(filepath.Join(from, manifestName))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("restore: %s: %w", manifestName, err)
	}
	if m.Format != 1 {
		return nil, fmt.Errorf("restore: backup format %d is not supported", m.Format)
	}
	res := &RestoreResult{From: from, Manifest: m}
	stamp := opts.Now().UTC().Format(timeLayout)

	// The configuration first: it says where everything else goes.
	if _, err := os.Stat(opts.ConfigPath); errors.Is(err, fs.ErrNotExist) {
		src := filepath.Join(from, "config")
		if _, err := os.Stat(src); err != nil {
			return nil, fmt.Errorf("restore: %s does not exist and the backup holds no configuration", opts.ConfigPath)
		}
		if err := durable.MkdirAll(filepath.Dir(opts.ConfigPath)); err != nil {
			return nil, err
		}
		if err := restoreEntry(src, opts.ConfigPath); err != nil {
			return nil, err
		}
		res.Restored = append(res.Restored, opts.ConfigPath)
	}
	cfg, err := config.Load(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	targets := map[string]string{"data": absPath(cfg.Server.DataDir)}
	for _, r := range namedPaths(cfg) {
		targets[r.Name] = r.Path
	}
	if err := refuseRunning(targets["store"]); err != nil {
		return nil, err
	}

	// What goes where, entry by entry: a tree's top-level entries, or a
	// file. Check them all before writing anything.
	type move struct{ src, dst string }
	var moves []move
	for _, r := range m.Roots {
		if r.Name == "config" {
			continue
		}
		target, ok := targets[r.Name]
		if !ok || target == "" {
			return nil, fmt.Errorf("restore: the backup holds %s (%s) but %s does not say where it goes",
				r.Name, r.Path, opts.ConfigPath)
		}
		src := filepath.Join(from, r.Name)
		if r.Kind == kindFile {
			moves = append(moves, move{src, target})
			continue
		}
		entries, err := os.ReadDir(src)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, err
		}
		for _, e := range entries {
			moves = append(moves, move{filepath.Join(src, e.Name()), filepath.Join(target, e.Name())})
		}
	}
	// The configuration in place (restored above or kept) is the one that
	// said where everything goes; a copy of it in the data tree (backups
	// taken before the roots were absolute held one) does not replace it.
	configAbs := absPath(opts.ConfigPath)
	moves = slices.DeleteFunc(moves, func(mv move) bool { return absPath(mv.dst) == configAbs })
	var conflicts []string
	for _, mv := range moves {
		if _, err := os.Lstat(mv.dst); err == nil {
			conflicts = append(conflicts, mv.dst)
		}
	}
	if len(conflicts) > 0 && !opts.Force {
		return nil, fmt.Errorf("restore: đã có dữ liệu tại / already present: %v (--force moves them aside)", conflicts)
	}
	for _, c := range conflicts {
		aside := c + ".before-restore-" + stamp
		if err := os.Rename(c, aside); err != nil {
			return nil, err
		}
		res.MovedOut = append(res.MovedOut, aside)
	}
	owner := ownerOf(cfg.Server.DataDir)
	for _, mv := range moves {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if err := durable.MkdirAll(filepath.Dir(mv.dst)); err != nil {
			return res, err
		}
		if err := restoreEntry(mv.src, mv.dst); err != nil {
			return res, fmt.Errorf("restore %s: %w", mv.dst, err)
		}
		if owner != nil {
			chownTree(mv.dst, owner)
		}
		res.Restored = append(res.Restored, mv.dst)
	}
	if err := syncFS(cfg.Server.DataDir); err != nil {
		return res, err
	}
	st, err := storage.Open(targets["store"], storage.Options{DefaultQuotaBytes: cfg.Storage.DefaultQuotaBytes})
	if err != nil {
		return res, err
	}
	defer st.Close()
	res.Check, err = st.Check(ctx)
	return res, err
}

// refuseRunning fails when a server holds the store's lock.
func refuseRunning(store string) error {
	f, err := os.Open(filepath.Join(store, "store.lock"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return ErrServerRunning
		}
		return err
	}
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}

// restoreEntry copies a file or tree from the backup to dst (which does
// not exist) through dst.restoring, renamed into place once complete.
func restoreEntry(src, dst string) error {
	tmp := dst + ".restoring"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(tmp, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.Mkdir(target, 0o700)
		case d.Type().IsRegular():
			_, err := copyFile(path, target, fi)
			return err
		}
		return nil
	})
	if err == nil {
		// Complete on disk before the rename publishes it.
		err = syncFS(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return durable.SyncDir(filepath.Dir(dst))
}

// ownerOf returns the owner of dir when this process is root and dir
// belongs to someone else (the congvu system user): restored files are
// given to that user, so the service can open them.
func ownerOf(dir string) *syscall.Stat_t {
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return nil
	}
	return st
}

func chownTree(root string, owner *syscall.Stat_t) {
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil {
			os.Lchown(path, int(owner.Uid), int(owner.Gid))
		}
		return nil
	})
}
