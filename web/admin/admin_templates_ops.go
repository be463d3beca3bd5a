package admin

// Templates of the report, audit and queue pages of the admin web.

const unitSelect = `{{define "unitselect"}}<label for="unit">Đơn vị <span class="en" lang="en">/ Unit</span></label>
<select id="unit" name="unit">{{range .}}<option value="{{.Code}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>{{end}}</select>{{end}}`

const adminReportsTemplate = `{{define "content"}}{{template "adminnav" .}}{{with .Data}}
<h1>Báo cáo truy cập <span class="en" lang="en">/ Access report</span></h1>
<form class="card report-form" method="get" action="/admin/reports">
{{template "unitselect" .Units}}
<div class="dates"><div><label for="from">Từ ngày <span class="en" lang="en">/ From</span></label><input type="date" id="from" name="from" value="{{.From}}"></div>
<div><label for="to">Đến ngày <span class="en" lang="en">/ To</span></label><input type="date" id="to" name="to" value="{{.To}}"></div></div>
<button type="submit">Xem báo cáo / Show</button>
</form>
{{if .Available}}{{if .HTML}}{{if .Downloads}}<p class="downloads">{{range .Downloads}}<a class="button secondary" href="{{.Href}}">{{.Label}} <span class="en" lang="en">/ {{.LabelEN}}</span></a> {{end}}</p>{{end}}
{{if .Chart}}<figure class="chart" tabindex="0" role="region" aria-label="Biểu đồ / Chart"><img src="{{.Chart}}" id="access-chart" alt="Biểu đồ tỷ lệ truy cập hằng ngày theo đơn vị / Daily access rate per unit"></figure>{{end}}
<section class="report" tabindex="0" role="region" aria-label="Bảng báo cáo / Report table">{{.HTML}}</section>{{end}}
{{else}}<div class="notice info" role="status"><p>Báo cáo truy cập chưa có trên máy chủ này (công cụ chính sách chưa được bật).</p><p class="en" lang="en">The access report is not available on this server yet (the policy engine is not enabled).</p></div>{{end}}
{{end}}{{end}}`

const adminUsageTemplate = `{{define "content"}}{{template "adminnav" .}}{{with .Data}}
<h1>Báo cáo sử dụng <span class="en" lang="en">/ Usage report</span></h1>
<p class="hint">Số thư gửi và nhận theo đơn vị: với cơ quan nhà nước và bên ngoài, có đính kèm; số văn bản có ký số chưa được thống kê. <span class="en" lang="en">Messages sent and received per unit: with state agencies and outside, with attachments; digitally signed documents are not counted yet.</span></p>
<form class="card report-form" method="get" action="/admin/reports/usage">
{{template "unitselect" .Units}}
<label for="period">Kỳ báo cáo <span class="en" lang="en">/ Period</span></label>
<select id="period" name="period">{{range .Periods}}<optgroup label="{{.Label}}">{{range .Options}}<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>{{end}}</optgroup>{{end}}</select>
<button type="submit">Xem báo cáo / Show</button>
</form>
{{if .Available}}{{if .HTML}}<p class="downloads"><a class="button secondary" href="{{.CSV}}">Tải bảng tính (CSV) <span class="en" lang="en">/ Download spreadsheet (CSV)</span></a></p>
<section class="report" tabindex="0" role="region" aria-label="Bảng báo cáo / Report table">{{.HTML}}</section>{{end}}
{{else}}<div class="notice info" role="status"><p>Báo cáo sử dụng chưa có trên máy chủ này (công cụ chính sách chưa được bật).</p><p class="en" lang="en">The usage report is not available on this server yet (the policy engine is not enabled).</p></div>{{end}}
{{end}}{{end}}`

const adminAuditTemplate = `{{define "content"}}{{template "adminnav" .}}{{with .Data}}
<h1>Nhật ký kiểm tra <span class="en" lang="en">/ Audit log</span></h1>
<p class="hint">Các lần từ chối, khoá và thay đổi tài khoản: ai, việc gì, khi nào, theo quy tắc nào, từ đâu.{{if .Scoped}} Bạn thấy các mục về tài khoản thuộc đơn vị mình quản lý.{{end}}
<span class="en" lang="en">Refusals, locks and account changes: who, what, when, by which rule, from where.{{if .Scoped}} You see the entries about the accounts of the units you manage.{{end}}</span></p>
<form class="card report-form" method="get" action="/admin/audit">
<label for="subject">Tài khoản hoặc địa chỉ IP <span class="en" lang="en">/ Account or IP address</span></label>
<input type="search" id="subject" name="subject" value="{{.Subject}}" maxlength="256" placeholder="thanhnn.skhcn@khanhhoa.gov.vn">
<div class="dates"><div><label for="action">Hành động <span class="en" lang="en">/ Action</span></label>
<select id="action" name="action">{{range .Actions}}<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>{{end}}</select></div>
<div><label for="rule">Quy tắc <span class="en" lang="en">/ Rule</span></label>
<select id="rule" name="rule">{{range .Rules}}<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Label}}</option>{{end}}</select></div></div>
<div class="dates"><div><label for="from">Từ ngày <span class="en" lang="en">/ From</span></label><input type="date" id="from" name="from" value="{{.From}}"></div>
<div><label for="to">Đến ngày <span class="en" lang="en">/ To</span></label><input type="date" id="to" name="to" value="{{.To}}"></div></div>
<button type="submit">Lọc / Filter</button>
</form>
{{if .Available}}{{if .Rows}}<table id="audit"><tr><th>Thời điểm <span class="en" lang="en">/ When</span></th><th>Đối tượng <span class="en" lang="en">/ Subject</span></th><th>Hành động <span class="en" lang="en">/ Action</span></th><th>Quy tắc <span class="en" lang="en">/ Rule</span></th><th>Người thực hiện, nguồn <span class="en" lang="en">/ Actor, source</span></th><th>Chi tiết <span class="en" lang="en">/ Detail</span></th></tr>
{{range .Rows}}<tr><td>{{time .At}}</td><td>{{if .SubjectHref}}<a href="{{.SubjectHref}}">{{.Subject}}</a>{{else}}{{.Subject}}{{end}}</td>
<td>{{.ActionVI}}{{if .ActionEN}} <span class="en" lang="en">/ {{.ActionEN}}</span>{{end}}</td><td>{{.RuleVI}}{{if .RuleEN}} <span class="en" lang="en">/ {{.RuleEN}}</span>{{end}}</td>
<td>{{if eq .Actor "policy"}}tự động <span class="en" lang="en">/ automatic</span>{{else}}{{.Actor}}{{end}}{{if .Protocol}}<br><span class="hint">{{.Protocol}}</span>{{end}}{{if .IP}}<br><span class="hint">{{.IP}}</span>{{end}}</td><td>{{.Detail}}</td></tr>
{{end}}</table>
{{if .Truncated}}<p class="hint">Chỉ hiển thị {{.Max}} mục mới nhất; hãy thu hẹp bộ lọc. <span class="en" lang="en">Only the newest {{.Max}} entries are shown; narrow the filter.</span></p>{{end}}
{{else}}<p>Không có mục nào khớp bộ lọc. <span class="en" lang="en">No entry matches the filter.</span></p>{{end}}
{{else}}<div class="notice info" role="status"><p>Nhật ký kiểm tra chưa có trên máy chủ này (công cụ chính sách chưa được bật).</p><p class="en" lang="en">The audit log is not available on this server (the policy engine is not enabled).</p></div>{{end}}
{{end}}{{end}}`

// queueTable is the table of `congvu queue list`, one line per recipient.
const queueTable = `{{define "queuetable"}}<table id="queue"><tr><th>Thư <span class="en" lang="en">/ Message</span></th><th>Người nhận <span class="en" lang="en">/ Recipient</span></th><th>Trạng thái <span class="en" lang="en">/ State</span></th><th>Số lần thử <span class="en" lang="en">/ Attempts</span></th><th>Lần thử tới <span class="en" lang="en">/ Next try</span></th><th>Lần thử gần nhất <span class="en" lang="en">/ Last attempt</span></th></tr>
{{range .}}<tr>{{if .First}}<td rowspan="{{.Span}}"><a href="{{.Href}}">{{.ID}}</a><br><span class="hint">từ <span class="en" lang="en">from</span> {{.From}}<br>{{.Age}} · {{.Size}}</span></td>{{end}}
<td>{{.Rcpt}}</td><td><span class="badge {{.StateClass}}">{{.StateVI}}</span>{{if .StateEN}} <span class="en" lang="en">{{.StateEN}}</span>{{end}}</td><td>{{.Attempts}}</td><td>{{.Next}}</td>
<td>{{if .Tried}}{{.LastAt}}{{if .Remote}}<br>máy chủ <span class="en" lang="en">/ server</span> {{.Remote}}{{end}}{{if .Secur}}<br><span class="hint">{{.Secur}}</span>{{end}}{{if .Reply}}<br><code class="reply">{{.Reply}}</code>{{end}}{{else}}chưa thử <span class="en" lang="en">/ not tried</span>{{end}}</td></tr>
{{end}}</table>{{end}}`

const queueOffNotice = `{{define "queueoff"}}<div class="notice info" role="status"><p>Gửi thư ra ngoài đang tắt trên máy chủ này (smtp.outbound = false), nên không có hàng đợi thư đi.</p>
<p class="en" lang="en">Outbound delivery is off on this server (smtp.outbound = false), so there is no outbound queue.</p></div>{{end}}`

const adminQueueTemplate = `{{define "content"}}{{template "adminnav" .}}{{$csrf := .CSRF}}{{with .Data}}
<h1>Hàng đợi thư đi <span class="en" lang="en">/ Outbound queue</span></h1>
{{if .Available}}<p>{{.Messages}} thư, {{.Waiting}} người nhận đang chờ gửi. <span class="en" lang="en">{{.Messages}} message(s), {{.Waiting}} recipient(s) waiting.</span></p>
{{if .Rows}}{{if .Waiting}}<form method="post" action="/admin/queue/retry"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="all" value="yes">
<button type="submit" id="retry-all" class="secondary">Gửi lại tất cả ngay / Retry all now</button></form>{{end}}
{{template "queuetable" .Rows}}{{else}}<p>Hàng đợi trống. <span class="en" lang="en">The queue is empty.</span></p>{{end}}
{{else}}{{template "queueoff"}}{{end}}
{{end}}{{end}}`

const adminQueueMessageTemplate = `{{define "content"}}{{template "adminnav" .}}{{$csrf := .CSRF}}{{with .Data}}
{{if .Available}}<nav class="path"><a href="{{.Back}}">Hàng đợi thư đi <span class="en" lang="en">/ Outbound queue</span></a> ›</nav>
<h1>Thư <span class="en" lang="en">/ Message</span> {{.Message.ID}}</h1>
<div class="card"><dl class="facts">
<dt>Người gửi <span class="en" lang="en">/ Sender</span></dt><dd>{{if .Message.From}}{{.Message.From}}{{else}}&lt;&gt; (thư thông báo / notification){{end}}</dd>
<dt>Nhận vào hàng đợi <span class="en" lang="en">/ Queued</span></dt><dd>{{time .Message.Created}}</dd>
<dt>Kích thước <span class="en" lang="en">/ Size</span></dt><dd>{{.Message.Size}} byte</dd>
</dl></div>
{{template "queuetable" .Rows}}
<h2>Thao tác <span class="en" lang="en">/ Actions</span></h2>
<div class="actions">
{{if .Waiting}}<form method="post" action="/admin/queue/retry"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="id" value="{{.Message.ID}}">
<button type="submit" id="retry">Gửi lại ngay / Retry now</button></form>{{end}}
</div>
<div class="card"><h2>Xoá khỏi hàng đợi <span class="en" lang="en">/ Delete from the queue</span></h2>
<p class="hint">Thư bị bỏ đi và người gửi không được báo. Một lần gửi đang diễn ra vẫn có thể hoàn tất. <span class="en" lang="en">The message is dropped and its sender is not told. A delivery in progress may still complete.</span></p>
<form method="post" action="/admin/queue/delete"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="id" value="{{.Message.ID}}">
<label class="check"><input type="checkbox" name="confirm" value="yes" id="confirm-delete"> Tôi xác nhận xoá thư {{.Message.ID}} <span class="en" lang="en">/ I confirm</span></label>
<button type="submit" id="delete" class="danger">Xoá thư / Delete</button></form></div>
{{if .Header}}<h2>Tiêu đề thư <span class="en" lang="en">/ Message header</span></h2>
<pre class="header" id="header">{{.Header}}</pre>{{end}}
{{else}}{{template "queueoff"}}{{end}}
{{end}}{{end}}`
