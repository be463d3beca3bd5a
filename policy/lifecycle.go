package policy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
)

// MailboxDeleter is the store side of retention: storage.FileStore
// implements it.
type MailboxDeleter interface {
	// DeleteUser removes all mail of a user, crash-safely.
	DeleteUser(ctx context.Context, user string) error
}

// SetAccountState moves an account through its lifecycle (active, locked
// with a reason, retired) and writes the audit entry. Admin tools and the
// web admin pages change states through here, so every change is audited.
// Unlocking also forgets the account's failed logins.
func (e *Engine) SetAccountState(ctx context.Context, actor, address string, s directory.State, reason string) error {
	addr, err := setAccountState(ctx, e.opts.Writer, actor, address, s, reason, e.now(), func(a AuditEntry) error {
		e.audit(a)
		return nil
	})
	if err == nil && s == directory.StateActive {
		e.fails.reset(addr)
	}
	if err == nil && s != directory.StateActive {
		e.EndSessions(addr, disabledReason(&directory.Account{StateReason: reason}))
	}
	return err
}

// SetAccountState is Engine.SetAccountState for admin commands that run
// beside the server (congvu account): the audit entry is written at once.
func SetAccountState(ctx context.Context, w directory.Writer, db *DB, actor, address string, s directory.State, reason string) error {
	addr, err := setAccountState(ctx, w, actor, address, s, reason, time.Now(), func(a AuditEntry) error {
		return db.AppendAudit(ctx, a)
	})
	if err == nil && s == directory.StateActive {
		err = db.write(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM auth_failures WHERE address = ?`, addr)
			return err
		})
	}
	return err
}

// SetAccountStateAuditing is SetAccountState for services with their own
// audit writer (the reorganisation service dissolving a unit): the same
// change and the same audit entry, written through audit.
func SetAccountStateAuditing(ctx context.Context, w directory.Writer, audit func(AuditEntry) error, actor, address string,
	s directory.State, reason string, now time.Time) (string, error) {
	return setAccountState(ctx, w, actor, address, s, reason, now, audit)
}

// setAccountState changes the state and audits it; it returns the
// account's primary address.
func setAccountState(ctx context.Context, w directory.Writer, actor, address string, s directory.State, reason string,
	now time.Time, audit func(AuditEntry) error) (string, error) {
	if w == nil {
		return "", errors.New("policy: no directory writer")
	}
	if !directory.ValidState(s) {
		return "", directory.ErrInvalid.With(fmt.Errorf("state %q", s))
	}
	acct, err := w.Lookup(ctx, address)
	if err != nil {
		return "", err
	}
	if err := w.SetStateReason(ctx, acct.Address, s, reason); err != nil {
		return "", err
	}
	action := map[directory.State]string{directory.StateActive: ActionUnlock, directory.StateLocked: ActionLock,
		directory.StateRetired: ActionRetire}[s]
	origin := OriginOf(ctx)
	err = audit(AuditEntry{At: now, Actor: actor, Subject: acct.Address, Action: action, Rule: RuleAdmin,
		Protocol: origin.Protocol, IP: origin.IP, Detail: fmt.Sprintf("%s → %s: %s", acct.State, s, reason)})
	return acct.Address, err
}

// LockSending locks sending for an account (reading and receiving go on),
// audits it and alerts the provincial operators by mail.
func (e *Engine) LockSending(ctx context.Context, actor, address, reason string) error {
	now := e.now()
	if err := e.db.setSendLock(ctx, SendLock{Address: address, At: now, Reason: reason}); err != nil {
		return err
	}
	e.audit(AuditEntry{At: now, Actor: actor, Subject: address, Action: ActionSendLock, Rule: RuleSendRate, Detail: reason})
	e.log.Warn("policy: sending locked", "address", address, "reason", reason)
	e.alertOperators(ctx, address, reason, now)
	return nil
}

// UnlockSending lifts a sending lock (admin command or web admin).
func UnlockSending(ctx context.Context, db *DB, actor, address, reason string) error {
	had, err := db.clearSendLock(ctx, address)
	if err != nil {
		return err
	}
	if !had {
		return mailerr.ErrUnknownUser.WithMessage("No sending lock for this account", "Tài khoản này không bị khoá gửi thư")
	}
	origin := OriginOf(ctx)
	return db.AppendAudit(ctx, AuditEntry{At: time.Now(), Actor: actor, Subject: address, Action: ActionSendUnlock,
		Rule: RuleAdmin, Protocol: origin.Protocol, IP: origin.IP, Detail: reason})
}

// LockSendingCLI locks sending from an admin command beside the server.
func LockSendingCLI(ctx context.Context, db *DB, actor, address, reason string) error {
	now := time.Now()
	if err := db.setSendLock(ctx, SendLock{Address: address, At: now, Reason: reason}); err != nil {
		return err
	}
	return db.AppendAudit(ctx, AuditEntry{At: now, Actor: actor, Subject: address, Action: ActionSendLock,
		Rule: RuleAdmin, Detail: reason})
}

// RunLifecycle runs the lifecycle jobs once: lock accounts whose initial
// password is unchanged after policy.rules.initial_password_max_days, and
// delete the mailboxes of accounts retired longer than their retention
// (RetentionMonths: by rank, else retired_retention_months). It returns how many accounts each job touched.
func (e *Engine) RunLifecycle(ctx context.Context) (locked, deleted int, err error) {
	accounts, err := e.opts.Dir.Accounts(ctx, "")
	if err != nil {
		return 0, 0, err
	}
	rs := e.rules.Load()
	now := e.now()
	var errs []error
	for _, a := range accounts {
		r := rs.rulesFor(a.Address)
		switch a.State {
		case directory.StateActive:
			if r.InitialPasswordMaxDays <= 0 || !a.MustChangePassword || a.PasswordChanged.IsZero() ||
				now.Sub(a.PasswordChanged) < time.Duration(r.InitialPasswordMaxDays)*24*time.Hour {
				continue
			}
			reason := fmt.Sprintf("Mật khẩu ban đầu chưa được đổi sau %d ngày / initial password unchanged after %d days",
				r.InitialPasswordMaxDays, r.InitialPasswordMaxDays)
			if err := e.lockAccount(ctx, a.Address, reason); err != nil {
				errs = append(errs, fmt.Errorf("lock %s: %w", a.Address, err))
				continue
			}
			e.audit(AuditEntry{At: now, Subject: a.Address, Action: ActionLock, Rule: RuleInitialPassword, Detail: reason})
			locked++
		case directory.StateRetired:
			// Retention by rank (retention_by_title), else the domain's.
			months := RetentionMonths(rs.cfg, r, a.Title)
			if months <= 0 || a.StateChanged.IsZero() ||
				now.Before(a.StateChanged.AddDate(0, months, 0)) {
				continue
			}
			at, err := e.db.mailboxDeletedAt(ctx, a.Address)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !at.IsZero() && !at.Before(a.StateChanged) {
				continue // deleted after this retirement already
			}
			if err := e.deleteMailbox(ctx, a, months, now); err != nil {
				errs = append(errs, fmt.Errorf("delete mailbox %s: %w", a.Address, err))
				continue
			}
			deleted++
		}
	}
	return locked, deleted, errors.Join(errs...)
}

func (e *Engine) deleteMailbox(ctx context.Context, a directory.Account, months int, now time.Time) error {
	del, ok := e.opts.Store.(MailboxDeleter)
	if !ok {
		return errors.New("the mail store cannot delete mailboxes")
	}
	if err := del.DeleteUser(ctx, a.Address); err != nil {
		return err
	}
	if err := e.db.setMailboxDeleted(ctx, a.Address, now); err != nil {
		return err
	}
	detail := fmt.Sprintf("nghỉ/retired %s (%s), lưu/retention %d tháng/months: %s", a.StateChanged.Format(time.DateOnly), a.Title, months, a.StateReason)
	e.audit(AuditEntry{At: now, Subject: a.Address, Action: ActionDeleteData, Rule: RuleRetention, Detail: detail})
	e.log.Info("policy: mailbox of retired account deleted", "address", a.Address, "retired", a.StateChanged)
	return nil
}

// mailboxDeletedAt is when retention last deleted the mailbox; zero if never.
func (db *DB) mailboxDeletedAt(ctx context.Context, address string) (time.Time, error) {
	var at int64
	err := db.ro.QueryRowContext(ctx, `SELECT at FROM deleted_mailboxes WHERE address = ?`, address).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(at, 0), nil
}

func (db *DB) setMailboxDeleted(ctx context.Context, address string, at time.Time) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO deleted_mailboxes (address, at) VALUES (?, ?)
			ON CONFLICT (address) DO UPDATE SET at = excluded.at`, address, at.Unix())
		return err
	})
}
