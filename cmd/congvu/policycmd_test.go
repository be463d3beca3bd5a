package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"congvu/directory"
	"congvu/directory/sqldir"
	"congvu/internal/config"
	"congvu/internal/mailerr"
)

// policyConfig writes a configuration in a temporary data directory with a
// SQLite directory holding one unit and two officials.
func policyConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Server.DataDir = dir
	cfg.Server.LocalDomains = []string{"khanhhoa.gov.vn"}
	path := filepath.Join(dir, "congvu.toml")
	if err := config.Write(path, cfg); err != nil {
		t.Fatal(err)
	}
	db, err := sqldir.Open(filepath.Join(dir, cfg.Directory.SQLitePath), sqldir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	db.PutUnit(ctx, directory.Unit{Code: "56", Name: "UBND tỉnh Khánh Hòa", Abbr: "ubnd", Kind: directory.UnitProvince})
	for _, a := range []string{"thanhnn.skhcn@khanhhoa.gov.vn", "maitt.skhcn@khanhhoa.gov.vn"} {
		if err := db.PutAccount(ctx, directory.Account{Address: a, UnitCode: "56"}, "Khanh-Hoa#2025a"); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if err := run(args, &out, &errb); err != nil {
		t.Fatalf("congvu %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// Forwarding outside the state mail system is refused and audited; inside
// it is stored; account commands change state with an audit entry.
func TestPolicyCommands(t *testing.T) {
	cfg := policyConfig(t)
	var out, errb bytes.Buffer
	err := run([]string{"forward", "set", "--config", cfg, "thanhnn.skhcn@khanhhoa.gov.vn", "ca.nhan@gmail.com"}, &out, &errb)
	if !errorsIs(err, mailerr.ErrForwardOutside) {
		t.Errorf("forward to gmail: %v", err)
	}
	runOK(t, "forward", "set", "--config", cfg, "thanhnn.skhcn@khanhhoa.gov.vn", "vanthu@boyte.gov.vn")
	if l := runOK(t, "forward", "list", "--config", cfg); !strings.Contains(l, "vanthu@boyte.gov.vn") {
		t.Errorf("forward list: %q", l)
	}
	runOK(t, "account", "retire", "--config", cfg, "--reason", "nghỉ hưu", "maitt.skhcn@khanhhoa.gov.vn")
	if s := runOK(t, "account", "show", "--config", cfg, "maitt.skhcn@khanhhoa.gov.vn"); !strings.Contains(s, "retired (nghỉ hưu)") {
		t.Errorf("account show: %q", s)
	}
	runOK(t, "account", "lock-sending", "--config", cfg, "thanhnn.skhcn@khanhhoa.gov.vn")
	runOK(t, "account", "unlock-sending", "--config", cfg, "thanhnn.skhcn@khanhhoa.gov.vn")
	a := runOK(t, "audit", "--config", cfg, "--format", "csv")
	for _, want := range []string{"forward-outside", "forward-set", "retire", "send-lock", "send-unlock"} {
		if !strings.Contains(a, ","+want+",") {
			t.Errorf("audit lacks %s:\n%s", want, a)
		}
	}
	u := runOK(t, "report", "usage", "--config", cfg, "--period", "2025-Q2")
	if !strings.HasPrefix(u, "\ufeffMã đơn vị,") || !strings.Contains(u, "2025-04..2025-06") {
		t.Errorf("usage report: %q", u)
	}
	r := runOK(t, "report", "access", "--config", cfg, "--from", "2025-06-01", "--to", "2025-06-30", "--format", "html")
	if !strings.Contains(r, "thanhnn.skhcn@khanhhoa.gov.vn") || strings.Contains(r, "maitt.skhcn") {
		t.Errorf("access report lists the wrong officials (the retired one must not count):\n%s", r)
	}
}

func errorsIs(err error, target *mailerr.Error) bool {
	me := mailerr.As(err)
	return me != nil && me.Is(target)
}
