package account

const homeTemplate = `{{define "content"}}{{with .Data}}<h1>Xin chào, {{if .Account.DisplayName}}{{.Account.DisplayName}}{{else}}{{.Account.Address}}{{end}}</h1>
<p class="en" lang="en">Welcome</p>
<div class="card"><h2>Tài khoản <span class="en" lang="en">/ Account</span></h2>
<dl class="facts">
<dt>Địa chỉ thư <span class="en" lang="en">/ Address</span></dt><dd>{{.Account.Address}}</dd>
{{if .UnitName}}<dt>Đơn vị <span class="en" lang="en">/ Unit</span></dt><dd>{{.UnitName}}</dd>{{end}}
{{if .Account.Title}}<dt>Chức vụ <span class="en" lang="en">/ Title</span></dt><dd>{{.Account.Title}}</dd>{{end}}
<dt>Vai trò <span class="en" lang="en">/ Role</span></dt><dd>{{.Role}}</dd>
{{if .PasswordChanged}}<dt>Đổi mật khẩu lần cuối <span class="en" lang="en">/ Password changed</span></dt><dd>{{.PasswordChanged}}{{if .PasswordExpires}} — cần đổi trước {{.PasswordExpires}} <span class="en" lang="en">(change before)</span>{{end}}</dd>{{end}}
</dl>
<a class="button secondary" href="/password">Đổi mật khẩu / Change password</a>
</div>
{{if .Listeners}}<div class="card"><h2>Cài đặt ứng dụng thư <span class="en" lang="en">/ Mail app settings</span></h2>
<p class="hint">Tên đăng nhập là địa chỉ thư đầy đủ; mật khẩu như trên web. <span class="en" lang="en">The user name is the full address; the password is the same as here.</span></p>
<table><tr><th>Dịch vụ <span class="en" lang="en">/ Service</span></th><th>Máy chủ : cổng <span class="en" lang="en">/ Server : port</span></th><th>Bảo mật <span class="en" lang="en">/ Security</span></th></tr>
{{range .Listeners}}<tr><td>{{.Service}}</td><td>{{.Addr}}</td><td>{{.Security}}</td></tr>{{end}}
</table>
<p><a class="button secondary" href="/setup/congvu.mobileconfig?emailaddress={{.Account.Address}}">Tải cấu hình cho iPhone/iPad <span class="en" lang="en">/ iPhone, iPad profile</span></a>
<a href="/setup/android?emailaddress={{.Account.Address}}">Android (mã QR) <span class="en" lang="en">/ Android, QR code</span></a>
<a href="/setup/">Hướng dẫn Thunderbird, Outlook <span class="en" lang="en">/ Thunderbird, Outlook guide</span></a></p>
</div>{{end}}{{end}}{{end}}`

const passwordTemplate = `{{define "content"}}<div class="card narrow">
<h1>Đổi mật khẩu <span class="en" lang="en">/ Change password</span></h1>
{{if .Data.Forced}}<div class="notice info" role="status">{{if .Data.Expired}}<p>Mật khẩu của bạn đã dùng quá {{.Data.MaxAgeDays}} ngày. Vui lòng đổi mật khẩu để tiếp tục.</p>
<p class="en" lang="en">Your password is older than {{.Data.MaxAgeDays}} days. Change it to continue.</p>{{else}}<p>Đây là lần đăng nhập đầu tiên hoặc mật khẩu vừa được cấp lại. Vui lòng đổi mật khẩu để tiếp tục.</p>
<p class="en" lang="en">First sign-in or a reset password: choose your own password to continue.</p>{{end}}</div>{{end}}
<form method="post" action="/password">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label for="current">Mật khẩu hiện tại <span class="en" lang="en">/ Current password</span></label>
<input type="password" id="current" name="current" autocomplete="current-password" required maxlength="1024">
<label for="new">Mật khẩu mới <span class="en" lang="en">/ New password</span></label>
<input type="password" id="new" name="new" autocomplete="new-password" required maxlength="1024" aria-describedby="rules">
<label for="confirm">Nhập lại mật khẩu mới <span class="en" lang="en">/ New password again</span></label>
<input type="password" id="confirm" name="confirm" autocomplete="new-password" required maxlength="1024">
<p class="hint" id="rules">{{.Data.RulesVI}}<br><span class="en" lang="en">{{.Data.RulesEN}}</span></p>
<button type="submit">Đổi mật khẩu / Change password</button>
</form></div>{{end}}`

const settingsTemplate = `{{define "content"}}{{$csrf := .CSRF}}{{with .Data}}<h1>Cài đặt <span class="en" lang="en">/ Settings</span></h1>
<nav class="toc" aria-label="Mục cài đặt / Sections"><a href="#sig">Chữ ký</a> · <a href="#vacation">Trả lời tự động</a> · <a href="#forward">Chuyển tiếp</a> · <a href="#lang">Ngôn ngữ</a> · <a href="{{.TwoFactorURL}}">Bảo mật đăng nhập</a> · <a href="/setup/">Cài đặt ứng dụng thư</a></nav>
{{if .HasDB}}<form class="card" method="post" action="/settings" id="sig">
<input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="what" value="signature">
<h2>Chữ ký thư <span class="en" lang="en">/ Signature</span></h2>
<label for="signature">Thêm vào cuối thư mới, thư trả lời và chuyển tiếp <span class="en" lang="en">/ Added to new messages, replies and forwards</span></label>
<textarea id="signature" name="signature" rows="5" maxlength="2000">{{.Signature}}</textarea>
<button type="submit">Lưu chữ ký <span class="en" lang="en">/ Save</span></button></form>{{end}}
{{if .Vacation}}<form class="card" method="post" action="/settings" id="vacation">
<input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="what" value="vacation">
<h2>Trả lời tự động <span class="en" lang="en">/ Vacation auto-reply</span></h2>
<label class="check"><input type="checkbox" name="enabled" value="yes" id="vac-enabled"{{if .Vac.Enabled}} checked{{end}}> Bật trả lời tự động <span class="en" lang="en">/ On</span></label>
<div class="grid2"><div><label for="vac-start">Từ ngày <span class="en" lang="en">/ From</span></label><input type="date" id="vac-start" name="start" value="{{.VacStart}}"></div>
<div><label for="vac-end">Đến ngày <span class="en" lang="en">/ Until</span></label><input type="date" id="vac-end" name="end" value="{{.VacEnd}}"></div></div>
<label for="vac-subject">Tiêu đề <span class="en" lang="en">/ Subject</span></label><input type="text" id="vac-subject" name="subject" value="{{.Vac.Subject}}" maxlength="200">
<label for="vac-body">Nội dung <span class="en" lang="en">/ Text</span></label><textarea id="vac-body" name="body" rows="5" maxlength="5000">{{.Vac.Body}}</textarea>
<p class="hint">Mỗi người gửi nhận trả lời tối đa một lần trong {{.Vac.Days}} ngày. <span class="en" lang="en">One reply per sender every {{.Vac.Days}} days.</span></p>
<button type="submit">Lưu <span class="en" lang="en">/ Save</span></button></form>{{else}}<div class="card" id="vacation"><h2>Trả lời tự động <span class="en" lang="en">/ Vacation auto-reply</span></h2><p class="hint">Máy chủ này chưa bật trả lời tự động. <span class="en" lang="en">Not available on this server.</span></p></div>{{end}}
{{if .Forwarding}}<form class="card" method="post" action="/settings" id="forward">
<input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="what" value="forward">
<h2>Chuyển tiếp thư <span class="en" lang="en">/ Forwarding</span></h2>
<p class="hint">Chỉ chuyển tiếp tới hộp thư trong hệ thống thư công vụ nhà nước; thư vẫn được giữ trong hộp thư này. <span class="en" lang="en">Only to mailboxes of the state's mail; a copy stays here.</span></p>
<label for="fwd-target">Chuyển tiếp tới <span class="en" lang="en">/ Forward to</span></label>
<input type="email" id="fwd-target" name="target" value="{{.Forward}}" maxlength="256" placeholder="ten.donvi@tinh.gov.vn">
<button type="submit">Lưu <span class="en" lang="en">/ Save</span></button>{{if .Forward}} <button type="submit" name="clear" value="yes" class="secondary">Tắt chuyển tiếp <span class="en" lang="en">/ Turn off</span></button>{{end}}</form>{{end}}
{{if .HasDB}}<form class="card" method="post" action="/settings" id="lang">
<input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="what" value="language">
<h2>Ngôn ngữ <span class="en" lang="en">/ Language</span></h2>
<fieldset class="scope"><legend class="vh">Ngôn ngữ / Language</legend>
<label class="check"><input type="radio" name="language" value="vi"{{if ne .Language "en"}} checked{{end}}> Tiếng Việt</label>
<label class="check" lang="en"><input type="radio" name="language" value="en"{{if eq .Language "en"}} checked{{end}}> English</label></fieldset>
<button type="submit">Lưu <span class="en" lang="en">/ Save</span></button></form>{{end}}
{{end}}{{end}}`

const securityTemplate = `{{define "content"}}{{$csrf := .CSRF}}{{with .Data}}<h1>Bảo mật đăng nhập <span class="en" lang="en">/ Sign-in security</span></h1>
{{if not .Available}}<div class="card"><p>Máy chủ này chưa có xác thực hai bước. <span class="en" lang="en">Not available on this server.</span></p></div>{{else}}
{{if .Recovery}}<div class="card" id="recovery"><h2>Mã dự phòng <span class="en" lang="en">/ Recovery codes</span></h2>
<p>Mỗi mã dùng được một lần khi không có điện thoại. Chỉ hiển thị lần này. <span class="en" lang="en">Each works once when you lack your phone. Shown only now.</span></p>
<ul class="codes">{{range .Recovery}}<li><code>{{.}}</code></li>{{end}}</ul></div>{{end}}
{{if .Enabled}}<div class="card"><h2>Xác thực hai bước: đang bật <span class="en" lang="en">/ Two-step verification: on</span></h2>
<p class="hint">Còn {{.RecoveryLeft}} mã dự phòng chưa dùng. <span class="en" lang="en">{{.RecoveryLeft}} recovery codes left.</span></p>
<details><summary>Tạo mã dự phòng mới hoặc tắt xác thực hai bước <span class="en" lang="en">/ New recovery codes, or turn off</span></summary>
<form method="post" action="/security"><input type="hidden" name="csrf" value="{{$csrf}}">
<label for="sec-password">Mật khẩu hiện tại <span class="en" lang="en">/ Current password</span></label><input type="password" id="sec-password" name="password" autocomplete="current-password" required maxlength="1024">
<label for="sec-code">Mã xác thực <span class="en" lang="en">/ Code</span></label><input type="text" id="sec-code" name="code" autocapitalize="none" spellcheck="false" autocomplete="one-time-code" required maxlength="40">
<button type="submit" name="action" value="recovery" class="secondary">Tạo mã dự phòng mới <span class="en" lang="en">/ New recovery codes</span></button>
<button type="submit" name="action" value="disable" class="danger">Tắt xác thực hai bước <span class="en" lang="en">/ Turn off</span></button></form></details></div>
<div class="card" id="apps"><h2>Mật khẩu ứng dụng <span class="en" lang="en">/ App passwords</span></h2>
<p class="hint">Khi bật xác thực hai bước, Outlook, Thunderbird và ứng dụng thư trên điện thoại (IMAP, POP3, SMTP) không dùng mật khẩu chính nữa: mỗi ứng dụng dùng một mật khẩu ứng dụng riêng. <span class="en" lang="en">Mail apps (IMAP, POP3, SMTP) now need an app password each; the main password no longer works there.</span></p>
{{if .NewApp}}<div class="notice ok" role="status" id="new-app"><p>Mật khẩu ứng dụng «{{.NewAppName}}»: <code class="secret">{{.NewApp}}</code></p><p class="en" lang="en">Type it into the app now; it is shown only once.</p></div>{{end}}
{{if .Apps}}<table><thead><tr><th>Tên <span class="en" lang="en">/ Name</span></th><th>Tạo lúc <span class="en" lang="en">/ Created</span></th><th>Dùng lần cuối <span class="en" lang="en">/ Last used</span></th><th><span class="vh">Thu hồi / Revoke</span></th></tr></thead><tbody>
{{range .Apps}}<tr><td>{{.Name}}</td><td>{{.Created}}</td><td>{{.Used}}</td><td><form method="post" action="/security"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="id" value="{{.ID}}"><button type="submit" name="action" value="revoke" class="secondary">Thu hồi <span class="en" lang="en">/ Revoke</span></button></form></td></tr>{{end}}
</tbody></table>{{end}}
<form method="post" action="/security"><input type="hidden" name="csrf" value="{{$csrf}}">
<label for="app-name">Tên ứng dụng <span class="en" lang="en">/ App name</span></label><input type="text" id="app-name" name="name" maxlength="60" placeholder="Thunderbird máy cơ quan">
<button type="submit" name="action" value="newapp">Tạo mật khẩu ứng dụng <span class="en" lang="en">/ Create</span></button></form></div>
{{else if .Enrolling}}<div class="card" id="enrol"><h2>Quét mã QR <span class="en" lang="en">/ Scan the QR code</span></h2>
<p>Mở ứng dụng xác thực (Google Authenticator, Microsoft Authenticator, FreeOTP…), quét mã dưới đây rồi nhập mã 6 chữ số. <span class="en" lang="en">Scan with your authenticator app, then enter its 6-digit code.</span></p>
<div class="qrbox">{{.QR}}</div>
<p class="hint">Không quét được? Nhập khoá <span class="en" lang="en">/ or type the key</span>: <code class="secret" id="totp-secret">{{.Secret}}</code></p>
<form method="post" action="/security"><input type="hidden" name="csrf" value="{{$csrf}}">
<label for="confirm-code">Mã 6 chữ số <span class="en" lang="en">/ 6-digit code</span></label><input type="text" id="confirm-code" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="8">
<button type="submit" name="action" value="confirm">Bật xác thực hai bước <span class="en" lang="en">/ Turn on</span></button></form></div>
{{else}}<div class="card"><h2>Xác thực hai bước: đang tắt <span class="en" lang="en">/ Two-step verification: off</span></h2>
<p>Khi bật, đăng nhập web cần thêm mã từ ứng dụng trên điện thoại; kẻ lấy được mật khẩu cũng không vào được hộp thư. <span class="en" lang="en">Signing in then also needs a code from your phone.</span></p>
<form method="post" action="/security"><input type="hidden" name="csrf" value="{{$csrf}}"><button type="submit" name="action" value="start" id="start-totp">Bật xác thực hai bước <span class="en" lang="en">/ Turn on</span></button></form></div>{{end}}
{{end}}{{end}}{{end}}`
