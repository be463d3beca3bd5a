package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"congvu/internal/dsn"
	"congvu/internal/mailerr"
)

// errExpired is the status of a message that waited MaxAge without being
// delivered (RFC 3463 X.4.7, delivery time expired).
var errExpired = &mailerr.Error{SMTPCode: 554, Enhanced: [3]int{5, 4, 7},
	Message: "Delivery time expired", MessageVI: "Quá thời hạn gửi thư"}

// Start begins delivering in the background until Close.
func (q *Queue) Start() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started || q.closed {
		return
	}
	q.started = true
	go q.run()
}

// Close stops the scheduler, cancels deliveries in progress (their
// recipients stay queued and are tried again at the next start) and closes
// the index.
func (q *Queue) Close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	started := q.started
	q.mu.Unlock()
	q.cancel()
	if started {
		<-q.done
	}
	q.workers.Wait()
	return q.ix.close()
}

func (q *Queue) run() {
	defer close(q.done)
	for {
		q.pass()
		wait := q.cfg.PollInterval
		if next, err := q.ix.nextDue(q.ctx); err == nil && !next.IsZero() {
			if d := time.Until(next); d < wait {
				wait = max(d, 10*time.Millisecond)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-q.ctx.Done():
			t.Stop()
			return
		case <-q.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// pass starts every due delivery the concurrency limits allow and
// refreshes the queue metrics.
func (q *Queue) pass() {
	ctx := q.ctx
	if msgs, rcpts, oldest, err := q.ix.stats(ctx); err == nil {
		q.metrics.QueueMessages.Set(float64(msgs))
		q.metrics.QueueRecipients.Set(float64(rcpts))
		age := 0.0
		if !oldest.IsZero() {
			age = time.Since(oldest).Seconds()
		}
		q.metrics.QueueOldestSeconds.Set(age)
	}
	jobs, err := q.ix.due(ctx, time.Now(), 500)
	if err != nil {
		if ctx.Err() == nil {
			q.log.Error("queue: reading due mail", "err", err)
		}
		return
	}
	for _, j := range jobs {
		q.mu.Lock()
		ok := !q.closed && !q.inFlight[j] && len(q.inFlight) < q.cfg.MaxConnections && q.perDom[j.domain] < q.cfg.MaxPerDomain
		if ok {
			q.inFlight[j] = true
			q.perDom[j.domain]++
			q.workers.Add(1)
		}
		q.mu.Unlock()
		if ok {
			go q.attempt(j)
		}
	}
}

// attempt delivers one message to the due recipients of one domain and
// records the outcome.
func (q *Queue) attempt(j job) {
	defer func() {
		q.mu.Lock()
		delete(q.inFlight, j)
		q.perDom[j.domain]--
		if q.perDom[j.domain] <= 0 {
			delete(q.perDom, j.domain)
		}
		q.mu.Unlock()
		q.workers.Done()
		q.poke()
	}()
	ctx := q.ctx
	m, err := q.ix.message(ctx, j.msg)
	if err != nil {
		if !errors.Is(err, errNotQueued) && ctx.Err() == nil {
			q.log.Error("queue: reading message", "queue_id", j.msg, "err", err)
		}
		return
	}
	now := time.Now()
	rs, err := q.ix.recipients(ctx, j.msg, j.domain, now)
	if err != nil || len(rs) == 0 {
		return
	}
	d := &Delivery{ID: m.ID, From: m.From, Domain: j.domain, Size: m.Size, Open: func() (io.ReadCloser, error) { return q.open(m) }}
	for _, r := range rs {
		d.Rcpts = append(d.Rcpts, r.Rcpt)
	}
	log := q.log.With("queue_id", m.ID, "domain", j.domain)
	var results []Result
	if q.deps.IsLocal(j.domain) {
		results = q.deliverLocal(ctx, d)
	} else if q.deps.Transport == nil {
		results = make([]Result, len(rs))
		for i := range results {
			results[i].Err = mailerr.ErrOutboundDisabled
		}
	} else {
		results = q.deps.Transport.Deliver(ctx, d)
	}
	if ctx.Err() != nil {
		// Shutting down: the attempt was cut short and does not count.
		return
	}
	if len(results) != len(rs) {
		log.Error("queue: transport returned the wrong number of results", "got", len(results), "want", len(rs))
		return
	}
	q.record(ctx, m, rs, results, time.Now(), log)
}

func (q *Queue) deliverLocal(ctx context.Context, d *Delivery) []Result {
	results := make([]Result, len(d.Rcpts))
	for i, rcpt := range d.Rcpts {
		if q.deps.Local == nil {
			results[i].Err = mailerr.ErrInternal.With(errors.New("no local delivery configured"))
			continue
		}
		rc, err := d.Open()
		if err == nil {
			err = q.deps.Local.DeliverLocal(ctx, d.From, rcpt, rc)
			rc.Close()
		}
		if err != nil {
			results[i].Err = mailerr.Classify(err)
		}
		results[i].RemoteMTA = q.cfg.Hostname
		results[i].Security = "local"
	}
	return results
}

// record applies the results of an attempt: delivered, failed (bounce),
// deferred (next retry, maybe a delay notice) or expired (bounce). A
// notification is queued before the state that triggers it is committed,
// so a crash may repeat a notification but never lose one.
func (q *Queue) record(ctx context.Context, m *messageRow, rs []RecipientStatus, results []Result, now time.Time, log *slog.Logger) {
	var failed, delayed []dsn.Recipient
	expiry := m.Created.Add(q.cfg.MaxAge)
	for i := range rs {
		r, res := &rs[i], results[i]
		r.LastAttempt = now
		r.RemoteMTA = res.RemoteMTA
		if res.Security != "" {
			r.Security = res.Security
		}
		if res.Err == nil {
			r.State, r.LastError = StateDelivered, ""
			q.metrics.OutboundDeliveries.WithLabelValues("delivered").Inc()
			log.Info("delivered", "rcpt", r.Rcpt, "remote", res.RemoteMTA, "security", res.Security)
			continue
		}
		r.Attempts++
		r.LastError = describe(res.Err)
		e := res.Err
		switch {
		case !e.Temporary:
			r.State = StateFailed
			q.metrics.OutboundDeliveries.WithLabelValues("failed").Inc()
			log.Warn("delivery failed", "rcpt", r.Rcpt, "err", r.LastError)
		case now.Add(q.interval(r.Attempts)).After(expiry):
			r.State = StateFailed
			r.LastError = describe(errExpired) + "; last error: " + r.LastError
			q.metrics.OutboundDeliveries.WithLabelValues("expired").Inc()
			log.Warn("delivery expired", "rcpt", r.Rcpt, "attempts", r.Attempts, "err", r.LastError)
			d := q.dsnRecipient(r, e, dsn.Failed, expiry)
			d.Status, d.Reply = errExpired.Enhanced, e.Enhanced
			d.TextVI = "Quá thời hạn gửi thư; lỗi lần cuối: " + e.Message
			failed = append(failed, d)
			continue
		default:
			r.NextAttempt = now.Add(q.interval(r.Attempts))
			q.metrics.OutboundDeliveries.WithLabelValues("deferred").Inc()
			log.Info("delivery deferred", "rcpt", r.Rcpt, "attempts", r.Attempts, "next", r.NextAttempt.Format(time.RFC3339), "err", r.LastError)
			if q.cfg.DelayNotice > 0 && !r.DelayNotified && now.Sub(m.Created) >= q.cfg.DelayNotice {
				r.DelayNotified = true
				delayed = append(delayed, q.dsnRecipient(r, e, dsn.Delayed, expiry))
			}
			continue
		}
		failed = append(failed, q.dsnRecipient(r, e, dsn.Failed, expiry))
	}
	for _, n := range []struct {
		rcpts  []dsn.Recipient
		action string
	}{{failed, dsn.Failed}, {delayed, dsn.Delayed}} {
		if len(n.rcpts) > 0 {
			q.notify(ctx, m, n.rcpts, n.action, now, log)
		}
	}
	if err := q.ix.update(ctx, m.ID, rs); err != nil {
		log.Error("queue: recording delivery state", "err", err)
		return
	}
	if done, err := q.ix.finished(ctx, m.ID); err == nil && done {
		q.removeMessage(ctx, m.ID)
		log.Info("queue: message finished")
	}
}

func (q *Queue) dsnRecipient(r *RecipientStatus, e *mailerr.Error, action string, expiry time.Time) dsn.Recipient {
	d := dsn.Recipient{Final: r.Rcpt, Action: action, Status: e.Enhanced, Code: e.SMTPCode,
		Text: e.Message, TextVI: e.MessageVI, RemoteMTA: r.RemoteMTA, LastAttempt: r.LastAttempt}
	if action == dsn.Delayed {
		d.RetryUntil = expiry
	}
	return d
}

// notify sends a notification about m to its sender: never to the null
// reverse-path (RFC 5321 4.5.5, RFC 3464 2), so notifications about
// notifications cannot loop.
func (q *Queue) notify(ctx context.Context, m *messageRow, rcpts []dsn.Recipient, action string, now time.Time, log *slog.Logger) {
	if m.From == "" {
		log.Warn("queue: no notification for a message with the null sender", "action", action)
		return
	}
	report := dsn.Build(dsn.Report{
		ReportingMTA: q.cfg.Hostname, To: m.From, ID: m.ID,
		Arrival: m.Created, Now: now, Header: q.header(m), Recipients: rcpts,
	})
	id, err := q.Enqueue(ctx, "", []string{m.From}, bytes.NewReader(report))
	if err != nil {
		log.Error("queue: could not queue the notification", "action", action, "err", err)
		return
	}
	q.metrics.Notifications.WithLabelValues(action).Inc()
	log.Info("queue: notification queued for the sender", "action", action, "sender", m.From, "dsn_queue_id", id)
}

// interval is the wait after the n-th failed attempt.
func (q *Queue) interval(n int) time.Duration {
	iv := q.cfg.RetryIntervals
	return iv[min(max(n, 1), len(iv))-1]
}

// describe writes an error as an operator reads it in `congvu queue`.
func describe(e *mailerr.Error) string {
	return fmt.Sprintf("%d %d.%d.%d %s", e.SMTPCode, e.Enhanced[0], e.Enhanced[1], e.Enhanced[2], e.Message)
}
