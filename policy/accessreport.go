package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
)

// AccessQuery selects an access report.
type AccessQuery struct {
	// Unit is the unit code whose subtree the report covers; "" is every
	// unit (the whole province).
	Unit     string
	From, To Day // inclusive
	// InactiveDays lists the officials without access during the last
	// InactiveDays days up to To; 0 uses policy.rules.inactive_days.
	InactiveDays int
}

// AccessRow is one line of an access report: a unit's own mailboxes, or
// (Subtotal) a department, commune or province with everything below it.
type AccessRow struct {
	Unit     directory.Unit
	Depth    int
	Subtotal bool
	// Mailboxes counts accounts that are not retired.
	Mailboxes int
	// Accessed[i] is how many of them accessed on the i-th day of the
	// period; AnyDay how many accessed at least once in it.
	Accessed []int
	AnyDay   int
}

// Rate is the share of mailboxes accessed on day i, in percent.
func (r AccessRow) Rate(i int) float64 {
	if r.Mailboxes == 0 {
		return 0
	}
	return 100 * float64(r.Accessed[i]) / float64(r.Mailboxes)
}

// AverageRate is the mean daily rate over the period, in percent.
func (r AccessRow) AverageRate() float64 {
	if r.Mailboxes == 0 || len(r.Accessed) == 0 {
		return 0
	}
	sum := 0
	for _, n := range r.Accessed {
		sum += n
	}
	return 100 * float64(sum) / float64(r.Mailboxes*len(r.Accessed))
}

// Inactive is an official without access during the last InactiveDays.
type Inactive struct {
	Account  directory.Account
	UnitName string
	// LastAccess is the last day with an access, when one was found since
	// the report's LookbackFrom; Found is false otherwise.
	LastAccess Day
	Found      bool
}

// AccessReport is the result of BuildAccessReport.
type AccessReport struct {
	Query    AccessQuery
	UnitName string // name of Query.Unit, or "Toàn tỉnh"
	Days     []Day
	Rows     []AccessRow // tree order; sub-totals after their last sub-unit
	Total    AccessRow
	Inactive []Inactive // in tree order, then by address
	// Coverage is accounts issued / headcount by unit code, for the
	// units whose headcount is known (coverage.go; nil: none).
	Coverage map[string]Coverage
	// LookbackFrom is the first day searched for last accesses.
	LookbackFrom Day
	Generated    time.Time
	Location     *time.Location
}

// ErrBadRange refuses a report period that ends before it starts or spans
// more than maxReportDays.
var ErrBadRange = &mailerr.Error{SMTPCode: 501, Enhanced: [3]int{5, 5, 4}, IMAPCode: "CANNOT", HTTPStatus: 400,
	Message: "Invalid report period", MessageVI: "Khoảng thời gian báo cáo không hợp lệ"}

// lastAccessLookback is how far before the end of a period the report
// looks for an inactive official's last access.
const lastAccessLookback = 92

// maxReportDays bounds a report (a little over a leap year).
const maxReportDays = 400

// AccessReport builds a report from the engine's database and directory,
// after writing what is still pending in memory.
func (e *Engine) AccessReport(ctx context.Context, q AccessQuery) (*AccessReport, error) {
	if err := e.Flush(ctx); err != nil {
		return nil, err
	}
	if q.InactiveDays <= 0 {
		q.InactiveDays = e.rules.Load().cfg.Rules.InactiveDays
	}
	loc := e.rules.Load().loc
	return BuildAccessReport(ctx, e.db, DirectoryAt(e.opts.Dir, e.opts.History, q.To, e.now(), loc), q, loc)
}

// BuildAccessReport computes an access report: per unit and day how many
// mailboxes were accessed, ordered along the organisation tree with
// sub-totals for departments, communes and the province, and the officials
// without access during the last q.InactiveDays days (default 3). Unit
// membership is dir's: pass DirectoryAt's for a past period. An official's
// accesses are read under every address of the account (Address and
// Aliases): they are recorded under the address used at the time, which
// a transfer or a merger may have changed since.
func BuildAccessReport(ctx context.Context, db *DB, dir directory.Directory, q AccessQuery, loc *time.Location) (*AccessReport, error) {
	if q.To < q.From || int(q.To-q.From) >= maxReportDays {
		return nil, ErrBadRange.With(fmt.Errorf("%s to %s", q.From, q.To))
	}
	if q.InactiveDays <= 0 {
		q.InactiveDays = 3
	}
	units, err := dir.Units(ctx)
	if err != nil {
		return nil, err
	}
	tree := newUnitTree(units)
	scope := tree.order
	rep := &AccessReport{Query: q, UnitName: "Toàn bộ đơn vị / All units", Generated: time.Now(), Location: loc}
	if q.Unit != "" {
		scope = tree.subtree(q.Unit)
		if len(scope) == 0 {
			return nil, directory.ErrInvalid.WithMessage("Unknown unit", "Không có đơn vị này").With(fmt.Errorf("unit %q", q.Unit))
		}
		rep.UnitName = scope[0].Name
	}
	inScope := make(map[string]bool, len(scope))
	for _, u := range scope {
		inScope[u.Code] = true
	}
	all, err := dir.Accounts(ctx, "")
	if err != nil {
		return nil, err
	}
	byUnit := map[string][]directory.Account{}
	for _, a := range all {
		if a.State != directory.StateRetired && inScope[a.UnitCode] {
			byUnit[a.UnitCode] = append(byUnit[a.UnitCode], a)
		}
	}
	for d := q.From; d <= q.To; d++ {
		rep.Days = append(rep.Days, d)
	}
	// Read from the earlier of the period start and a look-back window long
	// enough to show when an inactive official last accessed.
	scanFrom := min(q.From, q.To-Day(max(q.InactiveDays, lastAccessLookback))+1)
	rep.LookbackFrom = scanFrom
	ids, err := db.users(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.monthRows(ctx, MonthOf(scanFrom), MonthOf(q.To))
	if err != nil {
		return nil, err
	}
	nDays := len(rep.Days)
	// Calendar of the scanned days, computed once rather than per official.
	scanMonth := make([]Month, q.To-scanFrom+1)
	scanSlot := make([]int, len(scanMonth))
	for i := range scanMonth {
		d := scanFrom + Day(i)
		_, _, dom := d.Date()
		scanMonth[i], scanSlot[i] = MonthOf(d), dom-1
	}
	own := map[string]*AccessRow{}
	for _, u := range scope {
		r := &AccessRow{Unit: u, Depth: tree.depth[u.Code] - tree.depth[scope[0].Code], Accessed: make([]int, nDays)}
		own[u.Code] = r
		for _, a := range byUnit[u.Code] {
			r.Mailboxes++
			var histories []map[Month][]byte
			for _, address := range append([]string{a.Address}, a.Aliases...) {
				if id, ok := ids[address]; ok {
					histories = append(histories, rows[id])
				}
			}
			any, last, found := false, Day(0), false
			for i := range scanMonth {
				if !slices.ContainsFunc(histories, func(months map[Month][]byte) bool {
					return slotAt(months[scanMonth[i]], scanSlot[i]).accessed()
				}) {
					continue
				}
				d := scanFrom + Day(i)
				last, found = d, true
				if d >= q.From {
					r.Accessed[d-q.From]++
					any = true
				}
			}
			if any {
				r.AnyDay++
			}
			if !found || last <= q.To-Day(q.InactiveDays) {
				rep.Inactive = append(rep.Inactive, Inactive{Account: a, UnitName: u.Name, LastAccess: last, Found: found})
			}
		}
	}
	// Sub-totals: a department, commune or province sums its subtree.
	total := AccessRow{Unit: directory.Unit{Name: "Tổng cộng / Total"}, Subtotal: true, Accessed: make([]int, nDays)}
	var sum func(code string) AccessRow
	sum = func(code string) AccessRow {
		r := *own[code]
		r.Accessed = slices.Clone(r.Accessed)
		for _, c := range tree.Children[code] {
			if own[c] == nil {
				continue
			}
			s := sum(c)
			r.Mailboxes += s.Mailboxes
			r.AnyDay += s.AnyDay
			for i := range r.Accessed {
				r.Accessed[i] += s.Accessed[i]
			}
		}
		return r
	}
	var emit func(code string)
	emit = func(code string) {
		r := own[code]
		if r.Mailboxes > 0 {
			rep.Rows = append(rep.Rows, *r)
		}
		hasSub := false
		for _, c := range tree.Children[code] {
			if own[c] != nil {
				emit(c)
				hasSub = true
			}
		}
		k := r.Unit.Kind
		if hasSub && (k == directory.UnitDepartment || k == directory.UnitCommune || k == directory.UnitProvince) {
			if s := sum(code); s.Mailboxes > r.Mailboxes {
				s.Subtotal = true
				rep.Rows = append(rep.Rows, s)
			}
		}
	}
	emit(scope[0].Code)
	for _, u := range scope[1:] {
		// Roots other than the first (several provinces, or orphans).
		if _, ok := own[u.ParentCode]; !ok {
			emit(u.Code)
		}
	}
	for _, r := range rep.Rows {
		if r.Subtotal {
			continue
		}
		total.Mailboxes += r.Mailboxes
		total.AnyDay += r.AnyDay
		for i := range total.Accessed {
			total.Accessed[i] += r.Accessed[i]
		}
	}
	rep.Total = total
	order := map[string]int{}
	for i, u := range scope {
		order[u.Code] = i
	}
	slices.SortStableFunc(rep.Inactive, func(a, b Inactive) int {
		if d := order[a.Account.UnitCode] - order[b.Account.UnitCode]; d != 0 {
			return d
		}
		return strings.Compare(a.Account.Address, b.Account.Address)
	})
	return rep, nil
}
