package policy

import (
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
)

// maxDayColumns: a report over more days shows only period figures in
// HTML (the CSV always has every day; the chart shows the trend).
const maxDayColumns = 31

var accessTmpl = template.Must(template.New("access").Funcs(template.FuncMap{
	"pct": func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) + "%" },
	// level is the indent as a class, for pages whose CSP refuses
	// style attributes (the admin web).
	"level":   func(d int) int { return min(d, 6) },
	"indent":  func(d int) template.CSS { return template.CSS(fmt.Sprintf("padding-left:%.1fem", 0.5+1.5*float64(d))) },
	"daycols": func(r *AccessReport) bool { return len(r.Days) <= maxDayColumns },
	"dayRate": func(r AccessRow, i int) string {
		return strconv.FormatFloat(r.Rate(i), 'f', 0, 64) + "%"
	},
	"vn":      func(d Day) string { return d.VN() },
	"short":   func(d Day) string { _, m, dd := d.Date(); return fmt.Sprintf("%02d/%02d", dd, m) },
	"anyRate": func(r AccessRow) float64 { return pctOf(r.AnyDay, r.Mailboxes) },
	"inc":     func(i int) int { return i + 1 },
}).Parse(`<section class="congvu-access-report">
<h2>Báo cáo truy cập hộp thư công vụ / Mailbox access report</h2>
<p>{{.UnitName}} — từ / from {{vn .Query.From}} đến / to {{vn .Query.To}} ({{len .Days}} ngày / days)</p>
<table class="report">
<thead><tr><th>Đơn vị / Unit</th><th>Số hộp thư / Mailboxes</th><th>Đã truy cập trong kỳ / Accessed in period</th><th>Tỷ lệ TB ngày / Avg daily rate</th>
{{- if .Coverage}}<th>Tài khoản đã cấp / biên chế <span class="en" lang="en">/ Accounts issued / headcount</span></th>{{end}}
{{- if daycols .}}{{range .Days}}<th title="{{vn .}}">{{short .}}</th>{{end}}{{end}}</tr></thead>
<tbody>
{{- $r := .}}{{range .Rows}}
<tr{{if .Subtotal}} class="subtotal"{{end}}><td class="depth-{{level .Depth}}" style="{{indent .Depth}}">{{if .Subtotal}}Cộng / Subtotal: {{end}}{{.Unit.Name}}</td><td>{{.Mailboxes}}</td><td>{{.AnyDay}} ({{pct (anyRate .)}})</td><td>{{pct .AverageRate}}</td>
{{- if $r.Coverage}}<td class="coverage">{{$r.CoverageCell .}}</td>{{end}}
{{- if daycols $r}}{{$row := .}}{{range $i, $d := $r.Days}}<td title="{{index $row.Accessed $i}}/{{$row.Mailboxes}}">{{dayRate $row $i}}</td>{{end}}{{end}}</tr>
{{- end}}
</tbody>
<tfoot><tr class="total"><th>{{.Total.Unit.Name}}</th><th>{{.Total.Mailboxes}}</th><th>{{.Total.AnyDay}} ({{pct (anyRate .Total)}})</th><th>{{pct .Total.AverageRate}}</th>
{{- if .Coverage}}<th></th>{{end}}
{{- if daycols .}}{{$t := .Total}}{{range $i, $d := .Days}}<th>{{dayRate $t $i}}</th>{{end}}{{end}}</tr></tfoot>
</table>
<h3>Cán bộ không truy cập {{.Query.InactiveDays}} ngày trở lên / Officials without access for {{.Query.InactiveDays}} days or more ({{len .Inactive}})</h3>
{{- if .Inactive}}
<table class="report inactive">
<thead><tr><th>#</th><th>Họ và tên / Name</th><th>Chức vụ / Title</th><th>Đơn vị / Unit</th><th>Thư điện tử / Address</th><th>Truy cập gần nhất / Last access</th></tr></thead>
<tbody>
{{- range $i, $x := .Inactive}}
<tr><td>{{inc $i}}</td><td>{{$x.Account.DisplayName}}</td><td>{{$x.Account.Title}}</td><td>{{$x.UnitName}}</td><td>{{$x.Account.Address}}</td><td>{{if $x.Found}}{{vn $x.LastAccess}}{{else}}không có từ / none since {{vn $r.LookbackFrom}}{{end}}</td></tr>
{{- end}}
</tbody>
</table>
{{- else}}
<p>Không có / None.</p>
{{- end}}
</section>
`))

func pctOf(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

// RenderAccessHTML writes the report as an HTML fragment (a <section>
// with two tables) for the admin web, escaped by html/template.
func RenderAccessHTML(w io.Writer, r *AccessReport) error {
	return accessTmpl.Execute(w, r)
}

// pageStyle is the small stylesheet of standalone report pages.
const pageStyle = `body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table.report{border-collapse:collapse;font-size:.9em;margin:.5em 0 1.5em}
table.report th,table.report td{border:1px solid #bbb;padding:.2em .5em;text-align:right}
table.report td:first-child,table.report th:first-child{text-align:left}
tr.subtotal td{font-weight:600;background:#f3f3f3}tfoot th{background:#e8e8e8}`

// RenderAccessPage writes a complete HTML page (lang="vi") around
// RenderAccessHTML, for `congvu report access --format html`.
func RenderAccessPage(w io.Writer, r *AccessReport) error {
	if err := writePageStart(w, "Báo cáo truy cập hộp thư / Access report — "+r.UnitName); err != nil {
		return err
	}
	if err := RenderAccessHTML(w, r); err != nil {
		return err
	}
	_, err := io.WriteString(w, "</body>\n</html>\n")
	return err
}

func writePageStart(w io.Writer, title string) error {
	_, err := fmt.Fprintf(w, "<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n",
		template.HTMLEscapeString(title), pageStyle)
	return err
}

// RenderAccessCSV writes the report as CSV for spreadsheets: UTF-8 with a
// byte order mark (Excel needs it for Vietnamese) and CRLF line ends. Two
// tables separated by an empty line: units (one column per day with the
// number of mailboxes accessed), then the officials without access.
func RenderAccessCSV(w io.Writer, r *AccessReport) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	head := []string{"Mã đơn vị", "Đơn vị", "Cấp", "Dòng", "Số hộp thư", "Đã truy cập trong kỳ", "Tỷ lệ TB ngày (%)"}
	head = appendCoverageHead(head, r)
	for _, d := range r.Days {
		head = append(head, d.String())
	}
	cw.Write(head)
	row := func(x AccessRow, kind string) {
		rec := []string{x.Unit.Code, csvCell(x.Unit.Name), strconv.Itoa(x.Depth), kind, strconv.Itoa(x.Mailboxes),
			strconv.Itoa(x.AnyDay), strconv.FormatFloat(x.AverageRate(), 'f', 1, 64)}
		rec = appendCoverage(rec, r, x)
		for _, n := range x.Accessed {
			rec = append(rec, strconv.Itoa(n))
		}
		cw.Write(rec)
	}
	for _, x := range r.Rows {
		kind := "đơn vị"
		if x.Subtotal {
			kind = "cộng"
		}
		row(x, kind)
	}
	row(r.Total, "tổng")
	cw.Write(nil)
	cw.Write([]string{"Thư điện tử", "Họ và tên", "Chức vụ", "Mã đơn vị", "Đơn vị", "Truy cập gần nhất"})
	for _, x := range r.Inactive {
		last := ""
		if x.Found {
			last = x.LastAccess.String()
		}
		cw.Write([]string{x.Account.Address, csvCell(x.Account.DisplayName), csvCell(x.Account.Title),
			x.Account.UnitCode, csvCell(x.UnitName), last})
	}
	cw.Flush()
	return cw.Error()
}

// csvCell defuses spreadsheet formulas (CSV injection) in free text.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
