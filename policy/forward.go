package policy

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"congvu/directory"
	"congvu/internal/config"
	"congvu/internal/mailerr"
	"congvu/storage"
)

// AllowForward says whether an account may auto-forward to target: only
// inside the state mail system (a local domain or policy.state_domains,
// "*.gov.vn" by default). QĐ 162/2025 forbids auto-forwarding to mailboxes
// outside it. A refusal is mailerr.ErrForwardOutside and is audited.
func (e *Engine) AllowForward(ctx context.Context, account *directory.Account, target string) error {
	return allowForward(e.rules.Load(), account, target, func(a AuditEntry) { e.audit(a) })
}

func allowForward(rs *ruleSet, account *directory.Account, target string, audit func(AuditEntry)) error {
	target = directory.NormalizeAddress(target)
	if err := directory.CheckAddress(target); err != nil {
		return directory.ErrBadAddress.With(err)
	}
	if account != nil && target == account.Address {
		return directory.ErrInvalid.WithMessage("An account cannot forward to itself", "Không thể chuyển tiếp thư cho chính mình")
	}
	if rs.isStateDomain(directory.Domain(target)) {
		return nil
	}
	subject := ""
	if account != nil {
		subject = account.Address
	}
	audit(AuditEntry{Subject: subject, Action: ActionReject, Rule: RuleForwardOutside, Detail: "forward to " + target})
	return mailerr.ErrForwardOutside.With(fmt.Errorf("%s is outside the state mail system", target))
}

// Forward is a stored auto-forwarding rule: mail for Address is delivered
// there and a copy goes to Target.
type Forward struct {
	Address string
	Target  string
	Updated time.Time
	Actor   string
}

// Forwards lists stored forwarding rules.
func (db *DB) Forwards(ctx context.Context) ([]Forward, error) {
	rows, err := db.ro.QueryContext(ctx, `SELECT address, target, updated, actor FROM forwards ORDER BY address`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Forward
	for rows.Next() {
		var f Forward
		var at int64
		if err := rows.Scan(&f.Address, &f.Target, &at, &f.Actor); err != nil {
			return nil, err
		}
		f.Updated = time.Unix(at, 0)
		out = append(out, f)
	}
	return out, rows.Err()
}

// forwardOf returns the forwarding target of an address, "" when none.
func (db *DB) forwardOf(ctx context.Context, address string) (string, error) {
	var t string
	err := db.ro.QueryRowContext(ctx, `SELECT target FROM forwards WHERE address = ?`, address).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return t, err
}

// maxForwardBatch bounds the addresses of one forwardsOf query (SQLite's
// limit on host parameters is far above; a message's recipients rarely are).
const maxForwardBatch = 500

// forwardsOf returns the forwarding targets of addresses that have one, from
// the cache (forwardcache.go) or, with too many rules for it, in
// one query per maxForwardBatch addresses instead of one per recipient
// (issue 16: this runs for every delivered message).
func (db *DB) forwardsOf(ctx context.Context, addresses []string) (map[string]string, error) {
	if out, ok, err := db.forwards.lookup(ctx, db, addresses); ok || err != nil {
		return out, err
	}
	out := map[string]string{}
	for len(addresses) > 0 {
		batch := addresses[:min(len(addresses), maxForwardBatch)]
		addresses = addresses[len(batch):]
		args := make([]any, len(batch))
		for i, a := range batch {
			args[i] = a
		}
		q := `SELECT address, target FROM forwards WHERE address IN (?` + strings.Repeat(`, ?`, len(batch)-1) + `)`
		rows, err := db.ro.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var a, t string
			if err := rows.Scan(&a, &t); err != nil {
				rows.Close()
				return nil, err
			}
			out[a] = t
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (db *DB) putForward(ctx context.Context, f Forward) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO forwards (address, target, updated, actor) VALUES (?, ?, ?, ?)
			ON CONFLICT (address) DO UPDATE SET target = excluded.target, updated = excluded.updated, actor = excluded.actor`,
			f.Address, f.Target, f.Updated.Unix(), f.Actor)
		return err
	}, db.forwards.changed)
}

// Forwarding manages forwarding rules from admin commands and the web.
type Forwarding struct {
	db *DB
	rs *ruleSet
	// dir and groups, when set, make Set refuse a group the account may
	// not write to, as delivery would (WithGroups).
	dir    directory.Directory
	groups Groups
}

// Forwarding returns the forwarding manager with the engine's current
// state domains and its groups (for the web).
func (e *Engine) Forwarding() *Forwarding {
	return &Forwarding{db: e.db, rs: e.rules.Load(), dir: e.opts.Dir, groups: e.opts.Groups}
}

// WithGroups makes Set check a target that is a distribution list as a
// forwarded copy would be (groups.Expander; the admin commands).
func (f *Forwarding) WithGroups(dir directory.Directory, g Groups) *Forwarding {
	f.dir, f.groups = dir, g
	return f
}

// IsStateDomain reports whether domain is one of the state mail system's.
func (f *Forwarding) IsStateDomain(domain string) bool { return f.rs.isStateDomain(domain) }

// ForwardingFor builds a Forwarding for admin commands that run beside the
// server: cfg is the [policy] section, localDomains server.local_domains.
func ForwardingFor(db *DB, cfg config.Policy, localDomains []string) (*Forwarding, error) {
	rs, err := newRuleSet(cfg, localDomains)
	if err != nil {
		return nil, err
	}
	return &Forwarding{db: db, rs: rs}, nil
}

// Set stores a forwarding rule for account after checking it.
func (f *Forwarding) Set(ctx context.Context, actor string, account *directory.Account, target string) error {
	var refused *AuditEntry
	err := allowForward(f.rs, account, target, func(a AuditEntry) { refused = &a })
	if err == nil {
		// A group target is expanded now as at delivery: a rule that
		// could never send is refused with the group's own reason.
		_, err = forwardCopy(ctx, f.dir, f.groups, func(a AuditEntry) { refused = &a }, account, target, nil)
	}
	if refused != nil {
		refused.At, refused.Actor = time.Now(), actor
		err = errors.Join(err, f.db.AppendAudit(ctx, *refused))
	}
	if err != nil {
		return err
	}
	now := time.Now()
	target = directory.NormalizeAddress(target)
	if err := f.db.putForward(ctx, Forward{Address: account.Address, Target: target, Updated: now, Actor: actor}); err != nil {
		return err
	}
	return f.db.AppendAudit(ctx, AuditEntry{At: now, Actor: actor, Subject: account.Address, Action: ActionForwardSet,
		Rule: RuleAdmin, Detail: "forward to " + target})
}

// Clear removes the forwarding rule of address.
func (f *Forwarding) Clear(ctx context.Context, actor, address string) error {
	var n int64
	err := f.db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM forwards WHERE address = ?`, address)
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	}, f.db.forwards.changed)
	if err != nil {
		return err
	}
	if n == 0 {
		return mailerr.ErrUnknownUser.WithMessage("No forwarding for this account", "Tài khoản này không có chuyển tiếp thư")
	}
	return f.db.AppendAudit(ctx, AuditEntry{At: time.Now(), Actor: actor, Subject: address, Action: ActionForwardClear, Rule: RuleAdmin})
}

// forward delivers a copy of a delivered message to the forwarding target
// of each local recipient that has one. Targets are checked again at
// delivery (the state domains may have changed since the rule was set).
// Copies are delivered directly, so a forwarded message is never forwarded
// again (no loops). Local targets go into their INBOX; targets on other
// state servers need the outbound queue (Options.Outbound).
func (e *Engine) forward(ctx context.Context, m *Message) {
	if e.opts.Store == nil || m.Open == nil {
		return
	}
	rs := e.rules.Load()
	var local []string
	for _, r := range m.Rcpts {
		if r.Account != nil {
			local = append(local, r.Account.Address)
		}
	}
	if len(local) == 0 {
		return
	}
	targets, err := e.db.forwardsOf(ctx, local)
	if err != nil {
		e.log.Error("policy: reading forwarding rules", "err", err)
		return
	}
	for _, r := range m.Rcpts {
		if r.Account == nil {
			continue
		}
		target := targets[r.Account.Address]
		if target == "" {
			continue
		}
		log := e.log.With("rcpt", r.Account.Address, "forward_to", target)
		if err := allowForward(rs, r.Account, target, func(a AuditEntry) { e.audit(a) }); err != nil {
			log.Warn("policy: forwarding refused", "err", err)
			continue
		}
		c, err := e.forwardCopy(ctx, r.Account, target, append(DeliveredTo(m.Open()), r.Given, r.Account.Address))
		if err != nil {
			log.Warn("policy: forwarding refused", "err", err)
			continue
		}
		// Delivered-To marks the hop, as MTAs do for alias expansion
		// (RFC 5321 3.9.1 keeps the message itself unchanged).
		msg := io.MultiReader(bytes.NewReader(c.Header(r.Account.Address)), m.Open())
		if c.Group != "" {
			e.forwardToGroup(ctx, c, msg, log)
			continue
		}
		if !rs.local[directory.Domain(target)] {
			if e.opts.Outbound == nil {
				log.Warn("policy: forward to another state server deferred: outbound mail is not available")
				e.audit(AuditEntry{Subject: r.Account.Address, Action: ActionDefer, Rule: "forward-outbound",
					Detail: "forward to " + target + ": outbound mail not available"})
				continue
			}
			if err := e.opts.Outbound(ctx, r.Account.Address, []string{target}, msg); err != nil {
				log.Error("policy: queueing forwarded copy failed", "err", err)
			}
			continue
		}
		acct, err := e.opts.Dir.Lookup(ctx, target)
		if err != nil || acct.State == directory.StateRetired {
			log.Warn("policy: forwarding target not deliverable", "err", err)
			continue
		}
		res, err := e.opts.Store.Deliver(ctx, msg, []storage.Recipient{{User: acct.Address, QuotaBytes: acct.QuotaBytes}})
		if err == nil && len(res) == 1 {
			err = res[0].Err
		}
		if err != nil {
			log.Warn("policy: forwarded copy not stored", "err", err)
			continue
		}
		log.Info("policy: forwarded copy stored")
	}
}
