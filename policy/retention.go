package policy

import (
	"context"
	"slices"
	"strings"
	"time"

	"congvu/directory"
	"congvu/directory/addr"
	"congvu/internal/config"
)

// RetentionMonths is how long the mailbox of a retired official with this
// title is kept: the months of the longest [policy] retention_by_title key
// the title starts with (case and diacritics ignored, whole words:
// "Giám đốc" matches "Giám đốc Sở", never "Phó giám đốc"), else the
// domain's retired_retention_months. 0 keeps it.
func RetentionMonths(cfg config.Policy, rules config.Rules, title string) int {
	t := strings.Join(strings.Fields(addr.Fold(title)), " ")
	best, months := -1, rules.RetiredRetentionMonths
	for key, m := range cfg.RetentionByTitle {
		k := strings.Join(strings.Fields(addr.Fold(key)), " ")
		if k == "" || len(k) <= best || !strings.HasPrefix(t, k) {
			continue
		}
		if len(t) > len(k) && t[len(k)] != ' ' {
			continue // "Trưởng" is not "Trưởngxyz"
		}
		best, months = len(k), m
	}
	return months
}

// RetentionOf is RetentionMonths for an account, with the rules of its
// domain.
func RetentionOf(cfg config.Policy, a directory.Account) int {
	rs := &ruleSet{cfg: cfg}
	return RetentionMonths(cfg, rs.rulesFor(a.Address), a.Title)
}

// Retention is a retired account's place in the retention schedule.
type Retention struct {
	Account directory.Account
	Months  int       // 0: kept
	Due     time.Time // retirement + Months; zero when kept
	// Deleted is when the lifecycle job deleted the mailbox after this
	// retirement; zero while it is kept.
	Deleted time.Time
}

// IsDue reports whether the mailbox is to be deleted at now.
func (r Retention) IsDue(now time.Time) bool {
	return r.Months > 0 && r.Deleted.IsZero() && !r.Account.StateChanged.IsZero() && !now.Before(r.Due)
}

// RetentionSchedule lists every retired account with its retention by
// rank, soonest deletion first (kept mailboxes last). The lifecycle job
// deletes those that are due; `congvu account retention` shows the list
// beforehand (a dry run).
func RetentionSchedule(ctx context.Context, db *DB, dir directory.Directory, cfg config.Policy) ([]Retention, error) {
	accounts, err := dir.Accounts(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []Retention
	for _, a := range accounts {
		if a.State != directory.StateRetired {
			continue
		}
		r := Retention{Account: a, Months: RetentionOf(cfg, a)}
		if r.Months > 0 && !a.StateChanged.IsZero() {
			r.Due = a.StateChanged.AddDate(0, r.Months, 0)
		}
		at, err := db.mailboxDeletedAt(ctx, a.Address)
		if err != nil {
			return nil, err
		}
		if !at.IsZero() && !at.Before(a.StateChanged) {
			r.Deleted = at
		}
		out = append(out, r)
	}
	slices.SortStableFunc(out, func(a, b Retention) int {
		switch {
		case a.Due.IsZero() != b.Due.IsZero():
			if a.Due.IsZero() {
				return 1
			}
			return -1
		}
		return a.Due.Compare(b.Due)
	})
	return out, nil
}
