package server

import (
	"bytes"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"congvu/directory"
	"congvu/directory/sqldir"
	"congvu/internal/config"
	"congvu/internal/mailerr"
	"congvu/internal/metrics"
	"congvu/policy"
	"congvu/web/admin"
)

// The web's adapter over a real policy engine: a sending lock is shown and
// lifted with an audit entry, the audit honours a unit admin's account
// list, and reports come in the formats asked for, a bad period refused as
// the user's mistake.
func TestWebPolicyAdapter(t *testing.T) {
	ctx := t.Context()
	dir, err := sqldir.Open(filepath.Join(t.TempDir(), "directory.db"), sqldir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	const addr = "anv.skhcn@khanhhoa.gov.vn"
	for _, u := range []directory.Unit{
		{Code: "56", Name: "Ủy ban nhân dân tỉnh Khánh Hòa", Abbr: "ubnd", Kind: directory.UnitProvince},
		{Code: "56.skhcn", Name: "Sở Khoa học và Công nghệ", Abbr: "skhcn", Kind: directory.UnitDepartment, ParentCode: "56"},
	} {
		if err := dir.PutUnit(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := dir.PutAccount(ctx, directory.Account{Address: addr, UnitCode: "56.skhcn", Role: directory.RoleOfficial,
		State: directory.StateActive}, "Khanh-Hoa#2025a"); err != nil {
		t.Fatal(err)
	}
	e, err := policy.New(policy.Options{Config: config.Default().Policy, LocalDomains: []string{"khanhhoa.gov.vn"},
		DBPath: filepath.Join(t.TempDir(), "policy.db"), Dir: dir, Writer: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	m := metrics.New()
	p := webPolicy{e: e, logins: m.Logins}

	// Web logins are counted like the other protocols'.
	acct, aerr := dir.Authenticate(ctx, addr, "sai")
	p.AfterLogin(ctx, addr, net.ParseIP("10.0.0.9"), acct, aerr)
	acct, aerr = dir.Authenticate(ctx, addr, "Khanh-Hoa#2025a")
	p.AfterLogin(ctx, addr, net.ParseIP("10.0.0.9"), acct, aerr)
	count := func(result string) float64 {
		var out dto.Metric
		m.Logins.WithLabelValues("web", result).Write(&out)
		return out.GetCounter().GetValue()
	}
	if f, o := count("failed"), count("ok"); f != 1 || o != 1 {
		t.Errorf("web logins counted failed=%v ok=%v, want 1 and 1", f, o)
	}

	if l, err := p.SendLock(ctx, addr); err != nil || l != nil {
		t.Fatalf("before any lock: %+v, %v", l, err)
	}
	if err := policy.LockSendingCLI(ctx, e.DB(), "cli", addr, "251 outside recipients"); err != nil {
		t.Fatal(err)
	}
	if l, err := p.SendLock(ctx, addr); err != nil || l == nil || l.Reason != "251 outside recipients" || l.At.IsZero() {
		t.Fatalf("locked: %+v, %v", l, err)
	}
	if err := p.UnlockSending(ctx, "quantri@khanhhoa.gov.vn", addr, "web admin quantri@khanhhoa.gov.vn"); err != nil {
		t.Fatal(err)
	}
	if l, err := p.SendLock(ctx, addr); err != nil || l != nil {
		t.Fatalf("after the unlock: %+v, %v", l, err)
	}
	list, err := p.AuditEntries(ctx, admin.AuditQuery{Subjects: []string{addr}})
	if err != nil || len(list) != 2 || list[0].Action != policy.ActionSendUnlock || list[0].Actor != "quantri@khanhhoa.gov.vn" ||
		list[1].Action != policy.ActionSendLock {
		t.Errorf("audit of the account: %+v, %v", list, err)
	}
	if list, err := p.AuditEntries(ctx, admin.AuditQuery{Subjects: []string{"tramdt.nhatrang@khanhhoa.gov.vn"}}); err != nil || len(list) != 0 {
		t.Errorf("audit of another unit's account: %+v, %v", list, err)
	}

	var b bytes.Buffer
	if err := p.UsageReport(ctx, &b, admin.FormatCSV, "56", "2026-Q1"); err != nil || !strings.HasPrefix(b.String(), "\ufeff") ||
		!strings.Contains(b.String(), "Sở Khoa học và Công nghệ") {
		t.Errorf("usage CSV: %v\n%s", err, b.String())
	}
	err = p.UsageReport(ctx, &b, admin.FormatHTML, "56", "2026-Q5")
	var me *mailerr.Error
	if !errors.As(err, &me) || me.HTTP() != 400 {
		t.Errorf("bad period: %v", err)
	}
	b.Reset()
	for _, f := range []admin.ReportFormat{admin.FormatHTML, admin.FormatCSV, admin.FormatSVG, admin.FormatPNG} {
		b.Reset()
		from := mustDay(t, "2026-03-01")
		if err := p.AccessReport(ctx, &b, f, "56.skhcn", from, from.AddDate(0, 0, 6)); err != nil {
			t.Errorf("access %s: %v", f, err)
		}
		start := map[admin.ReportFormat]string{admin.FormatHTML: "<section", admin.FormatCSV: "\ufeff",
			admin.FormatSVG: "<svg", admin.FormatPNG: "\x89PNG"}[f]
		if !strings.HasPrefix(b.String(), start) {
			t.Errorf("access %s starts %.20q", f, b.String())
		}
	}
	if err := p.AccessReport(ctx, &b, "xlsx", "56", mustDay(t, "2026-03-01"), mustDay(t, "2026-03-01")); err == nil {
		t.Error("an unknown format is accepted")
	}
}

func mustDay(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.ParseInLocation(time.DateOnly, s, time.FixedZone("ICT", 7*60*60))
	if err != nil {
		t.Fatal(err)
	}
	return d
}
