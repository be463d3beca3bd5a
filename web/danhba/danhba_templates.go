package danhba

import "html/template"

// publicHead is the head of the public pages: the site's style sheet
// (the CSP allows styles only from this origin) and what search engines
// show of the danh bạ.
const publicHead = `<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="Danh bạ thư điện tử công vụ: tra cứu địa chỉ thư, chức vụ và điện thoại của cán bộ, công chức và đơn vị / Directory of official e-mail addresses">
<link rel="stylesheet" href="static/congvu.css">
<link rel="icon" href="favicon.ico">`

// publicHeader is the header of the public pages.
const publicHeader = `<a class="skip" href="#main">Bỏ qua, tới nội dung chính / Skip to content</a>
<header class="top"><div class="wrap"><a class="brand" href="danhba"><span class="star" aria-hidden="true">★</span> Thư điện tử công vụ<span class="en" lang="en">Official e-mail</span></a>
<nav aria-label="Chính / Main"><a href="danhba">Danh bạ</a><a href="login">Đăng nhập</a></nav></div></header>`

const publicFooter = `<footer class="wrap" role="contentinfo">Hệ thống thư điện tử công vụ <span class="en" lang="en">/ Official e-mail system</span></footer>`

var danhbaTemplate = template.Must(template.New("danhba").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Danh bạ thư điện tử công vụ{{if .UnitName}} — {{.UnitName}}{{end}} / Official e-mail directory</title>
` + publicHead + `</head>
<body>
` + publicHeader + `
<main class="wrap" id="main">
<h1>Danh bạ thư điện tử công vụ <span class="en" lang="en">/ Directory of official e-mail addresses</span></h1>
{{range .Aliases}}<p class="hint">Tên miền <strong>{{.Old}}</strong> (cũ) là bí danh của <strong>{{.New}}</strong>: thư gửi ai@{{.Old}} được chuyển đến ai@{{.New}}; hãy dùng địa chỉ mới. <span class="en" lang="en">{{.Old}} (old) is an alias of {{.New}}: mail to anyone@{{.Old}} is delivered to anyone@{{.New}}; please use the new address.</span></p>
{{end}}<form class="search" method="get" action="danhba" role="search">
<label for="q">Tìm theo họ tên, chức vụ, đơn vị hoặc địa chỉ thư <span class="en" lang="en">/ Search by name, title, unit or address</span></label>
<div class="searchbox"><input type="search" id="q" name="q" value="{{.Q}}" maxlength="200" placeholder="vd. nguyen van an">
{{if .Unit}}<input type="hidden" name="unit" value="{{.Unit}}">{{end}}
<button type="submit">Tìm <span class="en" lang="en">/ Search</span></button></div>
</form>
{{if .Path}}<nav class="path"><a href="danhba">Tất cả / All</a> › {{range $i, $c := .Path}}{{if $i}} › {{end}}<a href="{{$c.Href}}">{{$c.Name}}</a>{{end}}</nav>
<h2>{{.UnitName}}</h2>
{{if .UnitAddress}}<p>Hộp thư đơn vị <span class="en" lang="en">/ Unit mailbox</span>: <a href="mailto:{{.UnitAddress}}">{{.UnitAddress}}</a></p>{{end}}{{end}}
{{if .Sub}}<h2>Đơn vị trực thuộc <span class="en" lang="en">/ Units</span></h2>
<ul class="sub">{{range .Sub}}<li><a href="{{.Href}}">{{.Name}}</a></li>
{{end}}</ul>{{end}}
<h2>Cán bộ, công chức <span class="en" lang="en">/ People</span></h2>
{{if .Entries}}<p>{{.From}}–{{.To}} / {{.Total}}{{if .Q}} kết quả cho «{{.Q}}» <span class="en" lang="en">results for “{{.Q}}”</span>{{end}}</p>
<table class="people"><tr><th>Họ và tên <span class="en" lang="en">/ Name</span></th><th>Chức vụ <span class="en" lang="en">/ Title</span></th><th>Đơn vị <span class="en" lang="en">/ Unit</span></th><th>Thư điện tử <span class="en" lang="en">/ E-mail</span></th><th>Điện thoại <span class="en" lang="en">/ Phone</span></th></tr>
{{range .Entries}}<tr><td>{{.Name}}</td><td>{{if .IsUnit}}<span class="unitbox">Hộp thư đơn vị / Unit mailbox</span>{{else if .IsGroup}}<span class="unitbox">Nhóm thư / Mailing list</span>{{else}}{{.Title}}{{end}}</td><td>{{if .UnitCode}}<a href="danhba?unit={{.UnitCode}}">{{.Unit}}</a>{{end}}</td><td><a href="mailto:{{.Address}}">{{.Address}}</a>{{if .CertHref}} <a class="cert" href="{{.CertHref}}" title="Tải chứng thư số để gửi thư mã hoá / Download the certificate">Chứng thư số{{if .CertExpired}} (đã hết hạn / expired){{end}}</a>{{end}}</td><td>{{.Phone}}</td></tr>
{{end}}</table>
{{else}}<p>Không tìm thấy ai. <span class="en" lang="en">Nobody found.</span></p>{{end}}
{{if .PageLinks}}<p class="pages">Trang <span class="en" lang="en">/ Page</span>:
{{if .Prev}}<a href="{{.Prev}}" rel="prev">‹ Trước</a>{{end}}
{{range .PageLinks}}{{if eq .N 0}}<span>…</span>{{else if .Current}}<span class="cur">{{.N}}</span>{{else}}<a href="{{.Href}}">{{.N}}</a>{{end}}
{{end}}{{if .Next}}<a href="{{.Next}}" rel="next">Sau ›</a>{{end}}</p>{{end}}
<p>Tải danh bạ <span class="en" lang="en">/ Download</span>: <a href="{{.CSV}}">CSV (Excel)</a> · <a href="{{.VCF}}">vCard</a> · <a href="{{.LDIF}}">LDIF</a></p>
</main>
` + publicFooter + `
</body></html>
`))

var danhbaMessageTemplate = template.Must(template.New("danhba-message").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Danh bạ thư điện tử công vụ — {{.Code}}</title>
` + publicHead + `</head>
<body>
` + publicHeader + `
<main class="wrap" id="main">
<h1>Danh bạ thư điện tử công vụ</h1>
<div class="notice error" role="alert"><p>{{.VI}}</p><p class="en" lang="en">{{.EN}}</p></div>
<p><a href="danhba">Về trang danh bạ / Back to the directory</a></p>
</main>
` + publicFooter + `
</body></html>
`))
