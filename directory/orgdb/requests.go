package orgdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"congvu/internal/mailerr"
)

// Request is a provisioning request (package provision keeps its
// meaning; this is its row).
type Request struct {
	ID        int64
	Kind      string
	UnitCode  string
	Payload   json.RawMessage
	Note      string
	Delivery  string
	FiledBy   string
	FiledIP   string
	Filed     time.Time
	Due       time.Time
	State     string
	DecidedBy string
	DecidedIP string
	Decided   time.Time
	Reason    string
	Result    string
	// HasPasswords is whether initial passwords wait to be fetched;
	// Fetched is when they were (zero: not yet).
	HasPasswords bool
	Fetched      time.Time
}

// Request states.
const (
	RequestPending   = "pending"
	RequestExecuting = "executing" // approved, being carried out
	RequestApproved  = "approved"
	RequestRejected  = "rejected"
	RequestFailed    = "failed" // approved, but carrying it out failed
)

// ErrNoRequest is what the request methods return for an unknown id.
var ErrNoRequest = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 5, 0}, IMAPCode: "NONEXISTENT", HTTPStatus: 404,
	Message: "No such request", MessageVI: "Không có đề nghị này."}

// ErrRequestDecided refuses deciding a request twice.
var ErrRequestDecided = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 5, 1}, IMAPCode: "CANNOT", HTTPStatus: 409,
	Message: "The request was already decided", MessageVI: "Đề nghị này đã được xử lý trước đó."}

const requestColumns = `id, kind, unit_code, payload, note, delivery, filed_by, filed_ip, filed, due, state,
	decided_by, decided_ip, decided, reason, result, passwords != '', fetched`

func scanRequest(sc interface{ Scan(...any) error }) (*Request, error) {
	var r Request
	var payload string
	var filed, due, decided, fetched int64
	err := sc.Scan(&r.ID, &r.Kind, &r.UnitCode, &payload, &r.Note, &r.Delivery, &r.FiledBy, &r.FiledIP, &filed, &due, &r.State,
		&r.DecidedBy, &r.DecidedIP, &decided, &r.Reason, &r.Result, &r.HasPasswords, &fetched)
	if err != nil {
		return nil, err
	}
	r.Payload = json.RawMessage(payload)
	r.Filed, r.Due, r.Decided, r.Fetched = fromNanos(filed), fromNanos(due), fromNanos(decided), fromNanos(fetched)
	return &r, nil
}

// FileRequest records a new pending request and returns its id.
func (db *DB) FileRequest(ctx context.Context, r Request) (int64, error) {
	var id int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO provision_requests
			(kind, unit_code, payload, note, delivery, filed_by, filed_ip, filed, due, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Kind, r.UnitCode, string(r.Payload), r.Note, r.Delivery, r.FiledBy, r.FiledIP, r.Filed.UnixNano(), r.Due.UnixNano(), RequestPending)
		if err == nil {
			id, err = res.LastInsertId()
		}
		return unavailable(err)
	})
	return id, err
}

// GetRequest returns one request.
func (db *DB) GetRequest(ctx context.Context, id int64) (*Request, error) {
	r, err := scanRequest(db.ro.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM provision_requests WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoRequest
	}
	return r, unavailable(err)
}

// RequestQuery selects requests; zero fields select everything.
type RequestQuery struct {
	States []string
	// Units, when not nil, keeps the requests of these units (a unit
	// administrator's scope); an empty list selects nothing.
	Units []string
	Limit int
}

// Requests lists requests, pending ones by due date first, then the
// decided ones newest first.
func (db *DB) Requests(ctx context.Context, q RequestQuery) ([]Request, error) {
	if q.Units != nil && len(q.Units) == 0 {
		return nil, nil
	}
	where, args := []string{"1"}, []any{}
	if len(q.States) > 0 {
		where = append(where, "state IN (?"+strings.Repeat(", ?", len(q.States)-1)+")")
		for _, s := range q.States {
			args = append(args, s)
		}
	}
	if q.Units != nil {
		where = append(where, "unit_code IN (?"+strings.Repeat(", ?", len(q.Units)-1)+")")
		for _, u := range q.Units {
			args = append(args, u)
		}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 500
	}
	args = append(args, limit)
	rows, err := db.ro.QueryContext(ctx, `SELECT `+requestColumns+` FROM provision_requests WHERE `+strings.Join(where, " AND ")+
		` ORDER BY state != 'pending', CASE WHEN state = 'pending' THEN due ELSE -id END LIMIT ?`, args...)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, unavailable(err)
		}
		out = append(out, *r)
	}
	return out, unavailable(rows.Err())
}

// DecideRequest moves a pending request to state (RequestExecuting when
// approved, RequestRejected) on behalf of by. Only one decision wins:
// a request that is no longer pending gives ErrRequestDecided.
func (db *DB) DecideRequest(ctx context.Context, id int64, state, by, ip, reason string, at time.Time) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE provision_requests SET state = ?, decided_by = ?, decided_ip = ?, decided = ?, reason = ?
			WHERE id = ? AND state = 'pending'`, state, by, ip, at.UnixNano(), reason, id)
		if err != nil {
			return unavailable(err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM provision_requests WHERE id = ?`, id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return ErrNoRequest
		}
		return ErrRequestDecided
	})
}

// FinishRequest records the outcome of an approved request and the
// initial passwords to hand over once ("" when none or already handed).
func (db *DB) FinishRequest(ctx context.Context, id int64, state, result, passwords string) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE provision_requests SET state = ?, result = ?, passwords = ? WHERE id = ?`,
			state, result, passwords, id)
		return unavailable(err)
	})
}

// TakePasswords returns the initial passwords of a request and forgets
// them, so they are handed over once. open turns the stored value into
// the passwords (provision unseals it); they are forgotten only when it
// succeeds, so a value that cannot be opened now (seal.key not restored
// yet) is not lost. ok is false when there are none (never, or already
// fetched).
func (db *DB) TakePasswords(ctx context.Context, id int64, at time.Time, open func(stored string) (string, error)) (passwords string, ok bool, err error) {
	err = db.write(ctx, func(tx *sql.Tx) error {
		var stored string
		err := tx.QueryRowContext(ctx, `SELECT passwords FROM provision_requests WHERE id = ?`, id).Scan(&stored)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoRequest
		}
		if err != nil || stored == "" {
			return unavailable(err)
		}
		if passwords, err = open(stored); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE provision_requests SET passwords = '', fetched = ? WHERE id = ?`, at.UnixNano(), id)
		return unavailable(err)
	})
	if err != nil {
		passwords = ""
	}
	return passwords, err == nil && passwords != "", err
}

// RewritePasswords passes every request's stored initial passwords to fn
// and stores what it returns when changed is true, in one transaction
// (provision seals the passwords an older congvu kept in clear). It
// returns how many were rewritten.
func (db *DB) RewritePasswords(ctx context.Context, fn func(id int64, stored string) (next string, changed bool, err error)) (int, error) {
	n := 0
	err := db.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, passwords FROM provision_requests WHERE passwords != ''`)
		if err != nil {
			return unavailable(err)
		}
		next := map[int64]string{}
		for rows.Next() {
			var id int64
			var stored string
			if err := rows.Scan(&id, &stored); err != nil {
				rows.Close()
				return unavailable(err)
			}
			v, changed, err := fn(id, stored)
			if err != nil {
				rows.Close()
				return err
			}
			if changed {
				next[id] = v
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return unavailable(err)
		}
		for id, v := range next {
			if _, err := tx.ExecContext(ctx, `UPDATE provision_requests SET passwords = ? WHERE id = ?`, v, id); err != nil {
				return unavailable(err)
			}
		}
		n = len(next)
		return nil
	})
	if err == nil && n > 0 {
		// The old values are overwritten in the pages (secure_delete); the
		// write-ahead log still holds the pages as they were: copy it back
		// and empty it.
		if _, cerr := db.rw.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); cerr != nil {
			err = unavailable(cerr)
		}
	}
	return n, err
}
