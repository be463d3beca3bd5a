package danhba

import "html/template"

const danhbaStyle = `<style>body{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.4rem .6rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}.en{color:#555;font-size:.9em}
ul.sub{columns:3 16rem;padding-left:1.2rem}.pages a,.pages span{margin-right:.4rem}.pages .cur{font-weight:bold}
form input[type=search]{width:60%;padding:.3rem}.unitbox{color:#555;font-style:italic}</style>`

var danhbaTemplate = template.Must(template.New("danhba").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Danh bạ thư điện tử công vụ{{if .UnitName}} — {{.UnitName}}{{end}} / Official e-mail directory</title>
` + danhbaStyle + `</head>
<body>
<h1><a href="danhba">Danh bạ thư điện tử công vụ</a></h1>
<p class="en">Directory of official e-mail addresses</p>
<form method="get" action="danhba" role="search">
<label for="q">Tìm theo họ tên, chức vụ, đơn vị hoặc địa chỉ thư <span class="en">/ Search by name, title, unit or address</span></label><br>
<input type="search" id="q" name="q" value="{{.Q}}" maxlength="200" placeholder="vd. nguyen van an">
{{if .Unit}}<input type="hidden" name="unit" value="{{.Unit}}">{{end}}
<button type="submit">Tìm / Search</button>
</form>
{{if .Path}}<nav class="path"><a href="danhba">Tất cả / All</a> › {{range $i, $c := .Path}}{{if $i}} › {{end}}<a href="{{$c.Href}}">{{$c.Name}}</a>{{end}}</nav>
<h2>{{.UnitName}}</h2>
{{if .UnitAddress}}<p>Hộp thư đơn vị <span class="en">/ Unit mailbox</span>: <a href="mailto:{{.UnitAddress}}">{{.UnitAddress}}</a></p>{{end}}{{end}}
{{if .Sub}}<h3>Đơn vị trực thuộc <span class="en">/ Units</span></h3>
<ul class="sub">{{range .Sub}}<li><a href="{{.Href}}">{{.Name}}</a></li>
{{end}}</ul>{{end}}
<h3>Cán bộ, công chức <span class="en">/ People</span></h3>
{{if .Entries}}<p>{{.From}}–{{.To}} / {{.Total}}{{if .Q}} kết quả cho «{{.Q}}» <span class="en">results for “{{.Q}}”</span>{{end}}</p>
<table><tr><th>Họ và tên <span class="en">/ Name</span></th><th>Chức vụ <span class="en">/ Title</span></th><th>Đơn vị <span class="en">/ Unit</span></th><th>Thư điện tử <span class="en">/ E-mail</span></th><th>Điện thoại <span class="en">/ Phone</span></th></tr>
{{range .Entries}}<tr><td>{{.Name}}</td><td>{{if .IsUnit}}<span class="unitbox">Hộp thư đơn vị / Unit mailbox</span>{{else}}{{.Title}}{{end}}</td><td>{{if .UnitCode}}<a href="danhba?unit={{.UnitCode}}">{{.Unit}}</a>{{end}}</td><td><a href="mailto:{{.Address}}">{{.Address}}</a></td><td>{{.Phone}}</td></tr>
{{end}}</table>
{{else}}<p>Không tìm thấy ai. <span class="en">Nobody found.</span></p>{{end}}
{{if .PageLinks}}<p class="pages">Trang <span class="en">/ Page</span>:
{{if .Prev}}<a href="{{.Prev}}" rel="prev">‹ Trước</a>{{end}}
{{range .PageLinks}}{{if eq .N 0}}<span>…</span>{{else if .Current}}<span class="cur">{{.N}}</span>{{else}}<a href="{{.Href}}">{{.N}}</a>{{end}}
{{end}}{{if .Next}}<a href="{{.Next}}" rel="next">Sau ›</a>{{end}}</p>{{end}}
<p>Tải danh bạ <span class="en">/ Download</span>: <a href="{{.CSV}}">CSV (Excel)</a> · <a href="{{.VCF}}">vCard</a> · <a href="{{.LDIF}}">LDIF</a></p>
</body></html>
`))

var danhbaMessageTemplate = template.Must(template.New("danhba-message").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Danh bạ thư điện tử công vụ — {{.Code}}</title>
` + danhbaStyle + `</head>
<body>
<h1>Danh bạ thư điện tử công vụ</h1>
<p>{{.VI}}</p>
<p class="en">{{.EN}}</p>
<p><a href="danhba">Về trang danh bạ / Back to the directory</a></p>
</body></html>
`))
