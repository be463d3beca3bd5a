package admin

// The provisioning-request pages.

const requestRowsTemplate = `{{define "requestrows"}}<table class="requests"><tr><th>Số <span class="en" lang="en">/ No.</span></th><th>Loại <span class="en" lang="en">/ Kind</span></th><th>Đơn vị <span class="en" lang="en">/ Unit</span></th><th>Người gửi <span class="en" lang="en">/ Filed by</span></th><th>Hạn <span class="en" lang="en">/ Due</span></th><th>Trạng thái <span class="en" lang="en">/ State</span></th></tr>
{{range .}}<tr{{if .Overdue}} class="overdue"{{end}}><td><a href="{{.Href}}">#{{.ID}}</a></td><td>{{.Kind}}</td><td>{{if .UnitName}}{{.UnitName}}{{else}}{{.UnitCode}}{{end}}</td><td>{{.FiledBy}}<br><span class="hint">{{time .Filed}}</span></td>
<td>{{vnday .DueDay}}{{if eq .State "Chờ duyệt"}}<br>{{if .Overdue}}<span class="badge locked">Quá hạn</span> <span class="en" lang="en">overdue</span>{{else}}<span class="hint">còn {{.DaysLeft}} ngày làm việc</span>{{end}}{{end}}</td>
<td>{{.State}}</td></tr>{{end}}</table>{{end}}`

const adminRequestsTemplate = `{{define "content"}}{{template "adminnav" .}}{{with .Data}}
<h1>Đề nghị cấp tài khoản <span class="en" lang="en">/ Provisioning requests</span></h1>
<p class="hint">Đơn vị gửi đề nghị; quản trị hệ thống cấp tỉnh duyệt trong 3 ngày làm việc (không tính thứ Bảy, Chủ nhật và ngày nghỉ lễ, Tết). <span class="en" lang="en">Units file requests; the provincial operator decides within 3 working days.</span></p>
{{if .NewHref}}<p><a class="button" href="{{.NewHref}}" id="new-request">+ Đề nghị mới / New request</a></p>{{end}}
{{if .Overdue}}<p class="notice error" id="overdue">{{.Overdue}} đề nghị đã quá hạn xử lý. <span class="en" lang="en">{{.Overdue}} request(s) overdue.</span></p>{{end}}
<h2>Chờ duyệt <span class="en" lang="en">/ Pending</span> ({{len .Pending}})</h2>
{{if .Pending}}{{template "requestrows" .Pending}}{{else}}<p>Không có đề nghị nào đang chờ. <span class="en" lang="en">None pending.</span></p>{{end}}
<h2>Đã xử lý <span class="en" lang="en">/ Decided</span></h2>
{{if .Decided}}{{template "requestrows" .Decided}}{{else}}<p>Chưa có. <span class="en" lang="en">None yet.</span></p>{{end}}
{{end}}{{end}}`

const adminRequestNewTemplate = `{{define "content"}}{{template "adminnav" .}}{{$csrf := .CSRF}}{{with .Data}}
<h1>Đề nghị mới <span class="en" lang="en">/ New request</span></h1>
<p class="hint">Đơn vị <span class="en" lang="en">/ unit</span>: {{.Unit.Name}} ({{.Unit.Code}})</p>
<div class="card"><h2>Cấp tài khoản mới <span class="en" lang="en">/ New accounts</span></h2>
<form method="post" action="/admin/requests/preview" enctype="multipart/form-data">
<input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="unit" value="{{.Unit.Code}}">
<table><tr><th>Họ và tên <span class="en" lang="en">/ Full name</span></th><th>Chức vụ <span class="en" lang="en">/ Title</span></th><th>Điện thoại <span class="en" lang="en">/ Phone</span></th></tr>
{{range .People}}<tr><td><input type="text" name="name_{{.N}}" value="{{.FullName}}" maxlength="120" aria-label="Họ và tên {{.N}}"></td><td><input type="text" name="title_{{.N}}" value="{{.Title}}" maxlength="200" aria-label="Chức vụ {{.N}}"></td><td><input type="text" name="phone_{{.N}}" value="{{.Phone}}" maxlength="40" aria-label="Điện thoại {{.N}}"></td></tr>{{end}}
</table>
<label for="file">Hoặc tệp danh sách CSV/XLSX <span class="en" lang="en">/ or a CSV/XLSX list</span></label>
<input type="file" id="file" name="file" accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet">
<p class="hint">Cột <span class="en" lang="en">/ columns</span>: ho_ten, don_vi (mã hoặc tên đơn vị), chuc_vu, dien_thoai, ma_can_bo (tuỳ chọn) — như <code>congvu directory import</code>.</p>
<button type="submit" id="preview">Xem trước địa chỉ / Preview the addresses</button>
</form></div>
<div class="card"><h2>Thay đổi tài khoản <span class="en" lang="en">/ Change an account</span></h2>
<form method="post" action="/admin/requests/file">
<input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="unit" value="{{.Unit.Code}}">
<label for="change-kind">Loại đề nghị <span class="en" lang="en">/ Kind</span></label>
<select id="change-kind" name="kind"><option value="edit">Sửa họ tên, chức vụ, điện thoại / Edit</option><option value="transfer">Chuyển đơn vị / Transfer</option><option value="lock">Khoá ngay (nghỉ việc, chuyển công tác) / Lock on leaving</option></select>
<label for="change-address">Địa chỉ thư của tài khoản <span class="en" lang="en">/ Account address</span></label>
<input type="email" id="change-address" name="address" required maxlength="254">
<label for="change-name">Họ và tên mới <span class="en" lang="en">/ New name</span> (sửa / edit)</label>
<input type="text" id="change-name" name="full_name" maxlength="120">
<label for="change-title">Chức vụ mới <span class="en" lang="en">/ New title</span> (sửa / edit)</label>
<input type="text" id="change-title" name="title" maxlength="200">
<label for="change-phone">Điện thoại mới <span class="en" lang="en">/ New phone</span> (sửa / edit)</label>
<input type="text" id="change-phone" name="phone" maxlength="40">
<label for="change-target">Đơn vị chuyển đến <span class="en" lang="en">/ Target unit</span> (chuyển / transfer)</label>
<select id="change-target" name="target"><option value="">—</option>{{range .Units}}<option value="{{.Code}}">{{.Name}}</option>{{end}}</select>
<label for="change-reason">Lý do khoá <span class="en" lang="en">/ Lock reason</span> (khoá / lock)</label>
<input type="text" id="change-reason" name="reason" maxlength="300" placeholder="Nghỉ hưu theo Quyết định số …">
<label for="change-note">Ghi chú cho người duyệt <span class="en" lang="en">/ Note</span></label>
<input type="text" id="change-note" name="note" maxlength="1000">
<button type="submit" id="file-change">Gửi đề nghị / File the request</button>
</form></div>
<a class="button secondary" href="{{.Back}}">Huỷ / Cancel</a>
{{end}}{{end}}`

const adminRequestPreviewTemplate = `{{define "content"}}{{template "adminnav" .}}{{$csrf := .CSRF}}{{$d := .Data}}{{with .Data}}
<h1>Xem trước đề nghị <span class="en" lang="en">/ Request preview</span></h1>
<p class="hint">Đơn vị <span class="en" lang="en">/ unit</span>: {{.Unit.Name}}. Chưa có gì được ghi; địa chỉ được cấp khi đề nghị được duyệt (có thể khác nếu trong lúc chờ có người nhận địa chỉ đó). <span class="en" lang="en">Nothing is written yet; addresses are given at approval.</span></p>
<table id="preview-rows"><tr><th>Dòng <span class="en" lang="en">/ Line</span></th><th>Họ và tên <span class="en" lang="en">/ Name</span></th><th>Đơn vị <span class="en" lang="en">/ Unit</span></th><th>Địa chỉ sẽ cấp <span class="en" lang="en">/ Address</span></th></tr>
{{range .Report.Created}}<tr><td>{{.Line}}</td><td>{{.FullName}}</td><td>{{index $d.UnitNames .UnitCode}}</td><td>{{.Address}}{{with index $d.Collisions .Address}}<br><span class="badge must">trùng</span> <span class="hint">{{.}} đã có người dùng <span class="en" lang="en">taken</span></span>{{end}}</td></tr>{{end}}
</table>
{{if .Report.Skipped}}<div class="notice error" id="preview-skipped"><p>Các dòng không nhận được <span class="en" lang="en">/ rows that cannot be taken</span>:</p><ul>{{range .Report.Skipped}}<li>Dòng {{.Line}}: {{.Reason}}</li>{{end}}</ul><p>Hãy sửa tệp rồi xem trước lại. <span class="en" lang="en">Fix the file and preview again.</span></p></div>
{{else}}<form method="post" action="/admin/requests/file">
<input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="unit" value="{{.Unit.Code}}"><input type="hidden" name="kind" value="new">
<input type="hidden" name="rows" value="{{.Rows}}">
<label for="delivery">Nhận mật khẩu ban đầu <span class="en" lang="en">/ Initial passwords</span></label>
<select id="delivery" name="delivery"><option value="download">Tải tệp một lần trên trang đề nghị / Download once here</option><option value="file">Tệp do quản trị hệ thống trao (dòng lệnh) / File from the operator</option></select>
<label for="note">Ghi chú cho người duyệt <span class="en" lang="en">/ Note</span></label>
<input type="text" id="note" name="note" maxlength="1000">
<button type="submit" id="file-request">Gửi đề nghị / File the request</button>
</form>{{end}}
<a class="button secondary" href="{{.Back}}">Quay lại / Back</a>
{{end}}{{end}}`

const adminRequestTemplate = `{{define "content"}}{{template "adminnav" .}}{{$csrf := .CSRF}}{{$d := .Data}}{{with .Data}}
<h1>Đề nghị số {{.ID}} <span class="en" lang="en">/ Request</span></h1>
<div class="card"><dl class="facts">
<dt>Loại <span class="en" lang="en">/ Kind</span></dt><dd>{{.Kind}}</dd>
<dt>Đơn vị <span class="en" lang="en">/ Unit</span></dt><dd>{{if .UnitName}}{{.UnitName}}{{else}}{{.UnitCode}}{{end}}</dd>
<dt>Người gửi <span class="en" lang="en">/ Filed by</span></dt><dd>{{.FiledBy}}, {{time .Filed}}</dd>
<dt>Hạn xử lý <span class="en" lang="en">/ Due</span></dt><dd id="due">hết ngày {{vnday .DueDay}}{{if eq .Request.State "pending"}} · {{if .Overdue}}<span class="badge locked">Quá hạn</span> <span class="en" lang="en">overdue</span>{{else}}còn {{.DaysLeft}} ngày làm việc <span class="en" lang="en">working days left</span>{{end}}{{end}}</dd>
<dt>Trạng thái <span class="en" lang="en">/ State</span></dt><dd id="request-state">{{.State}}{{if .DecidedBy}} — {{.DecidedBy}}, {{time .Decided}}{{end}}</dd>
{{if .Reason}}<dt>Lý do từ chối <span class="en" lang="en">/ Reason</span></dt><dd id="reject-reason">{{.Reason}}</dd>{{end}}
{{if .Note}}<dt>Ghi chú <span class="en" lang="en">/ Note</span></dt><dd>{{.Note}}</dd>{{end}}
</dl></div>
{{if .Body.Rows}}<h2>Người được đề nghị <span class="en" lang="en">/ People</span> ({{len .Body.Rows}})</h2>
<table><tr><th>Họ và tên <span class="en" lang="en">/ Name</span></th><th>Đơn vị <span class="en" lang="en">/ Unit</span></th><th>Chức vụ <span class="en" lang="en">/ Title</span></th><th>Điện thoại <span class="en" lang="en">/ Phone</span></th></tr>
{{range .Body.Rows}}<tr><td>{{.FullName}}</td><td>{{.Unit}}</td><td>{{.Title}}</td><td>{{.Phone}}</td></tr>{{end}}</table>
{{else}}<p>{{.Describe}}</p>{{end}}
{{if .ResultRows}}<h2>Kết quả <span class="en" lang="en">/ Result</span></h2><ul id="request-result">{{range .ResultRows}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .CanFetch}}<form method="post" action="{{.Href}}/passwords"><input type="hidden" name="csrf" value="{{$csrf}}">
<p class="hint">Mật khẩu ban đầu chỉ tải được một lần; người dùng phải đổi khi đăng nhập lần đầu. <span class="en" lang="en">The initial passwords download once; holders change them at first sign-in.</span></p>
<button type="submit" id="download-passwords">Tải mật khẩu ban đầu (CSV) / Download the initial passwords</button></form>
{{else if and .Fetched.IsZero (eq .Request.State "approved") (eq .Delivery "file") (eq .Kind "Cấp tài khoản mới")}}<p class="hint">Mật khẩu ban đầu do quản trị hệ thống trao bằng tệp (<code>congvu request passwords</code>). <span class="en" lang="en">The operator hands the passwords over as a file.</span></p>
{{else if not .Fetched.IsZero}}<p class="hint">Mật khẩu ban đầu đã được tải {{time .Fetched}}. <span class="en" lang="en">Passwords handed over.</span></p>{{end}}
{{if .CanDecide}}<h2>Duyệt <span class="en" lang="en">/ Decide</span></h2><div class="actions">
<form method="post" action="{{.Href}}/approve"><input type="hidden" name="csrf" value="{{$csrf}}"><button type="submit" id="approve">Duyệt và thực hiện / Approve</button></form>
<form method="post" action="{{.Href}}/reject"><input type="hidden" name="csrf" value="{{$csrf}}">
<label for="reject-text">Lý do từ chối <span class="en" lang="en">/ Reason</span></label><input type="text" id="reject-text" name="reason" required maxlength="500">
<button type="submit" id="reject" class="secondary">Từ chối / Reject</button></form></div>{{end}}
<p><a class="button secondary" href="/admin/requests">Danh sách đề nghị / All requests</a></p>
{{end}}{{end}}`
