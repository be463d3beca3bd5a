package webmail

import (
	"bytes"
	"html/template"
	"net/http"
	"strings"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
)

// maxReportDays bounds the range of one report page.
const maxReportDays = 366

type unitOption struct {
	Code, Label string
	Selected    bool
}

type reportsData struct {
	Unit      directory.Unit
	Units     []unitOption
	From, To  string
	Available bool
	HTML      template.HTML // the policy engine's fragment
}

// adminReports is the slot of the policy engine's access report: the admin
// chooses a unit in their scope and a range of days; Reports renders it.
func (wb *Web) adminReports(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	q := r.URL.Query()
	code := q.Get("unit")
	if code == "" {
		if roots := a.scopeRoots(); len(roots) > 0 {
			code = roots[0]
		}
	}
	u, ok := a.tree.units[code]
	if !ok || !a.inScope(code) {
		wb.message(w, http.StatusForbidden, "Đơn vị này không thuộc phạm vi bạn quản lý.", "This unit is not one you manage.")
		return
	}
	loc := vietnam()
	now := wb.opts.Now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	from, to := today.AddDate(0, 0, -6), today
	d := reportsData{Unit: u, Available: wb.opts.Reports != nil}
	var n *notice
	status := http.StatusOK
	parse := func(v string, dst *time.Time) {
		if v == "" {
			return
		}
		t, err := time.ParseInLocation(time.DateOnly, v, loc)
		if err != nil {
			n = &notice{Kind: "error", VI: "Ngày không hợp lệ (cần dạng năm-tháng-ngày).", EN: "Invalid date (use year-month-day)."}
			status = http.StatusBadRequest
			return
		}
		*dst = t
	}
	parse(q.Get("from"), &from)
	parse(q.Get("to"), &to)
	if n == nil && (to.Before(from) || to.Sub(from) > maxReportDays*24*time.Hour) {
		n = &notice{Kind: "error", VI: "Khoảng thời gian không hợp lệ (tối đa 366 ngày, từ ngày trước đến ngày).",
			EN: "Invalid range (at most 366 days, from before to)."}
		status = http.StatusBadRequest
	}
	d.From, d.To = from.Format(time.DateOnly), to.Format(time.DateOnly)
	var walk func(c string, depth int)
	walk = func(c string, depth int) {
		d.Units = append(d.Units, unitOption{c, strings.Repeat("— ", depth) + a.tree.units[c].Name, c == code})
		for _, ch := range a.tree.children[c] {
			walk(ch, depth+1)
		}
	}
	for _, root := range a.scopeRoots() {
		walk(root, 0)
	}
	if n == nil && d.Available {
		var buf bytes.Buffer
		if err := wb.opts.Reports.AccessReportHTML(r.Context(), &buf, code, from, to); err != nil {
			e := mailerr.Classify(err)
			wb.log.Warn("web: access report failed", "unit", code, "err", err)
			n, status = errorNotice(e), e.HTTP()
		} else {
			// The fragment comes from congvu's own report code, not from users.
			d.HTML = template.HTML(buf.String())
		}
	}
	p := wb.adminPage(a, "reports", "Báo cáo truy cập", "Access report", d)
	if n != nil {
		p.Notice = n
	}
	wb.render(w, status, "admin-reports", p)
}
