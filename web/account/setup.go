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
		rows = append(rows, row{l.Service, host, port, l.Security})
	}
	data := struct {
		Hostname string
		Domains  []string
		Rows     []row
	}{hostname, domains, rows}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		setupTemplate.Execute(w, data)
	})
}

var setupTemplate = template.Must(template.New("setup").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Thư điện tử công vụ — cài đặt / client set-up</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.4rem .6rem;text-align:left}
th{background:#f2f2f2}.en{color:#555;font-size:.9em}</style></head>
<body>
<h1>Hệ thống thư điện tử công vụ</h1>
<p class="en">Official e-mail of {{range $i, $d := .Domains}}{{if $i}}, {{end}}@{{$d}}{{end}} — server {{.Hostname}}</p>
<h2>Cài đặt phần mềm thư <span class="en">/ Setting up a mail client</span></h2>
<p>Tên đăng nhập là địa chỉ thư đầy đủ của bạn. Mọi kết nối đều được mã hoá (TLS 1.2 trở lên); máy chủ không nhận mật khẩu qua kết nối không mã hoá.</p>
<p class="en">Your user name is your full e-mail address. Every connection is encrypted (TLS 1.2 or later); passwords are never accepted over an unencrypted connection.</p>
<table><tr><th>Dịch vụ / Service</th><th>Máy chủ / Host</th><th>Cổng / Port</th><th>Bảo mật / Security</th></tr>
{{range .Rows}}<tr><td>{{.Service}}</td><td>{{.Host}}</td><td>{{.Port}}</td><td>{{.Security}}</td></tr>
{{end}}</table>
<p><a href="/setup/">Hướng dẫn từng phần mềm (Thunderbird, Outlook, iPhone/iPad, Android) <span class="en" lang="en">/ step by step for each client</span></a></p>
</body></html>
`))
