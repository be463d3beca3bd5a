package orgdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"
)

// Job is a reorganisation an admin command hands to the running server
// (which owns the mail store, so only it may rename mailboxes).
type Job struct {
	ID       int64
	Kind     string
	Args     json.RawMessage
	Actor    string
	Created  time.Time
	State    string // JobPending, JobRunning, JobDone, JobFailed
	Result   string // what was done, or why it failed
	Finished time.Time
}

// Job states.
const (
	JobPending = "pending"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// EnqueueJob records a job for the server and returns its id.
func (db *DB) EnqueueJob(ctx context.Context, kind string, args any, actor string) (int64, error) {
	b, err := json.Marshal(args)
	if err != nil {
		return 0, err
	}
	var id int64
	err = db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO jobs (kind, args, actor, created, state) VALUES (?, ?, ?, ?, ?)`,
			kind, string(b), actor, time.Now().UnixNano(), JobPending)
		if err == nil {
			id, err = res.LastInsertId()
		}
		return unavailable(err)
	})
	return id, err
}

// ClaimJob marks the oldest pending job running and returns it; nil when
// there is none. Jobs left running by a crash are claimed again.
func (db *DB) ClaimJob(ctx context.Context, recoverRunning bool) (*Job, error) {
	var j *Job
	err := db.write(ctx, func(tx *sql.Tx) error {
		q := `SELECT id, kind, args, actor, created FROM jobs WHERE state = 'pending' ORDER BY id LIMIT 1`
		if recoverRunning {
			q = `SELECT id, kind, args, actor, created FROM jobs WHERE state IN ('pending', 'running') ORDER BY id LIMIT 1`
		}
		var x Job
		var args string
		var created int64
		err := tx.QueryRowContext(ctx, q).Scan(&x.ID, &x.Kind, &args, &x.Actor, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return unavailable(err)
		}
		x.Args, x.Created, x.State = json.RawMessage(args), fromNanos(created), JobRunning
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'running' WHERE id = ?`, x.ID); err != nil {
			return unavailable(err)
		}
		j = &x
		return nil
	})
	return j, err
}

// FinishJob records a job's outcome.
func (db *DB) FinishJob(ctx context.Context, id int64, result string, failed bool) error {
	state := JobDone
	if failed {
		state = JobFailed
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE jobs SET state = ?, result = ?, finished = ? WHERE id = ?`,
			state, result, time.Now().UnixNano(), id)
		return unavailable(err)
	})
}

// GetJob reads a job.
func (db *DB) GetJob(ctx context.Context, id int64) (*Job, error) {
	var j Job
	var args string
	var created, finished int64
	err := db.ro.QueryRowContext(ctx, `SELECT id, kind, args, actor, created, state, result, finished FROM jobs WHERE id = ?`, id).
		Scan(&j.ID, &j.Kind, &args, &j.Actor, &created, &j.State, &j.Result, &finished)
	if err != nil {
		return nil, unavailable(err)
	}
	j.Args, j.Created, j.Finished = json.RawMessage(args), fromNanos(created), fromNanos(finished)
	return &j, nil
}
