package sieve

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/storage"
)

// Applying a user's active script at delivery: Plan decides, before the
// store, which folders (and flags) the message goes into; Finish, once it
// is stored, sends what the rules send (redirects, the vacation reply).

// Forwarder decides where a copy that account redirects to target goes:
// the policy engine's forwarding rule (state domains only) and, when
// target is a distribution list, the groups package's expansion with the
// account as sender (policy.Engine.ForwardTargets). through are the
// addresses the message has already passed (loop control). It returns
// the recipients of the copy and the trace fields (Delivered-To) to put on
// top of it; a refusal keeps the message (RFC 5228 2.10.6).
type Forwarder interface {
	ForwardTargets(ctx context.Context, account *directory.Account, target string, through []string) (rcpts []string, trace []byte, err error)
}

// DelivererOptions configure a Deliverer.
type DelivererOptions struct {
	Store *Store
	// Mail is the mail store, for fileinto's folder checks and :create.
	Mail storage.Store
	// Send hands a message to the outbound path (DKIM-signed, queued or
	// delivered locally); from "" is the null reverse-path. Nil: redirect
	// and vacation cannot send (redirected mail is kept instead).
	Send    func(ctx context.Context, from string, rcpts []string, msg io.Reader) error
	Forward Forwarder
	// Hostname goes into the Message-ID of vacation replies.
	Hostname            string
	MaxRedirects        int
	VacationDefaultDays int
	VacationMinDays     int
	// Location is the zone of date tests (Asia/Ho_Chi_Minh).
	Location *time.Location
	Logger   *slog.Logger
	Now      func() time.Time
}

// Deliverer applies scripts. A nil *Deliverer stores every message in its
// default folder.
type Deliverer struct {
	o DelivererOptions
}

// NewDeliverer returns a Deliverer.
func NewDeliverer(o DelivererOptions) *Deliverer {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	o.VacationMinDays = max(o.VacationMinDays, 1)
	if o.VacationDefaultDays < o.VacationMinDays {
		o.VacationDefaultDays = max(7, o.VacationMinDays)
	}
	return &Deliverer{o: o}
}

// Store returns the script store.
func (d *Deliverer) Store() *Store {
	if d == nil {
		return nil
	}
	return d.o.Store
}

// Delivery is one message for one local recipient.
type Delivery struct {
	Account      *directory.Account
	EnvelopeFrom string // "" for the null sender
	EnvelopeTo   string // as given in RCPT TO
	// Header is the message's header block as it will be stored.
	Header []byte
	Size   int64
	// DefaultFolder is where the message goes without rules: "" (INBOX),
	// or Junk for mail the inbound checks quarantined.
	DefaultFolder string
	// Open returns the whole message as stored, from its start.
	Open func() io.Reader
}

// Target is one copy to store.
type Target struct {
	Folder string
	Flags  []string
}

// Plan is what the rules decided for one recipient.
type Plan struct {
	// Targets are the copies to store; none means the script discarded
	// the message.
	Targets []Target

	d         Delivery
	msg       *Message
	redirects []redirect
	vacation  *VacationRequest
}

// redirect is one redirected copy, decided at Plan.
type redirect struct {
	to    string   // as the script wrote it
	rcpts []string // the target, or its group's members
	trace []byte   // Delivered-To fields on top of the copy
}

// Plan runs the recipient's active script (RFC 5228 2.10). It never
// fails: a missing, broken or failing script stores the message in the
// default folder (the implicit keep, 2.10.6).
func (d *Deliverer) Plan(ctx context.Context, in Delivery) *Plan {
	p := &Plan{d: in, Targets: []Target{{Folder: in.DefaultFolder}}}
	if d == nil || d.o.Store == nil || in.Account == nil {
		return p
	}
	// Quarantined mail stays in Junk: no rule moves it back, and nobody
	// who spoofed a sender gets a vacation reply or a redirected copy.
	if in.DefaultFolder != "" && !strings.EqualFold(in.DefaultFolder, storage.Inbox) {
		return p
	}
	log := d.o.Logger.With("rcpt", in.Account.Address)
	name, script, err := d.o.Store.Active(in.Account.Address)
	if err != nil {
		log.Warn("sieve: active script unusable, message kept", "script", name, "err", err)
		return p
	}
	if script == nil {
		return p
	}
	msg, _ := ParseMessage(bytes.NewReader(in.Header), in.Size, in.EnvelopeFrom, in.EnvelopeTo)
	msg.Received = d.o.Now()
	p.msg = msg
	res := script.Run(msg, Options{MaxRedirects: d.o.MaxRedirects, Location: d.o.Location})
	if res.Err != nil {
		log.Warn("sieve: run-time error, message kept", "script", name, "err", res.Err)
	}
	p.Targets = nil
	keep := func(flags []string) {
		p.Targets = append(p.Targets, Target{Folder: in.DefaultFolder, Flags: validFlags(flags)})
	}
	refused := false
	for _, a := range res.Actions {
		switch a.Kind {
		case ActionKeep:
			keep(a.Flags)
		case ActionFileInto:
			p.Targets = append(p.Targets, Target{Folder: d.folder(ctx, in.Account, a, log), Flags: validFlags(a.Flags)})
		case ActionRedirect:
			r, err := d.allowRedirect(ctx, in, msg, a.Address)
			if err != nil {
				log.Warn("sieve: redirect refused, message kept", "to", a.Address, "err", err)
				refused = true
				continue
			}
			p.redirects = append(p.redirects, r)
		case ActionVacation:
			p.vacation = a.Vacation
		}
	}
	// A refused redirect must not lose the message (RFC 5228 2.10.6).
	if refused && len(p.Targets) == 0 {
		keep(nil)
	}
	p.Targets = dedupeTargets(p.Targets)
	return p
}

func (d *Deliverer) allowRedirect(ctx context.Context, in Delivery, msg *Message, to string) (redirect, error) {
	if d.o.Send == nil {
		return redirect{}, mailerr.ErrOutboundDisabled
	}
	if d.o.Forward == nil {
		return redirect{}, mailerr.ErrForwardOutside
	}
	// RFC 5228 4.2: loop control with Delivered-To, as forwarding does.
	through := []string{in.EnvelopeTo}
	for _, v := range msg.Header.Values("Delivered-To") {
		if strings.EqualFold(strings.TrimSpace(v), in.Account.Address) {
			return redirect{}, errors.New("mail loop: already delivered to this account")
		}
		through = append(through, strings.TrimSpace(v))
	}
	rcpts, trace, err := d.o.Forward.ForwardTargets(ctx, in.Account, to, through)
	return redirect{to: to, rcpts: rcpts, trace: trace}, err
}

// folder resolves a fileinto target: an existing folder, one created for
// :create, else INBOX (RFC 5228 4.1 lets an implementation keep the
// message when the folder does not exist).
func (d *Deliverer) folder(ctx context.Context, acct *directory.Account, a Action, log *slog.Logger) string {
	if strings.EqualFold(a.Folder, storage.Inbox) {
		return storage.Inbox
	}
	if d.o.Mail == nil {
		return storage.Inbox
	}
	mb, err := d.o.Mail.Mailbox(ctx, acct.Address, acct.QuotaBytes)
	if err != nil {
		log.Warn("sieve: fileinto: mailbox unavailable, kept in INBOX", "folder", a.Folder, "err", err)
		return storage.Inbox
	}
	if _, err := mb.Status(ctx, a.Folder); err == nil {
		return a.Folder
	}
	if a.Create {
		if err := mb.Create(ctx, a.Folder); err == nil || errors.Is(err, mailerr.ErrFolderExists) {
			return a.Folder
		}
		log.Warn("sieve: fileinto :create failed, kept in INBOX", "folder", a.Folder, "err", err)
		return storage.Inbox
	}
	log.Info("sieve: fileinto: no such folder, kept in INBOX", "folder", a.Folder)
	return storage.Inbox
}

func dedupeTargets(in []Target) []Target {
	var out []Target
	seen := map[string]bool{}
	for _, t := range in {
		k := strings.ToLower(t.Folder)
		if k == "" || k == "inbox" {
			k = "inbox"
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, t)
	}
	return out
}

// validFlags keeps flags the store accepts: the system flags and IMAP
// keyword atoms (RFC 9051 9).
func validFlags(in []string) []string {
	var out []string
	for _, f := range in {
		if strings.HasPrefix(f, `\`) {
			switch strings.ToLower(f) {
			case `\seen`, `\answered`, `\flagged`, `\deleted`, `\draft`:
				out = append(out, f)
			}
			continue
		}
		ok := f != "" && len(f) <= 100
		for i := 0; ok && i < len(f); i++ {
			c := f[i]
			ok = c > ' ' && c < 0x7f && !strings.ContainsRune(`(){%*"\]`, rune(c))
		}
		if ok {
			out = append(out, f)
		}
	}
	return out
}

// Finish sends what the rules send, once the message is stored: redirected
// copies and the vacation reply. Failures are logged; the message itself
// is already delivered.
func (d *Deliverer) Finish(ctx context.Context, p *Plan) {
	if d == nil || p == nil || (len(p.redirects) == 0 && p.vacation == nil) {
		return
	}
	acct := p.d.Account
	log := d.o.Logger.With("rcpt", acct.Address)
	for _, r := range p.redirects {
		if err := d.o.Send(ctx, acct.Address, r.rcpts, io.MultiReader(bytes.NewReader(r.trace), p.d.Open())); err != nil {
			log.Error("sieve: redirect not sent", "to", r.to, "err", err)
			continue
		}
		log.Info("sieve: redirected", "to", r.to, "recipients", len(r.rcpts))
	}
	if p.vacation != nil {
		d.vacation(ctx, p, log)
	}
}

func (d *Deliverer) vacation(ctx context.Context, p *Plan, log *slog.Logger) {
	v, acct, m := p.vacation, p.d.Account, p.msg
	addrs := []string{strings.ToLower(acct.Address)}
	for _, a := range acct.Aliases {
		addrs = append(addrs, strings.ToLower(a))
	}
	for _, a := range v.Addresses {
		if pa, err := mail.ParseAddress(a); err == nil {
			addrs = append(addrs, strings.ToLower(pa.Address))
		}
	}
	if reason := vacationSkip(m, addrs); reason != "" {
		log.Info("sieve: no vacation reply", "sender", m.EnvelopeFrom, "why", reason)
		return
	}
	if d.o.Send == nil {
		log.Warn("sieve: vacation reply not sent: outbound mail unavailable", "sender", m.EnvelopeFrom)
		return
	}
	days := v.Days
	if days == 0 {
		days = d.o.VacationDefaultDays
	}
	days = max(days, d.o.VacationMinDays)
	// Only the account's own addresses may sign a reply: :addresses only
	// widens who the message counts as addressed to (RFC 5230 4.5).
	own := []string{strings.ToLower(acct.Address)}
	for _, a := range acct.Aliases {
		own = append(own, strings.ToLower(a))
	}
	from := d.replyFrom(v, acct, m, own)
	now := d.o.Now()
	reply, err := composeReply(v, m, from, m.EnvelopeFrom, d.o.Hostname, now)
	if err != nil {
		log.Warn("sieve: vacation reply not composed", "err", err)
		return
	}
	// One reply per sender per period, decided and recorded under the
	// user's lock so two messages arriving together get one reply.
	// The lock is not held while sending: the reply may be delivered
	// locally, through another user's rules.
	unlock := d.o.Store.lock(acct.Address)
	due, err := d.o.Store.vacationDue(acct.Address, vacationHandle(v), m.EnvelopeFrom, days, now)
	unlock()
	if err != nil {
		log.Error("sieve: vacation record unavailable, no reply", "err", err)
		return
	}
	if !due {
		log.Info("sieve: vacation reply already sent in this period", "sender", m.EnvelopeFrom, "days", days)
		return
	}
	// RFC 5230 5.1 / RFC 3834 3.3: the null reverse-path, so the reply
	// never draws a bounce or another auto-reply.
	if err := d.o.Send(ctx, "", []string{m.EnvelopeFrom}, bytes.NewReader(reply)); err != nil {
		log.Error("sieve: vacation reply not sent", "to", m.EnvelopeFrom, "err", err)
		return
	}
	log.Info("sieve: vacation reply sent", "to", m.EnvelopeFrom)
}

// replyFrom is the From of the reply: :from when it is one of the user's
// addresses (anything else would be refused by the anti-spoofing checks
// and is not the user's to use), else the user's address the message was
// sent to (RFC 5230 errata 2035), else the primary address.
func (d *Deliverer) replyFrom(v *VacationRequest, acct *directory.Account, m *Message, addrs []string) *mail.Address {
	own := func(a string) bool {
		for _, x := range addrs {
			if strings.EqualFold(a, x) {
				return true
			}
		}
		return false
	}
	if v.From != "" {
		if pa, err := mail.ParseAddress(v.From); err == nil && own(pa.Address) {
			if pa.Name == "" {
				pa.Name = acct.DisplayName
			}
			return pa
		}
	}
	for _, h := range []string{"To", "Cc"} {
		for _, raw := range m.Header.Values(h) {
			list, err := mail.ParseAddressList(unfold(raw))
			if err != nil {
				continue
			}
			for _, a := range list {
				if own(a.Address) {
					return &mail.Address{Name: acct.DisplayName, Address: strings.ToLower(a.Address)}
				}
			}
		}
	}
	return &mail.Address{Name: acct.DisplayName, Address: acct.Address}
}
