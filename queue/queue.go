// Package queue is congvu's durable outbound queue: mail accepted for other
// domains waits here until a destination server takes it, with retries,
// delay notices and bounces (RFC 5321 4.5.4, RFC 3464).
//
// Layout under Config.Dir:
//
//	msg/<id>   one file per message: a JSON envelope line, then the message
//	tmp/       files being written
//	index.db   SQLite: per-recipient delivery state
//
// Durability follows the mail store: write tmp, fsync, rename into msg/,
// fsync msg/, commit the index row, and only then does Enqueue return (and
// smtpd answer 250). A file without an index row was never acknowledged and
// is removed at start; a lost index is rebuilt from the envelopes.
package queue

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"congvu/internal/durable"
	"congvu/internal/mailerr"
	"congvu/internal/metrics"
)

// Transport delivers a message to recipients of one domain (package
// outbound: MX lookup, STARTTLS, MTA-STS, DANE, smarthost).
type Transport interface {
	// Deliver returns one result per recipient of d, in order.
	Deliver(ctx context.Context, d *Delivery) []Result
}

// Delivery is one attempt: a message to recipients of one domain.
type Delivery struct {
	ID     string
	From   string // "" for the null sender
	Domain string
	Rcpts  []string
	Size   int64
	// Open returns the message from its first byte; call Close on it.
	Open func() (io.ReadCloser, error)
}

// Result is the outcome for one recipient.
type Result struct {
	// Err is nil when the destination accepted the recipient and message.
	// Otherwise its Temporary flag decides between retry and bounce.
	Err *mailerr.Error
	// RemoteMTA is the server that answered, "" if none did.
	RemoteMTA string
	// Security describes the connection (TLS version, verification).
	Security string
}

// Local delivers queued mail whose recipient is in one of our own domains:
// the notifications the queue sends to local senders.
type Local interface {
	DeliverLocal(ctx context.Context, from, rcpt string, msg io.Reader) error
}

// Config configures a Queue. Zero values get the documented defaults.
type Config struct {
	Dir      string
	Hostname string // Reporting-MTA of notifications
	// RetryIntervals are the waits after the 1st, 2nd… failed attempt;
	// the last one repeats. Default 5m 10m 30m 1h 2h 4h.
	RetryIntervals []time.Duration
	// MaxAge is how long a message is retried before it bounces
	// (RFC 5321 4.5.4.1: at least 4–5 days). Default 120h.
	MaxAge time.Duration
	// DelayNotice sends the sender one "delayed" notification once a
	// message has waited this long (0 = never). Default 4h.
	DelayNotice time.Duration
	// MaxConnections bounds concurrent deliveries; MaxPerDomain those to
	// one destination domain (RFC 5321 4.5.4.1 asks to limit
	// simultaneous connections to one host). Defaults 20 and 4.
	MaxConnections, MaxPerDomain int
	// PollInterval is how often the index is checked for due mail (so
	// `congvu queue retry` takes effect). Default 2s.
	PollInterval time.Duration
}

// Defaults.
var defaultRetryIntervals = []time.Duration{5 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour}

// Deps are the services a Queue uses.
type Deps struct {
	Transport Transport
	Local     Local
	// IsLocal says whether a domain is ours (delivered through Local).
	IsLocal func(domain string) bool
	Logger  *slog.Logger
	Metrics *metrics.Metrics
}

// Queue is the outbound queue. Open it, Start delivering, Close it.
type Queue struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	metrics *metrics.Metrics
	ix      *index
	msgDir  string
	tmpDir  string

	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	started  bool
	closed   bool
	inFlight map[job]bool
	perDom   map[string]int
	workers  sync.WaitGroup
}

// envelope is the first line of a message file.
type envelope struct {
	V       int       `json:"v"`
	ID      string    `json:"id"`
	From    string    `json:"from"`
	Rcpts   []string  `json:"rcpts"`
	Created time.Time `json:"created"`
}

// Open opens (creating if needed) the queue in cfg.Dir, removes files that
// were never acknowledged, and rebuilds the index if it was lost.
func Open(cfg Config, deps Deps) (*Queue, error) {
	if cfg.Dir == "" {
		return nil, errors.New("queue: no directory")
	}
	if len(cfg.RetryIntervals) == 0 {
		cfg.RetryIntervals = defaultRetryIntervals
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 120 * time.Hour
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = 20
	}
	if cfg.MaxPerDomain <= 0 {
		cfg.MaxPerDomain = 4
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Metrics == nil {
		deps.Metrics = metrics.New()
	}
	if deps.IsLocal == nil {
		deps.IsLocal = func(string) bool { return false }
	}
	q := &Queue{cfg: cfg, deps: deps, log: deps.Logger, metrics: deps.Metrics,
		msgDir: filepath.Join(cfg.Dir, "msg"), tmpDir: filepath.Join(cfg.Dir, "tmp"),
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		inFlight: map[job]bool{}, perDom: map[string]int{}}
	for _, d := range []string{cfg.Dir, q.msgDir, q.tmpDir} {
		if err := durable.MkdirAll(d); err != nil {
			return nil, fmt.Errorf("queue: %w", err)
		}
	}
	indexPath := filepath.Join(cfg.Dir, "index.db")
	_, statErr := os.Stat(indexPath)
	fresh := errors.Is(statErr, os.ErrNotExist)
	ix, err := openIndex(indexPath)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	q.ix = ix
	if err := q.reconcile(fresh); err != nil {
		ix.close()
		return nil, fmt.Errorf("queue: %w", err)
	}
	q.ctx, q.cancel = context.WithCancel(context.Background())
	return q, nil
}

// reconcile puts files and index in step after a crash (see package doc).
func (q *Queue) reconcile(freshIndex bool) error {
	ctx := context.Background()
	tmps, _ := os.ReadDir(q.tmpDir)
	for _, t := range tmps {
		os.Remove(filepath.Join(q.tmpDir, t.Name()))
	}
	ids, err := q.ix.ids(ctx)
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(q.msgDir)
	if err != nil {
		return err
	}
	onDisk := map[string]bool{}
	for _, e := range entries {
		id := e.Name()
		onDisk[id] = true
		if ids[id] {
			continue
		}
		path := filepath.Join(q.msgDir, id)
		if !freshIndex {
			// Renamed into msg/ but the index row never committed: the
			// client got no 250 and will send it again.
			q.log.Warn("queue: removing a message that was never acknowledged", "queue_id", id)
			os.Remove(path)
			continue
		}
		env, size, offset, err := readEnvelope(path)
		if err != nil {
			q.log.Error("queue: unreadable message file left in place", "queue_id", id, "err", err)
			continue
		}
		if err := q.ix.insert(ctx, env, size, offset); err != nil {
			return err
		}
		q.log.Warn("queue: index rebuilt from message file; recipients will be tried again", "queue_id", id, "rcpts", len(env.Rcpts))
	}
	finished, err := q.ix.finishedIDs(ctx)
	if err != nil {
		return err
	}
	for _, id := range finished {
		q.log.Info("queue: removing a message delivered before the last stop", "queue_id", id)
		q.removeMessage(ctx, id)
		delete(ids, id)
	}
	for id := range ids {
		if !onDisk[id] {
			q.log.Error("queue: message file missing, dropping its index entry", "queue_id", id)
			if err := q.ix.remove(ctx, id); err != nil {
				return err
			}
		}
	}
	return durable.SyncDir(q.msgDir)
}

func readEnvelope(path string) (*envelope, int64, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, 0, err
	}
	line, err := bufio.NewReader(f).ReadBytes('\n')
	if err != nil {
		return nil, 0, 0, fmt.Errorf("envelope line: %w", err)
	}
	var env envelope
	if err := json.Unmarshal(line, &env); err != nil || env.V != 1 || len(env.Rcpts) == 0 {
		return nil, 0, 0, fmt.Errorf("bad envelope: %v", err)
	}
	offset := int64(len(line))
	return &env, fi.Size() - offset, offset, nil
}

// Enqueue stores a message for delivery to rcpts and returns its queue id
// once it is durable (file, directory and index). from "" is the null
// reverse-path (notifications), which never gets a bounce.
func (q *Queue) Enqueue(ctx context.Context, from string, rcpts []string, msg io.Reader) (string, error) {
	if q.isClosed() {
		return "", errShuttingDown
	}
	seen := map[string]bool{}
	var clean []string
	for _, r := range rcpts {
		r = strings.TrimSpace(r)
		key := strings.ToLower(r)
		if r == "" || !strings.Contains(r, "@") || seen[key] {
			continue
		}
		seen[key] = true
		clean = append(clean, r)
	}
	if len(clean) == 0 {
		return "", mailerr.ErrInternal.With(errors.New("queue: no valid recipient"))
	}
	env := &envelope{V: 1, ID: newID(), From: from, Rcpts: clean, Created: time.Now().UTC()}
	line, err := json.Marshal(env)
	if err != nil {
		return "", err
	}
	line = append(line, '\n')
	size, err := q.writeFile(env.ID, line, msg)
	if err != nil {
		return "", mailerr.ErrInternal.With(fmt.Errorf("queue: writing %s: %w", env.ID, err))
	}
	if err := q.ix.insert(ctx, env, size, int64(len(line))); err != nil {
		os.Remove(filepath.Join(q.msgDir, env.ID))
		return "", mailerr.ErrInternal.With(fmt.Errorf("queue: indexing %s: %w", env.ID, err))
	}
	q.log.Info("queued", "queue_id", env.ID, "from", from, "rcpts", len(clean), "size", size)
	q.poke()
	return env.ID, nil
}

// writeFile writes envelope line and message to tmp/, fsyncs, renames into
// msg/ and fsyncs msg/.
func (q *Queue) writeFile(id string, line []byte, msg io.Reader) (int64, error) {
	tmp := filepath.Join(q.tmpDir, id)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	_, err = f.Write(line)
	var n int64
	if err == nil {
		n, err = io.Copy(f, msg)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(q.msgDir, id))
	}
	if err != nil {
		os.Remove(tmp)
		return 0, err
	}
	return n, durable.SyncDir(q.msgDir)
}

// open returns the message of a queued file from its first byte.
func (q *Queue) open(m *messageRow) (io.ReadCloser, error) {
	f, err := os.Open(filepath.Join(q.msgDir, m.ID))
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, m.Offset, m.Size), f}, nil
}

// header returns the header block of a queued message, for notifications.
func (q *Queue) header(m *messageRow) []byte {
	rc, err := q.open(m)
	if err != nil {
		return nil
	}
	defer rc.Close()
	b := make([]byte, min(m.Size, 64<<10))
	n, _ := io.ReadFull(rc, b)
	b = b[:n]
	if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
		return b[:i+2]
	}
	if i := bytes.Index(b, []byte("\n\n")); i >= 0 {
		return b[:i+1]
	}
	return b
}

func (q *Queue) removeMessage(ctx context.Context, id string) {
	if err := q.ix.remove(ctx, id); err != nil {
		q.log.Error("queue: removing finished message from the index", "queue_id", id, "err", err)
		return
	}
	if err := os.Remove(filepath.Join(q.msgDir, id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		q.log.Error("queue: removing finished message file", "queue_id", id, "err", err)
	}
}

var errShuttingDown = &mailerr.Error{SMTPCode: 421, Enhanced: [3]int{4, 3, 2}, Temporary: true,
	Message: "Server shutting down, try again later", MessageVI: "Máy chủ đang dừng, vui lòng thử lại sau"}

func (q *Queue) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// poke wakes the scheduler without blocking.
func (q *Queue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// newID returns a queue id: 16 upper-case hex digits, also the file name.
func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// validID reports whether id has the form newID makes (so an id from the
// command line can never name a path outside msg/).
func validID(id string) bool {
	if len(id) != 16 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
