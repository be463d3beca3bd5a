package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"congvu/internal/durable"
	"congvu/internal/mailerr"
)

var errStoreInUse = errors.New("storage: kho thư đang được tiến trình khác sử dụng, hãy dừng máy chủ trước khi rebuild / " +
	"the store is open in another process; stop the server before rebuilding")

var errRebuilding = mailerr.ErrInternal.With(errors.New("storage: index is being rebuilt"))

// Rebuild recreates every index from the message files. It refuses to run
// while another FileStore (a running server) has the store open, since it
// replaces index files that process holds.
//
// Names, UIDVALIDITY and subscriptions come from the folder.json files, UIDs
// from the file names and internal dates from the files' mtimes. When the
// old index is still readable, flags, MODSEQs and dates of the messages it
// knew are kept, files it had scheduled for removal are removed, and a file
// it did not know with a UID below its UIDNEXT gets a new UID, so that no
// client sees a UID appear below the UIDNEXT it was told (RFC 9051
// 2.3.1.1). Without the old index flags are lost, UIDNEXT is the larger of
// folder.json's and the highest file UID + 1, and HIGHESTMODSEQ jumps to
// the current time in nanoseconds so that it exceeds every MODSEQ a client
// may have cached (RFC 7162 3.1.1: it must never go backwards).
func (s *FileStore) Rebuild(ctx context.Context) error {
	ok, unlock, err := tryExclusive(s.lockFd)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	if !ok {
		return errStoreInUse
	}
	defer unlock()
	users, err := s.listUsers()
	if err != nil {
		return err
	}
	for _, ur := range users {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.rebuildExclusive(ctx, ur); err != nil {
			return fmt.Errorf("storage: rebuilding %s: %w", ur.key, err)
		}
	}
	s.cleanSpool()
	return nil
}

// rebuildExclusive rebuilds one user while keeping it out of the cache.
func (s *FileStore) rebuildExclusive(ctx context.Context, ur userRef) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	if e := s.users[ur.key]; e != nil {
		if e.refs > 0 || e.u == nil {
			s.mu.Unlock()
			return errors.New("mailbox in use")
		}
		delete(s.users, ur.key)
		s.mu.Unlock()
		if err := e.u.close(); err != nil {
			return err
		}
		s.mu.Lock()
	}
	hold := &userEntry{ready: make(chan struct{})}
	s.users[ur.key] = hold
	s.mu.Unlock()

	err := s.rebuildUser(ctx, ur.key, ur.dir)

	s.mu.Lock()
	delete(s.users, ur.key)
	hold.err = errRebuilding
	close(hold.ready)
	s.cond.Broadcast()
	s.mu.Unlock()
	return err
}

// rebuildUser builds a new index next to the old one and renames it over.
func (s *FileStore) rebuildUser(ctx context.Context, key, dir string) error {
	defer s.lists.purgeUser(key)
	indexPath := filepath.Join(dir, indexFile)
	old := s.salvage(ctx, key, indexPath)
	newPath := indexPath + ".rebuild"
	for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
		os.Remove(newPath + suffix)
	}
	// A rollback journal instead of WAL: when the database is closed, the
	// one file holds everything and can be renamed into place.
	db, err := openIndexMode(newPath, "DELETE")
	if err != nil {
		return err
	}
	u := &userState{s: s, key: key, dir: dir, db: db, log: s.log.With("user", key)}
	var folders []*folderRow
	if err = initSchema(ctx, db); err == nil {
		err = u.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			var err error
			folders, err = u.rebuildTx(ctx, tx, old)
			return err
		})
	}
	if cerr := u.closeDB(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(newPath)
		return err
	}
	// The old index's WAL must not be replayed into the new file.
	for _, suffix := range []string{"-journal", "-wal", "-shm"} {
		os.Remove(indexPath + suffix)
	}
	if err := os.Rename(newPath, indexPath); err != nil {
		return err
	}
	if err := durable.SyncDir(dir); err != nil {
		return err
	}
	for _, f := range folders {
		if err := writeMeta(u.folderDir(f.id), f); err != nil {
			return err
		}
	}
	u.log.Info("storage: index rebuilt", "folders", len(folders), "salvaged", old != nil)
	return nil
}

// salvage reads what it can of the old index; nil if nothing.
func (s *FileStore) salvage(ctx context.Context, key, indexPath string) *checkSnapshot {
	if _, err := os.Stat(indexPath); err != nil {
		return nil
	}
	db, err := openIndex(indexPath)
	if err != nil {
		s.log.Warn("storage: old index unreadable, flags will be lost", "user", key, "err", err)
		return nil
	}
	defer db.Close()
	snap, err := readSnapshot(ctx, db)
	if err != nil {
		s.log.Warn("storage: old index unreadable, flags will be lost", "user", key, "err", err)
		return nil
	}
	return snap
}

// rebuildTx fills a new index from the folder directories.
func (u *userState) rebuildTx(ctx context.Context, tx *sql.Tx, old *checkSnapshot) ([]*folderRow, error) {
	acct := &account{nextFolderID: 1}
	oldFolders := map[int64]*folderRow{}
	if old != nil {
		acct.nextFolderID, acct.nextUIDValidity = old.acct.nextFolderID, old.acct.nextUIDValidity
		for _, f := range old.folders {
			oldFolders[f.id] = f
		}
	}
	entries, err := os.ReadDir(u.dir)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, e := range entries {
		if id, ok := parseID(e.Name()); ok && e.IsDir() {
			ids = append(ids, int64(id))
		}
	}
	slices.Sort(ids) // on a name clash the older folder keeps the name
	lossyModSeq := uint64(time.Now().UnixNano())
	var out []*folderRow
	for _, id := range ids {
		acct.nextFolderID = max(acct.nextFolderID, id+1)
		if old != nil && old.removals[id][0] {
			if err := os.RemoveAll(u.folderDir(id)); err != nil {
				return nil, err
			}
			continue
		}
		of := oldFolders[id]
		f, err := u.adoptFolder(ctx, tx, id, of, acct)
		if err != nil {
			return nil, err
		}
		if of == nil {
			f.highestModSeq = max(f.highestModSeq, lossyModSeq)
		}
		var oldMsgs map[uint32]messageRow
		var oldRemovals map[uint32]bool
		if old != nil {
			oldMsgs, oldRemovals = old.messages[id], old.removals[id]
		}
		if err := u.rebuildFolder(ctx, tx, f, of, oldMsgs, oldRemovals, acct); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	created := false
	for _, d := range defaultFolders {
		if len(out) > 0 && d.name != Inbox {
			continue // an existing mailbox only needs its INBOX back
		}
		if _, err := getFolder(ctx, tx, d.name); err == nil {
			continue
		}
		f, err := u.createFolderTx(ctx, tx, acct, d.name, d.use, true)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
		created = true
	}
	if created {
		if err := durable.SyncDir(u.dir); err != nil {
			return nil, err
		}
	}
	// Readers of a shared mailbox keep their own \Seen of every message the
	// old index knew that is still there with the same UID (a message that
	// had to be renumbered was unknown to it, so no reader had seen it).
	if old != nil {
		for _, r := range old.seen {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO seen (folder_id, reader, uid)
				SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM messages WHERE folder_id = ?1 AND uid = ?3)`,
				r.folderID, r.reader, r.uid); err != nil {
				return nil, err
			}
		}
	}
	// The expunge log starts empty: it knows nothing before now, and the
	// messages found are not \Recent.
	if _, err := tx.ExecContext(ctx, "UPDATE folders SET expunge_floor = highest_modseq, first_recent_uid = uidnext"); err != nil {
		return nil, err
	}
	return out, saveAccount(ctx, tx, acct)
}

// rebuildFolder indexes the message files of one folder directory.
func (u *userState) rebuildFolder(ctx context.Context, tx *sql.Tx, f, of *folderRow,
	oldMsgs map[uint32]messageRow, oldRemovals map[uint32]bool, acct *account) error {
	dir := u.folderDir(f.id)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), tmpSuffix) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	uids, err := listMessageFiles(dir)
	if err != nil {
		return err
	}
	slices.Sort(uids)
	if len(uids) > 0 {
		f.uidNext = max(f.uidNext, uids[len(uids)-1]+1)
	}
	// Messages new to the index get a MODSEQ above every salvaged one,
	// and above what clients may have seen: each commit the old index
	// lacks (appends whose commit the machine lost, writeRecoverable)
	// raised HIGHESTMODSEQ by one and added at least one of these files
	// (RFC 7162 3.1.1: it never goes back).
	newModSeq := f.highestModSeq
	for _, m := range oldMsgs {
		newModSeq = max(newModSeq, m.modseq)
	}
	unknown := 0
	for _, uid := range uids {
		if _, ok := oldMsgs[uid]; !ok && !oldRemovals[uid] {
			unknown++
		}
	}
	newModSeq += uint64(max(unknown, 1))
	anyNew := false
	add := func(uid uint32, salvaged *messageRow) error {
		m, header, parsed, filter, err := readMessageFile(u.messagePath(f.id, uid))
		if err != nil {
			return err
		}
		m.uid = uid
		if salvaged != nil {
			m.setFlags(salvaged.flags)
			m.modseq, m.date = salvaged.modseq, salvaged.date
			f.highestModSeq = max(f.highestModSeq, m.modseq)
		} else {
			m.modseq, anyNew = newModSeq, true
		}
		if err := insertMessage(ctx, tx, f.id, m, header, parsed, filter); err != nil {
			return err
		}
		f.counts.add(contribution(m.seen, m.deleted, m.size))
		acct.used += m.size
		return nil
	}
	var renumber []uint32
	for _, uid := range uids {
		if oldRemovals[uid] {
			if err := os.Remove(u.messagePath(f.id, uid)); err != nil {
				return err
			}
			continue
		}
		var salvaged *messageRow
		if of != nil {
			if m, ok := oldMsgs[uid]; ok {
				salvaged = &m
			} else if uid < of.uidNext {
				renumber = append(renumber, uid)
				continue
			}
		}
		if err := add(uid, salvaged); err != nil {
			return err
		}
	}
	for _, uid := range renumber {
		newUID := f.uidNext
		f.uidNext++
		if err := os.Rename(u.messagePath(f.id, uid), u.messagePath(f.id, newUID)); err != nil {
			return err
		}
		u.log.Warn("storage: unindexed message below UIDNEXT gets a new UID", "folder", f.name, "old", uid, "new", newUID)
		if err := add(newUID, nil); err != nil {
			return err
		}
	}
	if len(renumber) > 0 || len(oldRemovals) > 0 {
		if err := durable.SyncDir(dir); err != nil {
			return err
		}
	}
	if anyNew {
		f.highestModSeq = max(f.highestModSeq, newModSeq)
	}
	return saveFolder(ctx, tx, f)
}
