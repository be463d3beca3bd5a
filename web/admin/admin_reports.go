package admin

// The report pages of the admin web: the daily-access report (HTML on the
// page, its chart as an SVG image from /admin/reports/access.svg, CSV and
// PNG downloads) and the usage report (HTML, CSV) for a year, quarter or
// month. Every URL carries the unit and period, and every handler checks
// the unit against the viewer's scope itself: a download link is no
// capability.

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/web/core"
)

// maxReportDays bounds the range of one report page.
const maxReportDays = 366

type unitOption struct {
	Code, Label string
	Selected    bool
}

// reportLink is a download of the report shown.
type reportLink struct {
	Href, Label, LabelEN string
}

type reportsData struct {
	Unit      directory.Unit
	Units     []unitOption
	From, To  string
	Available bool
	HTML      template.HTML // the policy engine's fragment
	Chart     string        // URL of the SVG chart
	Downloads []reportLink
}

// reportUnit returns the unit a report request is about (by default the
// admin's first top unit), or writes the refusal and returns false.
func (wb *room) reportUnit(w http.ResponseWriter, r *http.Request, a *adminCtx) (directory.Unit, bool) {
	code := r.URL.Query().Get("unit")
	if code == "" {
		if roots := a.scopeRoots(); len(roots) > 0 {
			code = roots[0]
		}
	}
	u, ok := a.tree.Units[code]
	if !ok || !a.inScope(code) {
		wb.Message(w, http.StatusForbidden, "Đơn vị này không thuộc phạm vi bạn quản lý.", "This unit is not one you manage.")
		return directory.Unit{}, false
	}
	return u, true
}

// unitOptions lists the units of the admin's scope along the tree.
func (a *adminCtx) unitOptions(selected string) []unitOption {
	var out []unitOption
	var walk func(c string, depth int)
	walk = func(c string, depth int) {
		out = append(out, unitOption{c, strings.Repeat("— ", depth) + a.tree.Units[c].Name, c == selected})
		for _, ch := range a.tree.Children[c] {
			walk(ch, depth+1)
		}
	}
	for _, root := range a.scopeRoots() {
		walk(root, 0)
	}
	return out
}

// reportDays reads from and to (days in Asia/Ho_Chi_Minh, inclusive);
// the default is the last seven days.
func (wb *room) reportDays(q url.Values) (from, to time.Time, n *core.Notice) {
	loc := core.Vietnam()
	now := wb.Now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	from, to = today.AddDate(0, 0, -6), today
	for _, f := range []struct {
		v   string
		dst *time.Time
	}{{q.Get("from"), &from}, {q.Get("to"), &to}} {
		if f.v == "" {
			continue
		}
		t, err := time.ParseInLocation(time.DateOnly, f.v, loc)
		if err != nil {
			return from, to, &core.Notice{Kind: "error", VI: "Ngày không hợp lệ (cần dạng năm-tháng-ngày).", EN: "Invalid date (use year-month-day)."}
		}
		*f.dst = t
	}
	if to.Before(from) || to.Sub(from) > maxReportDays*24*time.Hour {
		return from, to, &core.Notice{Kind: "error", VI: "Khoảng thời gian không hợp lệ (tối đa 366 ngày, từ ngày trước đến ngày).",
			EN: "Invalid range (at most 366 days, from before to)."}
	}
	return from, to, nil
}

// reportFailed turns a failed report into a notice; the cause is logged.
func (wb *room) reportFailed(what, unit string, err error) (*core.Notice, int) {
	e := mailerr.Classify(err)
	wb.Log.Warn("web: "+what+" failed", "unit", unit, "err", err)
	return core.ErrorNotice(e), e.HTTP()
}

// adminReports is the page of the policy engine's access report: the admin
// chooses a unit in their scope and a range of days.
func (wb *room) adminReports(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	u, ok := wb.reportUnit(w, r, a)
	if !ok {
		return
	}
	from, to, n := wb.reportDays(r.URL.Query())
	status := http.StatusOK
	if n != nil {
		status = http.StatusBadRequest
	}
	d := reportsData{Unit: u, Available: wb.opts.Reports != nil, Units: a.unitOptions(u.Code),
		From: from.Format(time.DateOnly), To: to.Format(time.DateOnly)}
	if n == nil && d.Available {
		var buf bytes.Buffer
		if err := wb.opts.Reports.AccessReport(r.Context(), &buf, FormatHTML, u.Code, from, to); err != nil {
			n, status = wb.reportFailed("access report", u.Code, err)
		} else {
			// The fragment comes from congvu's own report code, not from users.
			d.HTML = template.HTML(withoutInlineStyle(buf.String()))
			q := url.Values{"unit": {u.Code}, "from": {d.From}, "to": {d.To}}.Encode()
			d.Chart = "/admin/reports/access.svg?" + q
			d.Downloads = []reportLink{
				{"/admin/reports/access.csv?" + q, "Tải bảng tính (CSV)", "Download spreadsheet (CSV)"},
				{"/admin/reports/access.png?" + q, "Tải biểu đồ (PNG)", "Download chart (PNG)"},
				{d.Chart, "Mở biểu đồ (SVG)", "Open chart (SVG)"},
			}
		}
	}
	p := wb.adminPage(a, "reports", "Báo cáo truy cập", "Access report", d)
	if n != nil {
		p.Notice = n
	}
	wb.Render(w, status, tmpl["admin-reports"], p)
}

// reportTypes are the downloads: content type and whether the browser
// saves the file (the SVG chart is shown in the page as an image).
var reportTypes = map[ReportFormat]struct {
	contentType string
	attachment  bool
}{
	FormatCSV: {"text/csv; charset=utf-8", true},
	FormatSVG: {"image/svg+xml", false},
	FormatPNG: {"image/png", true},
}

// sendReport writes a rendered report file. Names are ASCII so that every
// browser keeps them.
func sendReport(w http.ResponseWriter, f ReportFormat, name string, body []byte) {
	t := reportTypes[f]
	w.Header().Set("Content-Type", t.contentType)
	disp := "inline"
	if t.attachment {
		disp = "attachment"
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`%s; filename="%s.%s"`, disp, name, f))
	w.Write(body)
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func fileName(parts ...string) string {
	return unsafeFileChars.ReplaceAllString(strings.Join(parts, "_"), "-")
}

// accessDownload serves the access report as CSV, SVG or PNG.
func (wb *room) accessDownload(f ReportFormat) func(http.ResponseWriter, *http.Request, *adminCtx) {
	return func(w http.ResponseWriter, r *http.Request, a *adminCtx) {
		u, ok := wb.reportUnit(w, r, a)
		if !ok {
			return
		}
		from, to, n := wb.reportDays(r.URL.Query())
		if n != nil {
			wb.Message(w, http.StatusBadRequest, n.VI, n.EN)
			return
		}
		if wb.opts.Reports == nil {
			wb.Message(w, http.StatusNotFound, "Báo cáo truy cập chưa có trên máy chủ này.", "The access report is not available on this server.")
			return
		}
		var buf bytes.Buffer
		if err := wb.opts.Reports.AccessReport(r.Context(), &buf, f, u.Code, from, to); err != nil {
			n, status := wb.reportFailed("access report "+string(f), u.Code, err)
			wb.Message(w, status, n.VI, n.EN)
			return
		}
		sendReport(w, f, fileName("truy-cap", u.Code, from.Format(time.DateOnly), to.Format(time.DateOnly)), buf.Bytes())
	}
}

// periodPattern is what policy.ParsePeriod reads: a year, a quarter or a
// month.
var periodPattern = regexp.MustCompile(`^[0-9]{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$`)

type periodOption struct {
	Value, Label string
	Selected     bool
}

type periodGroup struct {
	Label   string
	Options []periodOption
}

type usageData struct {
	Unit      directory.Unit
	Units     []unitOption
	Periods   []periodGroup
	Period    string
	Available bool
	HTML      template.HTML
	CSV       string
}

// reportPeriod reads the period of a usage report; the default is the
// current year (the yearly report is due before 15 December).
func (wb *room) reportPeriod(q url.Values) (string, *core.Notice) {
	p := strings.ToUpper(strings.TrimSpace(q.Get("period")))
	if p == "" {
		return fmt.Sprint(wb.Now().In(core.Vietnam()).Year()), nil
	}
	if !periodPattern.MatchString(p) {
		return "", &core.Notice{Kind: "error", VI: "Kỳ báo cáo không hợp lệ (năm 2026, quý 2026-Q1 hoặc tháng 2026-03).",
			EN: "Invalid period (year 2026, quarter 2026-Q1 or month 2026-03)."}
	}
	return p, nil
}

// periodGroups are the periods offered: the last three years, the
// quarters and months of this year and the last.
func periodGroups(now time.Time, selected string) []periodGroup {
	y := now.Year()
	years := periodGroup{Label: "Năm / Year"}
	for i := 0; i < 3; i++ {
		v := fmt.Sprint(y - i)
		years.Options = append(years.Options, periodOption{v, "Năm " + v, v == selected})
	}
	quarters := periodGroup{Label: "Quý / Quarter"}
	for yy := y; yy >= y-1; yy-- {
		for qn := 4; qn >= 1; qn-- {
			if yy == y && (qn-1)*3 >= int(now.Month()) {
				continue
			}
			v := fmt.Sprintf("%d-Q%d", yy, qn)
			quarters.Options = append(quarters.Options, periodOption{v, fmt.Sprintf("Quý %d/%d", qn, yy), v == selected})
		}
	}
	months := periodGroup{Label: "Tháng / Month"}
	first := time.Date(y, now.Month(), 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 24; i++ {
		m := first.AddDate(0, -i, 0)
		v := m.Format("2006-01")
		months.Options = append(months.Options, periodOption{v, m.Format("Tháng 01/2006"), v == selected})
	}
	groups := []periodGroup{years, quarters, months}
	for _, g := range groups {
		for _, o := range g.Options {
			if o.Selected {
				return groups
			}
		}
	}
	// A period typed into the URL stays selectable.
	return append([]periodGroup{{Label: "Đã chọn / Chosen", Options: []periodOption{{selected, selected, true}}}}, groups...)
}

// adminUsage is the page of the usage report.
func (wb *room) adminUsage(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	u, ok := wb.reportUnit(w, r, a)
	if !ok {
		return
	}
	period, n := wb.reportPeriod(r.URL.Query())
	status := http.StatusOK
	if n != nil {
		status = http.StatusBadRequest
	}
	d := usageData{Unit: u, Units: a.unitOptions(u.Code), Period: period, Available: wb.opts.Reports != nil,
		Periods: periodGroups(wb.Now().In(core.Vietnam()), period)}
	if n == nil && d.Available {
		var buf bytes.Buffer
		if err := wb.opts.Reports.UsageReport(r.Context(), &buf, FormatHTML, u.Code, period); err != nil {
			n, status = wb.reportFailed("usage report", u.Code, err)
		} else {
			d.HTML = template.HTML(withoutInlineStyle(buf.String())) // congvu's own report code
			d.CSV = "/admin/reports/usage.csv?" + url.Values{"unit": {u.Code}, "period": {period}}.Encode()
		}
	}
	p := wb.adminPage(a, "usage", "Báo cáo sử dụng", "Usage report", d)
	if n != nil {
		p.Notice = n
	}
	wb.Render(w, status, tmpl["admin-usage"], p)
}

// usageDownload serves the usage report as CSV.
func (wb *room) usageDownload(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	u, ok := wb.reportUnit(w, r, a)
	if !ok {
		return
	}
	period, n := wb.reportPeriod(r.URL.Query())
	if n != nil {
		wb.Message(w, http.StatusBadRequest, n.VI, n.EN)
		return
	}
	if wb.opts.Reports == nil {
		wb.Message(w, http.StatusNotFound, "Báo cáo sử dụng chưa có trên máy chủ này.", "The usage report is not available on this server.")
		return
	}
	var buf bytes.Buffer
	if err := wb.opts.Reports.UsageReport(r.Context(), &buf, FormatCSV, u.Code, period); err != nil {
		n, status := wb.reportFailed("usage report csv", u.Code, err)
		wb.Message(w, status, n.VI, n.EN)
		return
	}
	sendReport(w, FormatCSV, fileName("su-dung", u.Code, period), buf.Bytes())
}

// inlineStyle is a style attribute of the policy engine's report fragment:
// its e-mail form needs them, the page's CSP refuses them (the depth-N
// classes indent instead).
var inlineStyle = regexp.MustCompile(` style="[^"]*"`)

func withoutInlineStyle(html string) string { return inlineStyle.ReplaceAllString(html, "") }
