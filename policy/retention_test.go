package policy

import (
	"context"
	"strings"
	"testing"
	"time"

	"congvu/directory"
	"congvu/internal/config"
)

func TestRetentionMonthsByTitle(t *testing.T) {
	cfg := config.DefaultPolicy()
	for title, want := range map[string]int{
		"Giám đốc":            12,
		"Giám đốc Sở":         12,
		"Phó Giám đốc":        12,
		"giam doc":            12,
		"Trưởng phòng":        6,
		"Truong  phong":       6,
		"Phó trưởng phòng":    6,
		"Chủ tịch UBND xã":    12,
		"Chuyên viên":         3,
		"Trưởngxyz":           3,
		"":                    3,
		"Văn thư":             3,
		"Phó chủ tịch phường": 12,
	} {
		if got := RetentionMonths(cfg, cfg.Rules, title); got != want {
			t.Errorf("%q: %d months, want %d", title, got, want)
		}
	}
	cfg.RetentionByTitle = map[string]int{"Giám đốc": 0}
	if got := RetentionMonths(cfg, cfg.Rules, "Giám đốc"); got != 0 {
		t.Errorf("0 keeps the mailbox: %d", got)
	}
}

// A retired director's mailbox is kept 12 months, a specialist's 3: each
// is deleted exactly at its day, not one second before, and the schedule
// (the dry run) says so beforehand.
func TestRetentionByRankBoundary(t *testing.T) {
	e := newEnv(t, testConfig())
	ctx := context.Background()
	for _, a := range []string{thanh, lan} {
		mb, _ := e.store.Mailbox(ctx, a, 0)
		if _, err := mb.Append(ctx, "INBOX", strings.NewReader("Subject: x\r\n\r\nx\r\n"), nil, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := e.engine.SetAccountState(ctx, "admin@"+domain, a, directory.StateRetired, "nghỉ hưu"); err != nil {
			t.Fatal(err)
		}
	}
	retired := e.account(lan).StateChanged
	director := e.account(thanh).StateChanged
	sched, err := RetentionSchedule(ctx, e.engine.DB(), e.dir, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(sched) != 2 || sched[0].Account.Address != lan || sched[0].Months != 3 || !sched[0].Due.Equal(retired.AddDate(0, 3, 0)) ||
		sched[1].Account.Address != thanh || sched[1].Months != 12 {
		t.Fatalf("schedule: %+v", sched)
	}
	run := func(at time.Time) int {
		t.Helper()
		e.clock.Set(at)
		_, deleted, err := e.engine.RunLifecycle(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return deleted
	}
	if n := run(retired.AddDate(0, 3, 0).Add(-time.Second)); n != 0 {
		t.Fatalf("a second before 3 months: %d deleted", n)
	}
	if n := run(retired.AddDate(0, 3, 0)); n != 1 || len(e.inbox(lan)) != 0 || len(e.inbox(thanh)) != 1 {
		t.Fatalf("at 3 months: %d deleted, specialist %d, director %d messages", n, len(e.inbox(lan)), len(e.inbox(thanh)))
	}
	if n := run(director.AddDate(0, 12, 0).Add(-time.Second)); n != 0 {
		t.Fatalf("a second before 12 months: %d deleted", n)
	}
	if n := run(director.AddDate(0, 12, 0)); n != 1 || len(e.inbox(thanh)) != 0 {
		t.Fatalf("at 12 months: %d deleted", n)
	}
	if sched, _ := RetentionSchedule(ctx, e.engine.DB(), e.dir, e.cfg); len(sched) != 2 || sched[0].Deleted.IsZero() || sched[1].Deleted.IsZero() {
		t.Errorf("schedule after deletion: %+v", sched)
	}
	if got := e.audit(AuditQuery{Subject: thanh, Action: ActionDeleteData}); len(got) != 1 {
		t.Errorf("audit of the director's deletion: %+v", got)
	}
}
