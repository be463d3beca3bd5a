package account

const homeTemplate = `{{define "content"}}{{with .Data}}<h1>Xin chào, {{if .Account.DisplayName}}{{.Account.DisplayName}}{{else}}{{.Account.Address}}{{end}}</h1>
<p class="en">Welcome</p>
<div class="card"><h2>Tài khoản <span class="en">/ Account</span></h2>
<dl class="facts">
<dt>Địa chỉ thư <span class="en">/ Address</span></dt><dd>{{.Account.Address}}</dd>
{{if .UnitName}}<dt>Đơn vị <span class="en">/ Unit</span></dt><dd>{{.UnitName}}</dd>{{end}}
{{if .Account.Title}}<dt>Chức vụ <span class="en">/ Title</span></dt><dd>{{.Account.Title}}</dd>{{end}}
<dt>Vai trò <span class="en">/ Role</span></dt><dd>{{.Role}}</dd>
{{if .PasswordChanged}}<dt>Đổi mật khẩu lần cuối <span class="en">/ Password changed</span></dt><dd>{{.PasswordChanged}}{{if .PasswordExpires}} — cần đổi trước {{.PasswordExpires}} <span class="en">(change before)</span>{{end}}</dd>{{end}}
</dl>
<a class="button secondary" href="/password">Đổi mật khẩu / Change password</a>
</div>
{{if .Listeners}}<div class="card"><h2>Cài đặt ứng dụng thư <span class="en">/ Mail app settings</span></h2>
<p class="hint">Tên đăng nhập là địa chỉ thư đầy đủ; mật khẩu như trên web. <span class="en">The user name is the full address; the password is the same as here.</span></p>
<table><tr><th>Dịch vụ <span class="en">/ Service</span></th><th>Máy chủ : cổng <span class="en">/ Server : port</span></th><th>Bảo mật <span class="en">/ Security</span></th></tr>
{{range .Listeners}}<tr><td>{{.Service}}</td><td>{{.Addr}}</td><td>{{.Security}}</td></tr>{{end}}
</table>
<p><a class="button secondary" href="/setup/congvu.mobileconfig?emailaddress={{.Account.Address}}">Tải cấu hình cho iPhone/iPad <span class="en" lang="en">/ iPhone, iPad profile</span></a>
<a href="/setup/android?emailaddress={{.Account.Address}}">Android (mã QR) <span class="en" lang="en">/ Android, QR code</span></a>
<a href="/setup/">Hướng dẫn Thunderbird, Outlook <span class="en" lang="en">/ Thunderbird, Outlook guide</span></a></p>
</div>{{end}}{{end}}{{end}}`

const passwordTemplate = `{{define "content"}}<div class="card narrow">
<h1>Đổi mật khẩu <span class="en">/ Change password</span></h1>
{{if .Data.Forced}}<div class="notice info" role="status">{{if .Data.Expired}}<p>Mật khẩu của bạn đã dùng quá {{.Data.MaxAgeDays}} ngày. Vui lòng đổi mật khẩu để tiếp tục.</p>
<p class="en">Your password is older than {{.Data.MaxAgeDays}} days. Change it to continue.</p>{{else}}<p>Đây là lần đăng nhập đầu tiên hoặc mật khẩu vừa được cấp lại. Vui lòng đổi mật khẩu để tiếp tục.</p>
<p class="en">First sign-in or a reset password: choose your own password to continue.</p>{{end}}</div>{{end}}
<form method="post" action="/password">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label for="current">Mật khẩu hiện tại <span class="en">/ Current password</span></label>
<input type="password" id="current" name="current" autocomplete="current-password" required maxlength="1024">
<label for="new">Mật khẩu mới <span class="en">/ New password</span></label>
<input type="password" id="new" name="new" autocomplete="new-password" required maxlength="1024" aria-describedby="rules">
<label for="confirm">Nhập lại mật khẩu mới <span class="en">/ New password again</span></label>
<input type="password" id="confirm" name="confirm" autocomplete="new-password" required maxlength="1024">
<p class="hint" id="rules">{{.Data.RulesVI}}<br><span class="en">{{.Data.RulesEN}}</span></p>
<button type="submit">Đổi mật khẩu / Change password</button>
</form></div>{{end}}`
