package reorg

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"congvu/directory"
	"congvu/internal/config"
	"congvu/policy"
)

// After two communes merge, the access report of last month still shows
// the merged commune with its officials and their accesses (made under
// their old addresses); this month's shows the merged unit only. The
// membership switches exactly at the merger's instant.
func TestReportOfPastPeriodAfterMerge(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	loc, err := policy.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		t.Fatal(err)
	}
	mergeAt := time.Date(2026, 11, 15, 10, 0, 0, 0, loc)
	e.now = mergeAt
	cfg := config.DefaultPolicy()
	cfg.DigestHour = -1
	eng, err := policy.New(policy.Options{Config: cfg, LocalDomains: []string{domain}, Hostname: "mail." + domain,
		DBPath: filepath.Join(t.TempDir(), "policy.db"), Dir: e.dir, Writer: e.dir, History: e.org,
		Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	eng.RecordAccess("ducdv.bacnhatrang@"+domain, policy.IMAP, time.Date(2026, 10, 20, 9, 0, 0, 0, loc))
	eng.RecordAccess("ducdv.nhatrang@"+domain, policy.Web, time.Date(2026, 10, 21, 9, 0, 0, 0, loc))
	if _, err := e.svc.MergeUnits(ctx, "admin", "22369", "22366"); err != nil {
		t.Fatal(err)
	}
	// The merged official signs in today under the new address.
	eng.RecordAccess("ducdv2.nhatrang@"+domain, policy.IMAP, mergeAt.Add(time.Hour))

	row := func(rep *policy.AccessReport, code string) *policy.AccessRow {
		for i, r := range rep.Rows {
			if r.Unit.Code == code && !r.Subtotal {
				return &rep.Rows[i]
			}
		}
		return nil
	}
	october := policy.AccessQuery{From: policy.DayFromDate(2026, 10, 1), To: policy.DayFromDate(2026, 10, 31), InactiveDays: 3}
	rep, err := eng.AccessReport(ctx, october)
	if err != nil {
		t.Fatal(err)
	}
	old := row(rep, "22369")
	if old == nil || old.Unit.Name != "Phường Bắc Nha Trang" {
		t.Fatalf("last month's report lacks the merged commune: %+v", rep.Rows)
	}
	if old.Mailboxes != 2 || old.AnyDay != 1 || old.Accessed[19] != 1 {
		t.Errorf("merged commune last month: %d mailboxes, %d accessed, on the 20th %d; want 2, 1, 1", old.Mailboxes, old.AnyDay, old.Accessed[19])
	}
	if nt := row(rep, "22366"); nt == nil || nt.Mailboxes != 2 || nt.Accessed[20] != 1 {
		t.Errorf("Nha Trang last month: %+v", nt)
	}
	if slices.ContainsFunc(rep.Inactive, func(i policy.Inactive) bool { return i.Account.Address == "ducdv2.nhatrang@"+domain }) {
		t.Error("last month's inactive list names an address that did not exist then")
	}

	today := policy.DayOf(mergeAt, loc)
	rep, err = eng.AccessReport(ctx, policy.AccessQuery{From: today, To: today, InactiveDays: 3})
	if err != nil {
		t.Fatal(err)
	}
	if row(rep, "22369") != nil {
		t.Error("today's report still shows the merged commune")
	}
	if nt := row(rep, "22366"); nt == nil || nt.Mailboxes != 4 || nt.Accessed[0] != 1 {
		t.Errorf("Nha Trang today: %+v", nt)
	}

	// The day before the merger is the old organisation; the merger's
	// instant is the new one.
	has := func(d directory.Directory) bool {
		units, err := d.Units(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(units, func(u directory.Unit) bool { return u.Code == "22369" })
	}
	if !has(policy.DirectoryAt(e.dir, e.org, today-1, mergeAt, loc)) {
		t.Error("the directory of a period ending the day before the merger lacks the merged commune")
	}
	if has(policy.DirectoryAt(e.dir, e.org, today, mergeAt, loc)) {
		t.Error("the directory of a period ending on the merger's day shows the merged commune")
	}
	if !has(e.org.AsOf(e.dir, mergeAt.Add(-time.Nanosecond))) || has(e.org.AsOf(e.dir, mergeAt)) {
		t.Error("AsOf does not switch at the merger's instant")
	}
	accounts, err := e.org.AsOf(e.dir, mergeAt.Add(-time.Nanosecond)).Accounts(ctx, "22369")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(accounts, func(a directory.Account) bool {
		return a.Address == "ducdv.bacnhatrang@"+domain && slices.Contains(a.Aliases, "ducdv2.nhatrang@"+domain)
	}) {
		t.Errorf("accounts of the merged commune before the merger: %+v", accounts)
	}
}
