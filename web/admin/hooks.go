package admin

import (
	"context"
	"errors"
	"io"
	"time"

	"congvu/directory"
)

// ReportFormat is an output of the reports.
type ReportFormat string

const (
	FormatHTML ReportFormat = "html" // a fragment: no <html> or <body>, no script
	FormatCSV  ReportFormat = "csv"  // UTF-8 with BOM, for spreadsheets
	FormatSVG  ReportFormat = "svg"  // the access report's chart
	FormatPNG  ReportFormat = "png"  // the same chart as a picture
)

// Reports renders the policy engine's reports into the admin web. A nil
// Reports shows that no report is available. The web has already checked
// that the viewer may see unitCode. An error is shown as its
// *mailerr.Error MessageVI; what was written is then discarded.
type Reports interface {
	// AccessReport writes the daily-access report of unitCode and its
	// sub-units for the days from..to inclusive (midnight in
	// Asia/Ho_Chi_Minh) as HTML, CSV, SVG or PNG.
	AccessReport(ctx context.Context, w io.Writer, f ReportFormat, unitCode string, from, to time.Time) error
	// UsageReport writes the usage report (messages sent and received) of
	// unitCode and its sub-units for period, a year (2026), a quarter
	// (2026-Q1) or a month (2026-03), as HTML or CSV.
	UsageReport(ctx context.Context, w io.Writer, f ReportFormat, unitCode, period string) error
}

// Audit is the policy engine's audit log: refusals, locks and account
// changes. A nil Audit shows that there is none.
type Audit interface {
	// AuditEntries returns the entries matching q, newest first.
	AuditEntries(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}

// AuditQuery selects audit entries; zero fields select everything.
type AuditQuery struct {
	Subject, Action, Rule string
	// Subjects, when not nil, keeps only entries about these accounts (a
	// unit administrator's); an empty list selects nothing.
	Subjects     []string
	Since, Until time.Time // Until exclusive
	Limit        int
}

// AuditEntry is one entry of the audit log.
type AuditEntry struct {
	At                           time.Time
	Actor, Subject, Action, Rule string
	Protocol, IP, Detail         string
}

// SendLocks are the policy engine's sending locks (too much mail to
// outside domains). A nil SendLocks hides them.
type SendLocks interface {
	// SendLock returns the account's sending lock, or nil when it may send.
	SendLock(ctx context.Context, address string) (*SendLock, error)
	// UnlockSending lifts the lock, with an audit entry naming actor.
	UnlockSending(ctx context.Context, actor, address, reason string) error
}

// SendLock is an account's sending lock.
type SendLock struct {
	At     time.Time
	Reason string
}

// Queue is the outbound queue for the operators' queue view (queue.Admin
// behind an adapter). A nil Queue means outbound delivery is off.
type Queue interface {
	// List returns every queued message, oldest first.
	List(ctx context.Context) ([]QueuedMessage, error)
	// Show returns one message; ErrNotQueued when there is none.
	Show(ctx context.Context, id string) (*QueuedMessage, error)
	// Header returns the header block of a queued message.
	Header(ctx context.Context, id string) ([]byte, error)
	// Retry makes the waiting recipients of id (of every message when id
	// is "") due now and returns how many there are.
	Retry(ctx context.Context, id string) (int, error)
	// Delete removes a message without notifying its sender.
	Delete(ctx context.Context, id string) error
}

// ErrNotQueued is what Queue returns for an unknown message id.
var ErrNotQueued = errors.New("no such message in the queue")

// QueuedMessage is one message of the outbound queue.
type QueuedMessage struct {
	ID         string
	From       string // "" for the null sender (notifications)
	Created    time.Time
	Size       int64
	Recipients []QueuedRecipient
}

// Recipient states of the queue view, as `congvu queue list` names them.
const (
	QueueWaiting   = "waiting"   // not tried yet
	QueueDeferred  = "deferred"  // tried, to be retried
	QueueDelivered = "delivered" // accepted by the destination
	QueueFailed    = "failed"    // bounced to the sender
)

// QueuedRecipient is one recipient of a queued message.
type QueuedRecipient struct {
	Address     string
	State       string // QueueWaiting, QueueDeferred, QueueDelivered, QueueFailed
	Attempts    int
	NextAttempt time.Time // for waiting and deferred recipients
	LastAttempt time.Time // zero: never tried
	// RemoteMTA, Security and LastReply describe the last attempt: the
	// server that answered, how the connection was protected (TLS version,
	// certificate verification) and the reply or why no server answered.
	RemoteMTA, Security, LastReply string
}

// AccountStates is the policy engine's audited lifecycle change (lock,
// unlock, retire); unlocking through it also forgets failed logins.
type AccountStates interface {
	SetAccountState(ctx context.Context, actor, address string, s directory.State, reason string) error
}

// AccountFacts are what the account page shows beside the directory's
// entry: the mailbox's use of its quota and the last day of access. A nil
// AccountFacts hides them.
type AccountFacts interface {
	AccountFacts(ctx context.Context, a *directory.Account) (Facts, error)
}

// Facts of one account.
type Facts struct {
	// HasMailbox is false for a mailbox that never received mail (or
	// lives on another node); the byte counts are then zero.
	HasMailbox            bool
	UsedBytes, LimitBytes int64 // LimitBytes <= 0: no limit
	// LastAccess is the last day of access (midnight, Vietnamese time);
	// zero when none is recorded.
	LastAccess time.Time
}
