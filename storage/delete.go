package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"congvu/internal/durable"
	"congvu/internal/mailerr"
)

// trashRoot holds mailboxes being deleted: dir/trash/<random>/.
const trashRoot = "trash"

// DeleteUser removes all mail of a user (retention of retired accounts).
// It is crash-safe: the user's directory is renamed into the trash in one
// step (fsynced), which is the moment the mailbox disappears; the files are
// removed afterwards, and Open finishes a removal a crash interrupted. A
// mailbox in use by an operation in progress is refused with
// mailerr.ErrInUse (temporary). Deleting a user that has no mailbox is not
// an error. A later delivery would create a new, empty mailbox.
func (s *FileStore) DeleteUser(ctx context.Context, user string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	key, domain, local, err := userPath(user)
	if err != nil {
		return err
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	trash := filepath.Join(s.dir, trashRoot, hex.EncodeToString(rnd[:]))
	src := s.userDir(domain, local)

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	if e := s.users[key]; e != nil {
		if e.refs > 0 {
			s.mu.Unlock()
			return mailerr.ErrInUse.With(fmt.Errorf("storage: %s is in use", key))
		}
		delete(s.users, key)
		if e.u != nil {
			if err := e.u.close(); err != nil {
				s.log.Warn("storage: closing index before delete", "user", key, "err", err)
			}
		}
	}
	// Under s.mu, so no operation can reopen the user half-way.
	err = os.Rename(src, trash)
	if err == nil {
		err = errors.Join(durable.SyncDir(filepath.Dir(src)), durable.SyncDir(filepath.Dir(trash)))
	}
	s.mu.Unlock()
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return mailerr.ErrInternal.With(fmt.Errorf("storage: deleting %s: %w", key, err))
	}
	s.log.Info("storage: mailbox deleted", "user", key)
	if err := os.RemoveAll(trash); err != nil {
		s.log.Warn("storage: removing deleted mailbox files (Open retries)", "user", key, "err", err)
	}
	return nil
}

// cleanTrash finishes deletions interrupted by a crash.
func (s *FileStore) cleanTrash() {
	root := filepath.Join(s.dir, trashRoot)
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
			s.log.Warn("storage: removing deleted mailbox files", "path", e.Name(), "err", err)
		}
	}
}
