package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"congvu/internal/bufsize"
	"congvu/internal/durable"
	"congvu/internal/mailerr"
)

// Layout of the store directory:
//
//	dir/users/<domain>/<localpart>/index.db        SQLite index (WAL)
//	dir/users/<domain>/<localpart>/<folder id>/    one directory per folder
//	    folder.json                                name, UIDVALIDITY, UIDNEXT…
//	    <uid>                                      one file per message
//	dir/tmp/<pid>-<random>/                        spool of one open FileStore
//
// On Linux a message for one folder is spooled as an unnamed file
// (O_TMPFILE) in the spool directory and linked into its folder through
// /proc/self/fd: no spool name to create and remove, nothing left behind
// by a crash. Messages for several folders, and systems without
// O_TMPFILE or /proc, use named spool files.
//
// Folder directories are named by a numeric id that never changes, so
// RENAME is an index-only change; folder.json lets Rebuild restore names,
// UIDVALIDITY and UIDNEXT without the index. Message files are named by UID
// and never rewritten; a file is visible to clients only once its index row
// is committed.

// spoolBufferSize is the pooled buffer of a spooling message: a message
// this small is parsed from memory (spoolMessage).
const spoolBufferSize = 128 << 10

// parseBufferSize is the pooled reader of a spooled message's parses.
const parseBufferSize = 16 << 10

const (
	usersDir  = "users"
	spoolRoot = "tmp"
	// lockFile is flocked shared by every open FileStore, so Rebuild can
	// tell that a server is using the store.
	lockFile = "store.lock"

	// defaultQuota applies when Options.DefaultQuotaBytes is 0.
	defaultQuota = 2 << 30
	// defaultMaxMessages applies when Options.MaxMessages is 0.
	defaultMaxMessages = 1_000_000
	// userIdleTimeout is how long an unused user's index stays open.
	userIdleTimeout = 2 * time.Minute
	// maxOpenUsers bounds the unused indexes kept open: a delivery burst to
	// tens of thousands of officials must not hold an SQLite connection
	// (three file descriptors and its page cache) for each of them for
	// userIdleTimeout. Beyond it the least recently used are closed.
	maxOpenUsers = 1024
)

var _ Store = (*FileStore)(nil)

// Options configures a FileStore.
type Options struct {
	DefaultQuotaBytes int64 // 0 → 2 GiB; negative → no limit
	// MaxMessages bounds the messages of one mailbox (RFC 9208 MESSAGE
	// resource): 0 → 1,000,000; negative → no limit.
	MaxMessages int64
	Logger      *slog.Logger // nil → discard
}

// FileStore is the file-and-SQLite mail store. It implements Store.
//
// Behaviour the interfaces leave open:
//   - User names are lower-cased; "a@B.vn" and "A@b.vn" are one mailbox.
//     Names that are not localpart@domain, or whose parts could escape the
//     store directory, give mailerr.ErrUnknownUser.
//   - Folder names are NFC-normalized; "*", "%", control characters, empty
//     hierarchy levels and levels with surrounding spaces are refused with
//     mailerr.ErrCannotDo. "" means INBOX.
//   - Open and Cached of a UID that is not in the folder give
//     ErrNoSuchMessage (IMAP code EXPUNGEISSUED).
//   - RENAME INBOX moves INBOX's messages into the new folder (RFC 9051
//     6.3.6); DELETE of a folder with subfolders is refused (ErrCannotDo).
//   - Flags: system flags are canonicalised (`\seen` → `\Seen`), `\Recent`
//     is dropped, unknown system flags and non-atom keywords are refused.
//   - A quota (store default or per account) below zero means no limit;
//     Copy counts against the quota, Move does not.
//   - Watch channels are never closed; cancel stops delivery.
//   - Appends that arrive while a commit is running are committed together
//     (one directory fsync per folder and one index commit per batch). The
//     commit of appends without flags is not fsynced (writeRecoverable):
//     their files are, and the next open adopts them if the machine lost it.
type FileStore struct {
	dir   string
	spool string // this instance's spool directory
	// anonSpool: spool files are created unnamed (O_TMPFILE) and linked
	// through /proc, when openSpool found that to work here.
	anonSpool  bool
	spoolFd    *os.File // holds the flock on spool while the store is open
	lockFd     *os.File // shared flock on dir/lockFile while the store is open
	quota      int64
	maxMsgs    int64 // see Options.MaxMessages
	log        *slog.Logger
	idle       time.Duration
	maxOpen    int // see maxOpenUsers
	watchers   watchers
	copyBufs   sync.Pool     // *[]byte buffers for spooling
	readers    *bufsize.Pool // for the parses of a spooled message
	filterBufs *filterBuffers
	decoded    *decodedCache
	lists      *listCache
	// expungeLog bounds each folder's expunge log (sync.go).
	expungeLog expungeLogLimits
	// lastFullAlert is when alertFull last logged (UnixNano).
	lastFullAlert atomic.Int64
	// dirSync makes new directory entries durable on the delivery path
	// (fsync of a folder directory kept open by userState.syncFolderDir;
	// tests wrap it to observe group commit).
	dirSync func(dir *os.File) error
	// fileSync makes a spooled message's data durable (f.Sync; tests
	// wrap it to observe when deliveries fsync).
	fileSync func(f *os.File) error

	mu        sync.Mutex
	cond      *sync.Cond // signalled when a user reference is released
	users     map[string]*userEntry
	closed    bool
	trimAfter time.Time // no trimOpen before (all open users were busy)

	stopJanitor chan struct{}
	janitorDone chan struct{}
}

// userEntry is a cached open user; the FileStore hands out references so
// every Mailbox of the same user shares one *sql.DB, one write lock and one
// group-commit queue.
type userEntry struct {
	ready    chan struct{} // closed once u/err are set
	u        *userState
	err      error
	refs     int
	lastUsed time.Time
}

// Open opens (creating if needed) the store in dir.
func Open(dir string, opts Options) (*FileStore, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	s := &FileStore{
		dir:         abs,
		quota:       opts.DefaultQuotaBytes,
		log:         opts.Logger,
		idle:        userIdleTimeout,
		maxOpen:     maxOpenUsers,
		users:       map[string]*userEntry{},
		stopJanitor: make(chan struct{}),
		janitorDone: make(chan struct{}),
		watchers:    watchers{m: map[watchKey]map[chan Event]func(){}},
		dirSync:     (*os.File).Sync,
		fileSync:    (*os.File).Sync,
		decoded:     newDecodedCache(decodedCacheBytes),
		expungeLog:  defaultExpungeLog,
		lists:       newListCache(listCacheBytes),
		filterBufs:  newFilterBuffers(),
		readers:     bufsize.NewPool(parseBufferSize),
	}
	s.cond = sync.NewCond(&s.mu)
	s.copyBufs.New = func() any { b := make([]byte, spoolBufferSize); return &b }
	if s.quota == 0 {
		s.quota = defaultQuota
	}
	switch s.maxMsgs = opts.MaxMessages; {
	case s.maxMsgs == 0:
		s.maxMsgs = defaultMaxMessages
	case s.maxMsgs < 0:
		s.maxMsgs = 0
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for _, d := range []string{usersDir, spoolRoot, trashRoot} {
		if err := durable.MkdirAll(filepath.Join(abs, d)); err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
	}
	if s.lockFd, err = lockShared(filepath.Join(abs, lockFile)); err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	if err := s.openSpool(); err != nil {
		s.lockFd.Close()
		return nil, fmt.Errorf("storage: spool: %w", err)
	}
	s.cleanTrash()
	go s.janitor()
	return s, nil
}

// openSpool creates this instance's spool directory, locks it, and removes
// spool directories left by dead processes: their files are messages whose
// delivery never returned, so nobody was told they were stored.
func (s *FileStore) openSpool() error {
	var rnd [6]byte
	rand.Read(rnd[:])
	root := filepath.Join(s.dir, spoolRoot)
	s.spool = filepath.Join(root, fmt.Sprintf("%d-%s", os.Getpid(), hex.EncodeToString(rnd[:])))
	if err := os.Mkdir(s.spool, 0o700); err != nil {
		return err
	}
	f, _, err := lockDir(s.spool)
	if err != nil {
		return err
	}
	s.spoolFd = f
	s.cleanSpool()
	s.anonSpool = s.probeAnonymous()
	return nil
}

// probeAnonymous reports whether unnamed spool files can be created and
// linked here (Linux, a file system with O_TMPFILE, /proc mounted); if
// not, the spool uses named files.
func (s *FileStore) probeAnonymous() bool {
	f, err := createAnonymous(s.spool)
	if err != nil {
		s.log.Debug("storage: spool uses named files", "err", err)
		return false
	}
	defer f.Close()
	probe := filepath.Join(s.spool, "probe")
	if err := linkAnonymous(f, probe); err != nil {
		s.log.Debug("storage: spool uses named files", "err", err)
		return false
	}
	os.Remove(probe)
	return true
}

func (s *FileStore) cleanSpool() {
	root := filepath.Join(s.dir, spoolRoot)
	entries, err := os.ReadDir(root)
	if err != nil {
		s.log.Warn("storage: reading spool", "err", err)
		return
	}
	for _, e := range entries {
		p := filepath.Join(root, e.Name())
		if p == s.spool {
			continue
		}
		if e.IsDir() {
			f, ok, err := lockDir(p)
			if err != nil || !ok {
				continue // in use by a live process
			}
			err = os.RemoveAll(p)
			f.Close()
			if err != nil {
				s.log.Warn("storage: removing stale spool", "dir", p, "err", err)
				continue
			}
		} else if err := os.Remove(p); err != nil {
			continue
		}
		s.log.Info("storage: removed stale spool entry", "path", p)
	}
}

// Close waits for running operations, then closes every index. Watch
// channels are not closed; the protocol servers are closed first.
func (s *FileStore) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for s.busy() {
		s.cond.Wait()
	}
	entries := s.users
	s.users = map[string]*userEntry{}
	s.mu.Unlock()

	close(s.stopJanitor)
	<-s.janitorDone
	var errs []error
	for _, e := range entries {
		if e.u != nil {
			errs = append(errs, e.u.close())
		}
	}
	errs = append(errs, os.RemoveAll(s.spool))
	if s.spoolFd != nil {
		s.spoolFd.Close()
	}
	s.lockFd.Close()
	return errors.Join(errs...)
}

// busy reports whether any user reference is held. s.mu must be held.
func (s *FileStore) busy() bool {
	for _, e := range s.users {
		if e.refs > 0 {
			return true
		}
	}
	return false
}

var errClosed = mailerr.ErrInternal.With(errors.New("storage: store closed"))

// acquire returns the shared state of a user, opening (and creating) it on
// first use. Every acquire must be paired with release.
func (s *FileStore) acquire(ctx context.Context, key, domain, local string) (*userState, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errClosed
	}
	e := s.users[key]
	if e == nil {
		e = &userEntry{ready: make(chan struct{})}
		s.users[key] = e
		e.refs++
		s.mu.Unlock()
		e.u, e.err = s.openUser(context.WithoutCancel(ctx), key, domain, local)
		close(e.ready)
		if e.err != nil {
			s.mu.Lock()
			delete(s.users, key)
			e.refs--
			s.cond.Broadcast()
			s.mu.Unlock()
			return nil, e.err
		}
		return e.u, nil
	}
	e.refs++
	s.mu.Unlock()
	<-e.ready
	if e.err != nil {
		s.mu.Lock()
		e.refs--
		s.cond.Broadcast()
		s.mu.Unlock()
		return nil, e.err
	}
	return e.u, nil
}

func (s *FileStore) release(u *userState) {
	s.mu.Lock()
	if e := s.users[u.key]; e != nil && e.u == u {
		e.refs--
		e.lastUsed = time.Now()
	}
	s.cond.Broadcast()
	over := len(s.users) > s.maxOpen+s.maxOpen/8 && time.Now().After(s.trimAfter)
	s.mu.Unlock()
	if over {
		s.trimOpen()
	}
}

// trimOpen closes the least recently used unused indexes down to maxOpen.
// Trimming only starts an eighth above the bound, so its sort is paid once
// per maxOpen/8 releases.
func (s *FileStore) trimOpen() {
	s.mu.Lock()
	var idle []*userEntry
	for _, e := range s.users {
		if e.refs == 0 && e.u != nil {
			idle = append(idle, e)
		}
	}
	sort.Slice(idle, func(i, j int) bool { return idle[i].lastUsed.Before(idle[j].lastUsed) })
	n := min(len(idle), len(s.users)-s.maxOpen)
	victims := make([]*userState, 0, max(n, 0))
	for _, e := range idle[:max(n, 0)] {
		victims = append(victims, e.u)
		delete(s.users, e.u.key)
	}
	if len(victims) == 0 {
		// Everything is in use: do not rescan on every release.
		s.trimAfter = time.Now().Add(time.Second)
	}
	s.mu.Unlock()
	for _, u := range victims {
		if err := u.close(); err != nil {
			s.log.Warn("storage: closing index", "user", u.key, "err", err)
		}
	}
}

// janitor closes indexes of users nobody used for a while, bounding open
// files and memory on a server with many mailboxes.
func (s *FileStore) janitor() {
	defer close(s.janitorDone)
	t := time.NewTicker(max(s.idle/4, time.Second))
	defer t.Stop()
	for {
		select {
		case <-s.stopJanitor:
			return
		case <-t.C:
			s.evictIdle(s.idle)
		}
	}
}

// evictIdle closes users unused for at least idle.
func (s *FileStore) evictIdle(idle time.Duration) {
	var victims []*userState
	s.mu.Lock()
	for k, e := range s.users {
		if e.refs == 0 && e.u != nil && time.Since(e.lastUsed) >= idle {
			victims = append(victims, e.u)
			delete(s.users, k)
		}
	}
	s.mu.Unlock()
	for _, u := range victims {
		if err := u.close(); err != nil {
			s.log.Warn("storage: closing index", "user", u.key, "err", err)
		}
	}
}

// userDir is the directory of a user; the components are validated.
func (s *FileStore) userDir(domain, local string) string {
	return filepath.Join(s.dir, usersDir, domain, local)
}

// Mailbox opens a user's mailbox, creating it with the special-use folders
// on first use (RFC 6154).
func (s *FileStore) Mailbox(ctx context.Context, user string, quotaBytes int64) (Mailbox, error) {
	key, domain, local, err := userPath(user)
	if err != nil {
		return nil, err
	}
	u, err := s.acquire(ctx, key, domain, local)
	if err != nil {
		return nil, err
	}
	s.release(u)
	return &mailbox{s: s, key: key, domain: domain, local: local, limit: s.limit(quotaBytes)}, nil
}

// SharedMailbox opens owner's mailbox for reader (another account): the
// same messages, folders and flags, except \Seen, which is reader's own
// (RFC 4314 §4 per-user \Seen). Who may do what is the caller's business.
func (s *FileStore) SharedMailbox(ctx context.Context, owner, reader string, quotaBytes int64) (Mailbox, error) {
	mb, err := s.Mailbox(ctx, owner, quotaBytes)
	if err != nil {
		return nil, err
	}
	m := mb.(*mailbox)
	if r := strings.ToLower(reader); r != m.key {
		m.reader = r
	}
	return m, nil
}

// limit resolves a per-account quota: 0 is the store default; a negative
// limit means no limit (see overQuota).
func (s *FileStore) limit(quotaBytes int64) int64 {
	if quotaBytes == 0 {
		return s.quota
	}
	return quotaBytes
}

// overQuota is the quota rule: used+size > limit refuses (limit <= 0 means
// unlimited).
func overQuota(used, size, limit int64) bool {
	return limit > 0 && used+size > limit
}

// userState is the shared, open state of one user.
type userState struct {
	s      *FileStore
	key    string
	dir    string
	db     *sql.DB
	log    *slog.Logger
	commit *committer

	// writeMu serializes this process's write transactions on the index,
	// so writers queue here instead of spinning on SQLITE_BUSY.
	writeMu sync.Mutex
	// writer is the connection every write transaction runs on (writeMu
	// held), and writerSync its synchronous level: a run of deliveries
	// (writeRecoverable) sets NORMAL once instead of switching and
	// restoring it around each one (two statements per delivery).
	writer     *sql.Conn
	writerSync string
	// metaMu serializes rewrites of folder.json files, and guards
	// metaUIDNext: per folder id, the UIDNEXT its folder.json holds as this
	// process last wrote or read it (afterRemoval). Folder ids are never
	// reused (account.nextFolderID), so an entry cannot outlive its folder
	// into another.
	metaMu      sync.Mutex
	metaUIDNext map[int64]uint32
	// recent holds \Recent claims not yet written (sync.go).
	recent recentClaims
	// packsChecked is, per folder id, the folder's message count and
	// UIDNEXT when its text filter packs were last checked for empty
	// ones (textpack.go): a pack only empties when messages leave, which
	// changes the pair.
	packsMu      sync.Mutex
	packsChecked map[int64][2]int64
	// used is account.used_bytes as Quota last learnt it.
	used usedCache
	// txUsed is, during a write transaction (writeMu held), used_bytes as
	// the transaction leaves it, or -1 when the transaction does not say.
	txUsed int64
	// dirs are the folder directories opened for fsync, by folder id.
	dirsMu sync.Mutex
	dirs   map[int64]*os.File
}

// syncFolderDir makes the new entries of folder id's directory durable.
// The directory stays open while the index is: opening and closing it
// for every delivery was a third of the cost of its fsync (issue 16).
func (u *userState) syncFolderDir(id int64) error {
	u.dirsMu.Lock()
	d := u.dirs[id]
	if d == nil {
		var err error
		if d, err = os.Open(u.folderDir(id)); err != nil {
			u.dirsMu.Unlock()
			return err
		}
		if u.dirs == nil {
			u.dirs = map[int64]*os.File{}
		}
		u.dirs[id] = d
	}
	u.dirsMu.Unlock()
	return u.s.dirSync(d)
}

// forgetFolderDir closes the directory of a deleted folder (or all of them
// when id < 0).
func (u *userState) forgetFolderDir(id int64) {
	u.dirsMu.Lock()
	defer u.dirsMu.Unlock()
	for k, d := range u.dirs {
		if id < 0 || k == id {
			d.Close()
			delete(u.dirs, k)
		}
	}
}

// usedCacheTTL bounds how long Quota trusts its cache: a writer in another
// process (congvu storage …) does not reach it.
const usedCacheTTL = 10 * time.Second

// usedCache keeps account.used_bytes for Quota, which SMTP asks at every
// RCPT: the query was 3 % of a delivery's CPU (issue 16). A write
// transaction of this process either leaves the value it committed or
// forgets it; gen keeps a query that raced a commit from storing what it
// read before it.
type usedCache struct {
	mu    sync.Mutex
	gen   uint64
	bytes int64
	at    time.Time // zero: not known
}

func (c *usedCache) get(now time.Time) (bytes int64, gen uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && now.Sub(c.at) < usedCacheTTL {
		return c.bytes, c.gen, true
	}
	return 0, c.gen, false
}

// put stores what a query read, unless a commit came between (gen).
func (c *usedCache) put(gen uint64, bytes int64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.bytes, c.at = bytes, now
	}
}

// committed records a write transaction's outcome: the value it left, or
// nothing known (bytes < 0).
func (c *usedCache) committed(bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.bytes, c.at = bytes, time.Time{}
	if bytes >= 0 {
		c.at = time.Now()
	}
}

func (u *userState) close() error {
	u.commit.stop()
	if u.recentDirty() {
		if err := u.write(context.Background(), func(context.Context, *sql.Tx) error { return nil }); err != nil {
			u.log.Warn("storage: saving \\Recent claims", "err", err)
		}
	}
	u.forgetFolderDir(-1)
	return u.closeDB()
}

// closeDB closes the index, the writer connection first (the pool would
// otherwise keep it open).
func (u *userState) closeDB() error {
	u.dropWriter()
	return u.db.Close()
}

func (u *userState) folderDir(id int64) string {
	return filepath.Join(u.dir, fmt.Sprint(id))
}

func (u *userState) messagePath(folderID int64, uid uint32) string {
	return filepath.Join(u.dir, fmt.Sprint(folderID), fmt.Sprint(uid))
}

// write runs fn in a write transaction under the user's write lock. The
// transaction ignores cancellation of ctx once started: file operations
// after the commit must see the outcome that really happened.
func (u *userState) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return u.writeAt(ctx, "FULL", fn)
}

// writeAt is write on the writer connection at synchronous level; a
// connection that fails is replaced at the next write.
func (u *userState) writeAt(ctx context.Context, level string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	u.writeMu.Lock()
	defer u.writeMu.Unlock()
	conn, err := u.writerAt(ctx, level)
	if err != nil {
		return err
	}
	err = u.runTx(ctx, conn, fn)
	if err != nil && conn.PingContext(ctx) != nil {
		u.dropWriter()
	}
	return err
}

// writerAt returns the writer connection at synchronous level (FULL, the
// index's default, or NORMAL). The caller holds writeMu.
func (u *userState) writerAt(ctx context.Context, level string) (*sql.Conn, error) {
	if u.writer == nil {
		c, err := u.db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		u.writer, u.writerSync = c, "FULL" // openIndex's _synchronous
	}
	if u.writerSync != level {
		if _, err := u.writer.ExecContext(ctx, "PRAGMA synchronous = "+level); err != nil {
			u.dropWriter()
			return nil, err
		}
		u.writerSync = level
	}
	return u.writer, nil
}

// dropWriter closes the writer connection for good (not back to the pool:
// it may be at the lower level). The caller holds writeMu, or the user is
// closing.
func (u *userState) dropWriter() {
	if u.writer == nil {
		return
	}
	u.writer.Raw(func(any) error { return driver.ErrBadConn })
	u.writer.Close()
	u.writer, u.writerSync = nil, ""
}

// runTx runs fn and the pending \Recent updates in one transaction begun
// on conn, committing if both succeed. The caller holds writeMu.
func (u *userState) runTx(ctx context.Context, conn *sql.Conn, fn func(ctx context.Context, tx *sql.Tx) error) error {
	u.txUsed = -1
	// Whatever the outcome, the cached usage is the committed one or none.
	defer func() { u.used.committed(u.txUsed) }()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(ctx, tx); err != nil {
		tx.Rollback()
		u.txUsed = -1
		return err
	}
	if err := u.flushRecent(ctx, tx); err != nil {
		tx.Rollback()
		u.txUsed = -1
		return err
	}
	if err := tx.Commit(); err != nil {
		u.txUsed = -1
		return err
	}
	return nil
}

// writeRecoverable is write for a transaction whose every change recovery
// rebuilds from files already on disk: appends of messages without flags,
// whose files were fsynced and linked at UIDNEXT, UIDNEXT+1… and their
// directory fsynced before the commit (commitAppends). It commits with
// synchronous=NORMAL, without the WAL's fsync: the kernel still has the
// commit if the process dies, and if the machine loses it, the next open
// adopts the run of files at UIDNEXT again (recover, adoptTail), with their
// UIDs, sizes and dates. Dovecot's index is not fsynced either and is
// rebuilt from the Maildir; here the third fsync of every delivery was an
// eighth of its CPU and a third of its disk waits (issue 16).
func (u *userState) writeRecoverable(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	// The level is per connection and cannot change inside a transaction:
	// the writer connection, which never goes back to the pool, has it.
	return u.writeAt(ctx, "NORMAL", fn)
}

// notify tells watchers of a folder of this user that it changed.
func (u *userState) notify(folder string, modseq uint64) {
	u.s.watchers.notify(u.key, folder, modseq)
}
