package smtpd

import (
	"context"
	"fmt"

	"congvu/directory"
	"congvu/internal/mailerr"
)

// addGroup accepts a group address as the recipients it expands to
// (RFC 5321 3.9.2: a list exploder delivers a copy to each member; the
// envelope sender stays the original one, since a group here is an
// alias list, not a list with its own owner address). Members already
// among the recipients get one copy. The members' quotas are not
// checked here, so one full mailbox does not refuse the group: its
// delivery fails alone and the sender gets a DSN for it.
func (s *session) addGroup(ctx context.Context, to string, members []*directory.Account, err error) error {
	if err != nil {
		if mailerr.As(err) == nil {
			err = mailerr.ErrDirectoryUnavailable.With(err)
		}
		return fmt.Errorf("RCPT TO:<%s>: %w", to, err)
	}
	if len(members) == 0 {
		return errEmptyGroup.With(fmt.Errorf("RCPT TO:<%s>", to))
	}
	from := s.from()
	var add []recipient
	s.mu.Lock()
	have := make(map[string]bool, len(s.tx.rcpts))
	for _, r := range s.tx.rcpts {
		if r.account != nil {
			have[r.account.Address] = true
		}
	}
	s.mu.Unlock()
	for _, m := range members {
		if have[m.Address] {
			continue
		}
		have[m.Address] = true
		if err := s.policyRcpt(from, m.Address, m); err != nil {
			return err
		}
		add = append(add, recipient{given: to, account: m})
	}
	s.mu.Lock()
	s.tx.rcpts = append(s.tx.rcpts, add...)
	s.mu.Unlock()
	s.log.Info("group expanded", "group", to, "members", len(members), "new", len(add))
	return nil
}

// errEmptyGroup: a group with nobody to deliver to (RFC 3463 5.1.1 would
// say the address does not exist; it does, so 5.2.1 mailbox disabled).
var errEmptyGroup = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 2, 1}, IMAPCode: "NONEXISTENT",
	Message: "Nhom thu chua co thanh vien / Group has no members", MessageVI: "Nhóm thư chưa có thành viên"}
