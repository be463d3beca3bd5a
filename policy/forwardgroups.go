package policy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/textproto"
	"strings"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/storage"
)

// Forwarding to a distribution list. A Sieve redirect or a forwarding rule
// is a new submission by the forwarding account: the copy leaves with the
// account as its envelope sender (RFC 5228 4.2 leaves the choice to the
// implementation; congvu, like Pigeonhole's sieve_redirect_envelope_from =
// recipient, uses the account). So a target that is a group is expanded
// exactly as mail the account wrote to it would be at RCPT: by the groups
// package's one expansion, with the group's who-may-send rule applied to
// the account, its depth and size limits, and its refusals. Postfix's
// local(8) does the same for an alias list reached through .forward, and
// like it congvu records each hop with Delivered-To (the account, then the
// group) and refuses to send a copy through an address the message has
// already passed through, so no rule sends mail round a loop.

// Groups expands distribution lists (groups.Expander): the group's own
// address and its mailboxes; ok=false when address is no group. sender's
// right to write to the group is checked (a refusal is a *mailerr.Error).
type Groups interface {
	ExpandGroupFor(ctx context.Context, address, sender string) (group string, members []*directory.Account, ok bool, err error)
}

// RuleForwardGroup names refused forwards to a group in the audit log.
const RuleForwardGroup = "forward-group"

// ErrForwardLoop refuses a forwarded copy through an address the message
// has already passed (RFC 3463 5.4.6: routing loop detected).
var ErrForwardLoop = &mailerr.Error{SMTPCode: 554, Enhanced: [3]int{5, 4, 6}, IMAPCode: "CANNOT", HTTPStatus: 409,
	Message:   "Forwarding loop: the message already went through this address",
	MessageVI: "Vòng lặp chuyển tiếp: thư đã đi qua địa chỉ này"}

// ErrForwardNobodyLeft: every member of the group already has the message
// (or the group has none), so the copy would reach nobody.
var ErrForwardNobodyLeft = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 2, 1}, IMAPCode: "CANNOT", HTTPStatus: 422,
	Message:   "The group has no member who has not already received the message",
	MessageVI: "Nhóm thư không còn thành viên nào chưa nhận thư"}

// ForwardCopy is where one forwarded copy goes.
type ForwardCopy struct {
	// Rcpts are the target, or the mailboxes of the group it names.
	Rcpts []string
	// Group is the group's address when the target is a group; Members
	// are its mailboxes (Rcpts as accounts).
	Group   string
	Members []*directory.Account
}

// Header is the trace lines to put on top of the copy: Delivered-To the
// forwarding account, then the group (the latest hop first, as MTAs
// prepend them).
func (c ForwardCopy) Header(account string) []byte {
	h := "Delivered-To: " + account + "\r\n"
	if c.Group != "" {
		h = "Delivered-To: " + c.Group + "\r\n" + h
	}
	return []byte(h)
}

// ForwardTargets is the one decision on a copy that account forwards to
// target (a Sieve redirect; the engine's forwarding rules use it too):
// the state-domain rule (AllowForward), then, when target is a group, its
// expansion for the account. through are the addresses the message has
// already passed (its Delivered-To fields and the address it was
// delivered to): a copy through one of them is a loop, and members among
// them are left out.
func (e *Engine) ForwardTargets(ctx context.Context, account *directory.Account, target string, through []string) (ForwardCopy, error) {
	if err := e.AllowForward(ctx, account, target); err != nil {
		return ForwardCopy{}, err
	}
	return e.forwardCopy(ctx, account, target, through)
}

func (e *Engine) forwardCopy(ctx context.Context, account *directory.Account, target string, through []string) (ForwardCopy, error) {
	return forwardCopy(ctx, e.opts.Dir, e.opts.Groups, e.audit, account, target, through)
}

// forwardCopy expands target when it is a group (see ForwardTargets);
// refusals by the group's rule are audited.
func forwardCopy(ctx context.Context, dir directory.Directory, groups Groups, audit func(AuditEntry),
	account *directory.Account, target string, through []string) (ForwardCopy, error) {
	target = directory.NormalizeAddress(target)
	c := ForwardCopy{Rcpts: []string{target}}
	if groups == nil || dir == nil {
		return c, nil
	}
	if _, err := dir.Lookup(ctx, target); !errors.Is(err, mailerr.ErrUnknownUser) {
		return c, err // an account (or the directory's failure, temporary)
	}
	sender, subject := "", ""
	if account != nil {
		sender, subject = account.Address, account.Address
	}
	group, members, ok, err := groups.ExpandGroupFor(ctx, target, sender)
	if err == nil && !ok {
		return c, nil // another server's address, or nobody: delivery answers
	}
	if err != nil {
		if me := mailerr.As(err); me != nil && me.SMTPCode >= 500 {
			audit(AuditEntry{Subject: subject, Action: ActionReject, Rule: RuleForwardGroup,
				Detail: fmt.Sprintf("forward to group %s: %s", target, me.Message)})
		}
		return ForwardCopy{}, err
	}
	seen := map[string]bool{sender: true}
	for _, a := range through {
		seen[directory.NormalizeAddress(a)] = true
	}
	if seen[group] || seen[target] {
		return ForwardCopy{}, ErrForwardLoop.With(fmt.Errorf("%s: the message already went through %s", subject, group))
	}
	c = ForwardCopy{Group: group}
	for _, m := range members {
		if !seen[m.Address] {
			seen[m.Address] = true
			c.Rcpts = append(c.Rcpts, m.Address)
			c.Members = append(c.Members, m)
		}
	}
	if len(c.Rcpts) == 0 {
		return ForwardCopy{}, ErrForwardNobodyLeft.With(fmt.Errorf("group %s", group))
	}
	return c, nil
}

// maxTraceHeader bounds how much of a message's header is read for its
// Delivered-To fields.
const maxTraceHeader = 256 << 10

// DeliveredTo lists the Delivered-To fields of a message's header: the
// addresses it has already been delivered or forwarded through.
func DeliveredTo(msg io.Reader) []string {
	h, err := textproto.NewReader(bufio.NewReader(io.LimitReader(msg, maxTraceHeader))).ReadMIMEHeader()
	if err != nil && h == nil {
		return nil
	}
	var out []string
	for _, v := range h.Values("Delivered-To") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// forwardToGroup stores a forwarding rule's copy for a group's members,
// directly (like every forwarded copy: no member's rules run on it, so it
// is never forwarded again).
func (e *Engine) forwardToGroup(ctx context.Context, c ForwardCopy, msg io.Reader, log *slog.Logger) {
	rcpts := make([]storage.Recipient, 0, len(c.Members))
	for _, m := range c.Members {
		rcpts = append(rcpts, storage.Recipient{User: m.Address, QuotaBytes: m.QuotaBytes})
	}
	res, err := e.opts.Store.Deliver(ctx, msg, rcpts)
	if err != nil {
		log.Warn("policy: forwarded copies for the group not stored", "group", c.Group, "err", err)
		return
	}
	stored := 0
	for i, r := range res {
		if r.Err != nil {
			log.Warn("policy: forwarded copy for a member not stored", "group", c.Group, "member", rcpts[i].User, "err", r.Err)
			continue
		}
		stored++
	}
	log.Info("policy: forwarded copies stored for the group", "group", c.Group, "members", stored)
}
