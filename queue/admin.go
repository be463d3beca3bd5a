package queue

import (
	"congvu/internal/durable"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Entry is one queued message as `congvu queue list|show` presents it.
type Entry struct {
	ID      string
	From    string
	Created time.Time
	Size    int64
	Rcpts   []RecipientStatus
}

// Admin inspects and changes the queue: used by `congvu queue` (on the
// index of a running server, which SQLite's WAL mode allows) and by the
// server itself.
type Admin struct {
	ix     *index
	msgDir string
	poke   func()
	own    bool // close the index with the Admin
}

// Admin returns the administration interface of a running queue.
func (q *Queue) Admin() *Admin {
	return &Admin{ix: q.ix, msgDir: q.msgDir, poke: q.poke}
}

// OpenAdmin opens the queue in dir for administration only (no delivery).
func OpenAdmin(dir string) (*Admin, error) {
	path := filepath.Join(dir, "index.db")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("queue: no queue in %s: %w", dir, err)
	}
	ix, err := openIndex(path)
	if err != nil {
		return nil, err
	}
	return &Admin{ix: ix, msgDir: filepath.Join(dir, "msg"), poke: func() {}, own: true}, nil
}

// Close closes an Admin opened with OpenAdmin.
func (a *Admin) Close() error {
	if a.own {
		return a.ix.close()
	}
	return nil
}

// ErrNotFound: no message with that id is queued.
var ErrNotFound = errNotQueued

// List returns every queued message, oldest first.
func (a *Admin) List(ctx context.Context) ([]Entry, error) {
	rows, err := a.ix.db.QueryContext(ctx, `SELECT id FROM messages ORDER BY created, id`)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(ids))
	for _, id := range ids {
		e, err := a.Show(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue // finished meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	return out, nil
}

// Show returns one message's envelope and per-recipient state.
func (a *Admin) Show(ctx context.Context, id string) (*Entry, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	m, err := a.ix.message(ctx, id)
	if err != nil {
		return nil, err
	}
	rs, err := a.ix.recipients(ctx, id, "", time.Time{})
	if err != nil {
		return nil, err
	}
	return &Entry{ID: m.ID, From: m.From, Created: m.Created, Size: m.Size, Rcpts: rs}, nil
}

// Header returns the header block of a queued message.
func (a *Admin) Header(ctx context.Context, id string) ([]byte, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	m, err := a.ix.message(ctx, id)
	if err != nil {
		return nil, err
	}
	q := &Queue{msgDir: a.msgDir}
	return q.header(m), nil
}

// Retry makes the waiting recipients of id (of every message when id is
// "") due now and returns how many there are.
func (a *Admin) Retry(ctx context.Context, id string) (int, error) {
	if id != "" && !validID(id) {
		return 0, ErrNotFound
	}
	n, err := a.ix.retry(ctx, id, time.Now())
	if err == nil && n == 0 && id != "" {
		if _, err := a.ix.message(ctx, id); err != nil {
			return 0, err
		}
	}
	a.poke()
	return n, err
}

// Delete removes a message from the queue without notifying its sender.
// A delivery already in progress may still complete.
func (a *Admin) Delete(ctx context.Context, id string) error {
	if !validID(id) {
		return ErrNotFound
	}
	if _, err := a.ix.message(ctx, id); err != nil {
		return err
	}
	if err := a.ix.remove(ctx, id); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(a.msgDir, id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return durable.SyncDir(a.msgDir)
}
