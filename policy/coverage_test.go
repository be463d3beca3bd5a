package policy

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"congvu/directory"
)

// The access report's coverage figure: people's accounts (not unit
// mailboxes) of a unit and its sub-units against its headcount, on the
// sub-total row of a unit that has one, in HTML and CSV; no column when no
// headcount is known.
func TestAccessReportCoverage(t *testing.T) {
	e := newEnv(t, testConfig())
	ctx := context.Background()
	if err := e.dir.PutAccount(ctx, directory.Account{Address: "skhcn@khanhhoa.gov.vn", DisplayName: "Sở KH&CN", UnitCode: skhcnCode,
		Role: directory.RoleUnit}, ""); err != nil {
		t.Fatal(err)
	}
	day := DayFromDate(2025, 6, 2)
	rep, err := e.engine.AccessReport(ctx, AccessQuery{From: day, To: day})
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	if err := RenderAccessHTML(&plain, rep); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "biên chế") {
		t.Error("a coverage column without any headcount")
	}
	if err := AddCoverage(ctx, rep, e.dir, map[string]int{skhcnCode: 8, divisionCode: 1, communeCode: 3}); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, x := range rep.Rows {
		k := x.Unit.Code
		if x.Subtotal {
			k = "Σ" + k
		}
		got[k] = rep.CoverageCell(x)
	}
	want := map[string]string{"56": "", "56.skhcn": "", "56.skhcn.vp": "1 / 1 (100 %)", "Σ56.skhcn": "4 / 8 (50 %)",
		"22366": "2 / 3 (67 %)", "Σ56": ""}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: coverage %q, want %q", k, got[k], w)
		}
	}
	var html, csv bytes.Buffer
	if err := RenderAccessHTML(&html, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "Tài khoản đã cấp / biên chế") || !strings.Contains(html.String(), `<td class="coverage">4 / 8 (50 %)</td>`) {
		t.Errorf("HTML without the coverage:\n%s", html.String())
	}
	if err := RenderAccessCSV(&csv, rep); err != nil {
		t.Fatal(err)
	}
	units, _ := splitCSV(t, csv.String())
	head := units[0]
	if head[7] != "Tài khoản đã cấp" || head[8] != "Biên chế" {
		t.Fatalf("CSV header %v", head)
	}
	found := false
	for _, row := range units[1:] {
		if row[0] == communeCode {
			found = row[7] == "2" && row[8] == "3" && row[9] == "66.7"
		}
	}
	if !found {
		t.Errorf("CSV without the commune's coverage:\n%s", csv.String())
	}
}
