package policy

import (
	"strings"
	"testing"

	"congvu/directory"
)

// The admin web's CSP refuses style attributes, so the fragments also say
// each unit's depth in the tree as a class the web's stylesheet indents.
func TestReportFragmentsCarryDepthClasses(t *testing.T) {
	day, err := ParseDay("2026-03-02")
	if err != nil {
		t.Fatal(err)
	}
	rows := []AccessRow{
		{Unit: directory.Unit{Code: skhcnCode, Name: "Sở Khoa học và Công nghệ"}, Depth: 1, Mailboxes: 4, Accessed: []int{2}},
		{Unit: directory.Unit{Code: divisionCode, Name: "Văn phòng Sở"}, Depth: 2, Mailboxes: 1, Accessed: []int{1}},
	}
	var access strings.Builder
	if err := RenderAccessHTML(&access, &AccessReport{Query: AccessQuery{From: day, To: day}, Days: []Day{day}, Rows: rows,
		Total: AccessRow{Accessed: []int{3}}}); err != nil {
		t.Fatal(err)
	}
	var usage strings.Builder
	if err := RenderUsageHTML(&usage, &UsageReport{Rows: []UsageRow{{Unit: rows[0].Unit, Depth: 1}, {Unit: rows[1].Unit, Depth: 9}}}); err != nil {
		t.Fatal(err)
	}
	for name, html := range map[string]string{"access": access.String(), "usage": usage.String()} {
		for _, want := range []string{`<td class="depth-1" style="padding-left:2.0em">Sở Khoa học`, `class="depth-`} {
			if !strings.Contains(html, want) {
				t.Errorf("%s fragment lacks %q:\n%s", name, want, html)
			}
		}
	}
	if !strings.Contains(access.String(), `<td class="depth-2"`) || !strings.Contains(usage.String(), `<td class="depth-6"`) {
		t.Errorf("depth classes: access %q usage %q", access.String(), usage.String())
	}
}
