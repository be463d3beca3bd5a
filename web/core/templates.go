package core

import (
	_ "embed"
	"html/template"
	"net/http"
)

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

const messageTemplate = `{{define "content"}}<p><a href="/">Về trang chính / Home</a></p>{{end}}`

// corePages are the pages of the core: sign-in and a notice.
var corePages = ParsePages("", map[string]string{"login": loginTemplate, "message": messageTemplate})

// ParsePages parses a room's page contents, each into its own copy of
// the layout together with shared, the room's own {{define}}s. Content
// templates define "content"; Site.Render executes "layout". The result
// is built once at start and only read afterwards.
func ParsePages(shared string, contents map[string]string) map[string]*template.Template {
	base := template.Must(template.New("layout").Funcs(template.FuncMap{
		"role": RoleName, "state": StateName, "time": FormatTime,
	}).Parse(layoutTemplate + shared))
	m := make(map[string]*template.Template, len(contents))
	for name, content := range contents {
		m[name] = template.Must(template.Must(base.Clone()).Parse(content))
	}
	return m
}

// staticCSS is served at /static/congvu.css: the CSP allows styles only
// from this origin, never inline.
//
//go:embed static/congvu.css
var staticCSS []byte

func serveCSS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(staticCSS)
}
