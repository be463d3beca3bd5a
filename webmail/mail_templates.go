package webmail

// mailCSS is appended to /static/congvu.css.
const mailCSS = `.mail{display:grid;grid-template-columns:12.5rem minmax(0,1fr);gap:1.2rem;align-items:start}
@media (max-width:46rem){.mail{grid-template-columns:minmax(0,1fr)}}
nav.folders ul{list-style:none;margin:0;padding:0;background:#fff;border:1px solid var(--line);border-radius:8px}
nav.folders li{display:flex;justify-content:space-between;align-items:center;border-bottom:1px solid var(--line)}
nav.folders li:last-child{border-bottom:0}
nav.folders a{flex:1;padding:.5rem .8rem;text-decoration:none;color:var(--ink)}
nav.folders li.cur{background:#fdf3f3;border-left:4px solid var(--red)}
nav.folders li.cur a{font-weight:600}
.count{background:var(--red);color:#fff;border-radius:999px;font-size:.8rem;padding:0 .5rem;margin-right:.6rem;font-weight:600}
.mailmain h1{margin-top:0}
.toolbar{display:flex;flex-wrap:wrap;gap:.5rem;margin:.6rem 0}
.toolbar button{margin-top:0;padding:.35rem .8rem;font-weight:500}
table.msgs td{vertical-align:middle}
table.msgs td.sel,table.msgs th.sel{width:2rem}
table.msgs td.who{max-width:14rem;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
table.msgs td.subj{overflow-wrap:anywhere}
table.msgs td.subj a{color:var(--ink);text-decoration:none}
table.msgs td.subj a:hover{text-decoration:underline}
table.msgs tr.unread td{font-weight:700}
table.msgs tr.unread td.sel{border-left:3px solid var(--red)}
table.msgs .date,table.msgs .size{white-space:nowrap;text-align:right;color:var(--muted);font-size:.9rem}
.mark.flag{color:#c47f00}
.mark.att{display:inline-block;font-size:.75rem;font-weight:400;color:var(--muted);border:1px solid var(--line);border-radius:4px;padding:0 .3rem;vertical-align:middle}
nav.pager{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;margin:1rem 0}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
h1.subject{font-size:1.35rem;overflow-wrap:anywhere}
dl.mailhead{background:#fff;border:1px solid var(--line);border-radius:8px;padding:.8rem 1rem}
dl.mailhead dd{overflow-wrap:anywhere}
.mailtext{background:#fff;border:1px solid var(--line);border-radius:8px;padding:1rem;white-space:pre-wrap;overflow-wrap:anywhere;font-family:ui-monospace,Consolas,"Noto Sans Mono",monospace;font-size:.92rem}
iframe.mailhtml{display:block;width:100%;height:70vh;min-height:22rem;border:1px solid var(--line);border-radius:8px;background:#fff}
ul.attachments{background:#fff;border:1px solid var(--line);border-radius:8px;padding:.6rem 1rem .6rem 2rem}
ul.attachments li{margin:.25rem 0;overflow-wrap:anywhere}
`

// mailFolders is the folder list beside every mail page.
const mailFolders = `{{define "mailfolders"}}<nav class="folders" aria-label="Thư mục / Folders"><ul>
{{range .Folders}}<li{{if .Current}} class="cur"{{end}}><a href="{{.Href}}"{{if .Current}} aria-current="page"{{end}}>{{.Label}}</a>{{if .Unseen}}<span class="count" title="Chưa đọc / Unread">{{.Unseen}}</span>{{end}}</li>
{{end}}</ul></nav>{{end}}`

const mailListTemplate = `{{define "content"}}{{$csrf := .CSRF}}{{with .Data}}<div class="mail">{{template "mailfolders" .}}
<section class="mailmain">
<h1>{{.Folder.Label}}{{if .Folder.LabelEN}} <span class="en">/ {{.Folder.LabelEN}}</span>{{end}}</h1>
{{if .Total}}<p class="hint">Thư {{.First}}–{{.Last}} trong {{.Total}} <span class="en">/ messages {{.First}}–{{.Last}} of {{.Total}}</span>{{if .Folder.Unseen}} · {{.Folder.Unseen}} chưa đọc <span class="en">unread</span>{{end}}</p>
<form method="post" action="/mail/action">
<input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="folder" value="{{.QueryFolder}}"><input type="hidden" name="page" value="{{.QueryPage}}">
<div class="toolbar" role="group" aria-label="Thao tác với thư đã chọn / Actions on the selected messages">
<button class="secondary" name="action" value="read">Đã đọc <span class="en">/ Read</span></button>
<button class="secondary" name="action" value="unread">Chưa đọc <span class="en">/ Unread</span></button>
<button class="secondary" name="action" value="flag">Gắn cờ <span class="en">/ Flag</span></button>
<button class="secondary" name="action" value="unflag">Bỏ cờ <span class="en">/ Unflag</span></button>
{{if not .InArchive}}<button class="secondary" name="action" value="archive">Lưu trữ <span class="en">/ Archive</span></button>{{end}}
{{if .InJunk}}<button class="secondary" name="action" value="notjunk">Không phải thư rác <span class="en">/ Not junk</span></button>{{else}}<button class="secondary" name="action" value="junk">Thư rác <span class="en">/ Junk</span></button>{{end}}
<button class="danger" name="action" value="delete">{{if .InTrash}}Xoá vĩnh viễn <span class="en">/ Delete for good</span>{{else}}Xoá <span class="en">/ Delete</span>{{end}}</button>
</div>
<table class="msgs"><thead><tr><th class="sel"><span class="vh">Chọn / Select</span></th>
<th>{{if .ShowTo}}Người nhận <span class="en">/ To</span>{{else}}Người gửi <span class="en">/ From</span>{{end}}</th>
<th>Tiêu đề <span class="en">/ Subject</span></th><th class="date">Ngày <span class="en">/ Date</span></th><th class="size">Cỡ <span class="en">/ Size</span></th></tr></thead>
<tbody>
{{range .Rows}}<tr class="msg{{if .Unread}} unread{{end}}" data-uid="{{.UID}}">
<td class="sel"><input type="checkbox" name="uid" value="{{.UID}}" aria-label="Chọn thư / Select"></td>
<td class="who" title="{{.WhoTitle}}">{{if .Flagged}}<span class="mark flag" title="Đã gắn cờ / Flagged">★</span> {{end}}{{.Who}}</td>
<td class="subj"><a href="{{.Href}}">{{.Subject}}</a>{{if .Attachment}} <span class="mark att" title="Có tệp đính kèm / Has attachments">đính kèm</span>{{end}}{{if .Unread}}<span class="vh"> (chưa đọc / unread)</span>{{end}}{{if .Answered}}<span class="vh"> (đã trả lời / answered)</span>{{end}}</td>
<td class="date" title="{{.DateTitle}}">{{.Date}}</td><td class="size">{{.Size}}</td></tr>
{{end}}</tbody></table>
</form>
<nav class="pager" aria-label="Trang / Pages">
{{if .Prev}}<a href="{{.FirstP}}">« Mới nhất <span class="en">/ Newest</span></a><a href="{{.Prev}}" rel="prev">‹ Trang trước <span class="en">/ Newer</span></a>{{end}}
<span>Trang {{.Page}} / {{.Pages}} <span class="en">page</span></span>
{{if .Next}}<a href="{{.Next}}" rel="next">Trang sau <span class="en">/ Older</span> ›</a><a href="{{.LastP}}">Cũ nhất <span class="en">/ Oldest</span> »</a>{{end}}
</nav>
{{else}}<div class="card"><p>Thư mục này chưa có thư nào. <span class="en">This folder is empty.</span></p></div>{{end}}
</section></div>{{end}}{{end}}`

const mailViewTemplate = `{{define "content"}}{{$csrf := .CSRF}}{{with .Data}}<div class="mail">{{template "mailfolders" .}}
<section class="mailmain">
<p><a href="{{.BackHref}}">‹ {{.Folder.Label}}</a></p>
<h1 class="subject">{{.Subject}}</h1>
<dl class="facts mailhead">
<dt>Người gửi <span class="en">/ From</span></dt><dd>{{range $i, $a := .From}}{{if $i}}, {{end}}{{$a}}{{else}}—{{end}}</dd>
{{if .To}}<dt>Người nhận <span class="en">/ To</span></dt><dd>{{range $i, $a := .To}}{{if $i}}, {{end}}{{$a}}{{end}}</dd>{{end}}
{{if .Cc}}<dt>Đồng gửi <span class="en">/ Cc</span></dt><dd>{{range $i, $a := .Cc}}{{if $i}}, {{end}}{{$a}}{{end}}</dd>{{end}}
{{if .ReplyTo}}<dt>Trả lời tới <span class="en">/ Reply-To</span></dt><dd>{{range $i, $a := .ReplyTo}}{{if $i}}, {{end}}{{$a}}{{end}}</dd>{{end}}
<dt>Ngày gửi <span class="en">/ Date</span></dt><dd>{{.Date}}</dd>
</dl>
<form class="toolbar" method="post" action="/mail/action" aria-label="Thao tác / Actions">
<input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="folder" value="{{.Folder.Name}}"><input type="hidden" name="uid" value="{{.UID}}">
<input type="hidden" name="page" value="{{.Page}}"><input type="hidden" name="from" value="view">
<button class="secondary" name="action" value="unread">Đánh dấu chưa đọc <span class="en">/ Mark unread</span></button>
{{if .Flagged}}<button class="secondary" name="action" value="unflag">Bỏ cờ <span class="en">/ Unflag</span></button>{{else}}<button class="secondary" name="action" value="flag">Gắn cờ <span class="en">/ Flag</span></button>{{end}}
{{if not .InArchive}}<button class="secondary" name="action" value="archive">Lưu trữ <span class="en">/ Archive</span></button>{{end}}
{{if .InJunk}}<button class="secondary" name="action" value="notjunk">Không phải thư rác <span class="en">/ Not junk</span></button>{{else}}<button class="secondary" name="action" value="junk">Thư rác <span class="en">/ Junk</span></button>{{end}}
<button class="danger" name="action" value="delete">{{if .InTrash}}Xoá vĩnh viễn <span class="en">/ Delete for good</span>{{else}}Xoá <span class="en">/ Delete</span>{{end}}</button>
</form>
{{if .BlockedImages}}<div class="notice info" role="status"><p>Đã chặn {{.BlockedImages}} ảnh tải từ Internet để bảo vệ bạn (ảnh từ bên ngoài có thể báo cho người gửi biết bạn đã đọc thư).</p>
<p class="en">{{.BlockedImages}} image(s) from the Internet blocked (they could tell the sender that you read the message).</p></div>{{end}}
{{if .UnknownCharset}}<div class="notice error" role="status"><p>Không nhận ra bảng mã {{.UnknownCharset}}; nội dung có thể hiển thị sai.</p><p class="en">Unknown charset {{.UnknownCharset}}; the text may show wrongly.</p></div>{{end}}
{{if .HTML}}<iframe class="mailhtml" src="{{.FrameSrc}}" sandbox="{{.FrameSandbox}}" referrerpolicy="no-referrer" title="Nội dung thư / Message body"></iframe>
{{else if .NoBody}}<p class="hint">Thư không có nội dung văn bản. <span class="en">The message has no text.</span></p>
{{else}}<div class="mailtext">{{.Text}}</div>{{end}}
{{if .Truncated}}<p class="hint">Thư quá dài, chỉ hiển thị phần đầu. <span class="en">Long message: only the beginning is shown.</span></p>{{end}}
{{if .Attachments}}<h2>Tệp đính kèm <span class="en">/ Attachments</span> ({{len .Attachments}})</h2>
<ul class="attachments">{{range .Attachments}}<li><a href="{{.Href}}" download>{{.Name}}</a> <span class="hint">{{.Type}}, {{.Size}}</span></li>{{end}}</ul>{{end}}
</section></div>{{end}}{{end}}`

const mailErrorTemplate = `{{define "content"}}<p><a href="/mail">Về hộp thư <span class="en">/ Back to the mailbox</span></a> · <a href="/">Tài khoản <span class="en">/ Account</span></a></p>{{end}}`

// mailTemplates are the webmail's page contents, parsed into the layout
// with the others.
func mailTemplates() map[string]string {
	return map[string]string{
		"maillist":  mailFolders + mailListTemplate,
		"mailview":  mailFolders + mailViewTemplate,
		"mailerror": mailErrorTemplate,
	}
}
