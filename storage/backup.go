package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// PutFile copies (or links) the message file src to dst. Message files are
// never rewritten once linked, so a hard link is as good as a copy, and an
// earlier backup's file with the same name, size and time is the same
// message. It returns an error wrapping fs.ErrNotExist when src is gone.
type PutFile func(src, dst string) error

// BackupStats counts what a store backup holds.
type BackupStats struct {
	Users, Folders, Messages int
	Bytes                    int64
	// Vanished counts messages (and folders) listed by an index snapshot
	// whose files were removed before they could be copied: expunged
	// while the backup ran, so rightly not in it.
	Vanished int
}

func (s *BackupStats) add(o BackupStats) {
	s.Users += o.Users
	s.Folders += o.Folders
	s.Messages += o.Messages
	s.Bytes += o.Bytes
	s.Vanished += o.Vanished
}

// Backup writes a consistent copy of the store in dir to dest, while a
// server may be delivering to it. For each mailbox the index is copied
// first, as one SQLite snapshot (VACUUM INTO, which reads inside one
// transaction); then the message file of every row of that snapshot is
// put. Files never change after their row is committed, so the copy is
// the mailbox as it was at the snapshot: every message committed before
// it, with its UID and flags. A file removed after the snapshot belongs
// to a message expunged since; its row is dropped and the counters
// recomputed. Mail arriving meanwhile is not in the copy (its rows are
// not in the snapshot), and UIDNEXT is raised to what the live index and
// folder.json say once the folder is copied, so a store restored from dest
// never hands out a UID that clients may have seen before the backup
// ended (RFC 9051 2.3.1.1).
//
// dest must be empty or missing. Nothing in dest is fsynced here: the
// caller syncs the file system once at the end.
func Backup(ctx context.Context, dir, dest string, put PutFile, workers int) (BackupStats, error) {
	s := &FileStore{dir: dir}
	users, err := s.listUsers()
	if errors.Is(err, fs.ErrNotExist) {
		users = nil
	} else if err != nil {
		return BackupStats{}, err
	}
	if err := os.MkdirAll(filepath.Join(dest, usersDir), 0o700); err != nil {
		return BackupStats{}, err
	}
	workers = max(workers, 1)
	var (
		mu    sync.Mutex
		total BackupStats
		errs  []error
		wg    sync.WaitGroup
		next  = make(chan userRef)
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ur := range next {
				rel, _ := filepath.Rel(dir, ur.dir)
				st, err := backupUser(ctx, ur, filepath.Join(dest, rel), put)
				mu.Lock()
				total.add(st)
				if err != nil {
					errs = append(errs, fmt.Errorf("storage backup: %s: %w", ur.key, err))
				}
				mu.Unlock()
			}
		}()
	}
	for _, ur := range users {
		if ctx.Err() != nil {
			break
		}
		next <- ur
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

// backupUser copies one mailbox (see Backup).
func backupUser(ctx context.Context, ur userRef, dest string, put PutFile) (BackupStats, error) {
	var st BackupStats
	src := filepath.Join(ur.dir, indexFile)
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		// Deleted meanwhile, or never opened: nothing was committed.
		return st, nil
	}
	if err := os.MkdirAll(dest, 0o700); err != nil {
		return st, err
	}
	snapPath := filepath.Join(dest, indexFile)
	if err := snapshotSQLite(ctx, src, snapPath); err != nil {
		if _, serr := os.Stat(ur.dir); errors.Is(serr, fs.ErrNotExist) {
			os.RemoveAll(dest) // mailbox deleted while we looked
			return st, nil
		}
		return st, fmt.Errorf("snapshot of index: %w", err)
	}
	// The live index, read again once a folder's files are copied: UIDs
	// handed out meanwhile are above the snapshot's UIDNEXT.
	live, err := sql.Open("sqlite3", "file:"+uriPath.Replace(src)+"?mode=rw&_busy_timeout=15000")
	if err != nil {
		return st, err
	}
	defer live.Close()
	live.SetMaxOpenConns(1)
	// The copy is synced with the whole backup at the end.
	db, err := sql.Open("sqlite3", "file:"+uriPath.Replace(snapPath)+"?_journal_mode=DELETE&_synchronous=OFF")
	if err != nil {
		return st, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return st, err
	}
	defer tx.Rollback()
	snap, err := readSnapshot(ctx, tx)
	if errors.Is(err, sql.ErrNoRows) {
		// No account row yet: the mailbox is being created (its index is
		// opened before the row is committed) and holds nothing; it is
		// created afresh at its first use after a restore.
		tx.Rollback()
		db.Close()
		os.RemoveAll(dest)
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("reading snapshot: %w", err)
	}
	// Pending removals are files the snapshot already forgot.
	if _, err := tx.ExecContext(ctx, "DELETE FROM removals"); err != nil {
		return st, err
	}
	acct := snap.acct
	acct.used = 0
	for _, f := range snap.folders {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		srcDir := filepath.Join(ur.dir, fmt.Sprint(f.id))
		if _, err := os.Stat(srcDir); errors.Is(err, fs.ErrNotExist) {
			// Deleted after the snapshot: as if deleted before.
			st.Vanished++
			if err := dropFolder(ctx, tx, f.id); err != nil {
				return st, err
			}
			continue
		}
		dstDir := filepath.Join(dest, fmt.Sprint(f.id))
		if err := os.MkdirAll(dstDir, 0o700); err != nil {
			return st, err
		}
		uids := make([]uint32, 0, len(snap.messages[f.id]))
		for uid := range snap.messages[f.id] {
			uids = append(uids, uid)
		}
		sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
		var c counts
		for _, uid := range uids {
			m := snap.messages[f.id][uid]
			name := fmt.Sprint(uid)
			err := put(filepath.Join(srcDir, name), filepath.Join(dstDir, name))
			if errors.Is(err, fs.ErrNotExist) {
				st.Vanished++
				if err := dropMessage(ctx, tx, f.id, uid); err != nil {
					return st, err
				}
				continue
			}
			if err != nil {
				return st, err
			}
			c.add(contribution(m.seen, m.deleted, m.size))
			st.Messages++
			st.Bytes += m.size
		}
		f.counts = c
		acct.used += c.size
		if meta, err := readMeta(srcDir); err == nil && meta.UIDNext > f.uidNext {
			f.uidNext = meta.UIDNext
		}
		var liveNext uint32
		if err := live.QueryRowContext(ctx, "SELECT uidnext FROM folders WHERE id = ?", f.id).Scan(&liveNext); err == nil {
			f.uidNext = max(f.uidNext, liveNext)
		}
		if err := saveFolder(ctx, tx, f); err != nil {
			return st, err
		}
		if err := writeMeta(dstDir, f); err != nil {
			return st, err
		}
		st.Folders++
	}
	if err := saveAccount(ctx, tx, acct); err != nil {
		return st, err
	}
	if err := tx.Commit(); err != nil {
		return st, err
	}
	st.Users = 1
	return st, nil
}

func dropFolder(ctx context.Context, tx *sql.Tx, folderID int64) error {
	for _, q := range []string{"DELETE FROM messages WHERE folder_id = ?", "DELETE FROM cache WHERE " + cacheFolderSQL,
		"DELETE FROM textidx WHERE folder_id = ?", "DELETE FROM folders WHERE id = ?"} {
		if _, err := tx.ExecContext(ctx, q, folderID); err != nil {
			return err
		}
	}
	return nil
}

func dropMessage(ctx context.Context, tx *sql.Tx, folderID int64, uid uint32) error {
	for _, q := range []string{"DELETE FROM messages WHERE folder_id = ? AND uid = ?",
		"DELETE FROM cache WHERE id = " + cacheKeySQL, "DELETE FROM textidx WHERE folder_id = ? AND uid = ?"} {
		if _, err := tx.ExecContext(ctx, q, folderID, uid); err != nil {
			return err
		}
	}
	return nil
}

// SnapshotSQLite writes a consistent copy of the SQLite database src to
// dst (which must not exist) with VACUUM INTO: it reads inside one
// transaction, so the copy is the database at one instant even while
// other processes write to it, and it is compact and self-contained (no
// WAL file beside it). The copy is not fsynced: callers sync once at the
// end of a backup.
func SnapshotSQLite(ctx context.Context, src, dst string) error {
	return snapshotSQLite(ctx, src, dst)
}

func snapshotSQLite(ctx context.Context, src, dst string) error {
	// mode=rw: never create a database that is not there.
	db, err := sql.Open("sqlite3", "file:"+uriPath.Replace(src)+"?mode=rw&_busy_timeout=15000")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		os.Remove(dst)
		return err
	}
	return nil
}
