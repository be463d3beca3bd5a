package admin

import (
	"context"
	"net/http"
	"time"

	"congvu/directory"
	"congvu/web/core"
)

// OldAddressTraffic is the mail still arriving at old domains and
// addresses after a reorganisation (directory/orgdb); nil hides the page.
type OldAddressTraffic interface {
	// TrafficByDomain returns, per old domain, the messages and distinct
	// senders of each period of step days (1 or 7) over [from, to).
	TrafficByDomain(ctx context.Context, from, to time.Time, step int) ([]DomainTraffic, error)
}

// DomainTraffic is one old domain's row of the traffic report.
type DomainTraffic struct {
	Domain, Alias     string // Alias: the domain it delivers to; "" for old addresses of a local domain
	Periods           []TrafficPeriod
	Messages, Senders int64
	Addresses         int
}

// TrafficPeriod is a day or week of a DomainTraffic.
type TrafficPeriod struct {
	From              time.Time
	Messages, Senders int64
}

type oldAddrData struct {
	Available bool
	ByWeek    bool
	Heads     []string
	Rows      []DomainTraffic
}

// adminOldAddresses is the operators' report of mail still arriving at
// old domains: per domain, messages and distinct senders per day (the
// last 14 days) or week (the last 8 weeks).
func (wb *room) adminOldAddresses(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	if a.Acct.Role != directory.RoleOperator {
		wb.Message(w, http.StatusForbidden, "Chỉ quản trị hệ thống mới xem được thư đến địa chỉ cũ.",
			"Only operators can see the mail to old addresses.")
		return
	}
	d := oldAddrData{Available: wb.opts.OldAddresses != nil, ByWeek: r.URL.Query().Get("by") != "day"}
	p := wb.adminPage(a, "oldaddr", "Thư đến địa chỉ cũ", "Mail to old addresses", &d)
	if d.Available {
		now := wb.Now().UTC()
		step, n := 7, 8
		if !d.ByWeek {
			step, n = 1, 14
		}
		to := now.Truncate(24 * time.Hour).Add(24 * time.Hour)
		rows, err := wb.opts.OldAddresses.TrafficByDomain(r.Context(), to.AddDate(0, 0, -step*n), to, step)
		if err != nil {
			notice, status := wb.reportFailed("old address traffic", "", err)
			p.Notice = notice
			wb.Render(w, status, tmpl["admin-oldaddr"], p)
			return
		}
		d.Rows = rows
		for i := range n {
			d.Heads = append(d.Heads, to.AddDate(0, 0, -step*(n-i)).In(core.Vietnam()).Format("02/01"))
		}
	}
	wb.Render(w, http.StatusOK, tmpl["admin-oldaddr"], p)
}

const adminOldAddrTemplate = `{{define "content"}}{{template "adminnav" .}}{{with .Data}}
<h1>Thư đến địa chỉ cũ <span class="en" lang="en">/ Mail to old addresses</span></h1>
<p class="hint">Thư còn gửi đến tên miền cũ (bí danh tên miền sau sáp nhập) và địa chỉ cũ sau điều động, sáp nhập đơn vị: số thư và số người gửi khác nhau. Khi không còn thư, có thể bỏ bí danh (<code>congvu domain alias remove</code>).
<span class="en" lang="en">Mail still arriving at old domains (domain aliases after a merger) and old addresses after transfers and unit mergers: messages and distinct senders. Once none arrives the alias can go.</span></p>
<p class="downloads">{{if .ByWeek}}<a class="button secondary" href="/admin/reports/old-addresses?by=day">Theo ngày <span class="en" lang="en">/ By day</span></a>{{else}}<a class="button secondary" href="/admin/reports/old-addresses?by=week">Theo tuần <span class="en" lang="en">/ By week</span></a>{{end}}</p>
{{if .Available}}{{if .Rows}}<section class="report" tabindex="0" role="region" aria-label="Bảng báo cáo / Report table"><table>
<caption>Số thư (người gửi) theo {{if .ByWeek}}tuần bắt đầu{{else}}ngày{{end}} <span class="en" lang="en">/ messages (senders) per {{if .ByWeek}}week starting{{else}}day{{end}}</span></caption>
<tr><th scope="col">Tên miền cũ <span class="en" lang="en">/ Old domain</span></th><th scope="col">Chuyển đến <span class="en" lang="en">/ Delivered to</span></th>{{range .Heads}}<th scope="col">{{.}}</th>{{end}}<th scope="col">Tổng <span class="en" lang="en">/ Total</span></th><th scope="col">Địa chỉ cũ <span class="en" lang="en">/ Old addresses</span></th></tr>
{{range .Rows}}<tr><th scope="row">{{.Domain}}</th><td>{{if .Alias}}{{.Alias}}{{else}}<span class="hint">địa chỉ chuyển tiếp / transitional addresses</span>{{end}}</td>
{{range .Periods}}<td>{{.Messages}} ({{.Senders}})</td>{{end}}<td>{{.Messages}} ({{.Senders}})</td><td>{{.Addresses}}</td></tr>
{{end}}</table></section>{{else}}<p>Chưa có bí danh tên miền hay địa chỉ cũ nào nhận thư. <span class="en" lang="en">No domain alias or old address has received mail.</span></p>{{end}}
{{else}}<div class="notice info" role="status"><p>Báo cáo này chưa có trên máy chủ này.</p><p class="en" lang="en">This report is not available on this server.</p></div>{{end}}
{{end}}{{end}}`
