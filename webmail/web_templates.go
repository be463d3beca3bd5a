package webmail

import "html/template"

// webCSS is served at /static/congvu.css: the CSP allows styles only from
// this origin, never inline.
const webCSS = `:root{--red:#a31d1d;--red-dark:#7c1414;--gold:#f2c230;--ink:#1d2430;--muted:#5b6472;--line:#d9dde3;--bg:#f3f4f6;--ok:#1f7a3f;--okbg:#e8f5ec;--err:#a31d1d;--errbg:#fdecec}
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;color:var(--ink);background:var(--bg);line-height:1.5}
a{color:#0b57a4}
.wrap{max-width:64rem;margin:0 auto;padding:0 1rem}
header.top{background:var(--red);color:#fff;border-bottom:4px solid var(--gold)}
header.top .wrap{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.5rem;padding-top:.7rem;padding-bottom:.7rem}
.brand{color:#fff;text-decoration:none;font-weight:700;font-size:1.15rem}
.brand .star{color:var(--gold)}
.brand .en{color:#f6d9d9;font-weight:400;font-size:.85rem;margin-left:.3rem}
header nav{display:flex;flex-wrap:wrap;align-items:center;gap:1rem}
header nav a,header nav button.link{color:#fff;text-decoration:none;font-size:.95rem}
header nav a:hover,header nav button.link:hover{text-decoration:underline}
form.inline{display:inline;margin:0}
header nav form.inline{display:flex}
.card h1:first-child,.card h2:first-child{margin-top:0}
button.link{background:none;border:0;padding:0;margin:0;font:inherit;cursor:pointer}
main{padding-top:1.5rem;padding-bottom:2rem}
h1{font-size:1.5rem;margin:.2rem 0 .2rem}
h2{font-size:1.15rem;margin:1.4rem 0 .5rem}
.en{color:var(--muted);font-size:.9em}
h1 .en,h2 .en{font-weight:400}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:1.2rem 1.4rem;margin:1rem 0;box-shadow:0 1px 2px rgba(0,0,0,.04)}
.narrow{max-width:28rem;margin-left:auto;margin-right:auto}
label{display:block;font-weight:600;margin:.8rem 0 .25rem}
label .en{font-weight:400}
input[type=text],input[type=email],input[type=password],input[type=search],input[type=date],select{width:100%;padding:.55rem .6rem;border:1px solid #b8bec8;border-radius:6px;font:inherit;background:#fff}
input:focus,select:focus{outline:2px solid #0b57a4;outline-offset:1px}
button,.button{display:inline-block;margin-top:1rem;padding:.55rem 1.1rem;border:0;border-radius:6px;background:var(--red);color:#fff;font:inherit;font-weight:600;cursor:pointer;text-decoration:none}
button:hover,.button:hover{background:var(--red-dark)}
button.secondary,.button.secondary{background:#fff;color:var(--ink);border:1px solid #b8bec8}
button.secondary:hover{background:#f0f1f3}
button.danger{background:#5a1010}
.notice{border-radius:6px;padding:.7rem 1rem;margin:1rem 0;border-left:5px solid}
.notice p{margin:.1rem 0}
.notice ul{margin:.3rem 0 .1rem 1.2rem;padding:0}
.notice.error{background:var(--errbg);border-color:var(--err);color:#5c1010}
.notice.ok{background:var(--okbg);border-color:var(--ok);color:#0f4424}
.notice.info{background:#eef5fc;border-color:#0b57a4;color:#0a3566}
.hint{color:var(--muted);font-size:.92rem}
dl.facts{display:grid;grid-template-columns:minmax(9rem,max-content) 1fr;gap:.35rem 1rem;margin:0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid var(--line);padding:.45rem .6rem;text-align:left;vertical-align:top}
th{background:#f7f7f8;font-weight:600}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:999px;font-size:.82rem;border:1px solid}
.badge.active{color:var(--ok);border-color:#9fd3b1;background:var(--okbg)}
.badge.locked{color:#8a4b00;border-color:#f0c98f;background:#fff4e0}
.badge.retired{color:#555;border-color:#ccc;background:#f1f1f1}
.badge.must{color:#0b57a4;border-color:#a9c8ea;background:#eef5fc}
nav.path{font-size:.95rem;margin:.3rem 0 .8rem}
ul.units{columns:2 18rem;padding-left:1.2rem;margin:.3rem 0}
.actions{display:flex;flex-wrap:wrap;gap:.8rem;align-items:flex-end}
.actions form{margin:0}
.secret{font-family:ui-monospace,Consolas,monospace;font-size:1.3rem;background:#fff8d6;border:1px dashed #c9a400;padding:.4rem .8rem;display:inline-block;letter-spacing:.05em}
.tabs{display:flex;gap:1rem;border-bottom:1px solid var(--line);margin-bottom:1rem}
.tabs a{padding:.4rem 0;text-decoration:none;color:var(--ink)}
.tabs a.cur{border-bottom:3px solid var(--red);font-weight:600}
footer{color:var(--muted);font-size:.85rem;padding-bottom:2rem}
`

const layoutTemplate = `{{define "layout"}}<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — Thư điện tử công vụ</title>
<link rel="stylesheet" href="/static/congvu.css">
</head>
<body>
<header class="top"><div class="wrap">
<a class="brand" href="/"><span class="star">★</span> Thư điện tử công vụ<span class="en">Official e-mail</span></a>
{{if .User}}<nav aria-label="Chính">
{{if not .Forced}}<a href="/mail">Hộp thư</a><a href="/">Tài khoản</a>{{if .User.IsAdmin}}<a href="/admin">Quản trị</a>{{end}}<a href="/password">Đổi mật khẩu</a>{{end}}
<span>{{.User.Address}}</span>
<form class="inline" method="post" action="/logout"><input type="hidden" name="csrf" value="{{.CSRF}}"><button class="link" type="submit">Đăng xuất</button></form>
</nav>{{end}}
</div></header>
<main class="wrap">
{{with .Notice}}<div class="notice {{.Kind}}" role="{{if eq .Kind "error"}}alert{{else}}status{{end}}">
<p>{{.VI}}</p>{{if .EN}}<p class="en">{{.EN}}</p>{{end}}
{{if .Items}}<ul>{{range .Items}}<li>{{.VI}} <span class="en">/ {{.EN}}</span></li>{{end}}</ul>{{end}}</div>{{end}}
{{template "content" .}}
</main>
<footer class="wrap">Hệ thống thư điện tử công vụ <span class="en">/ Official e-mail system</span></footer>
</body></html>{{end}}`

const loginTemplate = `{{define "content"}}<div class="card narrow">
<h1>Đăng nhập <span class="en">/ Sign in</span></h1>
<form method="post" action="/login">
<input type="hidden" name="csrf" value="{{.Data.Token}}">
<label for="login">Địa chỉ thư điện tử <span class="en">/ E-mail address</span></label>
<input type="email" id="login" name="login" value="{{.Data.Login}}" autocomplete="username" required autofocus maxlength="256" placeholder="ten.donvi@tinh.gov.vn">
<label for="password">Mật khẩu <span class="en">/ Password</span></label>
<input type="password" id="password" name="password" autocomplete="current-password" required maxlength="1024">
<button type="submit">Đăng nhập / Sign in</button>
</form>
<p class="hint">Quên mật khẩu? Liên hệ quản trị đơn vị của bạn. <span class="en">Forgot your password? Ask your unit's administrator.</span></p>
</div>{{end}}`

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
</table></div>{{end}}{{end}}{{end}}`

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

const messageTemplate = `{{define "content"}}<p><a href="/">Về trang chính / Home</a></p>{{end}}`

// pages are the parsed page templates, each the layout with its content.
// They are built once and only read afterwards.
var pages = func() map[string]*template.Template {
	contents := map[string]string{
		"login": loginTemplate, "home": homeTemplate, "password": passwordTemplate, "message": messageTemplate,
	}
	for k, v := range adminTemplates() {
		contents[k] = v
	}
	for k, v := range mailTemplates() {
		contents[k] = v
	}
	m := make(map[string]*template.Template, len(contents))
	base := template.Must(template.New("layout").Funcs(template.FuncMap{
		"role": roleName, "state": stateName, "time": formatTime,
	}).Parse(layoutTemplate + adminNav + unitSelect + queueTable + queueOffNotice))
	for name, content := range contents {
		m[name] = template.Must(template.Must(base.Clone()).Parse(content))
	}
	return m
}()
