package server

import (
	"context"
	"errors"

	"congvu/queue"
	"congvu/web/admin"
)

// webQueue adapts queue.Admin to the operators' queue view of the web.
type webQueue struct{ a *queue.Admin }

var _ admin.Queue = webQueue{}

// newWebQueue returns the queue view of q, or nil (outbound off) so that
// the web gets a nil interface, not a nil pointer inside one.
func newWebQueue(q *queue.Queue) admin.Queue {
	if q == nil {
		return nil
	}
	return webQueue{q.Admin()}
}

func notQueued(err error) error {
	if errors.Is(err, queue.ErrNotFound) {
		return admin.ErrNotQueued
	}
	return err
}

// recipientState names a recipient's state as `congvu queue list` does.
func recipientState(r queue.RecipientStatus) string {
	switch {
	case r.State == queue.StateDelivered:
		return admin.QueueDelivered
	case r.State == queue.StateFailed:
		return admin.QueueFailed
	case r.Attempts > 0:
		return admin.QueueDeferred
	}
	return admin.QueueWaiting
}

func queuedMessage(e queue.Entry) admin.QueuedMessage {
	m := admin.QueuedMessage{ID: e.ID, From: e.From, Created: e.Created, Size: e.Size}
	for _, r := range e.Rcpts {
		qr := admin.QueuedRecipient{Address: r.Rcpt, State: recipientState(r), Attempts: r.Attempts,
			LastAttempt: r.LastAttempt, RemoteMTA: r.RemoteMTA, Security: r.Security, LastReply: r.LastError}
		if r.State == queue.StateQueued {
			qr.NextAttempt = r.NextAttempt
		}
		m.Recipients = append(m.Recipients, qr)
	}
	return m
}

func (q webQueue) List(ctx context.Context) ([]admin.QueuedMessage, error) {
	es, err := q.a.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]admin.QueuedMessage, len(es))
	for i, e := range es {
		out[i] = queuedMessage(e)
	}
	return out, nil
}

func (q webQueue) Show(ctx context.Context, id string) (*admin.QueuedMessage, error) {
	e, err := q.a.Show(ctx, id)
	if err != nil {
		return nil, notQueued(err)
	}
	m := queuedMessage(*e)
	return &m, nil
}

func (q webQueue) Header(ctx context.Context, id string) ([]byte, error) {
	h, err := q.a.Header(ctx, id)
	return h, notQueued(err)
}

func (q webQueue) Retry(ctx context.Context, id string) (int, error) {
	n, err := q.a.Retry(ctx, id)
	return n, notQueued(err)
}

func (q webQueue) Delete(ctx context.Context, id string) error {
	return notQueued(q.a.Delete(ctx, id))
}
