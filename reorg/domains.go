package reorg

import (
	"context"
	"fmt"
	"strings"

	"congvu/directory"
	"congvu/directory/addr"
	"congvu/policy"
)

// AddDomainAlias makes every address of old deliver to the same local part
// at new (a merged province's domain): the accounts whose address is at old
// move to new (a local part already taken at new gets the convention's
// next variant, listed in the result), units' mailbox addresses too, and
// mail and logins for anything@old keep working as anything@new.
func (s *Service) AddDomainAlias(ctx context.Context, actor, old, new string) (*Result, error) {
	da, err := s.deps.Org.AddDomainAlias(ctx, old, new, actor)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	accounts, err := s.deps.Dir.Accounts(ctx, "")
	if err != nil {
		return res, err
	}
	units, err := s.deps.Dir.Units(ctx)
	if err != nil {
		return res, err
	}
	unitOf := map[string]directory.Unit{}
	for _, u := range units {
		if u.Address != "" {
			unitOf[u.Address] = u
		}
	}
	why := fmt.Sprintf("tên miền %s thành %s / domain %s became %s", da.Old, da.New, da.Old, da.New)
	for _, a := range accounts {
		if directory.Domain(a.Address) != da.Old {
			continue
		}
		local := localPart(a.Address)
		newLocal := addr.Allocate(local, "", s.taken(ctx, a.Address, da.New, nil))
		c := Change{OldAddress: a.Address, NewAddress: newLocal + "@" + da.New, OldUnit: a.UnitCode, NewUnit: a.UnitCode}
		if err := s.apply(ctx, a, c, why); err != nil {
			return res, err
		}
		if newLocal != local {
			res.Notes = append(res.Notes, fmt.Sprintf("%s đã có người dùng, %s nhận %s / %s was taken, %s got %s",
				local+"@"+da.New, a.Address, c.NewAddress, local+"@"+da.New, a.Address, c.NewAddress))
		}
		if u, ok := unitOf[a.Address]; ok {
			u.Address = c.NewAddress
			if err := s.deps.Dir.PutUnit(ctx, u); err != nil {
				return res, err
			}
		}
		res.Changes = append(res.Changes, c)
	}
	s.audit(ctx, actor, "@"+da.Old, policy.ActionAlias, fmt.Sprintf("bí danh tên miền / domain alias %s → %s; %d tài khoản chuyển / accounts moved",
		da.Old, da.New, len(res.Changes)))
	res.Notes = append(res.Notes, fmt.Sprintf("Thư gửi *@%s được chuyển đến *@%s / mail to *@%s is delivered to *@%s", da.Old, da.New, da.Old, da.New))
	if s.deps.Keys != nil {
		lines, err := s.deps.Keys.AliasKeys(ctx, da.Old, da.New)
		if err != nil {
			s.deps.Log.Error("reorg: DKIM key for an alias domain", "domain", da.Old, "err", err)
			res.Notes = append(res.Notes, fmt.Sprintf("Chưa tạo được khoá DKIM cho %s / no DKIM key made for %s: %v (congvu dkim keygen)", da.Old, da.Old, err))
		} else if len(lines) > 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("Khoá DKIM cho %s, công bố bản ghi DNS / DKIM key for %s, publish (congvu dns %s):", da.Old, da.Old, da.Old))
			res.Notes = append(res.Notes, lines...)
		}
	}
	return res, nil
}

// RemoveDomainAlias ends a domain alias: mail to the old domain is refused
// again.
func (s *Service) RemoveDomainAlias(ctx context.Context, actor, old string) error {
	ok, err := s.deps.Org.RemoveDomainAlias(ctx, old)
	if err != nil {
		return err
	}
	if !ok {
		return ErrReorg.With(fmt.Errorf("no domain alias for %s", old))
	}
	s.audit(ctx, actor, "@"+strings.ToLower(old), policy.ActionAlias, "bỏ bí danh tên miền / domain alias removed")
	return nil
}
