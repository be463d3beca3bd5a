package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"congvu/internal/durable"
	"congvu/internal/mailerr"
)

// incomingRoot holds mailboxes being received from another node.
const incomingRoot = "incoming"

// BackupUser is Backup for one mailbox of the store in dir (a mailbox
// move copies it to its new node with it): dest receives the mailbox's
// directory (index snapshot, folder.json files, message files).
func BackupUser(ctx context.Context, dir, user, dest string, put PutFile) (BackupStats, error) {
	key, domain, local, err := userPath(user)
	if err != nil {
		return BackupStats{}, err
	}
	s := &FileStore{dir: dir}
	return backupUser(ctx, userRef{key: key, dir: s.userDir(domain, local)}, dest, put)
}

// Dir is the store's directory.
func (s *FileStore) Dir() string { return s.dir }

// WorkDir returns a new, empty directory on the store's file system (so
// message files can be hard-linked into it) that the store never cleans
// up by itself; the caller removes it.
func (s *FileStore) WorkDir() (string, error) {
	root := filepath.Join(s.dir, incomingRoot)
	if err := durable.MkdirAll(root); err != nil {
		return "", err
	}
	return os.MkdirTemp(root, ".out-")
}

// Staging returns a directory, on the store's file system, where a
// mailbox for user can be assembled before InstallUser puts it in place.
func (s *FileStore) Staging(user string) (string, error) {
	key, _, _, err := userPath(user)
	if err != nil {
		return "", err
	}
	d := filepath.Join(s.dir, incomingRoot, key)
	return d, durable.MkdirAll(filepath.Dir(d))
}

// InstallUser makes the mailbox assembled in staging (a directory of the
// form Backup writes) the user's mailbox, in one rename. A mailbox already
// there is replaced only when it holds no message (one opened by a
// recipient check or a login before the move); otherwise, or while it is
// in use, InstallUser refuses. The index is checked before anything
// changes.
func (s *FileStore) InstallUser(ctx context.Context, user, staging string) error {
	key, domain, local, err := userPath(user)
	if err != nil {
		return err
	}
	if err := checkStaged(ctx, staging); err != nil {
		return fmt.Errorf("storage: mailbox received for %s: %w", key, err)
	}
	dst := s.userDir(domain, local)
	if err := durable.MkdirAll(filepath.Dir(dst)); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	if e := s.users[key]; e != nil {
		if e.refs > 0 {
			return mailerr.ErrInUse.With(fmt.Errorf("storage: %s is in use", key))
		}
		delete(s.users, key)
		if e.u != nil {
			e.u.close()
		}
	}
	if _, err := os.Stat(dst); err == nil {
		n, err := countMessages(ctx, filepath.Join(dst, indexFile))
		if err != nil || n > 0 {
			return mailerr.ErrCannotDo.With(fmt.Errorf("storage: %s already has a mailbox here (%d messages, %v)", key, n, err))
		}
		var rnd [8]byte
		rand.Read(rnd[:])
		if err := os.Rename(dst, filepath.Join(s.dir, trashRoot, hex.EncodeToString(rnd[:]))); err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(staging, dst); err != nil {
		return err
	}
	s.lists.purgeUser(key)
	return errors.Join(durable.SyncDir(filepath.Dir(dst)), durable.SyncDir(filepath.Dir(staging)))
}

// checkStaged opens a received index read-only: it must be a mailbox.
func checkStaged(ctx context.Context, dir string) error {
	_, err := countMessages(ctx, filepath.Join(dir, indexFile))
	return err
}

func countMessages(ctx context.Context, index string) (int, error) {
	if _, err := os.Stat(index); err != nil {
		return 0, err
	}
	db, err := sql.Open("sqlite3", "file:"+uriPath.Replace(index)+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, "SELECT count(*) FROM messages").Scan(&n)
	return n, err
}
