package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"congvu/internal/config"
	"congvu/internal/server"
	"congvu/policy"
)

// `congvu unit set-headcount CODE N` records the unit's biên chế (read
// by the access report's coverage), audited; an unknown unit or a number
// that is not one is refused in words.
func TestUnitSetHeadcount(t *testing.T) {
	path := policyConfig(t)
	out := runOK(t, "unit", "set-headcount", "--config", path, "56", "120")
	if !strings.Contains(out, "UBND tỉnh Khánh Hòa (56): biên chế / headcount 120") {
		t.Errorf("output %q", out)
	}
	var errb bytes.Buffer
	if err := run([]string{"unit", "set-headcount", "--config", path, "99", "3"}, io.Discard, &errb); err == nil || !strings.Contains(err.Error(), "không có đơn vị") {
		t.Errorf("unknown unit: %v", err)
	}
	if err := run([]string{"unit", "set-headcount", "--config", path, "56", "mười"}, io.Discard, &errb); err == nil || !strings.Contains(err.Error(), "biên chế") {
		t.Errorf("not a number: %v", err)
	}
	// The command's access report shows it: 2 accounts issued of 120.
	if rep := runOK(t, "report", "access", "--config", path, "--format", "csv"); !strings.Contains(rep, "Biên chế") || !strings.Contains(rep, ",2,120,1.7") {
		t.Errorf("access report without the coverage:\n%s", rep)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := server.OpenDirectory(cfg, server.NewLogger(config.Log{Format: "text", Level: "warn"}, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	if hc, err := server.OrgDB(dir).Headcounts(context.Background()); err != nil || hc["56"] != 120 {
		t.Errorf("headcounts %v %v", hc, err)
	}
	db, err := policy.OpenDB(cfg.Path(cfg.Policy.DBPath))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	list, _ := db.Audit(context.Background(), policy.AuditQuery{Subject: "56"})
	if len(list) != 1 || list[0].Detail != "biên chế / headcount 120" {
		t.Errorf("audit %+v", list)
	}
}
