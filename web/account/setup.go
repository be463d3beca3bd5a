// Package webmail serves congvu's web pages. For now that is the client
// set-up page at "/": what an official types into Thunderbird, Outlook or a
// phone to reach their mailbox. Webmail proper builds on this package.
package account

import (
	"html/template"
	"net"
	"net/http"
	"sort"
)

// Listener describes one mail service for the set-up page.
type Listener struct {
	Service  string // "IMAP", "SMTP (gửi thư)", …
	Addr     string // host:port as clients reach it
	Security string // "STARTTLS" or "SSL/TLS"
}

// SetupPage returns the handler for the client set-up page.
func SetupPage(hostname string, domains []string, listeners []Listener) http.Handler {
	sorted := append([]Listener(nil), listeners...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Service < sorted[j].Service })
	type row struct{ Service, Host, Port, Security string }
	var rows []row
	for _, l := range sorted {
		host, port, err := net.SplitHostPort(l.Addr)
		if err != nil {
			continue
		}
		if hostname != "" {
			// What mail apps type: the server's name, not the address the
			// listener happens to be bound to (0.0.0.0, a private IP).
			host = hostname
		}
		rows = append(rows, row{l.Service, host, port, l.Security})
	}
	data := struct {
		Hostname string
		Domains  []string
		Rows     []row
	}{hostname, domains, rows}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" && r.URL.Path != "/setup" {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		setupTemplate.Execute(w, data)
	})
}

var setupTemplate = template.Must(template.New("setup").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="Cài đặt Outlook, Thunderbird và điện thoại cho thư điện tử công vụ / Setting up a mail client for official e-mail">
<title>Thư điện tử công vụ — cài đặt / client set-up</title>
<link rel="stylesheet" href="/static/congvu.css">
<link rel="icon" href="/favicon.ico">
</head>
<body>
<a class="skip" href="#main">Bỏ qua, tới nội dung chính / Skip to content</a>
<header class="top"><div class="wrap"><a class="brand" href="/"><span class="star" aria-hidden="true">★</span> Thư điện tử công vụ<span class="en" lang="en">Official e-mail</span></a>
<nav aria-label="Chính / Main"><a href="/danhba">Danh bạ</a><a href="/login">Đăng nhập</a></nav></div></header>
<main class="wrap" id="main">
<h1>Hệ thống thư điện tử công vụ</h1>
<p class="en" lang="en">Official e-mail of {{range $i, $d := .Domains}}{{if $i}}, {{end}}@{{$d}}{{end}} — server {{.Hostname}}</p>
<div class="card"><h2>Cài đặt phần mềm thư <span class="en" lang="en">/ Setting up a mail client</span></h2>
<p>Tên đăng nhập là địa chỉ thư đầy đủ của bạn. Mọi kết nối đều được mã hoá (TLS 1.2 trở lên); máy chủ không nhận mật khẩu qua kết nối không mã hoá. Nếu đã bật xác thực hai bước, hãy dùng mật khẩu ứng dụng.</p>
<p class="en" lang="en">Your user name is your full e-mail address. Every connection is encrypted (TLS 1.2 or later); passwords are never accepted over an unencrypted connection. With two-step verification on, use an app password.</p>
<table><tr><th>Dịch vụ / Service</th><th>Máy chủ / Host</th><th>Cổng / Port</th><th>Bảo mật / Security</th></tr>
{{range .Rows}}<tr><td>{{.Service}}</td><td>{{.Host}}</td><td>{{.Port}}</td><td>{{.Security}}</td></tr>
{{end}}</table>
<p><a href="/setup/">Hướng dẫn từng phần mềm (Thunderbird, Outlook, iPhone/iPad, Android) <span class="en" lang="en">/ step by step for each client</span></a></p></div>
</main>
<footer class="wrap" role="contentinfo">Hệ thống thư điện tử công vụ <span class="en" lang="en">/ Official e-mail system</span></footer>
</body></html>
`))
