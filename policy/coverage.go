package policy

// The coverage figure of the access report (issue 14, the seeds' rate
// tables): accounts issued to the officials of a unit against its
// headcount (biên chế), where the headcount is known. Kept apart from
// accessreport.go: the report itself does not need the headcounts, the
// callers that know them add the figure (AddCoverage).

import (
	"context"
	"fmt"

	"congvu/directory"
)

// Coverage is one unit's accounts issued against its headcount.
type Coverage struct {
	// Issued counts the accounts of people (not unit mailboxes, not
	// retired) of the unit and every unit below it.
	Issued    int
	Headcount int
}

// Rate is Issued / Headcount in percent.
func (c Coverage) Rate() float64 { return pctOf(c.Issued, c.Headcount) }

// String is the cell of the report: "12 / 15 (80 %)".
func (c Coverage) String() string {
	return fmt.Sprintf("%d / %d (%.0f %%)", c.Issued, c.Headcount, c.Rate())
}

// AddCoverage fills r.Coverage for the report's units whose headcount is
// known (headcount by unit code), counting the accounts issued from dir.
func AddCoverage(ctx context.Context, r *AccessReport, dir directory.Directory, headcount map[string]int) error {
	if len(headcount) == 0 {
		return nil
	}
	units, err := dir.Units(ctx)
	if err != nil {
		return err
	}
	tree := directory.NewTree(units)
	all, err := dir.Accounts(ctx, "")
	if err != nil {
		return err
	}
	people := map[string]int{}
	for _, a := range all {
		if a.Role != directory.RoleUnit && a.State != directory.StateRetired {
			people[a.UnitCode]++
		}
	}
	for _, x := range r.Rows {
		n, ok := headcount[x.Unit.Code]
		if !ok || n <= 0 {
			continue
		}
		c := Coverage{Headcount: n}
		for _, code := range tree.Subtree(x.Unit.Code) {
			c.Issued += people[code]
		}
		if r.Coverage == nil {
			r.Coverage = map[string]Coverage{}
		}
		r.Coverage[x.Unit.Code] = c
	}
	return nil
}

// CoverageCell is the coverage shown on row x: on a unit's sub-total row
// when it has one (the headcount counts its sub-units too), else on its
// own row; "" where the headcount is unknown.
func (r *AccessReport) CoverageCell(x AccessRow) string {
	c, ok := r.Coverage[x.Unit.Code]
	if !ok || x.Unit.Code == "" {
		return ""
	}
	if !x.Subtotal {
		for _, y := range r.Rows {
			if y.Subtotal && y.Unit.Code == x.Unit.Code {
				return ""
			}
		}
	}
	return c.String()
}

// appendCoverageHead adds the CSV's coverage columns when the report has
// any coverage.
func appendCoverageHead(head []string, r *AccessReport) []string {
	if len(r.Coverage) == 0 {
		return head
	}
	return append(head, "Tài khoản đã cấp", "Biên chế", "Tỷ lệ đã cấp (%)")
}

// appendCoverage adds row x's coverage cells (empty where unknown).
func appendCoverage(rec []string, r *AccessReport, x AccessRow) []string {
	if len(r.Coverage) == 0 {
		return rec
	}
	if r.CoverageCell(x) == "" {
		return append(rec, "", "", "")
	}
	c := r.Coverage[x.Unit.Code]
	return append(rec, fmt.Sprint(c.Issued), fmt.Sprint(c.Headcount), fmt.Sprintf("%.1f", c.Rate()))
}
