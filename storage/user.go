package storage

import (
	"congvu/internal/durable"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// metaFile is the per-folder metadata file (see folderMeta).
const metaFile = "folder.json"

// folderMeta is kept in each folder directory so that Rebuild can restore
// the folder without the index. UIDNext is a lower bound, refreshed before
// message files are removed: together with the highest UID still on disk it
// bounds every UID ever handed out, so a rebuild never reuses one.
type folderMeta struct {
	Name        string `json:"name"`
	UIDValidity uint32 `json:"uidvalidity"`
	UIDNext     uint32 `json:"uidnext"`
	SpecialUse  string `json:"specialUse,omitempty"`
	Subscribed  bool   `json:"subscribed"`
}

func writeMeta(dir string, f *folderRow) error {
	data, err := json.Marshal(folderMeta{Name: f.name, UIDValidity: f.uidValidity, UIDNext: f.uidNext,
		SpecialUse: f.specialUse, Subscribed: f.subscribed})
	if err != nil {
		return err
	}
	return writeFileDurable(filepath.Join(dir, metaFile), data)
}

func readMeta(dir string) (*folderMeta, error) {
	data, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		return nil, err
	}
	m := &folderMeta{}
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("%s: %w", metaFile, err)
	}
	return m, nil
}

// defaultFolders are created for every new user, subscribed (RFC 6154).
var defaultFolders = []struct{ name, use string }{
	{Inbox, ""},
	{Sent, `\Sent`},
	{Drafts, `\Drafts`},
	{Trash, `\Trash`},
	{Junk, `\Junk`},
	{Archive, `\Archive`},
}

// openUser opens a user's index, creating the user on first use and
// finishing whatever a crash interrupted.
func (s *FileStore) openUser(ctx context.Context, key, domain, local string) (*userState, error) {
	dir := s.userDir(domain, local)
	if err := durable.MkdirAll(dir); err != nil {
		return nil, err
	}
	indexPath := filepath.Join(dir, indexFile)
	db, err := openUserIndex(ctx, indexPath)
	if err != nil {
		return nil, fmt.Errorf("opening index of %s: %w", key, err)
	}
	u := &userState{s: s, key: key, dir: dir, db: db, log: s.log.With("user", key)}
	lost, err := u.createAccount(ctx)
	if err == nil && lost {
		// Folders but no account: the index was lost, or its creation
		// was interrupted. Rebuild it from the files rather than creating
		// a fresh account over them.
		u.closeDB()
		s.log.Warn("storage: index missing, rebuilding from message files", "user", key)
		if err := s.rebuildUser(ctx, key, dir); err != nil {
			return nil, fmt.Errorf("rebuilding index of %s: %w", key, err)
		}
		if u.db, err = openUserIndex(ctx, indexPath); err != nil {
			return nil, fmt.Errorf("opening index of %s: %w", key, err)
		}
	}
	if err == nil {
		err = u.recover(ctx)
	}
	if err != nil {
		u.closeDB()
		return nil, fmt.Errorf("opening index of %s: %w", key, err)
	}
	u.commit = newCommitter(u)
	return u, nil
}

func openUserIndex(ctx context.Context, path string) (*sql.DB, error) {
	db, err := openIndex(path)
	if err != nil {
		return nil, err
	}
	if err := initSchema(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// hasFolderDirs reports whether dir holds a numeric (folder) directory.
func hasFolderDirs(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if _, ok := parseID(e.Name()); ok && e.IsDir() {
			return true
		}
	}
	return false
}

// parseID parses a folder id or UID file name: decimal, no sign, no
// leading zero, so every number has exactly one file name.
func parseID(name string) (uint64, bool) {
	if name == "" || name[0] < '1' || name[0] > '9' {
		return 0, false
	}
	n, err := strconv.ParseUint(name, 10, 32)
	return n, err == nil
}

// createAccount creates the account row and the default folders if the
// index has no account yet. It reports lost when there is no account but
// there are folder directories: the index must be rebuilt instead. The
// check runs under the write lock, so a mailbox being created by another
// process is never mistaken for a lost index.
func (u *userState) createAccount(ctx context.Context) (lost bool, err error) {
	created := false
	err = u.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM account").Scan(&n); err != nil || n > 0 {
			return err
		}
		if hasFolderDirs(u.dir) {
			lost = true
			return nil
		}
		acct := &account{nextFolderID: 1}
		for _, d := range defaultFolders {
			if _, err := u.createFolderTx(ctx, tx, acct, d.name, d.use, true); err != nil {
				return err
			}
		}
		if err := saveAccount(ctx, tx, acct); err != nil {
			return err
		}
		created = true
		// The folder directories must exist on disk before the rows
		// that name them.
		return durable.SyncDir(u.dir)
	})
	if created && err == nil {
		u.log.Info("storage: mailbox created")
	}
	return lost, err
}

// createFolderTx creates a folder's directory and metadata and inserts its
// row. The caller saves acct and fsyncs the user directory before commit.
func (u *userState) createFolderTx(ctx context.Context, tx *sql.Tx, acct *account, name, specialUse string, subscribed bool) (*folderRow, error) {
	id := acct.nextFolderID
	for {
		err := os.Mkdir(u.folderDir(id), 0o700)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		// Left by an interrupted operation and not yet recovered: never
		// reuse it, Check reports it.
		u.log.Warn("storage: folder directory exists without index row, skipping id", "id", id)
		id++
	}
	f := &folderRow{id: id, name: name, specialUse: specialUse, subscribed: subscribed,
		uidValidity: acct.newUIDValidity(time.Now()), uidNext: 1, highestModSeq: 1}
	acct.nextFolderID = id + 1
	if err := insertFolder(ctx, tx, f); err != nil {
		os.RemoveAll(u.folderDir(id))
		return nil, err
	}
	if err := writeMeta(u.folderDir(id), f); err != nil {
		os.RemoveAll(u.folderDir(id))
		return nil, err
	}
	return f, nil
}

// recover finishes what a crash interrupted, inside one write transaction
// so it is consistent with any other process using the same index:
//   - pending removals (expunged messages, deleted folders) are removed;
//   - message files at UIDNEXT and above were linked by a batch whose
//     commit did not happen: they are complete, fsynced messages, so they
//     are added (the client was not told; it may send again);
//   - a folder directory without a row is an interrupted CREATE (removed
//     when empty) or a folder whose row was lost (adopted);
//   - a folder row without a directory gets an empty directory back (its
//     messages are lost; Check reports them).
func (u *userState) recover(ctx context.Context) error {
	return u.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := u.finishRemovals(ctx, tx); err != nil {
			return err
		}
		acct, err := loadAccount(ctx, tx)
		if err != nil {
			return err
		}
		folders, err := allFolders(ctx, tx)
		if err != nil {
			return err
		}
		known := map[int64]bool{}
		for _, f := range folders {
			known[f.id] = true
			dir := u.folderDir(f.id)
			if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
				u.log.Error("storage: folder directory missing, recreating it empty", "folder", f.name, "id", f.id)
				if err := os.Mkdir(dir, 0o700); err != nil {
					return err
				}
				if err := writeMeta(dir, f); err != nil {
					return err
				}
				if err := durable.SyncDir(u.dir); err != nil {
					return err
				}
			}
			// A crash between a commit and its metadata rewrite leaves
			// the file stale; rewrite it from the row.
			m, err := readMeta(dir)
			if err == nil && m.UIDNext > f.uidNext {
				// The index is behind (restored from a backup?): never
				// hand out a UID that folder.json says was used.
				u.log.Error("storage: UIDNEXT below folder.json's, raising it", "folder", f.name,
					"index", f.uidNext, "meta", m.UIDNext)
				f.uidNext = m.UIDNext
				if err := saveFolder(ctx, tx, f); err != nil {
					return err
				}
			}
			if err != nil || m.Name != f.name || m.UIDValidity != f.uidValidity ||
				m.SpecialUse != f.specialUse || m.Subscribed != f.subscribed {
				if err := writeMeta(dir, f); err != nil {
					return err
				}
			}
			n, err := u.adoptTail(ctx, tx, f, acct)
			if err != nil {
				return err
			}
			if n > 0 {
				u.log.Warn("storage: added messages of an interrupted delivery", "folder", f.name, "count", n)
			}
		}
		if err := u.recoverFolderDirs(ctx, tx, known, acct); err != nil {
			return err
		}
		return saveAccount(ctx, tx, acct)
	})
}

// finishRemovals removes the files listed in removals and clears the list.
func (u *userState) finishRemovals(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "SELECT folder_id, uid FROM removals")
	if err != nil {
		return err
	}
	type removal struct {
		folder int64
		uid    uint32
	}
	var list []removal
	for rows.Next() {
		var r removal
		if err := rows.Scan(&r.folder, &r.uid); err != nil {
			rows.Close()
			return err
		}
		list = append(list, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(list) == 0 {
		return err
	}
	dirs := map[string]bool{}
	for _, r := range list {
		if r.uid == 0 {
			os.RemoveAll(u.folderDir(r.folder))
			dirs[u.dir] = true
		} else {
			os.Remove(u.messagePath(r.folder, r.uid))
			dirs[u.folderDir(r.folder)] = true
		}
	}
	for d := range dirs {
		if err := durable.SyncDir(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, "DELETE FROM removals")
	return err
}

// adoptTail adds the message files at f.uidNext, f.uidNext+1… A batch links
// its files in UID order from UIDNEXT before it commits, so an interrupted
// batch, or appends whose commits the machine lost (writeRecoverable),
// leave exactly such a run.
func (u *userState) adoptTail(ctx context.Context, tx *sql.Tx, f *folderRow, acct *account) (int, error) {
	run := 0
	for {
		if _, err := os.Lstat(u.messagePath(f.id, f.uidNext+uint32(run))); err != nil {
			break
		}
		run++
	}
	if run == 0 {
		return 0, nil
	}
	// Each lost commit raised HIGHESTMODSEQ by one, and each linked at
	// least one of these files: a client may have seen up to the old value
	// plus run, and the value must never go back (RFC 7162 3.1.1).
	modseq := f.highestModSeq + uint64(run)
	n := 0
	for n < run {
		path := u.messagePath(f.id, f.uidNext)
		m, header, parsed, filter, err := readMessageFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return n, err
		}
		m.uid, m.modseq = f.uidNext, modseq
		if err := insertMessage(ctx, tx, f.id, m, header, parsed, filter); err != nil {
			return n, err
		}
		f.counts.add(contribution(m.seen, m.deleted, m.size))
		acct.used += m.size
		f.uidNext++
		n++
	}
	if n > 0 {
		f.highestModSeq = modseq
		return n, saveFolder(ctx, tx, f)
	}
	return 0, nil
}

// recoverFolderDirs handles folder directories that have no row.
func (u *userState) recoverFolderDirs(ctx context.Context, tx *sql.Tx, known map[int64]bool, acct *account) error {
	entries, err := os.ReadDir(u.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		id64, ok := parseID(e.Name())
		id := int64(id64)
		if !ok || !e.IsDir() || known[id] {
			continue
		}
		acct.nextFolderID = max(acct.nextFolderID, id+1)
		dir := u.folderDir(id)
		files, err := listMessageFiles(dir)
		if err != nil {
			return err
		}
		if len(files) == 0 {
			u.log.Warn("storage: removing folder directory of an interrupted CREATE", "id", id)
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
			if err := durable.SyncDir(u.dir); err != nil {
				return err
			}
			continue
		}
		f, err := u.adoptFolder(ctx, tx, id, nil, acct)
		if err != nil {
			return err
		}
		u.log.Warn("storage: adopted folder directory without index row", "id", id, "folder", f.name)
		for _, uid := range files {
			m, header, parsed, filter, err := readMessageFile(u.messagePath(id, uid))
			if err != nil {
				return err
			}
			m.uid, m.modseq = uid, f.highestModSeq
			if err := insertMessage(ctx, tx, id, m, header, parsed, filter); err != nil {
				return err
			}
			f.counts.add(contribution(false, false, m.size))
			acct.used += m.size
			f.uidNext = max(f.uidNext, uid+1)
		}
		if err := saveFolder(ctx, tx, f); err != nil {
			return err
		}
		if err := writeMeta(dir, f); err != nil {
			return err
		}
	}
	return nil
}

// adoptFolder inserts the row of an existing folder directory, taking name,
// UIDVALIDITY and UIDNEXT from its metadata (or from old, a salvaged row),
// and making the name unique.
func (u *userState) adoptFolder(ctx context.Context, tx *sql.Tx, id int64, old *folderRow, acct *account) (*folderRow, error) {
	dir := u.folderDir(id)
	f := &folderRow{id: id, uidNext: 1, highestModSeq: 1}
	meta, err := readMeta(dir)
	if err != nil {
		u.log.Warn("storage: folder metadata unreadable", "id", id, "err", err)
		meta = &folderMeta{}
	}
	f.name, f.uidValidity, f.uidNext = meta.Name, meta.UIDValidity, max(meta.UIDNext, 1)
	f.specialUse, f.subscribed = meta.SpecialUse, meta.Subscribed
	if old != nil {
		f.name, f.uidValidity, f.specialUse, f.subscribed = old.name, old.uidValidity, old.specialUse, old.subscribed
		f.uidNext = max(f.uidNext, old.uidNext)
		f.highestModSeq = old.highestModSeq
	}
	if name, err := normalizeFolder(f.name); err != nil || f.name == "" {
		f.name = fmt.Sprintf("Recovered/%d", id)
	} else {
		f.name = name
	}
	if f.uidValidity == 0 {
		f.uidValidity = acct.newUIDValidity(time.Now())
	}
	acct.nextUIDValidity = max(acct.nextUIDValidity, f.uidValidity+1)
	base := f.name
	for i := 1; ; i++ {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM folders WHERE name = ?", f.name).Scan(&n); err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		f.name = fmt.Sprintf("%s (%d)", base, i)
	}
	return f, insertFolder(ctx, tx, f)
}

// listMessageFiles returns the UIDs of the message files in a folder
// directory, ascending.
func listMessageFiles(dir string) ([]uint32, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []uint32
	for _, e := range entries {
		if uid, ok := parseID(e.Name()); ok && e.Type().IsRegular() {
			out = append(out, uint32(uid))
		}
	}
	return out, nil // ReadDir sorts by name; callers sort numerically if needed
}

// readMessageFile parses a message file for its index, cache and text
// filter rows. The internal date is the file's mtime, which delivery sets
// (RFC 9051 2.3.3).
func readMessageFile(path string) (*messageRow, []byte, []byte, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	p := parseMessage(f)
	parsed, err := encodeParsed(p)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, nil, nil, nil, err
	}
	filter := buildTextFilter(f, nil)
	m := &messageRow{size: st.Size(), date: st.ModTime().Truncate(time.Second).UTC()}
	m.setFlags(nil)
	return m, p.Header, parsed, filter, nil
}
