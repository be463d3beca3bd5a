package policy

import (
	"context"
	"time"
)

// jobs runs the scheduled work: the daily digest at policy.digest_hour
// (local time) and the lifecycle jobs every job_interval_minutes. The day a
// digest was sent is stored, so a restart neither repeats nor skips it.
func (e *Engine) jobs() {
	defer close(e.jobsDone)
	// Jobs stop when the engine closes, even in the middle of a run.
	base, cancelAll := context.WithCancel(context.Background())
	defer cancelAll()
	go func() {
		select {
		case <-e.stop:
			cancelAll()
		case <-base.Done():
		}
	}()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	var lastLifecycle time.Time
	for {
		now := e.now()
		cfg := e.rules.Load().cfg
		if e.opts.Store != nil && cfg.DigestHour >= 0 {
			e.maybeDigest(base, now, cfg.DigestHour)
		}
		if now.Sub(lastLifecycle) >= time.Duration(cfg.JobIntervalMinutes)*time.Minute {
			lastLifecycle = now
			ctx, cancel := context.WithTimeout(base, 10*time.Minute)
			locked, deleted, err := e.RunLifecycle(ctx)
			cancel()
			if err != nil {
				e.log.Error("policy: lifecycle job", "err", err)
			}
			if locked+deleted > 0 {
				e.log.Info("policy: lifecycle job", "locked_initial_password", locked, "deleted_mailboxes", deleted)
			}
		}
		select {
		case <-e.stop:
			return
		case <-tick.C:
		}
	}
}

// maybeDigest sends yesterday's digests once the digest hour has come.
func (e *Engine) maybeDigest(base context.Context, now time.Time, hour int) {
	loc := e.rules.Load().loc
	if now.In(loc).Hour() < hour {
		return
	}
	today := DayOf(now, loc)
	ctx, cancel := context.WithTimeout(base, 10*time.Minute)
	defer cancel()
	last, ok, err := e.db.lastRun(ctx, "digest")
	if err != nil {
		e.log.Error("policy: digest bookkeeping", "err", err)
		return
	}
	if ok && last >= today {
		return
	}
	// Yesterday's records may still be pending in memory.
	if err := e.Flush(ctx); err != nil {
		e.log.Error("policy: flush before digest", "err", err)
	}
	if _, err := e.SendDigests(ctx, today-1); err != nil {
		e.log.Error("policy: digest", "day", (today - 1).String(), "err", err)
		if ctx.Err() != nil {
			return // interrupted by shutdown: retried after the restart
		}
	}
	// The digests went out: record it even if shutdown began meanwhile,
	// or the next start would send them all again.
	done, cancelDone := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancelDone()
	if err := e.db.setLastRun(done, "digest", today); err != nil {
		e.log.Error("policy: digest bookkeeping", "err", err)
	}
}

// SendDigests sends the digests of day now (the engine's dependencies).
func (e *Engine) SendDigests(ctx context.Context, day Day) ([]DigestResult, error) {
	return SendDigests(ctx, Digest{DB: e.db, Dir: e.opts.Dir, Store: e.opts.Store, Location: e.rules.Load().loc,
		From: e.sender(), Hostname: e.opts.Hostname, Log: e.log, Overdue: e.overdueRequests()}, day)
}
