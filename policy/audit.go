package policy

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// AuditEntry is one refusal, lock or account change: who, what, when, by
// which rule, from where.
type AuditEntry struct {
	ID       int64
	At       time.Time
	Actor    string // "policy" for the engine, else the admin's address or "cli"
	Subject  string // the account; the client IP when there is no account
	Action   string // reject, defer, lock, unlock, retire, send-lock, ...
	Rule     string
	Protocol Protocol
	IP       string
	Detail   string // never a password or message content
}

// Audit actions.
const (
	ActionReject       = "reject"
	ActionDefer        = "defer"
	ActionLock         = "lock"
	ActionUnlock       = "unlock"
	ActionRetire       = "retire"
	ActionSendLock     = "send-lock"
	ActionSendUnlock   = "send-unlock"
	ActionDeleteData   = "delete-mailbox"
	ActionForwardSet   = "forward-set"
	ActionForwardClear = "forward-clear"
	ActionJunk         = "junk"
	// Administrators' actions (issue 14): each entry names the actor and
	// says what changed, before → after.
	ActionCreate       = "create"        // an account created (web form, approved request)
	ActionImport       = "import"        // an import file applied
	ActionEdit         = "edit"          // name, title, phone, unit, role or aliases changed
	ActionReset        = "reset"         // password reset by an administrator
	ActionMove         = "move"          // an official transferred to another unit
	ActionMerge        = "merge"         // a unit merged into another
	ActionUnitChange   = "unit-change"   // a unit renamed or moved
	ActionDissolve     = "dissolve"      // a unit dissolved: its accounts retired at once
	ActionAlias        = "alias"         // a domain alias or an address alias added or removed
	ActionGroup        = "group"         // a group created, changed or removed
	ActionRequest      = "request"       // a provisioning request filed
	ActionApprove      = "approve"       // a provisioning request approved
	ActionRefuse       = "refuse"        // a provisioning request rejected
	ActionPublication  = "publication"   // danh bạ publishing changed
	ActionTwoFactorOff = "twofactor-off" // two-step sign-in turned off by an administrator
)

// ActorPolicy is the actor of decisions the engine takes by itself.
const ActorPolicy = "policy"

// AuditQuery selects audit entries; zero fields select everything.
type AuditQuery struct {
	Subject string // exact account address or IP
	// Subjects, when not nil, keeps only entries whose subject is one of
	// them (the accounts a unit administrator manages); an empty list
	// selects nothing.
	Subjects []string
	Action   string
	Rule     string
	Since    time.Time // inclusive
	Until    time.Time // exclusive
	Limit    int       // newest first; 0 means 1000
}

func insertAudit(ctx context.Context, tx *sql.Tx, entries []AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO audit (at, actor, subject, action, rule, protocol, ip, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, e := range entries {
		if _, err := st.ExecContext(ctx, e.At.Unix(), e.Actor, e.Subject, e.Action, e.Rule, string(e.Protocol), e.IP, e.Detail); err != nil {
			return err
		}
	}
	return nil
}

// AppendAudit writes entries at once (admin commands; the engine batches).
func (db *DB) AppendAudit(ctx context.Context, entries ...AuditEntry) error {
	return db.write(ctx, func(tx *sql.Tx) error { return insertAudit(ctx, tx, entries) })
}

// Audit returns the entries matching q, newest first.
func (db *DB) Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if q.Subject != "" {
		add("subject = ?", strings.ToLower(q.Subject))
	}
	if q.Subjects != nil {
		if len(q.Subjects) == 0 {
			return nil, nil
		}
		// One JSON parameter instead of an IN list: a department has
		// thousands of officials, beyond SQLite's bound on parameters.
		lower := make([]string, len(q.Subjects))
		for i, s := range q.Subjects {
			lower[i] = strings.ToLower(s)
		}
		list, err := json.Marshal(lower)
		if err != nil {
			return nil, err
		}
		add("subject IN (SELECT value FROM json_each(?))", string(list))
	}
	if q.Action != "" {
		add("action = ?", q.Action)
	}
	if q.Rule != "" {
		add("rule = ?", q.Rule)
	}
	if !q.Since.IsZero() {
		add("at >= ?", q.Since.Unix())
	}
	if !q.Until.IsZero() {
		add("at < ?", q.Until.Unix())
	}
	query := `SELECT id, at, actor, subject, action, rule, protocol, ip, detail FROM audit`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	query += fmt.Sprintf(" ORDER BY at DESC, id DESC LIMIT %d", limit)
	rows, err := db.ro.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		var proto string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Subject, &e.Action, &e.Rule, &proto, &e.IP, &e.Detail); err != nil {
			return nil, err
		}
		e.At, e.Protocol = time.Unix(at, 0), Protocol(proto)
		out = append(out, e)
	}
	return out, rows.Err()
}

// auditOriginKey carries where an administrator's action came from.
type auditOriginKey struct{}

// AuditOrigin is the client of an administrator's action (the admin
// web's IP), for audit entries written deeper down (a lock through the
// engine, a transfer through reorg) that have no request at hand.
type AuditOrigin struct {
	IP       string
	Protocol Protocol
}

// WithAuditOrigin returns ctx carrying o.
func WithAuditOrigin(ctx context.Context, o AuditOrigin) context.Context {
	return context.WithValue(ctx, auditOriginKey{}, o)
}

// OriginOf is the AuditOrigin ctx carries (zero when none).
func OriginOf(ctx context.Context) AuditOrigin {
	o, _ := ctx.Value(auditOriginKey{}).(AuditOrigin)
	return o
}
