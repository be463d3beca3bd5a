package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"congvu/internal/durable"
	"congvu/internal/mailerr"
)

var _ Mailbox = (*mailbox)(nil)

// mailbox is a handle on one user's mail. Handles carry no state of their
// own besides the quota: every operation takes a reference to the user's
// shared state in the FileStore, so all handles of a user see the same
// index, queue and watchers, and idle users can be closed behind them.
type mailbox struct {
	s                  *FileStore
	key, domain, local string
	limit              int64
	// reader is the account reading a shared mailbox; "" for the owner.
	// Its \Seen flags are its own (shared.go).
	reader string
}

func (m *mailbox) User() string { return m.key }

// with runs fn on the user's shared state and classifies its error.
func (m *mailbox) with(ctx context.Context, fn func(u *userState) error) error {
	u, err := m.s.acquire(ctx, m.key, m.domain, m.local)
	if err != nil {
		return mailerr.Classify(err)
	}
	defer m.s.release(u)
	if err := fn(u); err != nil {
		return mailerr.Classify(err)
	}
	return nil
}

func (f *folderRow) status() FolderStatus {
	return FolderStatus{
		Name:          f.name,
		SpecialUse:    f.specialUse,
		Subscribed:    f.subscribed,
		UIDValidity:   f.uidValidity,
		UIDNext:       f.uidNext,
		HighestModSeq: f.highestModSeq,
		Messages:      uint32(f.counts.messages),
		Unseen:        uint32(f.counts.unseen),
		Deleted:       uint32(f.counts.deleted),
		Size:          f.counts.size,
	}
}

// Folders lists every folder, INBOX first, then by name.
func (m *mailbox) Folders(ctx context.Context) ([]FolderStatus, error) {
	var out []FolderStatus
	err := m.with(ctx, func(u *userState) error {
		folders, err := allFolders(ctx, u.db)
		for _, f := range folders {
			st := f.status()
			if m.reader != "" {
				if st.Unseen, err = m.readerUnseen(ctx, u, f); err != nil {
					return err
				}
			}
			out = append(out, st)
		}
		return err
	})
	slices.SortStableFunc(out, func(a, b FolderStatus) int {
		switch {
		case a.Name == Inbox:
			return -1
		case b.Name == Inbox:
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, err
}

func (m *mailbox) Status(ctx context.Context, folder string) (FolderStatus, error) {
	name, err := normalizeFolder(folder)
	if err != nil {
		return FolderStatus{}, err
	}
	var st FolderStatus
	err = m.with(ctx, func(u *userState) error {
		f, err := getFolder(ctx, u.db, name)
		if err == nil {
			st = f.status()
			if m.reader != "" {
				st.Unseen, err = m.readerUnseen(ctx, u, f)
			}
		}
		return err
	})
	return st, err
}

// Create makes a folder and any missing superior folders (RFC 9051 6.3.4).
func (m *mailbox) Create(ctx context.Context, folder string) error {
	return m.CreateSpecialUse(ctx, folder, "")
}

// specialUses are the attributes CREATE-SPECIAL-USE may give a folder
// (RFC 6154 §2); \All and \Flagged name virtual folders the store has not.
var specialUses = map[string]string{`\archive`: `\Archive`, `\drafts`: `\Drafts`, `\junk`: `\Junk`,
	`\sent`: `\Sent`, `\trash`: `\Trash`}

// ErrUseAttr refuses a special-use attribute (RFC 6154 §3 USEATTR).
var ErrUseAttr = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 2, 0}, IMAPCode: "USEATTR",
	Message: "Unsupported special-use attribute", MessageVI: "Thuộc tính thư mục đặc biệt không được hỗ trợ"}

// CreateSpecialUse is Create giving the new folder a special use (RFC
// 6154 §3), e.g. `\Archive`; "" for none.
func (m *mailbox) CreateSpecialUse(ctx context.Context, folder, use string) error {
	name, err := normalizeFolder(folder)
	if err != nil {
		return err
	}
	if use != "" {
		canon, ok := specialUses[strings.ToLower(use)]
		if !ok {
			return ErrUseAttr.With(fmt.Errorf("attribute %q", use))
		}
		use = canon
	}
	return m.with(ctx, func(u *userState) error {
		var created []int64
		err := u.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			if _, err := getFolder(ctx, tx, name); err == nil {
				return mailerr.ErrFolderExists
			}
			acct, err := loadAccount(ctx, tx)
			if err != nil {
				return err
			}
			for _, n := range append(parentNames(name), name) {
				if _, err := getFolder(ctx, tx, n); err == nil {
					continue
				}
				fuse := ""
				if n == name {
					fuse = use
				}
				f, err := u.createFolderTx(ctx, tx, acct, n, fuse, false)
				if err != nil {
					return err
				}
				created = append(created, f.id)
			}
			if err := saveAccount(ctx, tx, acct); err != nil {
				return err
			}
			if err := reconcileSubscriptions(ctx, tx); err != nil {
				return err
			}
			return durable.SyncDir(u.dir)
		})
		if err != nil {
			for _, id := range created {
				os.RemoveAll(u.folderDir(id))
			}
			return err
		}
		for _, id := range created {
			u.syncMeta(ctx, id) // a revived subscription
		}
		return nil
	})
}

// Delete removes a folder and its messages. INBOX cannot be deleted, and a
// folder with subfolders is refused rather than turned into a \Noselect
// placeholder (RFC 9051 6.3.5 allows either).
func (m *mailbox) Delete(ctx context.Context, folder string) error {
	name, err := normalizeFolder(folder)
	if err != nil {
		return err
	}
	if name == Inbox {
		return mailerr.ErrCannotDo.WithMessage("INBOX cannot be deleted", "Không thể xoá Hộp thư đến (INBOX)")
	}
	return m.with(ctx, func(u *userState) error {
		var f *folderRow
		err := u.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			var err error
			if f, err = getFolder(ctx, tx, name); err != nil {
				return err
			}
			var children int
			// Names below "a" are those in ["a/", "a0"): '0' follows '/'
			// and names compare bytewise.
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM folders WHERE name >= ? AND name < ?",
				name+"/", name+"0").Scan(&children); err != nil {
				return err
			}
			if children > 0 {
				return mailerr.ErrCannotDo.WithMessage("Folder has subfolders; delete them first",
					"Thư mục có thư mục con, hãy xoá các thư mục con trước")
			}
			if f.subscribed {
				// RFC 9051 §6.3.7: the subscription stays.
				if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO lost_subscriptions (name) VALUES (?)", f.name); err != nil {
					return err
				}
			}
			for _, q := range []string{"DELETE FROM messages WHERE folder_id = ?", "DELETE FROM cache WHERE " + cacheFolderSQL,
				"DELETE FROM textidx WHERE folder_id = ?", "DELETE FROM textslice WHERE folder_id = ?",
				"DELETE FROM expunged WHERE folder_id = ?", "DELETE FROM seen WHERE folder_id = ?",
				"DELETE FROM folders WHERE id = ?", "INSERT OR IGNORE INTO removals (folder_id, uid) VALUES (?, 0)"} {
				if _, err := tx.ExecContext(ctx, q, f.id); err != nil {
					return err
				}
			}
			return addUsed(ctx, tx, -f.counts.size)
		})
		if err != nil {
			return err
		}
		u.notify(name, f.highestModSeq+1)
		u.forgetFolderDir(f.id)
		u.removeFiles(ctx, f.id, nil)
		return nil
	})
}

// Rename renames a folder with its subfolders (RFC 9051 6.3.6). Renaming
// INBOX moves its messages to a new folder and leaves INBOX empty, as the
// RFC specifies; INBOX's subfolders stay where they are.
func (m *mailbox) Rename(ctx context.Context, from, to string) error {
	src, err := normalizeFolder(from)
	if err != nil {
		return err
	}
	dst, err := normalizeFolder(to)
	if err != nil {
		return err
	}
	switch {
	case dst == Inbox || dst == src:
		return mailerr.ErrFolderExists
	case strings.HasPrefix(dst, src+"/"):
		return mailerr.ErrCannotDo.WithMessage("Cannot move a folder into itself", "Không thể chuyển thư mục vào chính nó")
	case src == Inbox:
		return m.renameInbox(ctx, dst)
	}
	return m.with(ctx, func(u *userState) error {
		var renamed []*folderRow
		var oldNames []string
		var created []int64
		err := u.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			all, err := allFolders(ctx, tx)
			if err != nil {
				return err
			}
			exists := map[string]bool{}
			for _, f := range all {
				exists[f.name] = true
			}
			if !exists[src] {
				return mailerr.ErrNoSuchFolder
			}
			newNames := map[string]bool{}
			for _, f := range all {
				if f.name == src || strings.HasPrefix(f.name, src+"/") {
					oldNames = append(oldNames, f.name)
					renamed = append(renamed, f)
					newNames[dst+f.name[len(src):]] = true
				}
			}
			for n := range newNames {
				if exists[n] {
					return mailerr.ErrFolderExists
				}
			}
			// Two passes, so that no intermediate state breaks UNIQUE(name).
			for _, f := range renamed {
				if _, err := tx.ExecContext(ctx, "UPDATE folders SET name = ? WHERE id = ?", "\x00"+f.name, f.id); err != nil {
					return err
				}
			}
			for _, f := range renamed {
				f.name = dst + f.name[len(src):]
				if _, err := tx.ExecContext(ctx, "UPDATE folders SET name = ? WHERE id = ?", f.name, f.id); err != nil {
					return err
				}
				// Before the commit, so that a concurrent Check, which
				// waits for the write lock, sees both or neither.
				if err := u.writeMetaLocked(f); err != nil {
					return err
				}
			}
			acct, err := loadAccount(ctx, tx)
			if err != nil {
				return err
			}
			for _, p := range parentNames(dst) {
				if exists[p] {
					continue
				}
				f, err := u.createFolderTx(ctx, tx, acct, p, "", false)
				if err != nil {
					return err
				}
				created = append(created, f.id)
			}
			if err := reconcileSubscriptions(ctx, tx); err != nil {
				return err
			}
			if len(created) == 0 {
				return nil
			}
			if err := saveAccount(ctx, tx, acct); err != nil {
				return err
			}
			return durable.SyncDir(u.dir)
		})
		if err != nil {
			for _, id := range created {
				os.RemoveAll(u.folderDir(id))
			}
			for _, f := range renamed {
				u.syncMeta(ctx, f.id) // back to the committed name
			}
			return err
		}
		for i, f := range renamed {
			u.notify(oldNames[i], f.highestModSeq)
			u.notify(f.name, f.highestModSeq)
		}
		return nil
	})
}

// renameInbox implements RENAME INBOX (RFC 9051 6.3.6): create the new
// folder and move every message of INBOX into it.
func (m *mailbox) renameInbox(ctx context.Context, dst string) error {
	if err := m.Create(ctx, dst); err != nil {
		return err
	}
	msgs, err := m.Messages(ctx, Inbox)
	if err != nil {
		return err
	}
	if len(msgs) == 0 {
		return nil
	}
	uids := make([]uint32, len(msgs))
	for i, msg := range msgs {
		uids[i] = msg.UID
	}
	_, err = m.Move(ctx, Inbox, uids, dst)
	return err
}

func (m *mailbox) Subscribe(ctx context.Context, folder string, subscribed bool) error {
	name, err := normalizeFolder(folder)
	if err != nil {
		return err
	}
	return m.with(ctx, func(u *userState) error {
		var id int64
		err := u.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			f, err := getFolder(ctx, tx, name)
			if err != nil && !subscribed && errors.Is(err, mailerr.ErrNoSuchFolder) {
				// UNSUBSCRIBE of a deleted folder's subscription.
				res, derr := tx.ExecContext(ctx, "DELETE FROM lost_subscriptions WHERE name = ?", name)
				if derr != nil {
					return derr
				}
				if n, _ := res.RowsAffected(); n > 0 {
					return nil
				}
			}
			if err != nil || f.subscribed == subscribed {
				return err
			}
			id, f.subscribed = f.id, subscribed
			if _, err = tx.ExecContext(ctx, "UPDATE folders SET subscribed = ? WHERE id = ?", subscribed, f.id); err != nil {
				return err
			}
			return u.writeMetaLocked(f)
		})
		if err != nil && id != 0 {
			u.syncMeta(ctx, id) // back to the committed state
		}
		return err
	})
}

// writeMetaLocked rewrites a folder's metadata file from f.
func (u *userState) writeMetaLocked(f *folderRow) error {
	u.metaMu.Lock()
	defer u.metaMu.Unlock()
	return u.writeMetaHeld(u.folderDir(f.id), f)
}

// writeMetaHeld writes a folder's metadata file and remembers the UIDNEXT
// it holds. The caller holds metaMu.
func (u *userState) writeMetaHeld(dir string, f *folderRow) error {
	if err := writeMeta(dir, f); err != nil {
		delete(u.metaUIDNext, f.id) // the file may hold either value
		return err
	}
	if u.metaUIDNext == nil {
		u.metaUIDNext = map[int64]uint32{}
	}
	u.metaUIDNext[f.id] = f.uidNext
	return nil
}

// syncMeta rewrites a folder's metadata file from its committed row.
// Failure is logged only: the file is a hint for Rebuild, the index is the
// truth, and recovery refreshes stale files.
func (u *userState) syncMeta(ctx context.Context, folderID int64) {
	u.metaMu.Lock()
	defer u.metaMu.Unlock()
	f, err := scanFolder(u.db.QueryRowContext(context.WithoutCancel(ctx),
		"SELECT "+folderColumns+" FROM folders WHERE id = ?", folderID))
	if err == nil {
		err = u.writeMetaHeld(u.folderDir(folderID), f)
	}
	if err != nil && err != sql.ErrNoRows {
		u.log.Warn("storage: writing folder metadata", "id", folderID, "err", err)
	}
}

// removeFiles deletes the files of messages (or with uids nil, the whole
// folder directory) whose rows were deleted and recorded in removals by a
// committed transaction, then clears those removal rows. A crash in
// between leaves the rows, and recovery finishes the job.
func (u *userState) removeFiles(ctx context.Context, folderID int64, uids []uint32) {
	var dir string
	if uids == nil {
		os.RemoveAll(u.folderDir(folderID))
		dir = u.dir
		u.metaMu.Lock()
		delete(u.metaUIDNext, folderID)
		u.metaMu.Unlock()
	} else {
		for _, uid := range uids {
			os.Remove(u.messagePath(folderID, uid))
		}
		dir = u.folderDir(folderID)
	}
	// The removals must be on disk before their record goes.
	if err := durable.SyncDir(dir); err != nil {
		u.log.Warn("storage: syncing directory after removal", "dir", dir, "err", err)
		return
	}
	// Clearing the record needs no fsync of its own: if the machine loses
	// it, recovery removes the (already missing) files again and clears it
	// (finishRemovals), and the WAL keeps commits in order, so no later
	// durable change survives without it.
	err := u.writeRecoverable(context.WithoutCancel(ctx), func(ctx context.Context, tx *sql.Tx) error {
		if uids == nil {
			_, err := tx.ExecContext(ctx, "DELETE FROM removals WHERE folder_id = ?", folderID)
			return err
		}
		for _, uid := range uids {
			if _, err := tx.ExecContext(ctx, "DELETE FROM removals WHERE folder_id = ? AND uid = ?", folderID, uid); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		u.log.Warn("storage: clearing removals", "err", err)
	}
}
