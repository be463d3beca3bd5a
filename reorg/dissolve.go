package reorg

import (
	"context"
	"fmt"
	"strings"

	"congvu/directory"
	"congvu/directory/orgdb"
	"congvu/internal/mailerr"
	"congvu/policy"
)

// ErrHasSubUnits refuses to dissolve a unit that still has sub-units: they
// must be merged, moved or dissolved first, so that nobody's mailbox is
// closed by a decision about another unit.
var ErrHasSubUnits = ErrReorg.WithMessage("The unit still has sub-units: merge, move or dissolve them first",
	"Đơn vị còn đơn vị trực thuộc: hãy sáp nhập, chuyển hoặc giải thể các đơn vị đó trước")

// DissolveUnit carries out the dissolution of a unit (REQUIREMENTS: an
// account is locked at once on dissolution): every account of the unit,
// its shared mailbox included, is retired at once with the reason — mail
// clients are refused, open IMAP/POP3 sessions end, and the mailbox is kept
// for its retention period by rank (policy.retention_by_title) before the
// lifecycle job deletes it. The unit stays in the directory for its
// history and reports but leaves the published danh bạ. Accounts already
// retired keep their own retention date.
func (s *Service) DissolveUnit(ctx context.Context, actor, code, reason string) (*Result, error) {
	t, err := s.tree(ctx)
	if err != nil {
		return nil, err
	}
	u, ok := t.Units[code]
	if !ok {
		return nil, ErrReorg.With(fmt.Errorf("unknown unit %q", code))
	}
	if len(t.Children[code]) > 0 {
		return nil, ErrHasSubUnits.With(fmt.Errorf("%s has %d sub-units", code, len(t.Children[code])))
	}
	why := fmt.Sprintf("giải thể %s / unit %s dissolved", u.Name, code)
	if reason = strings.Join(strings.Fields(reason), " "); reason != "" {
		why += ": " + reason
	}
	accounts, err := s.deps.Dir.Accounts(ctx, code)
	if err != nil {
		return nil, err
	}
	audit := func(e policy.AuditEntry) error {
		if s.deps.Audit == nil {
			return nil
		}
		return s.deps.Audit.AppendAudit(ctx, e)
	}
	res := &Result{}
	retired := 0
	for _, a := range accounts {
		if a.State == directory.StateRetired {
			continue
		}
		if _, err := policy.SetAccountStateAuditing(ctx, s.deps.Dir, audit, actor, a.Address, directory.StateRetired, why, s.deps.Now()); err != nil {
			return res, err
		}
		if s.deps.Sessions != nil {
			s.deps.Sessions.EndSessions(a.Address, mailerr.ErrAccountDisabled)
		}
		res.Changes = append(res.Changes, Change{OldAddress: a.Address, NewAddress: a.Address, OldUnit: code})
		retired++
	}
	if s.deps.Org != nil {
		if _, err := s.deps.Org.SetWithheld(ctx, orgdb.Withheld{Scope: orgdb.ScopeUnit, Key: code,
			Attribute: orgdb.AttrEntry, Changed: s.deps.Now(), Actor: actor}, true); err != nil {
			return res, err
		}
	}
	s.audit(ctx, actor, code, policy.ActionDissolve, fmt.Sprintf("%s; %d tài khoản đóng / accounts retired", why, retired))
	res.Notes = append(res.Notes, fmt.Sprintf("Đã giải thể %s: %d tài khoản đóng ngay, hộp thư lưu theo thời hạn lưu trữ / %s dissolved: %d accounts retired at once, mailboxes kept for their retention period",
		u.Name, retired, code, retired))
	return res, nil
}
