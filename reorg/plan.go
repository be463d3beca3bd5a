package reorg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"congvu/directory"
	"congvu/directory/addr"
	"congvu/policy"
)

// One plan per operation: Plan computes, from the directory as it is,
// every write an operation makes (the changed addresses with the
// convention's allocations, the units' new versions, the alias domain),
// writing nothing. Preview shows the plan; Run computes it and executes
// exactly its steps. Preview and Run therefore cannot list different
// changes: there is no second copy of the operations to drift.

// Plan is what one operation will do.
type Plan struct {
	Kind string
	Args Args
	// Changes are the accounts whose address or unit change, in the
	// order they are made.
	Changes []Change
	// Notes are the operator's lines known before running (an address
	// already taken at the new domain).
	Notes []string

	steps []step
	audit auditEntry
	done  []string // notes once it ran
}

// stepKind is one kind of write.
type stepKind int

const (
	stepRecordUnit        stepKind = iota // keep unit's version for reports of the past
	stepPutUnit                           // write unit
	stepAccount                           // make change of account
	stepDeleteUnit                        // remove unit (merged)
	stepAddDomainAlias                    // record the alias domain
	stepRemoveDomainAlias                 // end the alias domain
)

type step struct {
	kind           stepKind
	unit           directory.Unit
	account        directory.Account
	change         Change
	why            string
	domain, target string // an alias domain and the domain it delivers to
}

type auditEntry struct{ subject, action, detail string }

// Result is what the plan lists, for a confirmation page, with the
// plan's digest (Args.Plan of the confirmed run).
func (p *Plan) Result() *Result {
	return &Result{Changes: append([]Change(nil), p.Changes...), Notes: append([]string(nil), p.Notes...), Plan: p.Digest()}
}

// Digest names the plan's content: the same changes and notes give the
// same digest. A confirmation page sends it back with the operation
// (Args.Plan), and Run refuses when the plan is no longer the one shown.
func (p *Plan) Digest() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", p.Kind)
	for _, c := range p.Changes {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\n", c.OldAddress, c.NewAddress, c.OldUnit, c.NewUnit)
	}
	for _, n := range p.Notes {
		fmt.Fprintf(h, "%s\n", n)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// ErrPlanChanged refuses to run an operation whose plan is no longer the
// one the administrator confirmed (the directory changed in between).
var ErrPlanChanged = ErrReorg.WithMessage("The organisation changed since the preview: preview the operation again",
	"Tổ chức đã thay đổi kể từ lúc xem trước: hãy xem trước lại thao tác này")

// Preview tells what Run(kind, a) would change now, writing nothing: the
// plan Run would execute (the confirmation step of the admin web lists
// it before the operation runs).
func (s *Service) Preview(ctx context.Context, kind string, a Args) (*Result, error) {
	p, err := s.Plan(ctx, kind, a)
	if err != nil {
		return nil, err
	}
	return p.Result(), nil
}

// Plan computes what operation kind with arguments a would do now.
// Dissolving a unit is not planned (it only retires accounts; Run does it).
func (s *Service) Plan(ctx context.Context, kind string, a Args) (*Plan, error) {
	t, err := s.tree(ctx)
	if err != nil {
		return nil, err
	}
	b := &planner{s: s, planned: map[string]bool{}, p: &Plan{Kind: kind, Args: a}}
	switch kind {
	case KindMoveAccount:
		err = b.moveAccount(ctx, t, a.Address, a.Unit, a.Reason)
	case KindRenameUnit:
		err = b.renameUnit(ctx, t, a.Unit, a.Name, a.Abbr)
	case KindMoveUnit:
		err = b.moveUnit(ctx, t, a.Unit, a.Parent, directory.UnitKind(a.Kind))
	case KindMergeUnits:
		err = b.mergeUnits(ctx, t, a.From, a.Into)
	case KindDomainAliasAdd:
		err = b.addDomainAlias(ctx, a.Old, a.New)
	case KindDomainAliasRemove:
		err = b.removeDomainAlias(ctx, a.Old)
	default:
		err = ErrReorg.With(fmt.Errorf("unknown operation %q", kind))
	}
	if err != nil {
		return nil, err
	}
	return b.p, nil
}

// planner builds one Plan.
type planner struct {
	s       *Service
	planned map[string]bool // addresses given so far
	p       *Plan
}

func (b *planner) add(st step) { b.p.steps = append(b.p.steps, st) }

// relocate plans account a into unit under the convention of tree t.
func (b *planner) relocate(ctx context.Context, t *directory.Tree, a directory.Account, unit, why string) Change {
	na := b.s.conventionalAddress(ctx, t, a, unit, b.planned)
	b.planned[na] = true
	c := Change{OldAddress: a.Address, NewAddress: na, OldUnit: a.UnitCode, NewUnit: unit}
	if na != a.Address || unit != a.UnitCode {
		b.change(a, c, why)
	}
	return c
}

func (b *planner) change(a directory.Account, c Change, why string) {
	b.add(step{kind: stepAccount, account: a, change: c, why: why})
	b.p.Changes = append(b.p.Changes, c)
}

func (b *planner) moveAccount(ctx context.Context, t *directory.Tree, address, unit, reason string) error {
	a, err := b.s.deps.Dir.Lookup(ctx, address)
	if err != nil {
		return err
	}
	if _, ok := t.Units[unit]; !ok {
		return ErrReorg.With(fmt.Errorf("no unit %q", unit))
	}
	if a.UnitCode == unit {
		return ErrReorg.With(fmt.Errorf("%s is already in unit %s", a.Address, unit))
	}
	c := b.relocate(ctx, t, *a, unit, reason)
	b.p.audit = auditEntry{c.NewAddress, policy.ActionMove, fmt.Sprintf("%s (%s) → %s (%s): %s",
		c.OldAddress, c.OldUnit, c.NewAddress, c.NewUnit, reason)}
	return nil
}

func (b *planner) renameUnit(ctx context.Context, t *directory.Tree, code, name, abbr string) error {
	old, u, err := renamed(t, code, name, abbr)
	if err != nil {
		return err
	}
	if _, err := b.changeUnit(ctx, t, old, u, "đổi tên đơn vị / unit renamed"); err != nil {
		return err
	}
	b.p.audit = auditEntry{code, policy.ActionUnitChange, fmt.Sprintf("%s (%s) → %s (%s); %d địa chỉ đổi / addresses changed",
		old.Name, old.Abbr, u.Name, u.Abbr, len(b.p.Changes))}
	return nil
}

func (b *planner) moveUnit(ctx context.Context, t *directory.Tree, code, parent string, kind directory.UnitKind) error {
	old, u, err := moved(t, code, parent, kind)
	if err != nil {
		return err
	}
	if _, err := b.changeUnit(ctx, t, old, u, "chuyển đơn vị / unit moved"); err != nil {
		return err
	}
	b.p.audit = auditEntry{code, policy.ActionUnitChange, fmt.Sprintf("%s: cấp trên/parent %s → %s, loại/kind %s → %s; %d địa chỉ đổi / addresses changed",
		u.Name, old.ParentCode, u.ParentCode, old.Kind, u.Kind, len(b.p.Changes))}
	return nil
}

// changeUnit plans unit u (formerly old) in place of its version in t,
// then the new addresses the change gives: the accounts of every unit
// whose agency (the abbreviation in their addresses), abbreviation or
// kind changed. It returns the tree after the change.
func (b *planner) changeUnit(ctx context.Context, t *directory.Tree, old, u directory.Unit, why string) (*directory.Tree, error) {
	b.add(step{kind: stepRecordUnit, unit: old})
	b.add(step{kind: stepPutUnit, unit: u})
	nt := withUnit(t, u)
	for _, code := range nt.Subtree(u.Code) {
		before, after := t.Units[code], nt.Units[code]
		if t.Agency(code).Abbr == nt.Agency(code).Abbr && before.Abbr == after.Abbr && before.Kind == after.Kind {
			continue
		}
		if err := b.readdressUnit(ctx, nt, after, why); err != nil {
			return nil, err
		}
	}
	return nt, nil
}

// readdressUnit plans the accounts of unit u under the convention of tree
// t, its shared mailbox first (and the unit's new mailbox address).
func (b *planner) readdressUnit(ctx context.Context, t *directory.Tree, u directory.Unit, why string) error {
	accounts, err := b.s.deps.Dir.Accounts(ctx, u.Code)
	if err != nil {
		return err
	}
	mailbox := ""
	for _, a := range accounts {
		if a.Role != directory.RoleUnit || a.Address != u.Address {
			continue
		}
		mailbox = a.Address
		if c := b.relocate(ctx, t, a, u.Code, why); c.NewAddress != c.OldAddress {
			u.Address = c.NewAddress
			b.add(step{kind: stepPutUnit, unit: u})
			t.Units[u.Code] = u
		}
	}
	for _, a := range accounts {
		if a.Address != mailbox {
			b.relocate(ctx, t, a, u.Code, why)
		}
	}
	return nil
}

func (b *planner) mergeUnits(ctx context.Context, t *directory.Tree, from, into string) error {
	fu, iu, err := mergeable(t, from, into)
	if err != nil {
		return err
	}
	if _, ok := b.s.deps.Dir.(directory.UnitRemover); !ok {
		return ErrReorg.With(fmt.Errorf("the directory cannot remove units"))
	}
	why := fmt.Sprintf("sáp nhập %s vào %s / %s merged into %s", fu.Name, iu.Name, from, into)
	for _, child := range t.Children[from] {
		cu := t.Units[child]
		old := cu
		cu.ParentCode = into
		if t, err = b.changeUnit(ctx, t, old, cu, why); err != nil {
			return err
		}
	}
	accounts, err := b.s.deps.Dir.Accounts(ctx, from)
	if err != nil {
		return err
	}
	for _, a := range accounts {
		if a.Role == directory.RoleUnit {
			// The merged unit's mailbox keeps its address (and whoever
			// reads it keeps doing so) as a mailbox of the new unit.
			b.change(a, Change{OldAddress: a.Address, NewAddress: a.Address, OldUnit: from, NewUnit: into}, why)
			continue
		}
		b.relocate(ctx, t, a, into, why)
	}
	b.add(step{kind: stepRecordUnit, unit: fu})
	b.add(step{kind: stepDeleteUnit, unit: fu})
	b.p.audit = auditEntry{from, policy.ActionMerge, fmt.Sprintf("%s (%s) → %s (%s); %d tài khoản / accounts",
		fu.Name, from, iu.Name, into, len(accounts))}
	b.p.done = append(b.p.done, fmt.Sprintf("Đã sáp nhập %s vào %s / %s merged into %s", fu.Name, iu.Name, from, into))
	return nil
}

func (b *planner) addDomainAlias(ctx context.Context, oldDomain, newDomain string) error {
	old, nw := normDomainName(oldDomain), normDomainName(newDomain)
	if old == "" || nw == "" || old == nw || directory.CheckAddress("x@"+old) != nil || directory.CheckAddress("x@"+nw) != nil {
		return ErrReorg.With(fmt.Errorf("domain alias %q → %q", oldDomain, newDomain))
	}
	if err := b.s.deps.Org.CheckDomainAlias(ctx, old, nw); err != nil {
		return err
	}
	b.add(step{kind: stepAddDomainAlias, domain: old, target: nw})
	accounts, err := b.s.deps.Dir.Accounts(ctx, "")
	if err != nil {
		return err
	}
	units, err := b.s.deps.Dir.Units(ctx)
	if err != nil {
		return err
	}
	unitOf := map[string]directory.Unit{}
	for _, u := range units {
		if u.Address != "" {
			unitOf[u.Address] = u
		}
	}
	why := fmt.Sprintf("tên miền %s thành %s / domain %s became %s", old, nw, old, nw)
	for _, a := range accounts {
		if directory.Domain(a.Address) != old {
			continue
		}
		local := localPart(a.Address)
		newLocal := addr.Allocate(local, "", b.s.taken(ctx, a.Address, nw, b.planned))
		c := Change{OldAddress: a.Address, NewAddress: newLocal + "@" + nw, OldUnit: a.UnitCode, NewUnit: a.UnitCode}
		b.planned[c.NewAddress] = true
		b.change(a, c, why)
		if newLocal != local {
			b.p.Notes = append(b.p.Notes, fmt.Sprintf("%s đã có người dùng, %s nhận %s / %s was taken, %s got %s",
				local+"@"+nw, a.Address, c.NewAddress, local+"@"+nw, a.Address, c.NewAddress))
		}
		if u, ok := unitOf[a.Address]; ok {
			u.Address = c.NewAddress
			b.add(step{kind: stepPutUnit, unit: u})
		}
	}
	b.p.audit = auditEntry{"@" + old, policy.ActionAlias, fmt.Sprintf("bí danh tên miền / domain alias %s → %s; %d tài khoản chuyển / accounts moved",
		old, nw, len(b.p.Changes))}
	b.p.done = append(b.p.done, fmt.Sprintf("Thư gửi *@%s được chuyển đến *@%s / mail to *@%s is delivered to *@%s", old, nw, old, nw))
	return nil
}

func (b *planner) removeDomainAlias(ctx context.Context, oldDomain string) error {
	old := normDomainName(oldDomain)
	if _, ok, err := b.s.deps.Org.AliasDomainTarget(ctx, old); err != nil || !ok {
		if err == nil {
			err = ErrReorg.With(fmt.Errorf("no domain alias for %s", oldDomain))
		}
		return err
	}
	b.add(step{kind: stepRemoveDomainAlias, domain: old})
	b.p.audit = auditEntry{"@" + old, policy.ActionAlias, "bỏ bí danh tên miền / domain alias removed"}
	return nil
}

// execute carries out plan p's steps in order, by actor. On an error the
// result lists the changes made before it.
func (s *Service) execute(ctx context.Context, actor string, p *Plan) (*Result, error) {
	res := &Result{Notes: append([]string(nil), p.Notes...)}
	for _, st := range p.steps {
		var err error
		switch st.kind {
		case stepRecordUnit:
			err = s.deps.Org.RecordUnitVersion(ctx, st.unit, s.deps.Now())
		case stepPutUnit:
			err = s.deps.Dir.PutUnit(ctx, st.unit)
		case stepAccount:
			if err = s.apply(ctx, st.account, st.change, st.why); err == nil {
				res.Changes = append(res.Changes, st.change)
			}
		case stepDeleteUnit:
			rm, ok := s.deps.Dir.(directory.UnitRemover)
			if !ok {
				return res, ErrReorg.With(fmt.Errorf("the directory cannot remove units"))
			}
			err = rm.DeleteUnit(ctx, st.unit.Code)
		case stepAddDomainAlias:
			_, err = s.deps.Org.AddDomainAlias(ctx, st.domain, st.target, actor)
		case stepRemoveDomainAlias:
			var ok bool
			if ok, err = s.deps.Org.RemoveDomainAlias(ctx, st.domain); err == nil && !ok {
				err = ErrReorg.With(fmt.Errorf("no domain alias for %s", st.domain))
			}
		}
		if err != nil {
			return res, err
		}
	}
	if p.audit.action != "" {
		s.audit(ctx, actor, p.audit.subject, p.audit.action, p.audit.detail)
	}
	res.Notes = append(res.Notes, p.done...)
	if p.Kind == KindDomainAliasAdd {
		res.Notes = append(res.Notes, s.aliasKeyNotes(ctx, normDomainName(p.Args.Old), normDomainName(p.Args.New))...)
	}
	return res, nil
}

// aliasKeyNotes makes an alias domain's DKIM keys and tells the records to
// publish.
func (s *Service) aliasKeyNotes(ctx context.Context, old, nw string) []string {
	if s.deps.Keys == nil {
		return nil
	}
	lines, err := s.deps.Keys.AliasKeys(ctx, old, nw)
	if err != nil {
		s.deps.Log.Error("reorg: DKIM key for an alias domain", "domain", old, "err", err)
		return []string{fmt.Sprintf("Chưa tạo được khoá DKIM cho %s / no DKIM key made for %s: %v (congvu dkim keygen)", old, old, err)}
	}
	if len(lines) == 0 {
		return nil
	}
	return append([]string{fmt.Sprintf("Khoá DKIM cho %s, công bố bản ghi DNS / DKIM key for %s, publish (congvu dns %s):", old, old, old)}, lines...)
}

func normDomainName(d string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
}

// withUnit is t with u in place of its unit of the same code.
func withUnit(t *directory.Tree, u directory.Unit) *directory.Tree {
	units := make([]directory.Unit, 0, len(t.Units))
	for code, x := range t.Units {
		if code != u.Code {
			units = append(units, x)
		}
	}
	return directory.NewTree(append(units, u))
}
