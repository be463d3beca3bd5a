package storage

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"sync"
	"time"

	"congvu/internal/bufsize"
	"congvu/internal/mailerr"
)

// maxBatch bounds how many appends one index transaction commits.
const maxBatch = 256

// spooled is a message written to the spool and fsynced, with its parsed
// cache rows; it is hard-linked into every destination folder, then
// released.
type spooled struct {
	path string // the named spool file ("" when anon)
	// anon is the open unnamed file (createAnonymous) when the store
	// spools that way.
	anon   *os.File
	size   int64
	date   time.Time
	header []byte
	parsed []byte
	filter []byte // text filter (text.go), nil when too much text or left to the first search
}

// spoolMessage writes r to a new spool file, sets its mtime to the internal
// date (so Rebuild can restore it), fsyncs it and parses it. A zero date
// means now: the file's own mtime, which writing it just set, truncated
// to the second as Rebuild reads it (one fstat instead of a utimensat
// that dirtied the inode again, about 1 % of a delivery's CPU). Parsing happens
// here, in the caller's goroutine, so concurrent deliveries parse in
// parallel and the commit path only links and inserts.
//
// With checkStructure, a message nested too deeply or with too many parts
// is refused with ErrMIMEStructure before it is parsed (APPEND: clients
// write what they like; SMTP checks at DATA, and imports keep old mail).
//
// With linkOnce the caller links the message into one folder at most, and
// the file is created unnamed where the store can (createAnonymous). A
// message for several folders keeps its spool name until released: an
// unnamed file whose first link is removed (an EXPUNGE racing the
// delivery) could not be linked again.
//
// With textFilter the message's text filter is built now; without, the
// first search of its folder builds it (indexPendingText).
func (s *FileStore) spoolMessage(r io.Reader, date time.Time, o spoolOptions) (sp *spooled, err error) {
	defer func() {
		if err != nil && mailerr.IsStorageFull(err) {
			s.alertFull(err)
		}
	}()
	anon := o.linkOnce && s.anonSpool
	var f *os.File
	if anon {
		f, err = createAnonymous(s.spool)
	} else {
		f, err = os.CreateTemp(s.spool, "msg-")
	}
	if err != nil {
		return nil, err
	}
	defer func() {
		switch {
		case err == nil && anon:
			// Closed by release, after the links; there is no path.
			sp.anon, sp.path = f, ""
		case err != nil && !anon:
			f.Close()
			os.Remove(f.Name())
		default:
			f.Close()
		}
	}()
	// A message that fits the pooled buffer (most official mail) is read
	// into it whole, written with one write(2) and parsed from memory
	// instead of read back from the file three times (issue 16); a larger
	// one is streamed to the file and parsed from there.
	bufp := s.copyBufs.Get().(*[]byte)
	defer s.copyBufs.Put(bufp) // after the parse, which may read it
	buf := *bufp
	held, err := io.ReadFull(r, buf)
	var n int64
	var content io.ReaderAt = f
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		if _, err := f.Write(buf[:held]); err != nil {
			return nil, err
		}
		n, content = int64(held), bytes.NewReader(buf[:held])
	case err != nil:
		return nil, err
	default:
		if _, err := f.Write(buf); err != nil {
			return nil, err
		}
		// Both sides wrapped: a reader with WriteTo (the io.MultiReader
		// of SMTP's trace fields) would otherwise allocate its own 32 KiB
		// buffer instead of using the pooled one.
		m, err := io.CopyBuffer(struct{ io.Writer }{f}, struct{ io.Reader }{r}, buf)
		if err != nil {
			return nil, err
		}
		n = int64(held) + m
	}
	if n > math.MaxUint32 {
		// IMAP sizes are 32-bit (RFC 9051 9: number).
		return nil, mailerr.ErrTooBig
	}
	if date.IsZero() {
		st, err := f.Stat()
		if err != nil {
			return nil, err
		}
		date = st.ModTime().Truncate(time.Second)
	} else if err := setFileTimes(f, date.UnixNano()); err != nil {
		return nil, err
	}
	// The fsync waits on the disk while the parse below uses the CPU: run
	// them side by side (issue 16: one SMTP session is latency-bound). The
	// parse reads through its own offsets, and nothing links the file
	// before the fsync has returned.
	synced := make(chan error, 1)
	go func() { synced <- s.fileSync(f) }()
	bufs := s.filterBufs
	if !o.textFilter {
		bufs = nil
	}
	sp, err = parseSpooled(content, f.Name(), n, date, o.checkStructure, bufs, s.readers)
	if syncErr := <-synced; syncErr != nil {
		return nil, syncErr
	}
	return sp, err
}

// link gives the spooled message the name dst (link(2): an existing file
// is never replaced).
func (sp *spooled) link(dst string) error {
	if sp.anon != nil {
		return linkAnonymous(sp.anon, dst)
	}
	return os.Link(sp.path, dst)
}

// release drops the spool's hold on the message once it is linked
// everywhere it goes (or nowhere): the unnamed file is closed, the named
// one removed. It may be called more than once.
func (sp *spooled) release() {
	if sp.anon != nil {
		sp.anon.Close()
		sp.anon = nil
		return
	}
	if sp.path != "" {
		os.Remove(sp.path)
		sp.path = ""
	}
}

// spoolOptions say what spoolMessage does besides writing the file.
type spoolOptions struct {
	checkStructure bool // refuse too deep or too many MIME parts
	linkOnce       bool // linked into one folder at most
	// textFilter builds the text filter at once. Deliveries and APPENDs
	// leave it to the first search of the folder, as Dovecot's full-text
	// index does by default: building it was about 7 % of a delivery's
	// CPU, and two of its nine index pages (issue 16). Imports, which
	// bring years of mail at once, build it.
	textFilter bool
}

// parseSpooled checks (with checkStructure) and parses the n bytes of the
// spool file named name, reading them from f with ReadAt (f is the file,
// or the bytes written to it) so it can run beside an fsync of the file.
// Nothing it returns refers to f's memory. With bufs nil no text filter is
// built. The parses read through readers from the pool.
func parseSpooled(f io.ReaderAt, name string, n int64, date time.Time, checkStructure bool, bufs *filterBuffers, readers *bufsize.Pool) (*spooled, error) {
	if checkStructure {
		br := readers.Get(io.NewSectionReader(f, 0, n))
		err := CheckMIMEStructureFrom(br)
		readers.Put(br)
		if err != nil {
			return nil, err
		}
	}
	p := parseMessageWith(io.NewSectionReader(f, 0, n), readers)
	parsed, err := encodeParsed(p)
	if err != nil {
		return nil, err
	}
	var filter []byte
	if bufs != nil {
		filter = buildTextFilter(io.NewSectionReader(f, 0, n), bufs)
	}
	return &spooled{path: name, size: n, date: date, header: p.Header, parsed: parsed, filter: filter}, nil
}

// fullAlertEvery spaces the operator alerts of a full disk: one per
// episode, not one per refused message.
const fullAlertEvery = 10 * time.Minute

// alertFull tells operators, at most once per fullAlertEvery, that mail is
// being refused because the store's file system is full (issue 15 §6).
func (s *FileStore) alertFull(err error) {
	now := time.Now().UnixNano()
	last := s.lastFullAlert.Load()
	if now-last < int64(fullAlertEvery) || !s.lastFullAlert.CompareAndSwap(last, now) {
		return
	}
	s.log.Error("storage: file system full, mail is refused with 452 4.3.1 until there is room", "dir", s.dir, "err", err)
}

// Deliver stores msg once for each recipient: one spool file, fsynced once,
// hard-linked into each recipient's folder.
func (s *FileStore) Deliver(ctx context.Context, msg io.Reader, rcpts []Recipient) ([]DeliveryResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sp, err := s.spoolMessage(msg, time.Time{}, spoolOptions{linkOnce: len(rcpts) == 1})
	if err != nil {
		return nil, mailerr.Classify(fmt.Errorf("storage: spooling message: %w", err))
	}
	defer sp.release()

	results := make([]DeliveryResult, len(rcpts))
	// The recipients' mailboxes commit in parallel; the first on this
	// goroutine, whose stack is grown already (a fresh goroutine regrew
	// its stack in the index code for every delivery, issue 16).
	var jobs []func()
	for i, rc := range rcpts {
		key, domain, local, err := userPath(rc.User)
		if err != nil {
			results[i].Err = err
			continue
		}
		folder, err := normalizeFolder(rc.Folder)
		if err != nil {
			results[i].Err = err
			continue
		}
		flags, err := normalizeFlags(rc.Flags)
		if err != nil {
			results[i].Err = err
			continue
		}
		jobs = append(jobs, func() {
			u, err := s.acquire(ctx, key, domain, local)
			if err != nil {
				results[i].Err = mailerr.Classify(err)
				return
			}
			defer s.release(u)
			results[i] = u.commit.append(&appendReq{folder: folder, msg: sp, flags: flags, limit: s.limit(rc.QuotaBytes)})
		})
	}
	var wg sync.WaitGroup
	if len(jobs) > 0 {
		for _, job := range jobs[1:] {
			wg.Go(job)
		}
		jobs[0]()
	}
	wg.Wait()
	for i, r := range results {
		if r.Err != nil {
			s.log.Warn("storage: delivery refused", "user", rcpts[i].User, "err", r.Err)
		}
	}
	return results, nil
}

// Append implements Mailbox.Append (RFC 9051 6.3.12).
func (m *mailbox) Append(ctx context.Context, folder string, r io.Reader, flags []string, date time.Time) (DeliveryResult, error) {
	name, err := normalizeFolder(folder)
	if err != nil {
		return DeliveryResult{}, err
	}
	if flags, err = normalizeFlags(flags); err != nil {
		return DeliveryResult{}, err
	}
	if date.IsZero() {
		date = time.Now()
	}
	var res DeliveryResult
	err = m.with(ctx, func(u *userState) error {
		// Refuse before reading a possibly large message.
		if _, err := getFolder(ctx, u.db, name); err != nil {
			return err
		}
		sp, err := m.s.spoolMessage(r, date.Truncate(time.Second), spoolOptions{checkStructure: true, linkOnce: true})
		if err != nil {
			return fmt.Errorf("storage: spooling message: %w", err)
		}
		defer sp.release()
		res = u.commit.append(&appendReq{folder: name, msg: sp, flags: flags, limit: m.limit})
		return res.Err
	})
	if err != nil {
		return DeliveryResult{Err: err}, err
	}
	return res, nil
}

// appendReq is one message for one folder, queued for group commit.
type appendReq struct {
	folder string
	msg    *spooled
	flags  []string // normalized
	limit  int64
	res    DeliveryResult
	done   chan struct{}
}

// committer is a user's group-commit queue. Appends from concurrent
// Deliver/Append calls are collected while the previous batch commits, and
// each batch costs one directory fsync per folder and one index commit
// however many messages it holds. Nobody is answered before the batch that
// holds their message is durable.
type committer struct {
	u     *userState
	queue chan *appendReq
	quit  chan struct{}
	done  chan struct{}
	// mu is held while a batch commits, on the committer's goroutine or
	// on the caller's (append's direct path).
	mu sync.Mutex
}

func newCommitter(u *userState) *committer {
	c := &committer{u: u, queue: make(chan *appendReq, maxBatch), quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// append commits r, itself or through the committer's queue, and returns
// once its batch is durable. The caller holds a reference to the user, so
// the committer is running.
func (c *committer) append(r *appendReq) DeliveryResult {
	// Nothing queued and nothing committing (the usual case: one
	// delivery at a time per mailbox): commit on the caller's goroutine.
	// Handing the request to the committer's goroutine and back cost two
	// goroutine switches per delivery, and regrew that goroutine's stack,
	// which every garbage collection shrinks while it waits (with the
	// goroutine Deliver started per recipient, runtime.newstack was 3.3 %
	// of a delivery's CPU, 0.8 % after; issue 16). Appends that arrive
	// while one commits still queue, and the committer batches them.
	if len(c.queue) == 0 && c.mu.TryLock() {
		defer c.mu.Unlock()
		c.u.commitAppends([]*appendReq{r})
		return r.res
	}
	r.done = make(chan struct{})
	c.queue <- r
	<-r.done
	return r.res
}

func (c *committer) stop() {
	close(c.quit)
	<-c.done
}

func (c *committer) run() {
	defer close(c.done)
	batch := make([]*appendReq, 0, maxBatch)
	for {
		select {
		case <-c.quit:
			return
		case r := <-c.queue:
			batch = append(batch[:0], r)
		}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-c.queue:
				batch = append(batch, r)
			default:
				break more
			}
		}
		c.mu.Lock()
		c.u.commitAppends(batch)
		c.mu.Unlock()
		for _, r := range batch {
			close(r.done)
		}
	}
}

// staged is a message linked into its folder but not yet committed.
type staged struct {
	r    *appendReq
	f    *folderRow
	m    messageRow
	path string
}

// commitAppends stores one batch: allocate UIDs and link the spool files
// inside the write transaction, fsync each touched folder directory once,
// insert the rows, commit. The spool files were fsynced before they were
// queued (spoolMessage). A UID is only ever allocated from the committed
// UIDNEXT while holding the write lock, and files are linked with link(2),
// which never replaces an existing file, so no two messages can share a
// UID.
func (u *userState) commitAppends(batch []*appendReq) {
	var done []staged
	touched := map[*folderRow]bool{}
	// A message's flags are only in its row: with flags, the commit itself
	// must be on disk before the answer.
	write := u.writeRecoverable
	for _, r := range batch {
		if len(r.flags) > 0 {
			write = u.write
			break
		}
	}
	err := write(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		var used, count int64
		if err := tx.QueryRowContext(ctx, "SELECT used_bytes, (SELECT COALESCE(SUM(messages), 0) FROM folders) FROM account WHERE id = 1").
			Scan(&used, &count); err != nil {
			return err
		}
		folders := map[string]*folderRow{}
		for _, r := range batch {
			f := folders[r.folder]
			if f == nil {
				var err error
				if f, err = getFolder(ctx, tx, r.folder); err != nil {
					if mailerr.As(err) == nil {
						return err
					}
					r.res.Err = err
					continue
				}
				folders[r.folder] = f
			}
			// RFC 9208: refuse a message that would exceed the limit.
			if overQuota(used, r.msg.size, r.limit) {
				r.res.Err = mailerr.ErrOverQuota.With(fmt.Errorf("%s: %d + %d bytes > %d", u.key, used, r.msg.size, r.limit))
				continue
			}
			if overQuota(count, 1, u.s.maxMsgs) {
				r.res.Err = mailerr.ErrOverQuota.With(fmt.Errorf("%s: %d messages, limit %d", u.key, count, u.s.maxMsgs))
				continue
			}
			count++
			if !touched[f] {
				touched[f] = true
				f.highestModSeq++ // RFC 7162 3.1: the append is a change
			}
			uid, path, err := u.linkNext(r.msg, f)
			if err != nil {
				return err
			}
			used += r.msg.size
			m := messageRow{uid: uid, modseq: f.highestModSeq, date: r.msg.date.UTC(), size: r.msg.size}
			m.setFlags(r.flags)
			done = append(done, staged{r: r, f: f, m: m, path: path})
		}
		if len(done) == 0 {
			return nil
		}
		for f := range touched {
			if err := u.syncFolderDir(f.id); err != nil {
				return err
			}
		}
		var total int64
		for i := range done {
			st := &done[i]
			if err := insertMessage(ctx, tx, st.f.id, &st.m, st.r.msg.header, st.r.msg.parsed, st.r.msg.filter); err != nil {
				return err
			}
			st.f.counts.add(contribution(st.m.seen, st.m.deleted, st.m.size))
			total += st.m.size
		}
		for f := range touched {
			if err := saveFolder(ctx, tx, f); err != nil {
				return err
			}
		}
		if err := addUsed(ctx, tx, total); err != nil {
			return err
		}
		u.txUsed = used
		return nil
	})
	if err != nil {
		u.log.Error("storage: committing appends", "err", err, "batch", len(batch))
		for _, st := range done {
			os.Remove(st.path)
		}
		for _, r := range batch {
			if r.res.Err == nil {
				r.res.Err = mailerr.Classify(err)
			}
		}
		return
	}
	for _, st := range done {
		st.r.res = DeliveryResult{UIDValidity: st.f.uidValidity, UID: st.m.uid}
	}
	for f := range touched {
		u.notify(f.name, f.highestModSeq)
	}
}

// linkNext hard-links sp into folder f as the next UID and advances
// f.uidNext. An existing file at that UID (left by an operation that failed
// to clean up) is never replaced: its UID is skipped and Check reports it.
func (u *userState) linkNext(sp *spooled, f *folderRow) (uint32, string, error) {
	for {
		if f.uidNext == math.MaxUint32 {
			return 0, "", mailerr.ErrCannotDo.WithMessage("Folder has used up its UIDs", "Thư mục đã hết số hiệu thư")
		}
		uid := f.uidNext
		path := u.messagePath(f.id, uid)
		err := sp.link(path)
		if err == nil || !errors.Is(err, fs.ErrExist) {
			if err == nil {
				f.uidNext++
			}
			return uid, path, err
		}
		u.log.Warn("storage: message file exists without index row, skipping UID", "folder", f.name, "uid", uid)
		f.uidNext++
	}
}
