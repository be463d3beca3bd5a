package policy

import (
	"context"
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"congvu/directory"
)

// UsageCounts are the message counters of a unit over a period, as in the
// provinces' roadmap tables.
type UsageCounts struct {
	SentState, SentOutside, SentWithAttachment             int64
	ReceivedState, ReceivedOutside, ReceivedWithAttachment int64
	// Official documents sent (messages carrying one), of which with a
	// valid digital signature (S/MIME or a signed PDF) and of which
	// electronic originals rather than scans.
	OfficialSent, OfficialSigned, OfficialElectronic int64
}

// SignedShare is the share of official documents sent with a valid
// signature, in percent ("–" when none were sent).
func (c UsageCounts) SignedShare() string { return percent(c.OfficialSigned, c.OfficialSent) }

// ElectronicShare is the share of official documents sent as electronic
// originals (with a text layer), not scans, in percent.
func (c UsageCounts) ElectronicShare() string { return percent(c.OfficialElectronic, c.OfficialSent) }

func percent(n, of int64) string {
	if of == 0 {
		return "–"
	}
	return strconv.FormatFloat(float64(n)*100/float64(of), 'f', 1, 64) + "%"
}

// Sent is every message sent.
func (c UsageCounts) Sent() int64 { return c.SentState + c.SentOutside }

// Received is every message received.
func (c UsageCounts) Received() int64 { return c.ReceivedState + c.ReceivedOutside }

func (c *UsageCounts) add(o UsageCounts) {
	c.SentState += o.SentState
	c.SentOutside += o.SentOutside
	c.SentWithAttachment += o.SentWithAttachment
	c.ReceivedState += o.ReceivedState
	c.ReceivedOutside += o.ReceivedOutside
	c.ReceivedWithAttachment += o.ReceivedWithAttachment
	c.OfficialSent += o.OfficialSent
	c.OfficialSigned += o.OfficialSigned
	c.OfficialElectronic += o.OfficialElectronic
}

// UsageRow is one unit's line (or a sub-total) of a usage report.
type UsageRow struct {
	Unit     directory.Unit
	Depth    int
	Subtotal bool
	UsageCounts
}

// UsageReport is the result of BuildUsageReport.
type UsageReport struct {
	Unit     string
	UnitName string
	From, To Month
	Rows     []UsageRow
	Total    UsageRow
}

// ParsePeriod reads a month (2025-06), a quarter (2025-Q2) or a year (2025).
func ParsePeriod(s string) (from, to Month, err error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	var y, n int
	switch {
	case len(s) == 4:
		if y, err = strconv.Atoi(s); err == nil {
			return Month(y * 12), Month(y*12 + 11), nil
		}
	case len(s) == 7 && s[4] == '-' && s[5] == 'Q':
		y, err = strconv.Atoi(s[:4])
		if n, _ = strconv.Atoi(s[6:]); err == nil && n >= 1 && n <= 4 {
			return Month(y*12 + 3*(n-1)), Month(y*12 + 3*n - 1), nil
		}
	case len(s) == 7 && s[4] == '-':
		var t time.Time
		if t, err = time.Parse("2006-01", s); err == nil {
			m := Month(t.Year()*12 + int(t.Month()) - 1)
			return m, m, nil
		}
	}
	return 0, 0, ErrBadRange.With(fmt.Errorf("period %q: want YYYY, YYYY-Qn or YYYY-MM", s))
}

// BuildUsageReport sums the usage counters of months [from, to] per unit
// of the subtree of unit ("" = all), along the organisation tree with
// sub-totals for departments, communes and the province.
func BuildUsageReport(ctx context.Context, db *DB, dir directory.Directory, unit string, from, to Month) (*UsageReport, error) {
	if to < from || to-from > 120 {
		return nil, ErrBadRange.With(fmt.Errorf("%s to %s", from, to))
	}
	units, err := dir.Units(ctx)
	if err != nil {
		return nil, err
	}
	tree := newUnitTree(units)
	scope := tree.order
	rep := &UsageReport{Unit: unit, UnitName: "Toàn bộ đơn vị / All units", From: from, To: to}
	if unit != "" {
		if scope = tree.subtree(unit); len(scope) == 0 {
			return nil, directory.ErrInvalid.WithMessage("Unknown unit", "Không có đơn vị này").With(fmt.Errorf("unit %q", unit))
		}
		rep.UnitName = scope[0].Name
	}
	rows, err := db.ro.QueryContext(ctx, `SELECT unit, direction, peer, attachment, sum(messages) FROM usage
		WHERE month BETWEEN ? AND ? GROUP BY unit, direction, peer, attachment`, int64(from), int64(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := map[string]*UsageCounts{}
	for rows.Next() {
		var u string
		var dirn, peer, att int
		var n int64
		if err := rows.Scan(&u, &dirn, &peer, &att, &n); err != nil {
			return nil, err
		}
		c := counts[u]
		if c == nil {
			c = &UsageCounts{}
			counts[u] = c
		}
		switch {
		case dirn == 0 && peer == 0:
			c.SentState += n
		case dirn == 0:
			c.SentOutside += n
		case peer == 0:
			c.ReceivedState += n
		default:
			c.ReceivedOutside += n
		}
		if att == 1 && dirn == 0 {
			c.SentWithAttachment += n
		} else if att == 1 {
			c.ReceivedWithAttachment += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	docs, err := db.ro.QueryContext(ctx, `SELECT unit, sum(official), sum(signed), sum(electronic) FROM documents
		WHERE month BETWEEN ? AND ? GROUP BY unit`, int64(from), int64(to))
	if err != nil {
		return nil, err
	}
	defer docs.Close()
	for docs.Next() {
		var u string
		var official, signed, electronic int64
		if err := docs.Scan(&u, &official, &signed, &electronic); err != nil {
			return nil, err
		}
		c := counts[u]
		if c == nil {
			c = &UsageCounts{}
			counts[u] = c
		}
		c.OfficialSent, c.OfficialSigned, c.OfficialElectronic = official, signed, electronic
	}
	if err := docs.Err(); err != nil {
		return nil, err
	}
	inScope := map[string]bool{}
	for _, u := range scope {
		inScope[u.Code] = true
	}
	var subtree func(code string) UsageCounts
	subtree = func(code string) UsageCounts {
		var c UsageCounts
		if own := counts[code]; own != nil {
			c = *own
		}
		for _, ch := range tree.Children[code] {
			if inScope[ch] {
				c.add(subtree(ch))
			}
		}
		return c
	}
	base := tree.depth[scope[0].Code]
	var emit func(code string)
	emit = func(code string) {
		u := tree.Units[code]
		row := UsageRow{Unit: u, Depth: tree.depth[code] - base}
		if own := counts[code]; own != nil {
			row.UsageCounts = *own
		}
		rep.Rows = append(rep.Rows, row)
		rep.Total.add(row.UsageCounts)
		hasSub := false
		for _, ch := range tree.Children[code] {
			if inScope[ch] {
				emit(ch)
				hasSub = true
			}
		}
		if hasSub && (u.Kind == directory.UnitDepartment || u.Kind == directory.UnitCommune || u.Kind == directory.UnitProvince) {
			rep.Rows = append(rep.Rows, UsageRow{Unit: u, Depth: row.Depth, Subtotal: true, UsageCounts: subtree(code)})
		}
	}
	for _, u := range scope {
		if u.Code == scope[0].Code || !inScope[u.ParentCode] {
			emit(u.Code)
		}
	}
	rep.Total.Unit.Name, rep.Total.Subtotal = "Tổng cộng / Total", true
	return rep, nil
}

// RenderUsageCSV writes the usage report as CSV (UTF-8 with BOM, CRLF).
func RenderUsageCSV(w io.Writer, r *UsageReport) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	cw.Write([]string{"Mã đơn vị", "Đơn vị", "Cấp", "Dòng", "Kỳ", "Thư gửi", "Gửi cơ quan nhà nước", "Gửi ra ngoài",
		"Gửi có đính kèm", "Thư nhận", "Nhận từ cơ quan nhà nước", "Nhận từ bên ngoài", "Nhận có đính kèm",
		"Văn bản gửi", "Văn bản có chữ ký số hợp lệ", "Tỷ lệ ký số", "Tỷ lệ văn bản điện tử (không phải bản quét)"})
	period := r.From.String() + ".." + r.To.String()
	row := func(x UsageRow, kind string) {
		i := func(n int64) string { return strconv.FormatInt(n, 10) }
		cw.Write([]string{x.Unit.Code, csvCell(x.Unit.Name), strconv.Itoa(x.Depth), kind, period,
			i(x.Sent()), i(x.SentState), i(x.SentOutside), i(x.SentWithAttachment),
			i(x.Received()), i(x.ReceivedState), i(x.ReceivedOutside), i(x.ReceivedWithAttachment),
			i(x.OfficialSent), i(x.OfficialSigned), x.SignedShare(), x.ElectronicShare()})
	}
	for _, x := range r.Rows {
		kind := "đơn vị"
		if x.Subtotal {
			kind = "cộng"
		}
		row(x, kind)
	}
	row(r.Total, "tổng")
	cw.Flush()
	return cw.Error()
}

var usageTmpl = template.Must(template.New("usage").Funcs(template.FuncMap{
	// level is the indent as a class, for pages whose CSP refuses
	// style attributes (the admin web).
	"level":  func(d int) int { return min(d, 6) },
	"indent": func(d int) template.CSS { return template.CSS(fmt.Sprintf("padding-left:%.1fem", 0.5+1.5*float64(d))) },
}).Parse(`<section class="congvu-usage-report">
<h2>Báo cáo sử dụng thư điện tử công vụ / Official e-mail usage report</h2>
<p>{{.UnitName}} — {{.From}} đến / to {{.To}}</p>
<table class="report">
<thead>
<tr><th rowspan="2">Đơn vị / Unit</th><th colspan="4">Thư gửi / Sent</th><th colspan="4">Thư nhận / Received</th><th colspan="4">Văn bản gửi đi / Official documents sent</th></tr>
<tr><th>Tổng / Total</th><th>Cơ quan nhà nước / State agencies</th><th>Ra ngoài / Outside</th><th>Có đính kèm / With attachment</th>
<th>Tổng / Total</th><th>Cơ quan nhà nước / State agencies</th><th>Từ bên ngoài / Outside</th><th>Có đính kèm / With attachment</th>
<th>Số văn bản / Documents</th><th>Có chữ ký số hợp lệ / Validly signed</th><th>Tỷ lệ ký số / Signed share</th><th>Tỷ lệ điện tử / Electronic share</th></tr>
</thead>
<tbody>
{{- range .Rows}}
<tr{{if .Subtotal}} class="subtotal"{{end}}><td class="depth-{{level .Depth}}" style="{{indent .Depth}}">{{if .Subtotal}}Cộng / Subtotal: {{end}}{{.Unit.Name}}</td>
<td>{{.Sent}}</td><td>{{.SentState}}</td><td>{{.SentOutside}}</td><td>{{.SentWithAttachment}}</td>
<td>{{.Received}}</td><td>{{.ReceivedState}}</td><td>{{.ReceivedOutside}}</td><td>{{.ReceivedWithAttachment}}</td>
<td>{{.OfficialSent}}</td><td>{{.OfficialSigned}}</td><td>{{.SignedShare}}</td><td>{{.ElectronicShare}}</td></tr>
{{- end}}
</tbody>
<tfoot>{{with .Total}}<tr class="total"><th>{{.Unit.Name}}</th><th>{{.Sent}}</th><th>{{.SentState}}</th><th>{{.SentOutside}}</th><th>{{.SentWithAttachment}}</th>
<th>{{.Received}}</th><th>{{.ReceivedState}}</th><th>{{.ReceivedOutside}}</th><th>{{.ReceivedWithAttachment}}</th>
<th>{{.OfficialSent}}</th><th>{{.OfficialSigned}}</th><th>{{.SignedShare}}</th><th>{{.ElectronicShare}}</th></tr>{{end}}</tfoot>
</table>
</section>
`))

// RenderUsageHTML writes the usage report as an HTML fragment.
func RenderUsageHTML(w io.Writer, r *UsageReport) error { return usageTmpl.Execute(w, r) }

// RenderUsagePage writes a complete HTML page around RenderUsageHTML.
func RenderUsagePage(w io.Writer, r *UsageReport) error {
	if err := writePageStart(w, "Báo cáo sử dụng / Usage report — "+r.UnitName); err != nil {
		return err
	}
	if err := RenderUsageHTML(w, r); err != nil {
		return err
	}
	_, err := io.WriteString(w, "</body>\n</html>\n")
	return err
}

// UsageReport builds a usage report after writing pending counters.
func (e *Engine) UsageReport(ctx context.Context, unit string, from, to Month) (*UsageReport, error) {
	if err := e.Flush(ctx); err != nil {
		return nil, err
	}
	dir := DirectoryAt(e.opts.Dir, e.opts.History, to.Last(), e.now(), e.rules.Load().loc)
	return BuildUsageReport(ctx, e.db, dir, unit, from, to)
}
