package core

import (
	"embed"
	"html/template"
	"net/http"
	"path"
	"strings"
)

const layoutTemplate = `{{define "layout"}}<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="Hệ thống thư điện tử công vụ của cơ quan nhà nước / Official e-mail of the state's agencies">
<meta name="robots" content="noindex">
<title>{{.Title}} — Thư điện tử công vụ</title>
<link rel="icon" href="/favicon.ico">
<link rel="stylesheet" href="/static/congvu.css">
</head>
<body{{if .EnglishFirst}} class="en-first"{{end}}>
<a class="skip" href="#main">Bỏ qua, tới nội dung chính / Skip to content</a>
<header class="top"><div class="wrap">
<a class="brand" href="/"><span class="star">★</span> Thư điện tử công vụ<span class="en" lang="en">Official e-mail</span></a>
{{if .User}}<nav aria-label="Chính">
{{if not .Forced}}<a href="/mail">Hộp thư</a><a href="/">Tài khoản</a>{{if .User.IsAdmin}}<a href="/admin">Quản trị</a>{{end}}<a href="/settings">Cài đặt</a><a href="/password">Đổi mật khẩu</a>{{end}}
<span>{{.User.Address}}</span>
<form class="inline" method="post" action="/logout"><input type="hidden" name="csrf" value="{{.CSRF}}"><button class="link" type="submit">Đăng xuất</button></form>
</nav>{{end}}
</div></header>
<main class="wrap" id="main">
{{with .Notice}}<div class="notice {{.Kind}}" role="{{if eq .Kind "error"}}alert{{else}}status{{end}}">
<p>{{.VI}}</p>{{if .EN}}<p class="en" lang="en">{{.EN}}</p>{{end}}
{{if .Items}}<ul>{{range .Items}}<li>{{.VI}} <span class="en" lang="en">/ {{.EN}}</span></li>{{end}}</ul>{{end}}</div>{{end}}
{{template "content" .}}
</main>
<footer class="wrap" role="contentinfo">Hệ thống thư điện tử công vụ <span class="en" lang="en">/ Official e-mail system</span></footer>
{{range .Scripts}}<script src="{{.}}" async></script>
{{end}}</body></html>{{end}}`

// The page's scripts (progressive enhancement) come last in the body and
// async: everything they look for is parsed before them, and neither the
// parser nor the first paint waits for them (with "defer" in the head,
// Chromium ran them inside the parser's last task, with its forced style
// and layout).

const loginTemplate = `{{define "content"}}<div class="card narrow">
<h1>Đăng nhập <span class="en" lang="en">/ Sign in</span></h1>
<form method="post" action="/login">
<input type="hidden" name="csrf" value="{{.Data.Token}}">
<label for="login">Địa chỉ thư điện tử <span class="en" lang="en">/ E-mail address</span></label>
<input type="email" id="login" name="login" value="{{.Data.Login}}" autocomplete="username" required autofocus maxlength="256" placeholder="ten.donvi@tinh.gov.vn">
<label for="password">Mật khẩu <span class="en" lang="en">/ Password</span></label>
<input type="password" id="password" name="password" autocomplete="current-password" required maxlength="1024">
<button type="submit">Đăng nhập / Sign in</button>
</form>
<p class="hint">Quên mật khẩu? Liên hệ quản trị đơn vị của bạn. <span class="en" lang="en">Forgot your password? Ask your unit's administrator.</span></p>
</div>{{end}}`

const codeTemplate = `{{define "content"}}<div class="card narrow">
<h1>Xác thực hai bước <span class="en" lang="en">/ Two-step verification</span></h1>
<form method="post" action="/login/code">
<input type="hidden" name="csrf" value="{{.Data.Token}}">
<label for="code">Mã 6 chữ số trong ứng dụng xác thực, hoặc một mã dự phòng <span class="en" lang="en">/ The 6-digit code from your authenticator app, or a recovery code</span></label>
<input type="text" id="code" name="code" autocapitalize="none" spellcheck="false" autocomplete="one-time-code" required autofocus maxlength="40">
<button type="submit">Xác nhận / Verify</button>
</form></div>{{end}}`

const messageTemplate = `{{define "content"}}<p><a href="/">Về trang chính / Home</a></p>{{end}}`

// corePages are the pages of the core: sign-in and a notice.
var corePages = ParsePages("", map[string]string{"login": loginTemplate, "message": messageTemplate, "code": codeTemplate})

// ParsePages parses a room's page contents, each into its own copy of
// the layout together with shared, the room's own {{define}}s. Content
// templates define "content"; Site.Render executes "layout". The result
// is built once at start and only read afterwards.
func ParsePages(shared string, contents map[string]string) map[string]*template.Template {
	return ParsePagesWith(shared, nil, contents)
}

// ParsePagesWith is ParsePages with the room's own template functions.
func ParsePagesWith(shared string, funcs template.FuncMap, contents map[string]string) map[string]*template.Template {
	base := template.Must(template.New("layout").Funcs(template.FuncMap{
		"role": RoleName, "state": StateName, "time": FormatTime,
	}).Funcs(funcs).Parse(MarkEnglish(layoutTemplate + shared)))
	m := make(map[string]*template.Template, len(contents))
	for name, content := range contents {
		m[name] = template.Must(template.Must(base.Clone()).Parse(MarkEnglish(content)))
	}
	return m
}

// static are the site's assets, served at /static/: the CSP allows
// styles and scripts only from this origin, never inline.
//
//go:embed static
var static embed.FS

// staticTypes are the media types of the assets by extension.
var staticTypes = map[string]string{
	".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
	".svg": "image/svg+xml", ".ico": "image/x-icon", ".png": "image/png", ".txt": "text/plain; charset=utf-8",
}

func serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := static.ReadFile("static/" + name)
	ct, known := staticTypes[path.Ext(name)]
	if err != nil || !known || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(b)
}

// MarkEnglish gives every English label of a template (class "en") the
// lang="en" it needs, so that a Vietnamese screen reader switches voice
// for it (WCAG 3.1.2). Templates need not repeat it.
func MarkEnglish(src string) string {
	src = strings.ReplaceAll(src, `class="en" lang="en"`, `class="en"`)
	return strings.ReplaceAll(src, `class="en"`, `class="en" lang="en"`)
}
