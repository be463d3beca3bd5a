package mail

import "congvu/web/core"

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
{{if .Damaged}}<div class="notice info" role="status" id="damaged"><p>Thư bị lỗi định dạng (MIME) ở một phần; chỉ hiển thị những gì đọc được.</p><p class="en">Part of this message is malformed (MIME); what could be read is shown.</p></div>{{end}}
{{if .HTML}}<iframe class="mailhtml" src="{{.FrameSrc}}" sandbox="{{.FrameSandbox}}" referrerpolicy="no-referrer" title="Nội dung thư / Message body"></iframe>
{{else if .NoBody}}<p class="hint">Thư không có nội dung văn bản. <span class="en">The message has no text.</span></p>
{{else}}<div class="mailtext">{{.Text}}</div>{{end}}
{{if .Truncated}}<p class="hint">Thư quá dài, chỉ hiển thị phần đầu. <span class="en">Long message: only the beginning is shown.</span></p>{{end}}
{{if .Attachments}}<h2>Tệp đính kèm <span class="en">/ Attachments</span> ({{len .Attachments}})</h2>
<ul class="attachments">{{range .Attachments}}<li><a href="{{.Href}}" download>{{.Name}}</a> <span class="hint">{{.Type}}, {{.Size}}</span></li>{{end}}</ul>{{end}}
</section></div>{{end}}{{end}}`

const mailErrorTemplate = `{{define "content"}}<p><a href="/mail">Về hộp thư <span class="en">/ Back to the mailbox</span></a> · <a href="/">Tài khoản <span class="en">/ Account</span></a></p>{{end}}`

// tmpl are the webmail's pages, parsed once.
var tmpl = core.ParsePages(mailFolders, map[string]string{
	"maillist":  mailListTemplate,
	"mailview":  mailViewTemplate,
	"mailerror": mailErrorTemplate,
})
