package admin

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"congvu/provision"
	"congvu/web/core"
)

// adminNav is the admin navigation, defined beside the layout.
const adminNav = `{{define "adminnav"}}<nav class="tabs" aria-label="Quản trị">
<a href="/admin"{{if eq .AdminTab "units"}} class="cur"{{end}}>Đơn vị và tài khoản <span class="en" lang="en">/ Units and accounts</span></a>
<a href="/admin/reports"{{if eq .AdminTab "reports"}} class="cur"{{end}}>Báo cáo truy cập <span class="en" lang="en">/ Access report</span></a>
<a href="/admin/reports/usage"{{if eq .AdminTab "usage"}} class="cur"{{end}}>Báo cáo sử dụng <span class="en" lang="en">/ Usage report</span></a>
<a href="/admin/requests"{{if eq .AdminTab "requests"}} class="cur"{{end}}>Đề nghị cấp tài khoản <span class="en" lang="en">/ Requests</span></a>
<a href="/admin/audit"{{if eq .AdminTab "audit"}} class="cur"{{end}}>Nhật ký kiểm tra <span class="en" lang="en">/ Audit log</span></a>
{{if .User.IsOperator}}<a href="/admin/reports/old-addresses"{{if eq .AdminTab "oldaddr"}} class="cur"{{end}}>Thư đến địa chỉ cũ <span class="en" lang="en">/ Mail to old addresses</span></a>{{end}}
{{if .User.IsOperator}}<a href="/admin/reorg"{{if eq .AdminTab "reorg"}} class="cur"{{end}}>Sắp xếp tổ chức <span class="en" lang="en">/ Reorganisation</span></a>
<a href="/admin/queue"{{if eq .AdminTab "queue"}} class="cur"{{end}}>Hàng đợi thư đi <span class="en" lang="en">/ Outbound queue</span></a>{{end}}
</nav>
<form class="find" method="get" action="/admin/find" role="search">
<label for="q">Tìm tài khoản theo họ tên, chức vụ, đơn vị hoặc địa chỉ thư <span class="en" lang="en">/ Find accounts by name, title, unit or address</span></label>
<input type="search" id="q" name="q" maxlength="256" placeholder="nguyen van / thanhnn.skhcn@khanhhoa.gov.vn">
</form>{{end}}`

const adminUnitTemplate = `{{define "content"}}{{template "adminnav" .}}{{with .Data}}
{{if .Path}}<nav class="path">{{range $i, $c := .Path}}{{if $i}} › {{end}}{{if $c.Href}}<a href="{{$c.Href}}">{{$c.Name}}</a>{{else}}{{$c.Name}}{{end}}{{end}}</nav>{{end}}
{{if .Overdue}}<p class="notice error" id="overdue-requests"><a href="/admin/requests">{{.Overdue}} đề nghị cấp tài khoản đã quá hạn 3 ngày làm việc</a>. <span class="en" lang="en">{{.Overdue}} provisioning request(s) overdue.</span></p>{{end}}
{{if .Unit.Code}}<h1>{{.Unit.Name}}</h1>
<p class="hint">Mã đơn vị <span class="en" lang="en">/ unit code</span> {{.Unit.Code}}{{if .Unit.Address}} · hộp thư đơn vị <span class="en" lang="en">/ unit mailbox</span> {{.Unit.Address}}{{end}}</p>
<p><a class="button" href="{{.NewHref}}">+ Thêm tài khoản / New account</a>{{if .RequestHref}} <a class="button secondary" href="{{.RequestHref}}" id="unit-request">Đề nghị cấp, thay đổi tài khoản / Request accounts</a>{{end}} <a class="button secondary" href="{{.Reports}}">Báo cáo truy cập / Access report</a>{{if .Shared}} <a class="button secondary" href="{{.Shared}}" id="shared-rights">Quyền trên hộp thư đơn vị / Unit mailbox rights</a>{{end}}{{if .Groups}} <a class="button secondary" href="{{.Groups}}" id="groups">Nhóm thư, công bố danh bạ / Groups, publishing</a>{{end}}{{if .Import}} <a class="button secondary" href="{{.Import}}" id="import">Nhập danh sách CSV/XLSX / Import a list</a>{{end}}</p>{{else}}<h1>Quản trị <span class="en" lang="en">/ Administration</span></h1>{{end}}
{{if .Sub}}<h2>Đơn vị trực thuộc <span class="en" lang="en">/ Sub-units</span></h2>
<ul class="units">{{range .Sub}}<li><a href="{{.Href}}">{{.Name}}</a></li>{{end}}</ul>{{end}}
{{if .Unit.Code}}<h2>Tài khoản <span class="en" lang="en">/ Accounts</span> ({{len .Accounts}})</h2>
{{if .Accounts}}<table><tr><th>Họ và tên <span class="en" lang="en">/ Name</span></th><th>Địa chỉ thư <span class="en" lang="en">/ Address</span></th><th>Chức vụ, vai trò <span class="en" lang="en">/ Title, role</span></th><th>Trạng thái <span class="en" lang="en">/ State</span></th></tr>
{{range .Accounts}}<tr><td><a href="{{.Href}}">{{if .DisplayName}}{{.DisplayName}}{{else}}{{.Address}}{{end}}</a></td><td>{{.Address}}</td>
<td>{{if .Title}}{{.Title}}<br>{{end}}<span class="hint">{{role .Role}}</span></td>
<td><span class="badge {{.State}}">{{state .State}}</span>{{if .MustChangePassword}} <span class="badge must">chưa đổi mật khẩu</span>{{end}}</td></tr>
{{end}}</table>{{else}}<p>Đơn vị chưa có tài khoản nào. <span class="en" lang="en">No accounts yet.</span></p>{{end}}{{end}}
{{end}}{{end}}`

const adminAccountTemplate = `{{define "content"}}{{template "adminnav" .}}{{$csrf := .CSRF}}{{with .Data}}
<nav class="path"><a href="{{.UnitHref}}">{{if .UnitName}}{{.UnitName}}{{else}}{{.Account.UnitCode}}{{end}}</a> ›</nav>
<h1>{{if .Account.DisplayName}}{{.Account.DisplayName}}{{else}}{{.Account.Address}}{{end}}</h1>
<div class="card"><dl class="facts">
<dt>Địa chỉ thư <span class="en" lang="en">/ Address</span></dt><dd>{{.Account.Address}}</dd>
{{if .Account.Aliases}}<dt>Bí danh <span class="en" lang="en">/ Aliases</span></dt><dd>{{range $i, $x := .Account.Aliases}}{{if $i}}, {{end}}{{$x}}{{end}}</dd>{{end}}
{{if .Account.Title}}<dt>Chức vụ <span class="en" lang="en">/ Title</span></dt><dd>{{.Account.Title}}</dd>{{end}}
{{if .Account.Phone}}<dt>Điện thoại <span class="en" lang="en">/ Phone</span></dt><dd>{{.Account.Phone}}</dd>{{end}}
<dt>Vai trò <span class="en" lang="en">/ Role</span></dt><dd>{{role .Account.Role}}</dd>
<dt>Trạng thái <span class="en" lang="en">/ State</span></dt><dd><span class="badge {{.Account.State}}">{{state .Account.State}}</span> từ <span class="en" lang="en">since</span> {{time .Account.StateChanged}}{{if and .Account.StateReason (ne .Account.State "active")}}<br><span id="state-reason">Lý do <span class="en" lang="en">/ reason</span>: {{.Account.StateReason}}</span>{{end}}</dd>
{{if .SendLocks}}<dt>Gửi thư <span class="en" lang="en">/ Sending</span></dt><dd id="sending">{{with .SendLock}}<span class="badge locked">Đang khoá gửi thư</span> <span class="en" lang="en">locked</span> từ <span class="en" lang="en">since</span> {{time .At}}{{if .Reason}}<br>Lý do <span class="en" lang="en">/ reason</span>: {{.Reason}}{{end}}{{else}}<span class="badge active">Được gửi thư</span> <span class="en" lang="en">allowed</span>{{end}}</dd>{{end}}
{{with .Facts}}<dt>Dung lượng <span class="en" lang="en">/ Quota</span></dt><dd id="quota">{{if .HasMailbox}}đã dùng <span class="en" lang="en">used</span> {{bytes .UsedBytes}}{{if gt .LimitBytes 0}} / {{bytes .LimitBytes}} ({{percent .UsedBytes .LimitBytes}}){{end}}{{else}}chưa có thư <span class="en" lang="en">no mail yet</span>{{if gt .LimitBytes 0}} · hạn mức <span class="en" lang="en">quota</span> {{bytes .LimitBytes}}{{end}}{{end}}</dd>
<dt>Truy cập gần nhất <span class="en" lang="en">/ Last access</span></dt><dd id="last-access">{{if .LastAccess.IsZero}}chưa truy cập <span class="en" lang="en">never</span>{{else}}{{vnday .LastAccess}}{{end}}</dd>{{end}}
<dt>Mật khẩu <span class="en" lang="en">/ Password</span></dt><dd>đổi lần cuối <span class="en" lang="en">changed</span> {{time .Account.PasswordChanged}}{{if .Account.MustChangePassword}} · <span class="badge must">phải đổi khi đăng nhập web</span>{{end}}</dd>
</dl></div>
{{if .CanManage}}<h2>Thao tác <span class="en" lang="en">/ Actions</span></h2>
<div class="actions">
{{if ne .Account.State "retired"}}<form method="post" action="/admin/reset"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="address" value="{{.Account.Address}}">
<button type="submit" id="reset">Cấp lại mật khẩu / Reset password</button></form>{{end}}
{{if eq .Account.State "active"}}<form method="post" action="/admin/lock"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="address" value="{{.Account.Address}}">
<label for="reason_kind">Lý do khoá <span class="en" lang="en">/ Reason</span></label>
<select id="reason_kind" name="reason_kind" required><option value="">— chọn / choose —</option>{{range .LockReasons}}<option value="{{.Value}}">{{.VI}} / {{.EN}}</option>{{end}}</select>
<label for="lock-note">Ghi chú <span class="en" lang="en">/ Note</span></label>
<input type="text" id="lock-note" name="reason" maxlength="300" placeholder="Quyết định số …">
<button type="submit" id="lock" class="secondary">Khoá tài khoản / Lock</button></form>{{end}}
{{if eq .Account.State "locked"}}<form method="post" action="/admin/unlock"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="address" value="{{.Account.Address}}">
<button type="submit" id="unlock" class="secondary">Mở khoá / Unlock</button></form>{{end}}
{{if .SendLock}}<form method="post" action="/admin/unlock-sending"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="address" value="{{.Account.Address}}">
<button type="submit" id="unlock-sending" class="secondary">Mở khoá gửi thư / Lift the sending lock</button></form>{{end}}
</div>
{{if ne .Account.State "retired"}}<div class="card"><h2>Sửa thông tin <span class="en" lang="en">/ Edit</span></h2>
<form method="post" action="/admin/edit"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="address" value="{{.Account.Address}}">
<label for="edit-name">Họ và tên <span class="en" lang="en">/ Full name</span></label>
<input type="text" id="edit-name" name="full_name" value="{{.Account.DisplayName}}" required maxlength="120">
<label for="edit-title">Chức vụ <span class="en" lang="en">/ Title</span></label>
<input type="text" id="edit-title" name="title" value="{{.Account.Title}}" maxlength="200">
<label for="edit-phone">Điện thoại <span class="en" lang="en">/ Phone</span></label>
<input type="text" id="edit-phone" name="phone" value="{{.Account.Phone}}" maxlength="40">
{{if .Roles}}<label for="edit-role">Vai trò <span class="en" lang="en">/ Role</span></label>
<select id="edit-role" name="role">{{range .Roles}}<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Name}}</option>{{end}}</select>{{end}}
{{if ne .Account.Role "unit"}}<label for="edit-aliases">Bí danh <span class="en" lang="en">/ Aliases</span></label>
<textarea id="edit-aliases" name="aliases" rows="2" maxlength="2000" aria-describedby="edit-aliases-hint">{{range $i, $a := .Account.Aliases}}{{if $i}}
{{end}}{{$a}}{{end}}</textarea>
<p class="hint" id="edit-aliases-hint">Mỗi dòng một địa chỉ; thư gửi tới bí danh vào hộp thư này. <span class="en" lang="en">One address per line; mail to an alias reaches this mailbox.</span></p>{{end}}
<p class="hint">Đổi đơn vị: mục Chuyển công tác bên dưới. <span class="en" lang="en">To change the unit: Transfer below.</span></p>
<button type="submit" id="edit">Lưu / Save</button></form></div>
` + transferFormTemplate + `
<div class="card"><h2>Đóng tài khoản <span class="en" lang="en">/ Close the account</span></h2>
<p class="hint">Khi cán bộ nghỉ hưu hoặc chuyển công tác: hộp thư ngừng gửi và nhận thư ngay; dữ liệu được xoá sau thời hạn lưu trữ. <span class="en" lang="en">When the holder retires or leaves: sending and receiving stop at once; data is deleted after the retention period.</span></p>
<form method="post" action="/admin/retire"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="address" value="{{.Account.Address}}">
<label class="check"><input type="checkbox" name="confirm" value="yes" id="confirm-retire"> Tôi xác nhận đóng tài khoản {{.Account.Address}} <span class="en" lang="en">/ I confirm</span></label>
<button type="submit" id="retire" class="danger">Đóng tài khoản / Close account</button></form></div>{{end}}
{{else}}<p class="hint">{{.WhyNot}} <span class="en" lang="en">{{.WhyNotEN}}</span></p>{{end}}
{{end}}{{end}}`

const adminResetTemplate = `{{define "content"}}{{template "adminnav" .}}{{with .Data}}<div class="card narrow">
<h1>Đã cấp lại mật khẩu <span class="en" lang="en">/ Password reset</span></h1>
<p>Mật khẩu mới của <strong>{{.Account.Address}}</strong> <span class="en" lang="en">/ new password</span>:</p>
<p><span class="secret" id="new-password">{{.Password}}</span></p>
<p class="hint">Mật khẩu chỉ hiển thị một lần: hãy trao trực tiếp cho người dùng. Họ phải đổi mật khẩu khi đăng nhập web lần tới; các phiên đăng nhập cũ đã kết thúc.
<span class="en" lang="en">Shown only once: hand it to the holder in person. They must change it at their next web sign-in; their sessions have ended.</span></p>
<a class="button secondary" href="{{.Back}}">Về tài khoản / Back to the account</a>
</div>{{end}}{{end}}`

const adminNewTemplate = `{{define "content"}}{{template "adminnav" .}}{{with .Data}}<div class="card narrow">
<h1>Thêm tài khoản <span class="en" lang="en">/ New account</span></h1>
<p class="hint">Đơn vị <span class="en" lang="en">/ unit</span>: {{.Unit.Name}}. Địa chỉ thư được đặt theo quy ước của tỉnh (tên + chữ cái đầu của họ và tên đệm . đơn vị). <span class="en" lang="en">The address follows the provincial convention.</span></p>
<form method="post" action="/admin/new">
<input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="unit" value="{{.Unit.Code}}">
<label for="full_name">Họ và tên <span class="en" lang="en">/ Full name</span></label>
<input type="text" id="full_name" name="full_name" value="{{.FullName}}" required maxlength="120" placeholder="Nguyễn Ngọc Thành">
<label for="title">Chức vụ <span class="en" lang="en">/ Title</span></label>
<input type="text" id="title" name="title" value="{{.Title}}" maxlength="200" placeholder="Chuyên viên">
<label for="phone">Điện thoại <span class="en" lang="en">/ Phone</span></label>
<input type="text" id="phone" name="phone" value="{{.Phone}}" maxlength="40">
<label for="role">Vai trò <span class="en" lang="en">/ Role</span></label>
<select id="role" name="role">{{range .Roles}}<option value="{{.Value}}"{{if .Selected}} selected{{end}}>{{.Name}}</option>{{end}}</select>
<button type="submit">Tạo tài khoản / Create</button> <a class="button secondary" href="{{.Back}}">Huỷ / Cancel</a>
</form></div>{{end}}{{end}}`

const adminCreatedTemplate = `{{define "content"}}{{template "adminnav" .}}{{with .Data}}<div class="card narrow">
<h1>Đã tạo tài khoản <span class="en" lang="en">/ Account created</span></h1>
<dl class="facts">
<dt>Họ và tên <span class="en" lang="en">/ Name</span></dt><dd>{{.Entry.FullName}}</dd>
<dt>Địa chỉ thư <span class="en" lang="en">/ Address</span></dt><dd id="new-address">{{.Entry.Address}}</dd>
<dt>Đơn vị <span class="en" lang="en">/ Unit</span></dt><dd>{{.UnitName}}</dd>
<dt>Vai trò <span class="en" lang="en">/ Role</span></dt><dd>{{.Role}}</dd>
<dt>Mật khẩu ban đầu <span class="en" lang="en">/ Initial password</span></dt><dd><span class="secret" id="new-password">{{.Entry.Password}}</span></dd>
</dl>
{{if .Renamed}}<p class="hint">Địa chỉ {{.Renamed}} đã có người dùng nên được đánh số theo quy ước. <span class="en" lang="en">{{.Renamed}} was taken, so the address is numbered.</span></p>{{end}}
<p class="hint">Mật khẩu chỉ hiển thị một lần; người dùng phải đổi khi đăng nhập web lần đầu. <span class="en" lang="en">Shown only once; the holder must change it at the first web sign-in.</span></p>
<a class="button secondary" href="{{.View}}">Xem tài khoản / View</a> <a class="button secondary" href="{{.Back}}">Về đơn vị / Back to the unit</a>
</div>{{end}}{{end}}`

const adminSearchTemplate = `{{define "content"}}{{template "adminnav" .}}{{with .Data}}
<h1>Kết quả tìm “{{.Query}}” <span class="en" lang="en">/ Search results</span> ({{len .Rows}}{{if .More}}+{{end}})</h1>
{{if .Rows}}<table id="results"><tr><th>Họ và tên <span class="en" lang="en">/ Name</span></th><th>Địa chỉ thư <span class="en" lang="en">/ Address</span></th><th>Đơn vị <span class="en" lang="en">/ Unit</span></th><th>Chức vụ, vai trò <span class="en" lang="en">/ Title, role</span></th><th>Trạng thái <span class="en" lang="en">/ State</span></th></tr>
{{range .Rows}}<tr><td><a href="{{.Href}}">{{if .DisplayName}}{{.DisplayName}}{{else}}{{.Address}}{{end}}</a></td><td>{{.Address}}</td><td>{{.UnitName}}</td>
<td>{{if .Title}}{{.Title}}<br>{{end}}<span class="hint">{{role .Role}}</span></td>
<td><span class="badge {{.State}}">{{state .State}}</span>{{if and .StateReason (ne .State "active")}}<br><span class="hint">{{.StateReason}}</span>{{end}}</td></tr>
{{end}}</table>{{if .More}}<p class="hint">Chỉ hiện 200 kết quả đầu; hãy thêm từ khoá. <span class="en" lang="en">First 200 shown; refine the search.</span></p>{{end}}
{{else}}<p>Không tìm thấy tài khoản nào trong phạm vi bạn quản lý. <span class="en" lang="en">No account found in your scope.</span></p>{{end}}
{{end}}{{end}}`

// tmpl are the admin pages, parsed once with the admin navigation and
// the report and queue pieces they share.
var tmpl = core.ParsePagesWith(adminNav+unitSelect+queueTable+queueOffNotice+requestRowsTemplate, template.FuncMap{
	"vnday":   func(t time.Time) string { return t.In(provision.Location()).Format("02/01/2006") },
	"bytes":   humanBytes,
	"percent": func(used, limit int64) string { return fmt.Sprintf("%.0f %%", 100*float64(used)/float64(limit)) },
}, map[string]string{
	"admin-unit": adminUnitTemplate, "admin-account": adminAccountTemplate, "admin-reset": adminResetTemplate,
	"admin-new": adminNewTemplate, "admin-created": adminCreatedTemplate, "admin-reports": adminReportsTemplate,
	"admin-usage": adminUsageTemplate, "admin-audit": adminAuditTemplate, "admin-search": adminSearchTemplate,
	"admin-queue": adminQueueTemplate, "admin-shared": adminSharedTemplate, "admin-queue-message": adminQueueMessageTemplate,
	"admin-requests": adminRequestsTemplate, "admin-request-new": adminRequestNewTemplate,
	"admin-request-preview": adminRequestPreviewTemplate, "admin-request": adminRequestTemplate,
	"admin-groups":  adminGroupsTemplate,
	"admin-oldaddr": adminOldAddrTemplate,
	"admin-reorg":   adminReorgTemplate, "admin-reorg-confirm": adminReorgConfirmTemplate,
	"admin-import": adminImportTemplate, "admin-import-preview": adminImportPreviewTemplate,
})

// humanBytes is a size as administrators read it (1 KB = 1024 bytes,
// Vietnamese decimal comma).
func humanBytes(n int64) string {
	units := []string{"B", "KB", "MB", "GB", "TB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f, i = f/1024, i+1
	}
	s := fmt.Sprintf("%.1f", f)
	if i == 0 || strings.HasSuffix(s, ".0") {
		s = fmt.Sprintf("%.0f", f)
	}
	return strings.Replace(s, ".", ",", 1) + " " + units[i]
}
