package server

import (
	"context"
	"errors"

	"congvu/queue"
	"congvu/webmail"
)

// webQueue adapts queue.Admin to the operators' queue view of the web.
type webQueue struct{ a *queue.Admin }

var _ webmail.Queue = webQueue{}

// newWebQueue returns the queue view of q, or nil (outbound off) so that
// the web gets a nil interface, not a nil pointer inside one.
func newWebQueue(q *queue.Queue) webmail.Queue {
	if q == nil {
		return nil
	}
	return webQueue{q.Admin()}
}

func notQueued(err error) error {
	if errors.Is(err, queue.ErrNotFound) {
		return webmail.ErrNotQueued
	}
	return err
}

// recipientState names a recipient's state as `congvu queue list` does.
func recipientState(r queue.RecipientStatus) string {
	switch {
	case r.State == queue.StateDelivered:
		return webmail.QueueDelivered
	case r.State == queue.StateFailed:
		return webmail.QueueFailed
	case r.Attempts > 0:
		return webmail.QueueDeferred
	}
	return webmail.QueueWaiting
}

func queuedMessage(e queue.Entry) webmail.QueuedMessage {
	m := webmail.QueuedMessage{ID: e.ID, From: e.From, Created: e.Created, Size: e.Size}
	for _, r := range e.Rcpts {
		qr := webmail.QueuedRecipient{Address: r.Rcpt, State: recipientState(r), Attempts: r.Attempts,
			LastAttempt: r.LastAttempt, RemoteMTA: r.RemoteMTA, Security: r.Security, LastReply: r.LastError}
		if r.State == queue.StateQueued {
			qr.NextAttempt = r.NextAttempt
		}
		m.Recipients = append(m.Recipients, qr)
	}
	return m
}

func (q webQueue) List(ctx context.Context) ([]webmail.QueuedMessage, error) {
	es, err := q.a.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]webmail.QueuedMessage, len(es))
	for i, e := range es {
		out[i] = queuedMessage(e)
	}
	return out, nil
}

func (q webQueue) Show(ctx context.Context, id string) (*webmail.QueuedMessage, error) {
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
