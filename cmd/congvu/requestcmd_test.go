package main

import (
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"congvu/directory"
	"congvu/directory/importer"
	"congvu/internal/config"
	"congvu/internal/server"
	"congvu/provision"
)

// TestRequestApproveCLI: the operator lists a unit's pending request,
// approves it with --passwords-out (a new file of mode 0600 with the
// initial passwords, which then are gone), and rejecting it afterwards
// is refused.
func TestRequestApproveCLI(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "congvu.toml")
	os.WriteFile(cfgPath, []byte("[server]\ndata_dir = \".\"\nlocal_domains = [\"khanhhoa.gov.vn\"]\n"), 0o600)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	w, err := server.OpenDirectory(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w.PutUnit(ctx, directory.Unit{Code: "56", Name: "UBND tỉnh", Abbr: "ubnd", Kind: directory.UnitProvince})
	w.PutUnit(ctx, directory.Unit{Code: "56.skhcn", Name: "Sở Khoa học và Công nghệ", Abbr: "skhcn", Kind: directory.UnitDepartment, ParentCode: "56"})
	svc, err := server.NewRequests(cfg, w, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := svc.File(ctx, provision.Actor{Address: "quantri.skhcn@khanhhoa.gov.vn", IP: "192.0.2.1"}, provision.Draft{Kind: provision.KindNew,
		UnitCode: "56.skhcn", Delivery: provision.DeliverFile,
		Body: provision.Payload{Rows: []importer.Row{{Line: 1, FullName: "Phạm Văn Bình", Unit: "56.skhcn"}, {Line: 2, FullName: "Lê Thị Lan", Unit: "56.skhcn"}}}}, nil)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	n := strconv.FormatInt(id, 10)
	var out strings.Builder
	if err := cmdRequest([]string{"list", "--config", cfgPath}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "56.skhcn") {
		t.Fatalf("list: %v\n%s", err, out.String())
	}
	// The unit asked for a file: approving without one is refused.
	if err := cmdRequest([]string{"approve", "--config", cfgPath, n}, io.Discard, io.Discard); err == nil {
		t.Fatal("approved without --passwords-out")
	}
	pw := filepath.Join(dir, "moi.csv")
	out.Reset()
	if err := cmdRequest([]string{"approve", "--config", cfgPath, "--passwords-out", pw, n}, &out, io.Discard); err != nil {
		t.Fatalf("approve: %v\n%s", err, out.String())
	}
	fi, err := os.Stat(pw)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v %v", fi, err)
	}
	f, _ := os.Open(pw)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 3 || rows[1][0] != "binhpv.skhcn@khanhhoa.gov.vn" || len(rows[1][1]) < 9 {
		t.Fatalf("password file rows %q %v", rows, err)
	}
	// The file logs in; the passwords are not kept.
	w, _ = server.OpenDirectory(cfg, slog.New(slog.DiscardHandler))
	if _, err := w.Authenticate(ctx, rows[1][0], rows[1][1]); err != nil {
		t.Errorf("initial password from the file: %v", err)
	}
	w.Close()
	if err := cmdRequest([]string{"passwords", "--config", cfgPath, "--out", filepath.Join(dir, "again.csv"), n}, io.Discard, io.Discard); err == nil {
		t.Error("passwords handed over twice")
	}
	if err := cmdRequest([]string{"reject", "--config", cfgPath, "--reason", "muộn", n}, io.Discard, io.Discard); err == nil {
		t.Error("an approved request was rejected")
	}
}
