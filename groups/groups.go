// Package groups expands distribution lists (nhóm thư) at delivery and
// decides who may send to them. A group is either custom (explicit
// member addresses: accounts or other groups) or unit-wide (everybody of
// a unit, and of its sub-units when the administrator chose so, read from
// the directory at each delivery, so a newcomer is a member at once).
// Groups live in congvu's own store (directory/orgdb).
package groups

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"congvu/directory"
	"congvu/directory/orgdb"
	"congvu/internal/mailerr"
)

// Limits of one expansion: a group inside a group inside a group at
// most, and at most MaxRecipients mailboxes after duplicates are removed.
const (
	MaxDepth      = 3
	MaxRecipients = 10000
)

// Store is where groups are kept (orgdb.DB), with the domain aliases of
// merged provinces: a group keeps its old-domain address as every account
// does.
type Store interface {
	GetGroup(ctx context.Context, address string) (*orgdb.Group, error)
	AliasDomainTarget(ctx context.Context, domain string) (string, bool, error)
}

// Expander resolves group addresses at delivery.
type Expander struct {
	dir   directory.Directory
	store Store
	// isState reports whether a domain belongs to the state's mail
	// (policy.state_domains and the local and alias domains).
	isState func(domain string) bool
	log     *slog.Logger
}

// New returns an Expander. isState may be nil (no domain is a state
// domain then, and the "state" rule accepts nobody).
func New(dir directory.Directory, store Store, isState func(string) bool, log *slog.Logger) *Expander {
	if isState == nil {
		isState = func(string) bool { return false }
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Expander{dir: dir, store: store, isState: isState, log: log}
}

// Refusals of a sender (RCPT time). RFC 3463 5.7.1: delivery not
// authorized, message refused. The wire text is ASCII, the Vietnamese
// without diacritics first, as for the other refusals officials read.
var (
	ErrMembersOnly = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 7, 1}, IMAPCode: "NOPERM", HTTPStatus: 403,
		Message:   "Nhom thu chi nhan thu tu thanh vien cua nhom / Only members of this group may send to it",
		MessageVI: "Nhóm thư chỉ nhận thư từ thành viên của nhóm"}
	ErrUnitOnly = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 7, 1}, IMAPCode: "NOPERM", HTTPStatus: 403,
		Message:   "Nhom thu chi nhan thu tu can bo cua don vi / Only officials of the group's unit may send to it",
		MessageVI: "Nhóm thư chỉ nhận thư từ cán bộ của đơn vị"}
	ErrStateOnly = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 7, 1}, IMAPCode: "NOPERM", HTTPStatus: 403,
		Message:   "Nhom thu chi nhan thu tu dia chi cong vu / Only addresses of the state mail system may send to this group",
		MessageVI: "Nhóm thư chỉ nhận thư từ địa chỉ thư công vụ"}
	// ErrTooLarge: RFC 3463 5.5.3, too many recipients.
	ErrTooLarge = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 5, 3},
		Message:   fmt.Sprintf("Nhom thu qua lon / Group expands to more than %d mailboxes", MaxRecipients),
		MessageVI: fmt.Sprintf("Nhóm thư có hơn %d hộp thư", MaxRecipients)}
)

// Expansion is a group resolved for one message.
type Expansion struct {
	Group   *orgdb.Group
	Members []*directory.Account // mailboxes to deliver to, each once, none retired
}

// Expand resolves address when it is a group: ok=false when it is not.
// sender is the envelope sender ("" for the null sender); the group's
// sending rule is applied to it and a refusal is a *mailerr.Error
// (550 5.7.1). Nested groups are expanded to MaxDepth levels (deeper ones
// and cycles are left out and logged), and only the addressed group's
// rule decides.
func (x *Expander) Expand(ctx context.Context, address, sender string) (*Expansion, bool, error) {
	g, err := x.store.GetGroup(ctx, address)
	if err == nil && g == nil {
		g, err = x.atNewDomain(ctx, address)
	}
	if err != nil || g == nil {
		return nil, false, err
	}
	e := &Expansion{Group: g}
	seen := map[string]bool{}
	visited := map[string]bool{g.Address: true}
	if err := x.collect(ctx, g, 1, seen, visited, e); err != nil {
		return nil, true, err
	}
	if err := x.allowed(ctx, g, e, sender); err != nil {
		return nil, true, err
	}
	return e, true, nil
}

// atNewDomain finds the group of address at the domain its domain is an
// alias of (mail to lanhdao.syt@ninhthuan.gov.vn after the merger reaches
// lanhdao.syt@khanhhoa.gov.vn), nil when none.
func (x *Expander) atNewDomain(ctx context.Context, address string) (*orgdb.Group, error) {
	at := strings.LastIndexByte(address, '@')
	if at <= 0 {
		return nil, nil
	}
	target, ok, err := x.store.AliasDomainTarget(ctx, address[at+1:])
	if err != nil || !ok {
		return nil, err
	}
	return x.store.GetGroup(ctx, address[:at+1]+target)
}

// Members expands a group for display (CLI, admin pages): what a message
// sent now would reach. No sending rule applies.
func (x *Expander) Members(ctx context.Context, g *orgdb.Group) ([]*directory.Account, error) {
	e := &Expansion{Group: g}
	err := x.collect(ctx, g, 1, map[string]bool{}, map[string]bool{g.Address: true}, e)
	return e.Members, err
}

func (x *Expander) collect(ctx context.Context, g *orgdb.Group, depth int, seen, visited map[string]bool, e *Expansion) error {
	add := func(a *directory.Account) error {
		if a.State == directory.StateRetired || seen[a.Address] {
			return nil
		}
		if len(e.Members) >= MaxRecipients {
			return ErrTooLarge.With(fmt.Errorf("group %s", e.Group.Address))
		}
		seen[a.Address] = true
		e.Members = append(e.Members, a)
		return nil
	}
	if g.Kind == orgdb.GroupUnit {
		codes := []string{g.UnitCode}
		if g.SubUnits {
			units, err := x.dir.Units(ctx)
			if err != nil {
				return err
			}
			codes = directory.NewTree(units).Subtree(g.UnitCode)
		}
		for _, code := range codes {
			accts, err := x.dir.Accounts(ctx, code)
			if err != nil {
				return err
			}
			for i := range accts {
				if accts[i].Role == directory.RoleUnit {
					continue // the unit's shared mailbox is not a person
				}
				if err := add(&accts[i]); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, m := range g.Members {
		a, err := x.dir.Lookup(ctx, m)
		if err == nil {
			if err := add(a); err != nil {
				return err
			}
			continue
		}
		if !errors.Is(err, mailerr.ErrUnknownUser) {
			return err
		}
		sub, err := x.store.GetGroup(ctx, m)
		if err != nil {
			return err
		}
		switch {
		case sub == nil:
			x.log.Warn("groups: member is neither an account nor a group", "group", g.Address, "member", m)
		case visited[sub.Address]:
			x.log.Warn("groups: group loop left out", "group", g.Address, "member", m)
		case depth >= MaxDepth:
			x.log.Warn("groups: nesting deeper than the limit left out", "group", g.Address, "member", m, "limit", MaxDepth)
		default:
			visited[sub.Address] = true
			if err := x.collect(ctx, sub, depth+1, seen, visited, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// allowed applies the group's sending rule to the envelope sender.
func (x *Expander) allowed(ctx context.Context, g *orgdb.Group, e *Expansion, sender string) error {
	sender = directory.NormalizeAddress(sender)
	if g.Policy == orgdb.PolicyAnyone {
		return nil
	}
	why := fmt.Errorf("MAIL FROM:<%s> to group %s (rule %s)", sender, g.Address, g.Policy)
	refusal := map[string]*mailerr.Error{orgdb.PolicyMembers: ErrMembersOnly, orgdb.PolicyUnit: ErrUnitOnly,
		orgdb.PolicyState: ErrStateOnly}[g.Policy]
	if refusal == nil || sender == "" {
		return ErrMembersOnly.With(why) // an unknown rule or a bounce: nobody
	}
	if g.Policy == orgdb.PolicyState {
		if x.isState(directory.Domain(sender)) {
			return nil
		}
		return refusal.With(why)
	}
	acct, err := x.dir.Lookup(ctx, sender)
	if errors.Is(err, mailerr.ErrUnknownUser) {
		return refusal.With(why)
	}
	if err != nil {
		return err
	}
	switch g.Policy {
	case orgdb.PolicyMembers:
		for _, m := range e.Members {
			if m.Address == acct.Address {
				return nil
			}
		}
	case orgdb.PolicyUnit:
		if acct.UnitCode == g.UnitCode {
			return nil
		}
		if g.SubUnits {
			units, err := x.dir.Units(ctx)
			if err != nil {
				return err
			}
			if directory.NewTree(units).SubtreeSet(g.UnitCode)[acct.UnitCode] {
				return nil
			}
		}
	}
	return refusal.With(why)
}

// PolicyLabel is a sending rule in words (Vietnamese / English).
func PolicyLabel(p string) string {
	switch p {
	case orgdb.PolicyMembers:
		return "thành viên của nhóm / members"
	case orgdb.PolicyUnit:
		return "cán bộ của đơn vị / the unit"
	case orgdb.PolicyState:
		return "mọi địa chỉ công vụ / any state address"
	case orgdb.PolicyAnyone:
		return "mọi người / anyone"
	}
	return strings.TrimSpace(p)
}

// ExpandGroup is Expand for smtpd (smtpd.Groups).
func (x *Expander) ExpandGroup(ctx context.Context, address, sender string) ([]*directory.Account, bool, error) {
	e, ok, err := x.Expand(ctx, address, sender)
	if err != nil || !ok {
		return nil, ok, err
	}
	return e.Members, true, nil
}

// ExpandGroupFor is Expand for forwarding (policy.Groups): a Sieve
// redirect or a forwarding rule whose target is a group. It also returns
// the group's own address (the target may be its old-domain form), which
// the forwarding path uses for loop detection.
func (x *Expander) ExpandGroupFor(ctx context.Context, address, sender string) (string, []*directory.Account, bool, error) {
	e, ok, err := x.Expand(ctx, address, sender)
	if err != nil || !ok {
		return "", nil, ok, err
	}
	return e.Group.Address, e.Members, true, nil
}
