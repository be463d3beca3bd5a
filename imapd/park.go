package imapd

import (
	"bufio"
	"errors"
	"io"
	"os"
	"time"

	"congvu/storage"
)

// A session waiting for its client — between commands, or in IDLE — needs
// neither its 4 KiB read buffer nor its 8 KiB write buffer, nor a second
// goroutine: it parks them (back to the server's pools) and waits in one
// small read on the connection. A change of the selected folder wakes an
// idling session by moving the read deadline into the past (wakeIdle,
// called by the store), as shutdown and revoke do. With COMPRESS active
// the session does not park: the inflater keeps state across reads.

// prefixReader gives back the bytes a parked wait read before reading on.
type prefixReader struct {
	pre []byte
	src io.Reader
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if len(p.pre) > 0 {
		n := copy(b, p.pre)
		p.pre = p.pre[n:]
		return n, nil
	}
	return p.src.Read(b)
}

// watchNotifier is the store's Watch with a wake-up call (storage's
// WatchNotify).
type watchNotifier interface {
	WatchNotify(folder string, fn func()) (<-chan storage.Event, func())
}

// watch subscribes to changes of folder, with wakeIdle when the store can.
func (c *conn) watch(mbox storage.Mailbox, folder string) (<-chan storage.Event, func(), bool) {
	if wn, ok := mbox.(watchNotifier); ok {
		ev, cancel := wn.WatchNotify(folder, c.wakeIdle)
		return ev, cancel, true
	}
	ev, cancel := mbox.Watch(folder)
	return ev, cancel, false
}

// wakeIdle interrupts a parked IDLE wait; the store calls it, from the
// goroutine that changed the folder, with its watcher lock held.
func (c *conn) wakeIdle() {
	if c.idleParked.Load() {
		c.woken.Store(true)
		c.tcp.SetReadDeadline(time.Unix(1, 0))
	}
}

// canPark says whether the session can give back its buffers: nothing is
// buffered either way and the streams are not compressed.
func (c *conn) canPark() bool {
	return !c.compressed && !c.w.Open() && c.w.Dest().Buffered() == 0 &&
		c.r.Source().Buffered() == 0 && len(c.pr.pre) == 0
}

func (c *conn) park() {
	c.srv.readers.Put(c.r.Source())
	c.r.SetSource(nil)
	c.srv.writers.Put(c.w.Dest())
	c.w.SetDest(nil)
}

// unpark takes buffers again; the reader first gives back pre.
func (c *conn) unpark(pre []byte) {
	br := c.srv.readers.Get().(*bufio.Reader)
	c.pr = prefixReader{pre: pre, src: c.nc}
	br.Reset(&c.pr)
	c.r.SetSource(br)
	bw := c.srv.writers.Get().(*bufio.Writer)
	bw.Reset(c.nc)
	c.w.SetDest(bw)
}

// waitResult is why a parked wait ended.
type waitResult int

const (
	waitInput   waitResult = iota // the client sent something
	waitWoken                     // the selected folder changed (IDLE)
	waitTimeout                   // deadline passed (err is the timeout)
	waitBye                       // shutdown or revoke asked for BYE
	waitFailed                    // the read failed (err)
)

// awaitInput parks the buffers and waits until the client sends
// something, deadline passes, BYE is asked for, or, when idle, the
// selected folder changes. The buffers are back when it returns; the
// bytes read wait in them. The caller checked canPark.
func (c *conn) awaitInput(deadline time.Time, idle bool) (waitResult, error) {
	c.park()
	if idle {
		c.idleParked.Store(true)
	}
	res, n, err := c.parkedRead(deadline, idle)
	if idle {
		c.idleParked.Store(false)
	}
	c.unpark(c.peek[:n])
	return res, err
}

func (c *conn) parkedRead(deadline time.Time, idle bool) (waitResult, int, error) {
	for {
		// Deadline first, then the flags: a shutdown or wake-up that
		// moved the deadline before this line is seen below, one after
		// it interrupts the read.
		c.tcp.SetReadDeadline(deadline)
		if c.bye.Load() != nil {
			return waitBye, 0, nil
		}
		if idle && c.woken.Swap(false) {
			return waitWoken, 0, nil
		}
		n, err := c.nc.Read(c.peek[:])
		if n > 0 {
			return waitInput, n, nil
		}
		switch {
		case err == nil:
			continue
		case !errors.Is(err, os.ErrDeadlineExceeded):
			return waitFailed, 0, err
		case c.bye.Load() != nil:
			return waitBye, 0, nil
		case idle && c.woken.Swap(false):
			return waitWoken, 0, nil
		case !time.Now().Before(deadline):
			return waitTimeout, 0, err
		}
		// Woken for a change already handled: wait on.
	}
}
