package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// CheckReport is the result of Check.
type CheckReport struct {
	Users    int   // mailboxes examined
	Folders  int   // folders in the indexes
	Messages int   // message rows in the indexes
	Files    int   // message files on disk
	Bytes    int64 // total size of the indexed messages
	// PendingRemovals counts files of expunged messages or deleted folders
	// whose removal has not finished yet; they are not problems, the next
	// open of the mailbox removes them.
	PendingRemovals int
	// Problems are human-readable descriptions of every disagreement
	// between the files and the index.
	Problems []string
}

// Clean reports whether no problem was found.
func (r *CheckReport) Clean() bool { return len(r.Problems) == 0 }

// String is the report for `congvu storage check` (Vietnamese first).
func (r *CheckReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Kiểm tra kho thư / storage check: %d hộp thư (mailboxes), %d thư mục (folders), "+
		"%d thư (messages), %d tệp (files), %d byte\n", r.Users, r.Folders, r.Messages, r.Files, r.Bytes)
	if r.PendingRemovals > 0 {
		fmt.Fprintf(&b, "Đang chờ xoá / pending removals: %d\n", r.PendingRemovals)
	}
	if r.Clean() {
		b.WriteString("Không phát hiện lỗi / no problems found\n")
		return b.String()
	}
	fmt.Fprintf(&b, "Phát hiện %d lỗi / %d problem(s) found (congvu storage rebuild sửa được / rebuild repairs them):\n",
		len(r.Problems), len(r.Problems))
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  - %s\n", p)
	}
	return b.String()
}

func (r *CheckReport) addf(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// userRef is a mailbox found on disk.
type userRef struct{ key, dir string }

// listUsers finds every users/<domain>/<localpart> directory.
func (s *FileStore) listUsers() ([]userRef, error) {
	root := filepath.Join(s.dir, usersDir)
	domains, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var out []userRef
	for _, d := range domains {
		if !d.IsDir() || checkPathComponent(d.Name()) != nil {
			continue
		}
		locals, err := os.ReadDir(filepath.Join(root, d.Name()))
		if err != nil {
			return nil, err
		}
		for _, l := range locals {
			if !l.IsDir() || checkPathComponent(l.Name()) != nil {
				continue
			}
			out = append(out, userRef{key: l.Name() + "@" + d.Name(), dir: filepath.Join(root, d.Name(), l.Name())})
		}
	}
	return out, nil
}

// Check compares the message files with the index of every mailbox. It
// changes nothing. Each mailbox is examined inside a write transaction, so
// the view is consistent even while a server delivers to it.
func (s *FileStore) Check(ctx context.Context) (*CheckReport, error) {
	users, err := s.listUsers()
	if err != nil {
		return nil, err
	}
	rep := &CheckReport{}
	for _, ur := range users {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		rep.Users++
		if err := s.checkUser(ctx, ur, rep); err != nil {
			rep.addf("%s: cannot read index: %v", ur.key, err)
		}
	}
	return rep, nil
}

// checkSnapshot is what Check reads from one index.
type checkSnapshot struct {
	acct     *account
	folders  []*folderRow
	messages map[int64]map[uint32]messageRow
	removals map[int64]map[uint32]bool
	// seen is the per-reader \Seen of shared mailboxes (RFC 4314 §4).
	seen []seenRow
}

type seenRow struct {
	folderID int64
	reader   string
	uid      uint32
}

func (s *FileStore) checkUser(ctx context.Context, ur userRef, rep *CheckReport) error {
	indexPath := filepath.Join(ur.dir, indexFile)
	if _, err := os.Stat(indexPath); errors.Is(err, fs.ErrNotExist) {
		// A mailbox directory made a moment ago, before its index: no
		// folder, so no mail to lose. With folders, the index is lost.
		if hasFolderDirs(ur.dir) {
			rep.addf("%s: index.db missing", ur.key)
		}
		return nil
	}
	db, err := openIndex(indexPath)
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	snap, err := readSnapshot(ctx, tx)
	if err != nil {
		if !hasFolderDirs(ur.dir) {
			// A mailbox being created (or whose creation never got as
			// far as a folder): there is no mail to compare.
			return nil
		}
		return err
	}
	var total int64
	known := map[int64]bool{}
	for _, f := range snap.folders {
		known[f.id] = true
		total += checkFolder(ur, f, snap, rep)
	}
	if total != snap.acct.used {
		rep.addf("%s: quota usage in the index is %d bytes, messages add up to %d", ur.key, snap.acct.used, total)
	}
	entries, err := os.ReadDir(ur.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		id, ok := parseID(e.Name())
		switch {
		case ok && e.IsDir() && !known[int64(id)]:
			if snap.removals[int64(id)][0] {
				rep.PendingRemovals++
			} else {
				rep.addf("%s: folder directory %d has no index row", ur.key, id)
			}
		case ok || e.Name() == indexFile || strings.HasPrefix(e.Name(), indexFile+"-"):
		default:
			rep.addf("%s: unexpected file %q", ur.key, e.Name())
		}
	}
	return nil
}

// checkFolder checks one folder and returns the size of its messages.
func checkFolder(ur userRef, f *folderRow, snap *checkSnapshot, rep *CheckReport) int64 {
	where := fmt.Sprintf("%s: folder %q (directory %d)", ur.key, f.name, f.id)
	dir := filepath.Join(ur.dir, fmt.Sprint(f.id))
	rows := snap.messages[f.id]
	rep.Folders++
	rep.Messages += len(rows)

	var c counts
	for _, m := range rows {
		c.add(contribution(m.seen, m.deleted, m.size))
		if m.uid >= f.uidNext {
			rep.addf("%s: UID %d is not below UIDNEXT %d", where, m.uid, f.uidNext)
		}
	}
	rep.Bytes += c.size
	if c != f.counts {
		rep.addf("%s: counters say %d messages/%d unseen/%d deleted/%d bytes, rows say %d/%d/%d/%d", where,
			f.counts.messages, f.counts.unseen, f.counts.deleted, f.counts.size, c.messages, c.unseen, c.deleted, c.size)
	}

	meta, err := readMeta(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, derr := os.Stat(dir); derr != nil {
			rep.addf("%s: directory missing", where)
			for uid := range rows {
				rep.addf("%s: UID %d: index row without message file", where, uid)
			}
			return c.size
		}
		rep.addf("%s: %s missing", where, metaFile)
	case err != nil:
		rep.addf("%s: %v", where, err)
	case meta.Name != f.name || meta.UIDValidity != f.uidValidity:
		rep.addf("%s: %s says %q UIDVALIDITY %d, index says UIDVALIDITY %d", where, metaFile,
			meta.Name, meta.UIDValidity, f.uidValidity)
	case meta.UIDNext > f.uidNext:
		rep.addf("%s: index UIDNEXT %d is below %s's %d", where, f.uidNext, metaFile, meta.UIDNext)
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		rep.addf("%s: %v", where, err)
		return c.size
	}
	onDisk := map[uint32]bool{}
	for _, e := range entries {
		name := e.Name()
		id, ok := parseID(name)
		if !ok {
			if name != metaFile && !strings.HasSuffix(name, tmpSuffix) {
				rep.addf("%s: unexpected file %q", where, name)
			}
			continue
		}
		uid := uint32(id)
		onDisk[uid] = true
		rep.Files++
		m, indexed := rows[uid]
		switch {
		case indexed:
			if info, err := e.Info(); err != nil {
				rep.addf("%s: UID %d: %v", where, uid, err)
			} else if info.Size() != m.size {
				rep.addf("%s: UID %d: file has %d bytes, index says %d", where, uid, info.Size(), m.size)
			}
		case snap.removals[f.id][uid]:
			rep.PendingRemovals++
		case uid >= f.uidNext:
			rep.addf("%s: UID %d: message file without index row (interrupted delivery; rebuild adds it)", where, uid)
		default:
			rep.addf("%s: UID %d: message file without index row (rebuild adds it under a new UID)", where, uid)
		}
	}
	for uid := range rows {
		if !onDisk[uid] {
			rep.addf("%s: UID %d: index row without message file", where, uid)
		}
	}
	return c.size
}

// readSnapshot reads a whole index (Check compares it with the files,
// Rebuild salvages flags and dates from it).
func readSnapshot(ctx context.Context, tx querier) (*checkSnapshot, error) {
	snap := &checkSnapshot{messages: map[int64]map[uint32]messageRow{}, removals: map[int64]map[uint32]bool{}}
	var err error
	if snap.acct, err = loadAccount(ctx, tx); err != nil {
		return nil, fmt.Errorf("account row: %w", err)
	}
	if snap.folders, err = allFolders(ctx, tx); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, "SELECT folder_id, uid, flags, modseq, internal_date, size FROM messages")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var fid, date int64
		var flags string
		var m messageRow
		if err := rows.Scan(&fid, &m.uid, &flags, &m.modseq, &date, &m.size); err != nil {
			rows.Close()
			return nil, err
		}
		m.setFlags(splitFlags(flags))
		m.date = unixUTC(date)
		if snap.messages[fid] == nil {
			snap.messages[fid] = map[uint32]messageRow{}
		}
		snap.messages[fid][m.uid] = m
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// An index older than shared mailboxes (schema 3) has no seen table.
	var seenTables int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'seen'").Scan(&seenTables); err != nil {
		return nil, err
	}
	query := "SELECT folder_id, reader, uid FROM seen"
	if seenTables == 0 {
		query = "SELECT 0, '', 0 WHERE 0"
	}
	if rows, err = tx.QueryContext(ctx, query); err != nil {
		return nil, err
	}
	for rows.Next() {
		var r seenRow
		if err := rows.Scan(&r.folderID, &r.reader, &r.uid); err != nil {
			rows.Close()
			return nil, err
		}
		snap.seen = append(snap.seen, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if rows, err = tx.QueryContext(ctx, "SELECT folder_id, uid FROM removals"); err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var fid int64
		var uid uint32
		if err := rows.Scan(&fid, &uid); err != nil {
			return nil, err
		}
		if snap.removals[fid] == nil {
			snap.removals[fid] = map[uint32]bool{}
		}
		snap.removals[fid][uid] = true
	}
	return snap, rows.Err()
}
