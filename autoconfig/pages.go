package autoconfig

import (
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"rsc.io/qr"
)

// The set-up pages: /setup/ (every client, by name), /setup/android (the
// settings to type, with a QR code of them) and the stylesheet. They are
// public (no password is asked or shown) and script-free; the CSP allows
// only our own stylesheet and images.

const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// row is one service line of the settings table.
type row struct{ Service, Host, Port, Security string }

func (s settings) rows() []row {
	var out []row
	add := func(service string, port int, security string) {
		if port != 0 {
			out = append(out, row{service, s.Hostname, strconv.Itoa(port), security})
		}
	}
	add("IMAP (nhận thư / incoming)", s.IMAPS, "SSL/TLS")
	add("IMAP (nhận thư / incoming)", s.IMAP, "STARTTLS")
	add("POP3 (nhận thư / incoming)", s.POP3S, "SSL/TLS")
	add("POP3 (nhận thư / incoming)", s.POP3, "STARTTLS")
	add("SMTP (gửi thư / outgoing)", s.Submissions, "SSL/TLS")
	add("SMTP (gửi thư / outgoing)", s.Submission, "STARTTLS")
	add("LDAP (danh bạ / address book)", s.LDAPS, "SSL/TLS")
	add("LDAP (danh bạ / address book)", s.LDAP, "STARTTLS")
	add("ManageSieve (quy tắc thư / mail rules)", s.ManageSieve, "STARTTLS")
	return out
}

type pageData struct {
	settings
	Rows    []row
	Domains []string
	QR      string // URL of the QR image, "" without an address
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request, t *template.Template, address string) {
	domain, ok := h.domainFor(r, address)
	if !ok {
		address = ""
		domain = h.defaultDomain(r)
	}
	s := h.settings(domain, address)
	d := pageData{settings: s, Rows: s.rows(), Domains: h.opts.Domains}
	if address != "" {
		d.QR = "/setup/android.png?emailaddress=" + address
	}
	securityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", pageCSP)
	if err := t.Execute(w, d); err != nil {
		h.opts.Logger.Warn("autoconfig: page", "err", err)
	}
}

func (h *Handler) setupIndex(w http.ResponseWriter, r *http.Request) {
	h.page(w, r, indexTemplate, cleanAddress(r.URL.Query().Get("emailaddress")))
}

func (h *Handler) android(w http.ResponseWriter, r *http.Request) {
	h.page(w, r, androidTemplate, cleanAddress(r.URL.Query().Get("emailaddress")))
}

// androidQR is a PNG QR code of the settings an Android mail app asks for.
func (h *Handler) androidQR(w http.ResponseWriter, r *http.Request) {
	address := cleanAddress(r.URL.Query().Get("emailaddress"))
	domain, ok := h.domainFor(r, address)
	if address == "" || !ok {
		http.NotFound(w, r)
		return
	}
	code, err := qr.Encode(qrText(h.settings(domain, address)), qr.M)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	code.Scale = 6
	securityHeaders(w)
	w.Header().Set("Content-Type", "image/png")
	w.Write(code.PNG())
}

// qrText is what the QR code holds: the settings as lines of text, which
// any phone camera shows and lets the user copy.
func qrText(s settings) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Thư công vụ / Official e-mail\nEmail: %s\nTên đăng nhập / User: %s\n", s.Address, s.Address)
	for _, r := range s.rows() {
		fmt.Fprintf(&b, "%s: %s:%s %s\n", r.Service, r.Host, r.Port, r.Security)
	}
	return b.String()
}

func serveCSS(w http.ResponseWriter, _ *http.Request) {
	securityHeaders(w)
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=3600")
	w.Write([]byte(css))
}

const css = `body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.45}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}th,td{border:1px solid #ccc;padding:.4rem .6rem;text-align:left}
th{background:#f2f2f2}.en{color:#555;font-size:.9em}code{background:#f4f4f4;padding:0 .2rem}
form{margin:.5rem 0 1rem}input[type=email]{width:20rem;max-width:100%;padding:.3rem}button{padding:.3rem .8rem}
img.qr{border:1px solid #ccc;image-rendering:pixelated;max-width:100%}h2{margin-top:2rem}
`

// mtaSTS serves the RFC 8461 3.2 policy of domain.
func (h *Handler) mtaSTS(w http.ResponseWriter, _ *http.Request, domain string) {
	securityHeaders(w)
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte(MTASTSPolicy(h.opts.MTASTSMode, h.opts.Hostname(domain), h.opts.MTASTSMaxAge)))
}

// MTASTSPolicy is the policy text (RFC 8461 3.2), CRLF line endings.
// `congvu dns` publishes its hash as the _mta-sts id.
func MTASTSPolicy(mode, mx string, maxAge int) string {
	return "version: STSv1\r\nmode: " + mode + "\r\nmx: " + mx + "\r\nmax_age: " + strconv.Itoa(maxAge) + "\r\n"
}

var funcs = template.FuncMap{"join": strings.Join}

var head = `<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/setup/setup.css">`

var settingsTable = `<table><tr><th>Dịch vụ <span class="en" lang="en">/ Service</span></th><th>Máy chủ <span class="en" lang="en">/ Host</span></th><th>Cổng <span class="en" lang="en">/ Port</span></th><th>Bảo mật <span class="en" lang="en">/ Security</span></th></tr>
{{range .Rows}}<tr><td>{{.Service}}</td><td>{{.Host}}</td><td>{{.Port}}</td><td>{{.Security}}</td></tr>
{{end}}</table>
<p>Tên đăng nhập là địa chỉ thư đầy đủ{{if .Address}} (<code>{{.Address}}</code>){{end}}; mật khẩu là mật khẩu thư. Mọi kết nối đều mã hoá (TLS 1.2 trở lên).</p>
<p class="en" lang="en">The user name is the full e-mail address; the password is the mail password. Every connection is encrypted (TLS 1.2 or later).</p>`

var addressForm = `<form method="get" action="{{.}}"><label>Địa chỉ thư <span class="en" lang="en">/ E-mail address</span>:
<input type="email" name="emailaddress" required placeholder="ten.donvi@…"></label> <button type="submit">Tiếp tục <span lang="en">/ Continue</span></button></form>`

var indexTemplate = template.Must(template.New("index").Funcs(funcs).Parse(head + `
<title>Cài đặt phần mềm thư — {{.Hostname}}</title></head><body>
<h1>Cài đặt phần mềm thư công vụ</h1>
<p class="en" lang="en">Setting up mail clients for {{range $i, $d := .Domains}}{{if $i}}, {{end}}@{{$d}}{{end}} — server {{.Hostname}}</p>
` + settingsTable + `
<h2 id="thunderbird">Thunderbird, Outlook</h2>
<p>Chỉ cần nhập họ tên, địa chỉ thư và mật khẩu: phần mềm tự tìm máy chủ <code>{{.Hostname}}</code> (autoconfig, Autodiscover).</p>
<p class="en" lang="en">Type your name, address and password only: the client finds the server by itself.</p>
<h2 id="apple">iPhone, iPad, Mac</h2>
<p>Tải hồ sơ cấu hình, mở nó, rồi vào Cài đặt → Đã tải về hồ sơ để cài; máy hỏi mật khẩu một lần.</p>
<p class="en" lang="en">Download the configuration profile, open it, then install it in Settings → Profile Downloaded; the device asks for the password once.</p>
<form method="get" action="/setup/congvu.mobileconfig"><label>Địa chỉ thư <span class="en" lang="en">/ E-mail address</span>:
<input type="email" name="emailaddress" required{{if .Address}} value="{{.Address}}"{{end}}></label> <button type="submit">Tải hồ sơ <span lang="en">/ Download profile</span></button></form>
<h2 id="android">Android</h2>
<p><a href="/setup/android{{if .Address}}?emailaddress={{.Address}}{{end}}">Các thông số cần nhập và mã QR</a> <span class="en" lang="en">— the settings to type, with a QR code</span>.</p>
<h2 id="danhba">Danh bạ <span class="en" lang="en">/ Address book</span></h2>
{{if .BaseDN}}<p>LDAP: máy chủ <code>{{.Hostname}}</code>{{if .LDAPS}}, cổng {{.LDAPS}} (SSL){{else if .LDAP}}, cổng {{.LDAP}}{{end}}, Base DN <code>{{.BaseDN}}</code>.</p>{{end}}
{{if .CardDAVURL}}<p>CardDAV: <code>{{.CardDAVURL}}</code> (tên đăng nhập và mật khẩu thư / mail user name and password).</p>{{end}}
{{if .ManageSieve}}<h2 id="sieve">Quy tắc thư, trả lời tự động <span class="en" lang="en">/ Mail rules, vacation</span></h2>
<p>ManageSieve: <code>{{.Hostname}}</code>, cổng {{.ManageSieve}}, STARTTLS.</p>{{end}}
</body></html>
`))

var androidTemplate = template.Must(template.New("android").Funcs(funcs).Parse(head + `
<title>Android — cài đặt thư công vụ</title></head><body>
<h1>Cài đặt thư công vụ trên Android</h1>
<p class="en" lang="en">Setting up official e-mail on Android</p>
{{if not .Address}}` + strings.Replace(addressForm, "{{.}}", "/setup/android", 1) + `{{end}}
<p>Trong Gmail hoặc ứng dụng thư của máy: Thêm tài khoản → Khác (IMAP) → nhập địa chỉ thư và mật khẩu → chọn Cài đặt thủ công và nhập:</p>
<p class="en" lang="en">In Gmail or the phone's mail app: Add account → Other (IMAP) → address and password → Manual setup, then type:</p>
` + settingsTable + `
{{if .QR}}<p>Quét mã này bằng máy ảnh của điện thoại để xem các thông số trên <span class="en" lang="en">/ scan it with the phone's camera to see these settings</span>:</p>
<p><img class="qr" src="{{.QR}}" alt="Mã QR các thông số cài đặt / QR code of the settings" width="300" height="300"></p>{{end}}
</body></html>
`))
