package queue

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"congvu/internal/mailerr"
)

// fakeTransport answers per recipient with the error from fail (nil =
// accepted) and records what it was given.
type fakeTransport struct {
	mu        sync.Mutex
	fail      func(rcpt string, attempt int) *mailerr.Error
	attempts  map[string]int
	got       map[string][]byte // rcpt → message of the last attempt
	active    atomic.Int32
	maxActive atomic.Int32
	hold      time.Duration
}

func (f *fakeTransport) Deliver(ctx context.Context, d *Delivery) []Result {
	n := f.active.Add(1)
	defer f.active.Add(-1)
	for {
		m := f.maxActive.Load()
		if n <= m || f.maxActive.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(f.hold)
	rc, err := d.Open()
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	out := make([]Result, len(d.Rcpts))
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range d.Rcpts {
		f.attempts[r]++
		f.got[r] = body
		if f.fail != nil {
			out[i].Err = f.fail(r, f.attempts[r])
		}
		out[i].RemoteMTA = "mx." + d.Domain
		out[i].Security = "STARTTLS TLS1.3, certificate verified"
	}
	return out
}

func (f *fakeTransport) count(rcpt string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[rcpt]
}

// localBox collects notifications delivered to local senders.
type localBox struct {
	mu   sync.Mutex
	msgs map[string][]string
}

func (l *localBox) DeliverLocal(_ context.Context, from, rcpt string, msg io.Reader) error {
	b, _ := io.ReadAll(msg)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs[rcpt] = append(l.msgs[rcpt], string(b))
	if from != "" {
		panic("notification with a non-null sender: " + from)
	}
	return nil
}

func (l *localBox) get(rcpt string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.msgs[rcpt]...)
}

type fixture struct {
	t     *testing.T
	dir   string
	q     *Queue
	tr    *fakeTransport
	local *localBox
}

func newFixture(t *testing.T, cfg Config, tr *fakeTransport) *fixture {
	t.Helper()
	if tr.attempts == nil {
		tr.attempts, tr.got = map[string]int{}, map[string][]byte{}
	}
	f := &fixture{t: t, dir: t.TempDir(), tr: tr, local: &localBox{msgs: map[string][]string{}}}
	f.open(cfg)
	return f
}

func (f *fixture) open(cfg Config) {
	f.t.Helper()
	cfg.Dir = f.dir
	cfg.Hostname = "mail.khanhhoa.gov.vn"
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	q, err := Open(cfg, Deps{Transport: f.tr, Local: f.local,
		IsLocal: func(d string) bool { return d == "khanhhoa.gov.vn" },
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.t.Fatal(err)
	}
	f.q = q
	q.Start()
	f.t.Cleanup(func() { q.Close() })
}

func (f *fixture) enqueue(from string, rcpts ...string) string {
	f.t.Helper()
	msg := "From: <" + from + ">\r\nTo: <" + rcpts[0] + ">\r\nSubject: Công văn số 12\r\n\r\nNội dung\r\n"
	id, err := f.q.Enqueue(context.Background(), from, rcpts, strings.NewReader(msg))
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (f *fixture) queued() []Entry {
	f.t.Helper()
	es, err := f.q.Admin().List(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return es
}

func TestDeliveredMessageLeavesTheQueue(t *testing.T) {
	f := newFixture(t, Config{}, &fakeTransport{})
	id := f.enqueue("thanhnn.skhcn@khanhhoa.gov.vn", "a@angiang.gov.vn", "b@angiang.gov.vn", "c@bocongan.gov.vn")
	waitFor(t, "queue empty", func() bool { return len(f.queued()) == 0 })
	for _, r := range []string{"a@angiang.gov.vn", "b@angiang.gov.vn", "c@bocongan.gov.vn"} {
		if n := f.tr.count(r); n != 1 {
			t.Errorf("%s tried %d times, want 1", r, n)
		}
		if !bytes.HasPrefix(f.tr.got[r], []byte("From: <thanhnn")) {
			t.Errorf("%s got %q, want the message without the envelope line", r, f.tr.got[r])
		}
	}
	// The file goes after the index row (a crash in between leaves a file
	// that recovery removes), so it may outlive the row a moment.
	waitFor(t, "message file removed", func() bool {
		_, err := os.Stat(filepath.Join(f.dir, "msg", id))
		return os.IsNotExist(err)
	})
	if len(f.local.get("thanhnn.skhcn@khanhhoa.gov.vn")) != 0 {
		t.Error("a delivered message produced a notification")
	}
}

func TestPermanentFailureBouncesOnce(t *testing.T) {
	f := newFixture(t, Config{}, &fakeTransport{fail: func(rcpt string, _ int) *mailerr.Error {
		if strings.HasPrefix(rcpt, "nobody@") {
			return &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 1, 1}, Message: "<nobody@angiang.gov.vn>: Recipient address rejected: User unknown"}
		}
		return nil
	}})
	sender := "thanhnn.skhcn@khanhhoa.gov.vn"
	f.enqueue(sender, "nobody@angiang.gov.vn", "ok@angiang.gov.vn")
	waitFor(t, "bounce", func() bool { return len(f.local.get(sender)) == 1 && len(f.queued()) == 0 })
	b := f.local.get(sender)[0]
	for _, want := range []string{
		"Final-Recipient: rfc822; nobody@angiang.gov.vn\r\nAction: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.angiang.gov.vn\r\n",
		"Diagnostic-Code: smtp; 550 5.1.1 <nobody@angiang.gov.vn>: Recipient address rejected: User unknown",
		"Subject: Công văn số 12",       // returned header
		"không chuyển được thư của bạn", // the Vietnamese explanation
	} {
		if !strings.Contains(b, want) {
			t.Errorf("bounce lacks %q:\n%s", want, b)
		}
	}
	if strings.Contains(b, "Final-Recipient: rfc822; ok@") {
		t.Error("bounce lists the recipient that was delivered")
	}
	if n := f.tr.count("nobody@angiang.gov.vn"); n != 1 {
		t.Errorf("permanent failure retried: %d attempts", n)
	}
}

func TestTemporaryFailureRetriesThenExpires(t *testing.T) {
	tr := &fakeTransport{fail: func(string, int) *mailerr.Error {
		return &mailerr.Error{SMTPCode: 451, Enhanced: [3]int{4, 7, 1}, Temporary: true, Message: "Please try again later"}
	}}
	f := newFixture(t, Config{RetryIntervals: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond},
		MaxAge: 1500 * time.Millisecond, DelayNotice: 250 * time.Millisecond}, tr)
	sender := "thanhnn.skhcn@khanhhoa.gov.vn"
	id := f.enqueue(sender, "busy@angiang.gov.vn")

	// While deferred, `queue show` explains why and when.
	waitFor(t, "first attempt", func() bool { return tr.count("busy@angiang.gov.vn") >= 1 })
	waitFor(t, "deferral recorded", func() bool {
		e, err := f.q.Admin().Show(context.Background(), id)
		return err == nil && e.Rcpts[0].Attempts >= 1
	})
	e, _ := f.q.Admin().Show(context.Background(), id)
	r := e.Rcpts[0]
	if r.State != StateQueued || !strings.Contains(r.LastError, "451 4.7.1 Please try again later") || r.RemoteMTA != "mx.angiang.gov.vn" ||
		!r.NextAttempt.After(r.LastAttempt) || r.Security == "" {
		t.Errorf("deferred recipient shows %+v", r)
	}

	waitFor(t, "bounce after expiry", func() bool { return len(f.queued()) == 0 })
	notes := f.local.get(sender)
	if len(notes) != 2 {
		t.Fatalf("sender got %d notifications, want a delay notice and a bounce", len(notes))
	}
	if !strings.Contains(notes[0], "Action: delayed\r\nStatus: 4.7.1") || !strings.Contains(notes[0], "Will-Retry-Until:") {
		t.Errorf("first notification is not a delay notice:\n%s", notes[0])
	}
	if !strings.Contains(notes[1], "Action: failed\r\nStatus: 5.4.7") || !strings.Contains(notes[1], "451 4.7.1 Please try again later") {
		t.Errorf("second notification is not an expiry bounce with the last error:\n%s", notes[1])
	}
	// 0 ms, +100, +200, +200… until 1.5 s: several attempts, not one per poll.
	if n := tr.count("busy@angiang.gov.vn"); n < 3 || n > 10 {
		t.Errorf("%d attempts in 1.5 s with 100/200 ms intervals", n)
	}
}

func TestNullSenderNeverBounced(t *testing.T) {
	tr := &fakeTransport{fail: func(string, int) *mailerr.Error {
		return &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 1, 1}, Message: "User unknown"}
	}}
	f := newFixture(t, Config{}, tr)
	f.enqueue("", "gone@angiang.gov.vn")
	waitFor(t, "queue empty", func() bool { return len(f.queued()) == 0 })
	time.Sleep(100 * time.Millisecond)
	if n := tr.count("gone@angiang.gov.vn"); n != 1 {
		t.Errorf("%d attempts", n)
	}
	f.local.mu.Lock()
	defer f.local.mu.Unlock()
	if len(f.local.msgs) != 0 {
		t.Errorf("a failed notification produced another notification: %v", f.local.msgs)
	}
}

func TestPerDomainConcurrencyLimit(t *testing.T) {
	tr := &fakeTransport{hold: 50 * time.Millisecond}
	f := newFixture(t, Config{MaxPerDomain: 2, MaxConnections: 10}, tr)
	for i := range 8 {
		f.enqueue("thanhnn.skhcn@khanhhoa.gov.vn", "r"+string(rune('a'+i))+"@angiang.gov.vn")
	}
	waitFor(t, "queue empty", func() bool { return len(f.queued()) == 0 })
	if m := tr.maxActive.Load(); m > 2 || m < 1 {
		t.Errorf("%d deliveries to one domain at once, limit 2", m)
	}
}

func TestRestartKeepsQueueAndDropsUnacknowledged(t *testing.T) {
	block := make(chan struct{})
	tr := &fakeTransport{fail: func(string, int) *mailerr.Error {
		<-block
		return &mailerr.Error{SMTPCode: 451, Enhanced: [3]int{4, 4, 1}, Temporary: true, Message: "Connection refused"}
	}}
	f := newFixture(t, Config{RetryIntervals: []time.Duration{time.Hour}}, tr)
	id := f.enqueue("thanhnn.skhcn@khanhhoa.gov.vn", "x@angiang.gov.vn")
	close(block)
	waitFor(t, "deferral", func() bool {
		e, err := f.q.Admin().Show(context.Background(), id)
		return err == nil && e.Rcpts[0].Attempts == 1
	})
	f.q.Close()
	// A file renamed into msg/ whose index row never committed (crash
	// before the 250) must not be delivered.
	if err := os.WriteFile(filepath.Join(f.dir, "msg", "00000000000000AA"), []byte(`{"v":1,"id":"00000000000000AA","from":"a@b.c","rcpts":["y@angiang.gov.vn"]}`+"\nx\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.open(Config{RetryIntervals: []time.Duration{time.Hour}})
	es := f.queued()
	if len(es) != 1 || es[0].ID != id || es[0].Rcpts[0].Attempts != 1 {
		t.Fatalf("after restart the queue holds %+v", es)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "msg", "00000000000000AA")); !os.IsNotExist(err) {
		t.Error("unacknowledged message file kept")
	}
	// Retry from the admin interface makes it due at once.
	if n, err := f.q.Admin().Retry(context.Background(), id); err != nil || n != 1 {
		t.Fatalf("retry: %d %v", n, err)
	}
	waitFor(t, "second attempt", func() bool { return tr.count("x@angiang.gov.vn") == 2 })

	// Losing the index: rebuilt from the envelopes.
	f.q.Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(f.dir, "index.db"+suffix))
	}
	f.open(Config{RetryIntervals: []time.Duration{time.Hour}})
	waitFor(t, "attempt after rebuild", func() bool { return tr.count("x@angiang.gov.vn") == 3 })
	if es := f.queued(); len(es) != 1 || es[0].ID != id {
		t.Fatalf("rebuilt queue holds %+v", es)
	}
	if err := f.q.Admin().Delete(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if es := f.queued(); len(es) != 0 {
		t.Fatalf("after delete: %+v", es)
	}
	if _, err := f.q.Admin().Show(context.Background(), "../../etc/passwd"); err != ErrNotFound {
		t.Errorf("bad id: %v", err)
	}
}

// A crash between recording the last delivery and removing the message
// leaves a finished message behind; the next start removes it.
func TestRestartRemovesFinishedMessage(t *testing.T) {
	tr := &fakeTransport{}
	f := newFixture(t, Config{}, tr)
	id := f.enqueue("thanhnn.skhcn@khanhhoa.gov.vn", "x@angiang.gov.vn")
	waitFor(t, "delivery", func() bool { return len(f.queued()) == 0 })
	f.q.Close()
	// Put the message back as the crash left it: file, row, delivered recipient.
	env := &envelope{V: 1, ID: id, From: "a@khanhhoa.gov.vn", Rcpts: []string{"x@angiang.gov.vn"}, Created: time.Now()}
	ix, err := openIndex(filepath.Join(f.dir, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	ix.insert(context.Background(), env, 3, 1)
	ix.update(context.Background(), id, []RecipientStatus{{Rcpt: "x@angiang.gov.vn", State: StateDelivered}})
	ix.close()
	os.WriteFile(filepath.Join(f.dir, "msg", id), []byte("{}\nx\r\n"), 0o600)
	f.open(Config{})
	if es := f.queued(); len(es) != 0 {
		t.Fatalf("finished message still queued: %+v", es)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "msg", id)); !os.IsNotExist(err) {
		t.Error("finished message file kept")
	}
	if n := tr.count("x@angiang.gov.vn"); n != 1 {
		t.Errorf("delivered %d times", n)
	}
}
