package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"congvu/internal/durable"
	"congvu/internal/mailerr"
)

// errMoving answers operations on a mailbox while it is being renamed:
// temporary, so a delivery is retried by the sender.
var errMoving = mailerr.ErrInUse.WithMessage("Mailbox is being moved, try again shortly", "Hộp thư đang được chuyển, vui lòng thử lại sau")

// ErrMailboxExists refuses a rename onto a name that already has a mailbox.
var ErrMailboxExists = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 2, 0}, IMAPCode: "ALREADYEXISTS",
	Message: "A mailbox with the new address already exists", MessageVI: "Đã có hộp thư với địa chỉ mới"}

// RenameUser moves a user's whole mailbox — every folder, message, flag
// and UID — to a new user name, when an official's address changes
// (transfer, unit merge, renamed unit): the mailbox, password and history
// stay, only the name changes. update runs while both names are held (no
// operation of this store can open either): the caller changes the
// directory there, so that no delivery can create an empty mailbox under
// either name half-way. If update fails the mailbox is moved back.
//
// The directory is renamed in one step and both parent directories are
// fsynced. A mailbox in use by an operation in progress is refused with
// mailerr.ErrInUse (temporary); end the user's sessions first. A user
// without a mailbox yet is not an error (update still runs). Another
// process with the same store open must not use either name meanwhile
// (admin commands hand reorganisations to the running server).
func (s *FileStore) RenameUser(ctx context.Context, oldUser, newUser string, update func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	oldKey, oldDomain, oldLocal, err := userPath(oldUser)
	if err != nil {
		return err
	}
	newKey, newDomain, newLocal, err := userPath(newUser)
	if err != nil {
		return err
	}
	if oldKey == newKey {
		return update()
	}
	src, dst := s.userDir(oldDomain, oldLocal), s.userDir(newDomain, newLocal)

	// Hold both names: acquire of either waits on the hold and then fails
	// with errMoving, which callers report as temporary.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	var toClose []*userState
	for _, k := range []string{oldKey, newKey} {
		if e := s.users[k]; e != nil {
			if e.refs > 0 || e.u == nil {
				s.mu.Unlock()
				return mailerr.ErrInUse.With(fmt.Errorf("storage: %s is in use", k))
			}
			toClose = append(toClose, e.u)
		}
	}
	holds := map[string]*userEntry{}
	for _, k := range []string{oldKey, newKey} {
		h := &userEntry{ready: make(chan struct{})}
		s.users[k] = h
		holds[k] = h
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		for k, h := range holds {
			if s.users[k] == h {
				delete(s.users, k)
			}
			h.err = errMoving
			close(h.ready)
		}
		s.cond.Broadcast()
		s.mu.Unlock()
		s.lists.purgeUser(oldKey)
		s.lists.purgeUser(newKey)
	}()
	for _, u := range toClose {
		if err := u.close(); err != nil {
			s.log.Warn("storage: closing index before rename", "user", u.key, "err", err)
		}
	}

	if _, err := os.Lstat(dst); err == nil {
		return ErrMailboxExists.With(fmt.Errorf("storage: %s already has a mailbox", newKey))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return mailerr.ErrInternal.With(err)
	}
	if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
		return update() // no mail yet: nothing to move
	} else if err != nil {
		return mailerr.ErrInternal.With(err)
	}
	if err := move(src, dst); err != nil {
		return mailerr.ErrInternal.With(fmt.Errorf("storage: renaming %s to %s: %w", oldKey, newKey, err))
	}
	if err := update(); err != nil {
		if berr := move(dst, src); berr != nil {
			s.log.Error("storage: cannot move mailbox back after a failed rename", "from", newKey, "to", oldKey, "err", berr)
		}
		return err
	}
	s.log.Info("storage: mailbox renamed", "from", oldKey, "to", newKey)
	return nil
}

// move renames a user directory, creating the target's domain directory,
// and makes both directory entries durable.
func move(src, dst string) error {
	if err := durable.MkdirAll(filepath.Dir(dst)); err != nil {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		return err
	}
	return errors.Join(durable.SyncDir(filepath.Dir(src)), durable.SyncDir(filepath.Dir(dst)))
}
