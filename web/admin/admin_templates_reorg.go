package admin

// The reorganisation, transfer and import pages.

// transferFormTemplate is the account page's transfer card (inside its
// {{with .Data}}, with $csrf).
const transferFormTemplate = `{{if .TransferUnits}}<div class="card"><h2>Chuyển công tác <span class="en" lang="en">/ Transfer to another unit</span></h2>
<p class="hint">Giữ nguyên hộp thư, mật khẩu và thư cũ; địa chỉ mới theo quy tắc đặt tên, địa chỉ cũ vẫn nhận thư trong thời gian chuyển tiếp. <span class="en" lang="en">Same mailbox, password and mail; a new address by the convention, the old one keeps delivering.</span></p>
<form method="post" action="/admin/transfer/preview"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="address" value="{{.Account.Address}}">
<label for="transfer-unit">Đơn vị chuyển đến <span class="en" lang="en">/ Target unit</span></label>
<select id="transfer-unit" name="unit" required><option value="">— chọn / choose —</option>{{range .TransferUnits}}<option value="{{.Code}}">{{.Name}}</option>{{end}}</select>
<label for="transfer-reason">Lý do <span class="en" lang="en">/ Reason</span></label>
<input type="text" id="transfer-reason" name="reason" maxlength="300" placeholder="Quyết định điều động số …">
<button type="submit" id="transfer" class="secondary">Xem trước / Preview</button></form></div>{{end}}`

const adminReorgTemplate = `{{define "content"}}{{template "adminnav" .}}{{$csrf := .CSRF}}{{with .Data}}
<h1>Sắp xếp tổ chức <span class="en" lang="en">/ Reorganisation</span></h1>
<p class="hint">Đổi tên, chuyển, sáp nhập đơn vị và bí danh tên miền: cùng thao tác với <code>congvu unit …</code> và <code>congvu domain alias …</code>. Mỗi thao tác được xem trước rồi mới thực hiện. <span class="en" lang="en">The same operations as the commands; each is previewed before it runs.</span></p>
<div class="card"><h2>Đổi tên đơn vị <span class="en" lang="en">/ Rename a unit</span></h2>
<form method="post" action="/admin/reorg/preview"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="op" value="unit-rename">
<label for="rename-unit">Đơn vị <span class="en" lang="en">/ Unit</span></label>
<select id="rename-unit" name="unit" required><option value="">— chọn / choose —</option>{{range .Units}}<option value="{{.Code}}">{{.Name}}</option>{{end}}</select>
<label for="rename-name">Tên mới <span class="en" lang="en">/ New name</span></label>
<input type="text" id="rename-name" name="name" maxlength="200">
<label for="rename-abbr">Chữ viết tắt mới trong địa chỉ <span class="en" lang="en">/ New address abbreviation</span> (tuỳ chọn / optional)</label>
<input type="text" id="rename-abbr" name="abbr" maxlength="40" placeholder="skhcn">
<button type="submit" id="rename-preview">Xem trước / Preview</button></form></div>
<div class="card"><h2>Chuyển đơn vị <span class="en" lang="en">/ Move a unit</span></h2>
<form method="post" action="/admin/reorg/preview"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="op" value="unit-move">
<label for="move-unit">Đơn vị <span class="en" lang="en">/ Unit</span></label>
<select id="move-unit" name="unit" required><option value="">— chọn / choose —</option>{{range .Units}}<option value="{{.Code}}">{{.Name}}</option>{{end}}</select>
<label for="move-parent">Đơn vị cấp trên mới <span class="en" lang="en">/ New parent</span></label>
<select id="move-parent" name="parent" required><option value="">— chọn / choose —</option>{{range .Units}}<option value="{{.Code}}">{{.Name}}</option>{{end}}</select>
<label for="move-kind">Loại đơn vị <span class="en" lang="en">/ Kind</span></label>
<select id="move-kind" name="unit_kind"><option value="">Giữ nguyên / unchanged</option><option value="department">Sở, ban, ngành / department</option><option value="division">Phòng trực thuộc / division</option><option value="commune">Xã, phường / commune</option></select>
<button type="submit" id="move-preview">Xem trước / Preview</button></form></div>
<div class="card"><h2>Sáp nhập đơn vị <span class="en" lang="en">/ Merge units</span></h2>
<form method="post" action="/admin/reorg/preview"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="op" value="unit-merge">
<label for="merge-from">Đơn vị bị sáp nhập <span class="en" lang="en">/ Merged unit (FROM)</span></label>
<select id="merge-from" name="from" required><option value="">— chọn / choose —</option>{{range .Units}}<option value="{{.Code}}">{{.Name}}</option>{{end}}</select>
<label for="merge-into">Sáp nhập vào <span class="en" lang="en">/ Into</span></label>
<select id="merge-into" name="into" required><option value="">— chọn / choose —</option>{{range .Units}}<option value="{{.Code}}">{{.Name}}</option>{{end}}</select>
<button type="submit" id="merge-preview">Xem trước / Preview</button></form></div>
<div class="card"><h2>Bí danh tên miền <span class="en" lang="en">/ Domain aliases</span></h2>
{{if .Aliases}}<table id="aliases"><tr><th>Tên miền cũ <span class="en" lang="en">/ Old</span></th><th>Tên miền mới <span class="en" lang="en">/ New</span></th><th>Từ <span class="en" lang="en">/ Since</span></th><th>Thư đến tên miền cũ {{.Days}} ngày qua <span class="en" lang="en">/ Mail to the old domain, last {{.Days}} days</span></th><th></th></tr>
{{range .Aliases}}<tr><td>@{{.Old}}</td><td>@{{.New}}</td><td>{{vnday .Created}}<br><span class="hint">{{.Actor}}</span></td><td>{{.Messages}}</td>
<td><form method="post" action="/admin/reorg/run"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="op" value="domain-alias-remove"><input type="hidden" name="old" value="{{.Old}}">
<button type="submit" class="danger" id="remove-{{.Old}}">Bỏ bí danh / Remove</button></form></td></tr>{{end}}</table>
{{else}}<p>Chưa có bí danh tên miền nào. <span class="en" lang="en">No domain alias.</span></p>{{end}}
<form method="post" action="/admin/reorg/preview"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="op" value="domain-alias-add">
<label for="alias-old">Tên miền cũ <span class="en" lang="en">/ Old domain</span></label><input type="text" id="alias-old" name="old" maxlength="253" placeholder="ninhthuan.gov.vn">
<label for="alias-new">Tên miền mới <span class="en" lang="en">/ New domain</span></label><input type="text" id="alias-new" name="new" maxlength="253" placeholder="khanhhoa.gov.vn">
<button type="submit" id="alias-preview">Xem trước / Preview</button></form></div>
<div class="card"><h2>Thư còn gửi đến địa chỉ cũ <span class="en" lang="en">/ Mail still reaching old addresses</span> ({{.Days}} ngày / days)</h2>
{{if .Traffic}}<table id="traffic"><tr><th>Địa chỉ cũ <span class="en" lang="en">/ Old address</span></th><th>Số thư <span class="en" lang="en">/ Messages</span></th><th>Gần nhất <span class="en" lang="en">/ Last</span></th></tr>
{{range .Traffic}}<tr><td>{{.Address}}</td><td>{{.Messages}}</td><td>{{vnday .Last}}</td></tr>{{end}}</table>
{{else}}<p>Không có thư nào. <span class="en" lang="en">None.</span></p>{{end}}
<p><a href="/admin/reports/old-addresses">Theo tên miền, tuần hoặc ngày và số người gửi <span class="en" lang="en">/ By domain, week or day and senders</span></a></p></div>
{{end}}{{end}}`

const adminReorgConfirmTemplate = `{{define "content"}}{{template "adminnav" .}}{{$csrf := .CSRF}}{{with .Data}}
<h1>{{if .Done}}Đã thực hiện — {{end}}{{.OpName}} <span class="en" lang="en">/ {{.OpNameEN}}</span></h1>
<ul class="summary">{{range .Summary}}<li>{{.}}</li>{{end}}</ul>
<h2>{{if .Done}}Đã thay đổi{{else}}Sẽ thay đổi{{end}} <span class="en" lang="en">/ {{if .Done}}Changed{{else}}Will change{{end}}</span> ({{len .Changes}})</h2>
{{if .Changes}}<table id="changes"><tr><th>Địa chỉ hiện tại <span class="en" lang="en">/ Current address</span></th><th>Địa chỉ mới <span class="en" lang="en">/ New address</span></th><th>Đơn vị <span class="en" lang="en">/ Unit</span></th></tr>
{{range .Changes}}<tr><td>{{.OldAddress}}</td><td>{{if eq .OldAddress .NewAddress}}<span class="hint">giữ nguyên / unchanged</span>{{else}}{{.NewAddress}}{{end}}</td><td>{{if eq .OldUnit .NewUnit}}{{.NewUnitName}}{{else}}{{.OldUnitName}} → {{.NewUnitName}}{{end}}</td></tr>{{end}}</table>
<p class="hint">Địa chỉ cũ vẫn nhận thư (bí danh) trong {{.Months}} tháng. <span class="en" lang="en">Old addresses keep delivering (aliases) for {{.Months}} months.</span></p>
{{else}}<p>Không có địa chỉ nào thay đổi. <span class="en" lang="en">No address changes.</span></p>{{end}}
{{range .Notes}}<p class="hint">{{.}}</p>{{end}}
{{if not .Done}}<form method="post" action="{{.Action}}"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="op" value="{{.Op}}">
{{with .Args}}<input type="hidden" name="plan" value="{{.Plan}}"><input type="hidden" name="address" value="{{.Address}}"><input type="hidden" name="unit" value="{{.Unit}}"><input type="hidden" name="reason" value="{{.Reason}}">
<input type="hidden" name="from" value="{{.From}}"><input type="hidden" name="into" value="{{.Into}}"><input type="hidden" name="name" value="{{.Name}}"><input type="hidden" name="abbr" value="{{.Abbr}}">
<input type="hidden" name="parent" value="{{.Parent}}"><input type="hidden" name="unit_kind" value="{{.Kind}}"><input type="hidden" name="old" value="{{.Old}}"><input type="hidden" name="new" value="{{.New}}">{{end}}
<button type="submit" id="confirm">Xác nhận thực hiện / Confirm</button> <a class="button secondary" href="{{.Back}}">Huỷ / Cancel</a></form>
{{else}}<a class="button secondary" href="{{.Back}}">Quay lại / Back</a>{{end}}
{{end}}{{end}}`

const adminImportTemplate = `{{define "content"}}{{template "adminnav" .}}{{$csrf := .CSRF}}{{with .Data}}
<h1>Nhập danh sách cán bộ <span class="en" lang="en">/ Import a list of officials</span></h1>
<div class="card"><form method="post" action="/admin/import/preview" enctype="multipart/form-data"><input type="hidden" name="csrf" value="{{$csrf}}">
<label for="import-file">Tệp CSV/XLSX <span class="en" lang="en">/ CSV or XLSX file</span></label>
<input type="file" id="import-file" name="file" required accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet">
<p class="hint">Cột <span class="en" lang="en">/ columns</span>: ho_ten, don_vi (mã hoặc tên đơn vị), chuc_vu, dien_thoai, dia_chi, ma_can_bo (mã định danh, tuỳ chọn) — như <code>congvu directory import</code>. Người có mã đã biết ở đơn vị khác được chuyển công tác (giữ hộp thư), không tạo trùng. <span class="en" lang="en">A known key in another unit is a transfer, not a new account.</span></p>
<button type="submit" id="import-preview">Xem trước / Preview</button></form></div>
<a class="button secondary" href="{{.Back}}">Huỷ / Cancel</a>
{{end}}{{end}}`

const adminImportPreviewTemplate = `{{define "content"}}{{template "adminnav" .}}{{$csrf := .CSRF}}{{$d := .Data}}{{with .Data}}
<h1>{{if .Done}}Đã nhập{{else}}Xem trước{{end}}: {{.File}} <span class="en" lang="en">/ {{if .Done}}Imported{{else}}Preview{{end}}</span></h1>
{{with .Report}}<ul class="summary" id="import-counts">
<li>Tạo mới <span class="en" lang="en">/ new accounts</span>: {{len .Created}}</li><li>Chuyển đơn vị <span class="en" lang="en">/ transfers</span>: {{len .Moves}}</li>
<li>Cập nhật <span class="en" lang="en">/ updated</span>: {{len .Updated}}</li><li>Không đổi <span class="en" lang="en">/ unchanged</span>: {{len .Unchanged}}</li>
<li>Trùng địa chỉ <span class="en" lang="en">/ collisions</span>: {{len .Collisions}}</li><li>Không còn trong danh sách <span class="en" lang="en">/ departures</span>: {{len .Departures}}</li>
<li>Bỏ qua <span class="en" lang="en">/ skipped</span>: {{len .Skipped}}</li>
{{range $code, $n := .Headcounts}}<li class="headcount">Biên chế <span class="en" lang="en">/ headcount</span> {{index $d.UnitNames $code}}: {{$n}}</li>{{end}}</ul>
{{if .Moves}}<h2>Chuyển đơn vị <span class="en" lang="en">/ Transfers</span></h2><table id="moves"><tr><th>Dòng <span class="en" lang="en">/ Line</span></th><th>Họ và tên <span class="en" lang="en">/ Name</span></th><th>Địa chỉ <span class="en" lang="en">/ Address</span></th><th>Đơn vị <span class="en" lang="en">/ Unit</span></th></tr>
{{range .Moves}}<tr><td>{{.Line}}</td><td>{{.FullName}}</td><td>{{.Address}}</td><td>{{index $d.UnitNames .FromUnit}} → {{index $d.UnitNames .ToUnit}}</td></tr>{{end}}</table>
<p class="hint">Giữ hộp thư và mật khẩu; địa chỉ cũ vẫn nhận thư trong {{$d.Months}} tháng. <span class="en" lang="en">Mailbox and password kept; old addresses deliver for {{$d.Months}} months.</span></p>{{end}}
{{if .Created}}<h2>Tài khoản mới <span class="en" lang="en">/ New accounts</span></h2><table id="created"><tr><th>Dòng <span class="en" lang="en">/ Line</span></th><th>Họ và tên <span class="en" lang="en">/ Name</span></th><th>Đơn vị <span class="en" lang="en">/ Unit</span></th><th>Địa chỉ <span class="en" lang="en">/ Address</span></th>{{if $d.Done}}<th>Mật khẩu ban đầu <span class="en" lang="en">/ Initial password</span></th>{{end}}</tr>
{{range .Created}}<tr><td>{{.Line}}</td><td>{{.FullName}}</td><td>{{index $d.UnitNames .UnitCode}}</td><td>{{.Address}}{{with index $d.Collisions .Address}}<br><span class="hint">{{.}} đã có người dùng / taken</span>{{end}}</td>{{if $d.Done}}<td><span class="secret">{{.Password}}</span></td>{{end}}</tr>{{end}}</table>
{{if $d.Done}}<p class="hint">Mật khẩu chỉ hiện một lần; người dùng phải đổi khi đăng nhập lần đầu. <span class="en" lang="en">Shown once; must be changed at first sign-in.</span></p>{{end}}{{end}}
{{if .Departures}}<h2>Không còn trong danh sách <span class="en" lang="en">/ Departures</span></h2><p class="hint">Không tự khoá; người đã nghỉ hãy khoá từ trang tài khoản. <span class="en" lang="en">Not locked by the import.</span></p>
<table id="departures">{{range .Departures}}<tr><td>{{.FullName}}</td><td>{{.Address}}</td><td>{{index $d.UnitNames .UnitCode}}</td></tr>{{end}}</table>{{end}}
{{if .Skipped}}<h2>Bỏ qua <span class="en" lang="en">/ Skipped</span></h2><ul id="skipped">{{range .Skipped}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{end}}
{{if not .Done}}<form method="post" action="/admin/import"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="file" value="{{.File}}"><input type="hidden" name="rows" value="{{.Rows}}">
<button type="submit" id="import-confirm">Xác nhận nhập / Confirm the import</button> <a class="button secondary" href="{{.Back}}">Huỷ / Cancel</a></form>{{end}}
{{end}}{{end}}`
