package reorg

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"congvu/directory"
	"congvu/directory/orgdb"
	"congvu/internal/mailerr"
	"congvu/policy"
)

// errAddressChanged ends the sessions of an official whose address changes
// (their clients reconnect, under the old address too).
var errAddressChanged = mailerr.ErrInUse.WithMessage(
	"Your address is changing (transfer or reorganisation), please reconnect",
	"Địa chỉ thư của bạn đang thay đổi (chuyển công tác hoặc sắp xếp đơn vị), vui lòng kết nối lại")

// MoveAccount transfers an official to another unit: same mailbox,
// password and history, a new address by the convention (the old one
// stays an alias for Config.TransitionalMonths).
func (s *Service) MoveAccount(ctx context.Context, actor, address, unit, reason string) (*Result, error) {
	return s.Run(ctx, KindMoveAccount, actor, Args{Address: address, Unit: unit, Reason: reason})
}

// apply makes change c of account a.
func (s *Service) apply(ctx context.Context, a directory.Account, c Change, why string) error {
	now := s.deps.Now()
	b := a
	b.UnitCode = c.NewUnit
	if c.NewAddress == a.Address {
		if err := s.deps.Dir.PutAccount(ctx, b, ""); err != nil {
			return err
		}
		return s.deps.Org.RecordMove(ctx, a.Address, c.OldUnit, a.Address, c.NewUnit, now)
	}
	rn, ok := s.deps.Dir.(directory.Renamer)
	if !ok {
		return ErrReorg.With(fmt.Errorf("the directory cannot rename %s", a.Address))
	}
	b.Address = c.NewAddress
	b.Aliases = append(slices.DeleteFunc(slices.Clone(a.Aliases), func(x string) bool { return x == c.NewAddress }), a.Address)
	if s.deps.Sessions != nil {
		s.deps.Sessions.EndSessions(a.Address, errAddressChanged)
	}
	update := func() error { return rn.RenameAccount(ctx, a.Address, b) }
	var err error
	if s.deps.Mail != nil {
		err = s.deps.Mail.RenameUser(ctx, a.Address, c.NewAddress, update)
	} else {
		err = update()
	}
	if err != nil {
		return fmt.Errorf("moving %s to %s: %w", a.Address, c.NewAddress, err)
	}
	for _, st := range s.deps.Stores {
		if err := st.RenameAddress(ctx, a.Address, c.NewAddress); err != nil {
			s.deps.Log.Error("reorg: moving per-account data", "from", a.Address, "to", c.NewAddress, "store", fmt.Sprintf("%T", st), "err", err)
		}
	}
	if err := s.deps.Org.RecordMove(ctx, a.Address, c.OldUnit, c.NewAddress, c.NewUnit, now); err != nil {
		return err
	}
	if err := s.deps.Org.RenamePersonKeys(ctx, a.Address, c.NewAddress); err != nil {
		return err
	}
	return s.deps.Org.AddTransitional(ctx, orgdb.Transitional{Address: a.Address, Account: c.NewAddress,
		Expires: now.AddDate(0, s.cfg.TransitionalMonths, 0), Reason: strings.TrimSpace(why)})
}

// ExpireTransitional removes the transitional addresses whose period is
// over from their accounts' aliases; it returns how many.
func (s *Service) ExpireTransitional(ctx context.Context) (int, error) {
	list, err := s.deps.Org.TransitionalAddresses(ctx, "")
	if err != nil {
		return 0, err
	}
	now := s.deps.Now()
	n := 0
	for _, tr := range list {
		if now.Before(tr.Expires) {
			break // sorted by expiry
		}
		a, err := s.deps.Dir.Lookup(ctx, tr.Account)
		if err != nil {
			return n, err
		}
		if i := slices.Index(a.Aliases, tr.Address); i >= 0 && a.Address == tr.Account {
			a.Aliases = slices.Delete(a.Aliases, i, i+1)
			if err := s.deps.Dir.PutAccount(ctx, *a, ""); err != nil {
				return n, err
			}
		}
		if err := s.deps.Org.RemoveTransitional(ctx, tr.Address); err != nil {
			return n, err
		}
		s.audit(ctx, policy.ActorPolicy, a.Address, policy.ActionAlias,
			fmt.Sprintf("địa chỉ chuyển tiếp %s hết hạn / transitional address %s expired (%s)", tr.Address, tr.Address, tr.Expires.Format("2006-01-02")))
		n++
	}
	return n, nil
}
