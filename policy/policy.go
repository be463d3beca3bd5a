// Package policy is congvu's policy engine: rules evaluated at fixed points
// of every protocol (connection, authentication, MAIL FROM, RCPT TO, DATA,
// APPEND, web actions), with per-domain thresholds from the [policy] section
// of the configuration. The daemons call it through the narrow Hooks
// interface; Engine is the implementation.
//
// The first policies are the account-security rules of the Ninh Bình
// regulation (QĐ 162/2025/QĐ-UBND, the defaults in internal/config): lock an
// account after more than 12 consecutive failed logins on any protocol,
// throttle failed logins per client address, lock sending after more than
// 250 messages to outside domains in 10 minutes, refuse initial and expired
// passwords to mail clients, lock accounts whose initial password is
// unchanged after a month, delete retired mailboxes after their
// retention period, and refuse auto-forwarding outside the state's domains.
//
// Every decision that refuses or locks something is written to an audit log
// (SQLite, in the data directory). The engine also records every successful
// access per official and day (the provincial plans require daily access)
// and per-unit message counters; the report functions turn them into the
// tables the provinces publish, and a daily digest mails each unit admin the
// officials who did not access the day before.
package policy

import (
	"context"
	"errors"
	"io"
	"net/netip"

	"congvu/directory"
	"congvu/internal/mailerr"
)

// Protocol names where an event comes from.
type Protocol string

const (
	SMTP       Protocol = "smtp"       // MX: mail from other servers
	Submission Protocol = "submission" // SMTP AUTH on 587/465
	IMAP       Protocol = "imap"
	POP3       Protocol = "pop3"
	Web        Protocol = "web" // webmail and admin pages, app passwords included
)

// Protocol bits of an access record.
const (
	BitIMAP uint8 = 1 << iota
	BitPOP3
	BitSMTP
	BitWeb
)

// Bit is the access-record bit of p (SMTP AUTH counts as SMTP).
func (p Protocol) Bit() uint8 {
	switch p {
	case IMAP:
		return BitIMAP
	case POP3:
		return BitPOP3
	case SMTP, Submission:
		return BitSMTP
	case Web:
		return BitWeb
	}
	return 0
}

// ProtocolNames lists the protocols set in an access-record bitmask.
func ProtocolNames(bits uint8) []string {
	var out []string
	for _, p := range []struct {
		bit  uint8
		name string
	}{{BitIMAP, "IMAP"}, {BitPOP3, "POP3"}, {BitSMTP, "SMTP"}, {BitWeb, "Web"}} {
		if bits&p.bit != 0 {
			out = append(out, p.name)
		}
	}
	return out
}

// Verdict is what a rule decided.
type Verdict uint8

const (
	Accept Verdict = iota
	Reject         // permanent refusal (5xx, NO, 403)
	Defer          // temporary refusal: come back later (4xx, NO [UNAVAILABLE], 429/503)
	Lock           // the account was locked; the request is refused
)

func (v Verdict) String() string {
	return [...]string{"accept", "reject", "defer", "lock"}[v]
}

// Decision is the outcome of one hook. A refusal carries the
// *mailerr.Error the protocol edge turns into its reply (SMTP code and
// enhanced code, IMAP response code, HTTP status, English and Vietnamese
// text).
type Decision struct {
	Verdict Verdict
	Rule    string // the rule that decided; "" when accepted
	Reason  *mailerr.Error
}

// Refused reports whether the request must not go on.
func (d Decision) Refused() bool { return d.Verdict != Accept }

// Err is the error to answer with, or nil when accepted.
func (d Decision) Err() error {
	if d.Verdict == Accept || d.Reason == nil {
		return nil
	}
	return d.Reason
}

// Conn is a new connection.
type Conn struct {
	Protocol Protocol
	IP       netip.Addr // invalid when not TCP
}

// AuthAttempt is a login before its password is checked.
type AuthAttempt struct {
	Protocol Protocol
	IP       netip.Addr
	Login    string // as typed; never the password
}

// AuthResult is what the directory said about a login.
type AuthResult uint8

const (
	AuthOK          AuthResult = iota
	AuthFailed                 // wrong password or unknown login
	AuthDisabled               // right password, account locked or retired (or its password expired in the directory)
	AuthUnavailable            // directory down: says nothing about the user
)

// ClassifyAuth turns the directory's answer to a password check into an
// AuthResult; anything unclassified says nothing about the user.
func ClassifyAuth(err error) AuthResult {
	switch {
	case err == nil:
		return AuthOK
	case errors.Is(err, mailerr.ErrAccountDisabled), errors.Is(err, mailerr.ErrPasswordExpired):
		return AuthDisabled
	case errors.Is(err, mailerr.ErrAuthFailed), errors.Is(err, mailerr.ErrUnknownUser):
		return AuthFailed
	}
	return AuthUnavailable
}

// AuthOutcome is a login after the directory answered.
type AuthOutcome struct {
	AuthAttempt
	Result AuthResult
	// Account is the account when the directory returned it (AuthOK,
	// AuthDisabled); nil otherwise.
	Account *directory.Account
}

// Envelope is an SMTP transaction as of MAIL FROM.
type Envelope struct {
	Protocol Protocol // SMTP (MX) or Submission
	IP       netip.Addr
	// Account is the authenticated sender on submission; nil on MX.
	Account *directory.Account
	From    string // reverse-path, "" for the null sender
}

// Recipient is one RCPT TO.
type Recipient struct {
	Address string
	// Account is the local account (nil for other domains).
	Account *directory.Account
	// Given is the address as the sender wrote it in RCPT TO, set in
	// Message.Rcpts (an old address resolved to Account is not Address).
	Given string
}

// Local reports whether the recipient is one of our accounts.
func (r Recipient) Local() bool { return r.Account != nil }

// Message is a transaction at the end of DATA: the message is complete and
// nothing is stored yet.
type Message struct {
	Envelope
	Rcpts []Recipient
	Size  int64
	// Open returns the message (as received, without our trace fields)
	// from its start. Each call returns a new reader.
	Open func() io.Reader
	// Held, when not nil, returns what Open reads as one slice if the
	// caller holds it so in memory, nil otherwise; it must not be
	// modified. A checker that needs the whole message at once uses it
	// instead of a copy.
	Held func() []byte
	// Attachment, when not nil, says whether the message carries an
	// attachment (IsAttachment on a part below its top level, through
	// multiparts), as the caller found while it read the parts; nil lets
	// the engine read the message (Open) to find out.
	Attachment *bool
	// Documents are the official-document facts (package official), set
	// before delivery; nil when not checked.
	Documents *Documents
}

// AppendEvent is an IMAP APPEND (RFC 9051 6.3.12) before it is stored.
type AppendEvent struct {
	IP      netip.Addr
	Account *directory.Account
	Folder  string
	Size    int64
}

// WebAction is something a user does in the web application ("send",
// "forward.set", "admin.unlock", …).
type WebAction struct {
	IP      netip.Addr
	Account *directory.Account
	Action  string
	Target  string // what the action is about (an address, a unit), may be empty
}

// Hooks is what the protocol daemons call. Every method is safe for
// concurrent use and returns quickly: slow work (disk writes of access
// records and audit entries) is batched in the background.
type Hooks interface {
	// Connect runs when a client connects (SMTP: at its first EHLO/HELO,
	// where go-smtp creates the session).
	Connect(ctx context.Context, c Conn) Decision
	// BeforeAuth runs before the password is checked (throttling).
	BeforeAuth(ctx context.Context, a AuthAttempt) Decision
	// AfterAuth runs after the directory answered: it counts failures,
	// may lock the account, and records the access of a success. A refusal
	// replaces the daemon's own answer.
	AfterAuth(ctx context.Context, o AuthOutcome) Decision
	MailFrom(ctx context.Context, e Envelope) Decision
	RcptTo(ctx context.Context, e Envelope, r Recipient) Decision
	// Data runs once the message is received, before it is stored.
	Data(ctx context.Context, m *Message) Decision
	// Delivered runs after the message was stored for the local
	// recipients and before the client is told so (usage counters,
	// forwarding).
	Delivered(ctx context.Context, m *Message)
	Append(ctx context.Context, a AppendEvent) Decision
	WebAction(ctx context.Context, w WebAction) Decision
	// TrackSession registers an authenticated IMAP/POP3 (or other
	// long-lived) session so that it is ended when its account is locked,
	// retired or its password reset; call untrack when it ends.
	TrackSession(s Session) (untrack func())
	// Audit records a decision a daemon took itself (a virus found by the
	// content scanner, spam sent to Junk) in the audit log.
	Audit(ctx context.Context, a AuditEntry)
}

// Nop accepts everything and records nothing: the daemons use it when they
// are given no policy (tests, tools).
type Nop struct{}

var _ Hooks = Nop{}

func (Nop) Connect(context.Context, Conn) Decision               { return Decision{} }
func (Nop) BeforeAuth(context.Context, AuthAttempt) Decision     { return Decision{} }
func (Nop) AfterAuth(context.Context, AuthOutcome) Decision      { return Decision{} }
func (Nop) MailFrom(context.Context, Envelope) Decision          { return Decision{} }
func (Nop) RcptTo(context.Context, Envelope, Recipient) Decision { return Decision{} }
func (Nop) Data(context.Context, *Message) Decision              { return Decision{} }
func (Nop) Delivered(context.Context, *Message)                  {}
func (Nop) Append(context.Context, AppendEvent) Decision         { return Decision{} }
func (Nop) WebAction(context.Context, WebAction) Decision        { return Decision{} }
func (Nop) TrackSession(Session) func()                          { return func() {} }
func (Nop) Audit(context.Context, AuditEntry)                    {}

// OrNop returns h, or Nop when h is nil.
func OrNop(h Hooks) Hooks {
	if h == nil {
		return Nop{}
	}
	return h
}

// AddrIP converts a net.Addr string ("1.2.3.4:5") or IP to netip.Addr;
// the zero Addr when it is neither.
func AddrIP(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}
