package storage

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// NewMessage is one message for AppendMany.
type NewMessage struct {
	// Open returns the raw RFC 5322 message; it is closed after spooling.
	Open  func() (io.ReadCloser, error)
	Flags []string
	Date  time.Time // internal date; zero means now
}

// BulkAppender is implemented by mailboxes that can append many messages
// at once in a given order (imports). Type-assert a Mailbox to use it.
type BulkAppender interface {
	// AppendMany appends msgs to folder so that their UIDs ascend in slice
	// order, with Append's durability: a message counts as stored only once
	// its file, directory entry and index row are on disk. Up to workers
	// messages are written and parsed at once and their commits are
	// grouped. It returns how many messages were stored and the first
	// error; after an error, messages already queued may still be stored
	// (they are counted).
	AppendMany(ctx context.Context, folder string, msgs []NewMessage, workers int) (int, error)
}

var _ BulkAppender = (*mailbox)(nil)

// spoolResult is one spooled message of AppendMany, in its input slot.
type spoolResult struct {
	sp    *spooled
	flags []string
	err   error
	ready chan struct{}
}

func (m *mailbox) AppendMany(ctx context.Context, folder string, msgs []NewMessage, workers int) (int, error) {
	name, err := normalizeFolder(folder)
	if err != nil {
		return 0, err
	}
	workers = max(workers, 1)
	stored := 0
	err = m.with(ctx, func(u *userState) error {
		if _, err := getFolder(ctx, u.db, name); err != nil {
			return err
		}
		slots := make([]spoolResult, len(msgs))
		for i := range slots {
			slots[i].ready = make(chan struct{})
		}
		// Spoolers take slots in order; at most window slots are spooled
		// ahead of the committer, bounding open spool files and memory.
		window := make(chan struct{}, workers+2*maxBatch)
		next := make(chan int)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for i := range next {
					slots[i].sp, slots[i].flags, slots[i].err = m.spoolNew(msgs[i])
					close(slots[i].ready)
				}
			})
		}
		go func() {
			defer close(next)
			for i := range msgs {
				select {
				case window <- struct{}{}:
				case <-stop:
					return
				}
				select {
				case next <- i:
				case <-stop:
					return
				}
			}
		}()
		defer func() {
			close(stop)
			wg.Wait()
			for i := range slots {
				if sp := slots[i].sp; sp != nil {
					sp.release()
				}
			}
		}()

		// Queue in input order (the committer keeps queue order), wait in
		// input order; queued holds the slots queued and not yet waited for.
		var queued []int
		reqs := make(map[int]*appendReq)
		var first error
		wait := func(i int) {
			r := reqs[i]
			delete(reqs, i)
			<-r.done
			<-window
			slots[i].sp.release()
			slots[i].sp = nil // the cache rows are in the index now
			if r.res.Err == nil {
				stored++
			} else if first == nil {
				first = r.res.Err
			}
		}
		for i := range slots {
			if ctx.Err() != nil && first == nil {
				first = ctx.Err()
			}
			if first != nil {
				break
			}
			<-slots[i].ready
			if slots[i].err != nil {
				first = slots[i].err
				break
			}
			r := &appendReq{folder: name, msg: slots[i].sp, flags: slots[i].flags, limit: m.limit, done: make(chan struct{})}
			u.commit.queue <- r
			reqs[i] = r
			queued = append(queued, i)
			for len(queued) > maxBatch {
				wait(queued[0])
				queued = queued[1:]
			}
		}
		for _, i := range queued {
			wait(i)
		}
		return first
	})
	return stored, err
}

// spoolNew writes one NewMessage to the spool.
func (m *mailbox) spoolNew(nm NewMessage) (*spooled, []string, error) {
	flags, err := normalizeFlags(nm.Flags)
	if err != nil {
		return nil, nil, err
	}
	date := nm.Date
	if date.IsZero() {
		date = time.Now()
	}
	r, err := nm.Open()
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	sp, err := m.s.spoolMessage(r, date.Truncate(time.Second), spoolOptions{linkOnce: true, textFilter: true})
	if err != nil {
		return nil, nil, fmt.Errorf("storage: spooling message: %w", err)
	}
	return sp, flags, nil
}
