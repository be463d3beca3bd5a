package imapd

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// updates records unilateral responses seen by an imapclient.
type updates struct {
	mu       sync.Mutex
	exists   chan uint32
	expunges []uint32
	flags    map[uint32][]imap.Flag
}

func newUpdates() *updates {
	return &updates{exists: make(chan uint32, 16), flags: map[uint32][]imap.Flag{}}
}

func (u *updates) handler() *imapclient.UnilateralDataHandler {
	return &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				u.exists <- *d.NumMessages
			}
		},
		Expunge: func(seq uint32) {
			u.mu.Lock()
			u.expunges = append(u.expunges, seq)
			u.mu.Unlock()
		},
		Fetch: func(msg *imapclient.FetchMessageData) {
			buf, err := msg.Collect()
			if err != nil {
				return
			}
			u.mu.Lock()
			u.flags[buf.SeqNum] = buf.Flags
			u.mu.Unlock()
		},
	}
}

func (u *updates) takeExpunges() []uint32 {
	u.mu.Lock()
	defer u.mu.Unlock()
	e := u.expunges
	u.expunges = nil
	return e
}

func TestIdlePush(t *testing.T) {
	e := newEnv(t)
	u := newUpdates()
	c := e.login(u.handler())
	e.deliver(userAddr, simpleMsg("Trước", "một", time.Now()))
	if sel, err := c.Select("INBOX", nil).Wait(); err != nil || sel.NumMessages != 1 {
		t.Fatalf("select: %+v %v", sel, err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	for want := uint32(2); want <= 3; want++ {
		start := time.Now()
		go e.deliver(userAddr, simpleMsg("Công văn mới", "hai", time.Now()))
		select {
		case n := <-u.exists:
			if n != want {
				t.Fatalf("EXISTS %d, want %d", n, want)
			}
			t.Logf("EXISTS %d after %v", n, time.Since(start))
		case <-time.After(time.Second):
			t.Fatalf("no EXISTS within 1s of delivery %d", want)
		}
	}
	// Another session's flag change and expunge arrive while idling too.
	other := e.login(nil)
	if _, err := other.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := other.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Expunge().Collect(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		u.mu.Lock()
		n := len(u.expunges)
		u.mu.Unlock()
		if n > 0 {
			break
		}
	}
	if got := u.takeExpunges(); !slices.Equal(got, []uint32{1}) {
		t.Fatalf("EXPUNGE while idling: %v", got)
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	if n := c.Mailbox().NumMessages; n != 2 {
		t.Fatalf("client thinks %d messages", n)
	}
}

// Two sessions on one folder: expunges of one are reported to the other
// with sequence numbers that match its own view, and never during FETCH.
func TestConcurrentExpunge(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 5; i++ {
		e.deliver(userAddr, simpleMsg("Thư", "nội dung", time.Now()))
	}
	ua := newUpdates()
	a := e.login(ua.handler())
	b := e.login(nil)
	for _, c := range []*imapclient.Client{a, b} {
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	// B deletes UIDs 2 and 4.
	if err := b.Store(imap.UIDSetNum(2, 4), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if res, err := b.Expunge().Collect(); err != nil || !slices.Equal(res, []uint32{4, 2}) {
		t.Fatalf("B EXPUNGE: %v %v", res, err)
	}
	// A's plain FETCH must not be interrupted by EXPUNGE (RFC 9051 7.5.1):
	// sequence numbers stay; the first FETCH may still answer from A's
	// view (RFC 2180 4.1.1), later ones leave the vanished messages out.
	for round := 0; round < 2; round++ {
		msgs, err := a.Fetch(imap.SeqSetNum(1, 2, 3, 4, 5), &imap.FetchOptions{UID: true, Envelope: true}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		if got := ua.takeExpunges(); len(got) != 0 {
			t.Fatalf("EXPUNGE during FETCH: %v", got)
		}
		var pairs []string
		for _, m := range msgs {
			pairs = append(pairs, imap.SeqSetNum(m.SeqNum).String()+"="+imap.UIDSetNum(m.UID).String())
		}
		if !slices.Equal(pairs, []string{"1=1", "3=3", "5=5"}) {
			t.Fatalf("FETCH %d during pending expunge: %v", round, pairs)
		}
	}
	// NOOP delivers them, highest first so each number is valid.
	if err := a.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if got := ua.takeExpunges(); !slices.Equal(got, []uint32{4, 2}) {
		t.Fatalf("EXPUNGE seen by A: %v", got)
	}
	msgs, err := a.Fetch(imap.SeqSetNum(1, 2, 3), &imap.FetchOptions{UID: true}).Collect()
	if err != nil || len(msgs) != 3 || msgs[1].UID != 3 || msgs[2].UID != 5 {
		t.Fatalf("A's view after expunge: %+v %v", msgs, err)
	}
	// A flag change by B reaches A as FETCH FLAGS with A's numbering.
	if err := b.Store(imap.UIDSetNum(5), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagAnswered}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	// imapclient runs unilateral FETCH handlers on their own goroutine.
	var f []imap.Flag
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		ua.mu.Lock()
		f = ua.flags[3]
		ua.mu.Unlock()
		if f != nil {
			break
		}
	}
	if !slices.Contains(f, imap.FlagAnswered) {
		t.Fatalf("flag update for seq 3: %v", f)
	}
	// A's own EXPUNGE of a message B already expunged does not confuse it.
	if err := b.Store(imap.UIDSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if res, err := a.Expunge().Collect(); err != nil || !slices.Equal(res, []uint32{1}) {
		t.Fatalf("A EXPUNGE: %v %v", res, err)
	}
	if err := b.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if n := b.Mailbox().NumMessages; n != 2 {
		t.Fatalf("B thinks %d messages", n)
	}
}
