package mail

import (
	"html/template"

	"congvu/web/core"
)

// mailFolders is the folder list beside every mail page.
const mailFolders = `{{define "mailfolders"}}<nav class="folders" aria-label="Thư mục / Folders"><a class="button compose-link" href="/mail/compose">Soạn thư <span class="en" lang="en">/ Compose</span></a><ul>
{{range .Folders}}{{if .Group}}</ul><h2 class="folder-group">{{.Group}} <span class="en" lang="en">/ Unit mailbox</span></h2><ul>{{end}}<li{{if .Current}} class="cur"{{end}}><a href="{{.Href}}"{{if .Current}} aria-current="page"{{end}}>{{.Label}}</a>{{if .Unseen}}<span class="count" title="Chưa đọc / Unread">{{.Unseen}}</span>{{end}}</li>
{{end}}</ul><p class="manage"><a href="/mail/folders">Quản lý thư mục <span class="en" lang="en">/ Manage folders</span></a></p>
{{with .Quota}}<div class="quota{{if .Warn}} warn{{end}}" id="quota"><p>Đã dùng {{.Used}} / {{.Limit}} <span class="en" lang="en">used</span></p>
<meter min="0" max="100" low="75" high="90" optimum="0" value="{{.Percent}}" aria-label="Dung lượng hộp thư đã dùng / Mailbox space used">{{.Percent}}%</meter>
{{if .Warn}}<p class="hint">Hộp thư sắp đầy: hãy xoá bớt thư cũ hoặc dọn Thùng rác. <span class="en" lang="en">Almost full: delete old mail or empty Trash.</span></p>{{end}}</div>{{end}}</nav>{{end}}`

// moveBox moves or copies the selected messages to another folder.
const moveBox = `{{define "movebox"}}<span class="movebox"><label for="move-to" class="vh">Thư mục đích / Target folder</label>
<select id="move-to" name="to">{{range .Targets}}<option value="{{.Name}}">{{.Label}}</option>{{end}}</select>
{{if or .Can.Move .Can.MoveOut}}<button class="secondary" name="action" value="move">Chuyển <span class="en" lang="en">/ Move</span></button>{{end}}
<button class="secondary" name="action" value="copy">Sao chép <span class="en" lang="en">/ Copy</span></button></span>{{end}}`

// foldersTemplate lists the folders with their counts; the official's
// own folders can be renamed and deleted.
const foldersTemplate = `{{define "content"}}{{$csrf := .CSRF}}{{with .Data}}<div class="mail">{{template "mailfolders" .}}
<section class="mailmain">
<h1>Thư mục <span class="en" lang="en">/ Folders</span></h1>
<form class="card" method="post" action="/mail/folders">
<input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="action" value="create">
<h2>Tạo thư mục <span class="en" lang="en">/ New folder</span></h2>
<div class="grid2"><div><label for="new-name">Tên thư mục <span class="en" lang="en">/ Name</span></label><input type="text" id="new-name" name="name" maxlength="200" required></div>
<div><label for="new-parent">Nằm trong <span class="en" lang="en">/ Inside</span></label><select id="new-parent" name="parent"><option value="">(Không / None)</option>{{range .Parents}}<option value="{{.}}">{{.}}</option>{{end}}</select></div></div>
<button type="submit" id="create-folder">Tạo <span class="en" lang="en">/ Create</span></button></form>
<table class="folders-table"><thead><tr><th>Thư mục <span class="en" lang="en">/ Folder</span></th><th>Số thư <span class="en" lang="en">/ Messages</span></th><th>Dung lượng <span class="en" lang="en">/ Size</span></th><th>Thao tác <span class="en" lang="en">/ Actions</span></th></tr></thead><tbody>
{{range $i, $r := .Rows}}{{with $r}}<tr><td><a href="{{.Href}}">{{.Label}}</a></td><td>{{.Messages}}{{if .Unseen}} ({{.Unseen}} chưa đọc){{end}}</td><td>{{.Size}}</td><td>
{{if .Own}}<details class="folder-actions"><summary>Đổi tên, xoá <span class="en" lang="en">/ Rename, delete</span></summary>
<form method="post" action="/mail/folders"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="action" value="rename"><input type="hidden" name="folder" value="{{.Name}}">
<label for="rename-{{$i}}">Tên mới <span class="en" lang="en">/ New name</span></label><input type="text" id="rename-{{$i}}" name="name" maxlength="200" required>
<button type="submit" class="secondary">Đổi tên <span class="en" lang="en">/ Rename</span></button></form>
<form method="post" action="/mail/folders"><input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="action" value="delete"><input type="hidden" name="folder" value="{{.Name}}">
<label class="check"><input type="checkbox" name="confirm" value="yes"> Xoá thư mục; thư trong đó chuyển vào Thùng rác <span class="en" lang="en">/ Delete; its messages go to Trash</span></label>
<button type="submit" class="danger">Xoá <span class="en" lang="en">/ Delete</span></button></form></details>{{else if .Emptying}}<a href="{{.Href}}">Dọn sạch… <span class="en" lang="en">/ Empty…</span></a>{{end}}</td></tr>
{{end}}{{end}}</tbody></table>
</section></div>{{end}}{{end}}`

// searchForm is the search box of every folder page: one field, more
// criteria behind "Tìm nâng cao" (a details element: no script).
const searchForm = `{{define "searchform"}}<form class="search" method="get" action="/mail/search" role="search">
<input type="hidden" name="folder" value="{{.Folder}}">
<label for="q" class="vh">Tìm thư / Search mail</label>
<div class="searchbox"><input type="search" id="q" name="q" value="{{.Q}}" maxlength="200" placeholder="Tìm thư (không cần gõ dấu) / Search">
<button type="submit" class="secondary">Tìm <span class="en" lang="en">/ Search</span></button></div>
<details class="advanced"{{if .Open}} open{{end}}><summary>Tìm nâng cao <span class="en" lang="en">/ Advanced</span></summary>
<div class="grid2">
<div><label for="s-from">Người gửi <span class="en" lang="en">/ From</span></label><input type="text" id="s-from" name="from" value="{{.From}}" maxlength="200"></div>
<div><label for="s-to">Người nhận <span class="en" lang="en">/ To, Cc</span></label><input type="text" id="s-to" name="to" value="{{.To}}" maxlength="200"></div>
<div><label for="s-subject">Tiêu đề <span class="en" lang="en">/ Subject</span></label><input type="text" id="s-subject" name="subject" value="{{.Subject}}" maxlength="200"></div>
<div><label for="s-body">Nội dung <span class="en" lang="en">/ Text</span></label><input type="text" id="s-body" name="body" value="{{.Body}}" maxlength="200"></div>
<div><label for="s-since">Từ ngày <span class="en" lang="en">/ From date</span></label><input type="date" id="s-since" name="since" value="{{.Since}}"></div>
<div><label for="s-until">Đến ngày <span class="en" lang="en">/ To date</span></label><input type="date" id="s-until" name="until" value="{{.Until}}"></div>
</div>
<fieldset class="scope"><legend>Tìm trong <span class="en" lang="en">/ Look in</span></legend>
<label class="check"><input type="radio" name="scope" value="folder"{{if not .All}} checked{{end}}> Thư mục này <span class="en" lang="en">/ This folder</span></label>
<label class="check"><input type="radio" name="scope" value="all"{{if .All}} checked{{end}}> Mọi thư mục <span class="en" lang="en">/ All folders</span></label></fieldset>
<button type="submit">Tìm <span class="en" lang="en">/ Search</span></button>
</details></form>{{end}}`

const mailListTemplate = `{{define "content"}}{{$csrf := .CSRF}}{{with .Data}}<div class="mail">{{template "mailfolders" .}}
<section class="mailmain">
{{template "searchform" (searchBox .QueryFolder)}}
<h1>{{.Folder.Label}}{{if .Folder.LabelEN}} <span class="en" lang="en">/ {{.Folder.LabelEN}}</span>{{end}}</h1>
{{if .Total}}<p class="hint">Thư {{.First}}–{{.Last}} trong {{.Total}} <span class="en" lang="en">/ messages {{.First}}–{{.Last}} of {{.Total}}</span>{{if .Folder.Unseen}} · {{.Folder.Unseen}} chưa đọc <span class="en" lang="en">unread</span>{{end}}</p>
<form method="post" action="/mail/action">
<input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="folder" value="{{.QueryFolder}}"><input type="hidden" name="page" value="{{.QueryPage}}">
<div class="toolbar" role="group" aria-label="Thao tác với thư đã chọn / Actions on the selected messages">
{{if .Can.Seen}}<button class="secondary" name="action" value="read">Đã đọc <span class="en" lang="en">/ Read</span></button>
<button class="secondary" name="action" value="unread">Chưa đọc <span class="en" lang="en">/ Unread</span></button>{{end}}
{{if .Can.Flag}}<button class="secondary" name="action" value="flag">Gắn cờ <span class="en" lang="en">/ Flag</span></button>
<button class="secondary" name="action" value="unflag">Bỏ cờ <span class="en" lang="en">/ Unflag</span></button>{{end}}
{{if .Can.Move}}{{if not .InArchive}}<button class="secondary" name="action" value="archive">Lưu trữ <span class="en" lang="en">/ Archive</span></button>{{end}}
{{if .InJunk}}<button class="secondary" name="action" value="notjunk">Không phải thư rác <span class="en" lang="en">/ Not junk</span></button>{{else}}<button class="secondary" name="action" value="junk">Thư rác <span class="en" lang="en">/ Junk</span></button>{{end}}{{end}}
{{if .Can.Delete}}<button class="danger" name="action" value="delete">{{if .InTrash}}Xoá vĩnh viễn <span class="en" lang="en">/ Delete for good</span>{{else}}Xoá <span class="en" lang="en">/ Delete</span>{{end}}</button>{{end}}
{{if .Targets}}{{template "movebox" .}}{{end}}
</div>
<table class="msgs"><thead><tr><th class="sel"><span class="vh">Chọn / Select</span></th>
<th>{{if .ShowTo}}Người nhận <span class="en" lang="en">/ To</span>{{else}}Người gửi <span class="en" lang="en">/ From</span>{{end}}</th>
<th>Tiêu đề <span class="en" lang="en">/ Subject</span></th><th class="date">Ngày <span class="en" lang="en">/ Date</span></th><th class="size">Cỡ <span class="en" lang="en">/ Size</span></th></tr></thead>
<tbody>
{{range .Rows}}<tr class="msg{{if .Unread}} unread{{end}}" data-uid="{{.UID}}">
<td class="sel"><input type="checkbox" name="uid" value="{{.UID}}" aria-label="Chọn thư / Select"></td>
<td class="who" title="{{.WhoTitle}}">{{if .Flagged}}<span class="mark flag" title="Đã gắn cờ / Flagged">★</span> {{end}}{{.Who}}</td>
<td class="subj"><a href="{{.Href}}">{{.Subject}}</a>{{if .Attachment}} <span class="mark att" title="Có tệp đính kèm / Has attachments">đính kèm</span>{{end}}{{if .Unread}}<span class="vh"> (chưa đọc / unread)</span>{{end}}{{if .Answered}}<span class="vh"> (đã trả lời / answered)</span>{{end}}</td>
<td class="date" title="{{.DateTitle}}">{{.Date}}</td><td class="size">{{.Size}}</td></tr>
{{end}}</tbody></table>
</form>
<nav class="pager" aria-label="Trang / Pages">
{{if .Prev}}<a href="{{.FirstP}}">« Mới nhất <span class="en" lang="en">/ Newest</span></a><a href="{{.Prev}}" rel="prev">‹ Trang trước <span class="en" lang="en">/ Newer</span></a>{{end}}
<span>Trang {{.Page}} / {{.Pages}} <span class="en" lang="en">page</span></span>
{{if .Next}}<a href="{{.Next}}" rel="next">Trang sau <span class="en" lang="en">/ Older</span> ›</a><a href="{{.LastP}}">Cũ nhất <span class="en" lang="en">/ Oldest</span> »</a>{{end}}
</nav>
{{if and (or .InTrash .InJunk) .Can.Empty}}<form class="empty card" method="post" action="/mail/empty">
<input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="folder" value="{{.QueryFolder}}">
<label class="check"><input type="checkbox" name="confirm" value="yes" id="confirm-empty"> Xoá vĩnh viễn toàn bộ {{.Total}} thư trong {{.Folder.Label}} <span class="en" lang="en">/ Delete all {{.Total}} for good</span></label>
<button class="danger" type="submit" id="empty">Dọn sạch <span class="en" lang="en">/ Empty</span></button></form>{{end}}
{{else}}<div class="card"><p>Thư mục này chưa có thư nào. <span class="en" lang="en">This folder is empty.</span></p></div>{{end}}
</section></div>{{end}}{{end}}`

const mailViewTemplate = `{{define "content"}}{{$csrf := .CSRF}}{{with .Data}}<div class="mail">{{template "mailfolders" .}}
<section class="mailmain">
<p><a href="{{.BackHref}}">‹ {{.Folder.Label}}</a></p>
<h1 class="subject">{{.Subject}}</h1>
{{range .Signatures}}<p class="sigbadge {{.Kind}}" id="sig-{{.Kind}}">{{if eq .Kind "valid"}}<strong>✔ Đã ký số hợp lệ</strong> <span class="en" lang="en">Validly signed</span>{{if .Part}} ({{.Part}}){{end}}: {{.Signer}}{{if .Org}}, {{.Org}}{{end}}{{if .Identifier}} &lt;{{.Identifier}}&gt;{{end}}{{else if eq .Kind "invalid"}}<strong>✘ Chữ ký số không hợp lệ</strong> <span class="en" lang="en">Invalid signature</span>{{if .Part}} ({{.Part}}){{end}}: {{.Reason}}{{if .RsnEN}} <span class="en" lang="en">({{.RsnEN}})</span>{{end}}{{else}}Thư không có chữ ký số <span class="en" lang="en">/ Not signed</span>{{end}}</p>{{end}}
{{range .Banners}}<div class="notice {{.Kind}} banner" role="note" id="{{.ID}}"><p>{{.VI}}</p><p class="en" lang="en">{{.EN}}</p></div>{{end}}
<dl class="facts mailhead">
<dt>Người gửi <span class="en" lang="en">/ From</span></dt><dd>{{range $i, $a := .From}}{{if $i}}, {{end}}{{$a}}{{else}}—{{end}}</dd>
{{if .To}}<dt>Người nhận <span class="en" lang="en">/ To</span></dt><dd>{{range $i, $a := .To}}{{if $i}}, {{end}}{{$a}}{{end}}</dd>{{end}}
{{if .Cc}}<dt>Đồng gửi <span class="en" lang="en">/ Cc</span></dt><dd>{{range $i, $a := .Cc}}{{if $i}}, {{end}}{{$a}}{{end}}</dd>{{end}}
{{if .ReplyTo}}<dt>Trả lời tới <span class="en" lang="en">/ Reply-To</span></dt><dd>{{range $i, $a := .ReplyTo}}{{if $i}}, {{end}}{{$a}}{{end}}</dd>{{end}}
<dt>Ngày gửi <span class="en" lang="en">/ Date</span></dt><dd>{{.Date}}</dd>
</dl>
{{if not (and .Shared .InDrafts)}}<nav class="toolbar replies" aria-label="Trả lời, chuyển tiếp / Reply, forward">
{{if .InDrafts}}<a class="button" href="{{.EditHref}}" id="edit-draft">Sửa và gửi <span class="en" lang="en">/ Edit and send</span></a>{{else}}<a class="button" href="{{.ReplyHref}}" id="reply">Trả lời <span class="en" lang="en">/ Reply</span></a>
<a class="button secondary" href="{{.ReplyAllHref}}" id="replyall">Trả lời tất cả <span class="en" lang="en">/ Reply all</span></a>
<a class="button secondary" href="{{.ForwardHref}}" id="forward">Chuyển tiếp <span class="en" lang="en">/ Forward</span></a>
<a class="button secondary" href="{{.AttachHref}}" id="forward-attach">Chuyển tiếp dạng tệp <span class="en" lang="en">/ Forward as attachment</span></a>{{end}}
</nav>{{end}}
<form class="toolbar" method="post" action="/mail/action" aria-label="Thao tác / Actions">
<input type="hidden" name="csrf" value="{{$csrf}}"><input type="hidden" name="folder" value="{{.Folder.Name}}"><input type="hidden" name="uid" value="{{.UID}}">
<input type="hidden" name="page" value="{{.Page}}"><input type="hidden" name="from" value="view">
{{if .Can.Seen}}<button class="secondary" name="action" value="unread">Đánh dấu chưa đọc <span class="en" lang="en">/ Mark unread</span></button>{{end}}
{{if .Can.Flag}}{{if .Flagged}}<button class="secondary" name="action" value="unflag">Bỏ cờ <span class="en" lang="en">/ Unflag</span></button>{{else}}<button class="secondary" name="action" value="flag">Gắn cờ <span class="en" lang="en">/ Flag</span></button>{{end}}{{end}}
{{if .Can.Move}}{{if not .InArchive}}<button class="secondary" name="action" value="archive">Lưu trữ <span class="en" lang="en">/ Archive</span></button>{{end}}
{{if .InJunk}}<button class="secondary" name="action" value="notjunk">Không phải thư rác <span class="en" lang="en">/ Not junk</span></button>{{else}}<button class="secondary" name="action" value="junk">Thư rác <span class="en" lang="en">/ Junk</span></button>{{end}}{{end}}
{{if .Can.Delete}}<button class="danger" name="action" value="delete">{{if .InTrash}}Xoá vĩnh viễn <span class="en" lang="en">/ Delete for good</span>{{else}}Xoá <span class="en" lang="en">/ Delete</span>{{end}}</button>{{end}}
{{if .Targets}}{{template "movebox" .}}{{end}}
</form>
{{if .BlockedImages}}<div class="notice info" role="status"><p>Đã chặn {{.BlockedImages}} ảnh tải từ Internet để bảo vệ bạn (ảnh từ bên ngoài có thể báo cho người gửi biết bạn đã đọc thư).</p>
<p class="en" lang="en">{{.BlockedImages}} image(s) from the Internet blocked (they could tell the sender that you read the message).</p></div>{{end}}
{{if .UnknownCharset}}<div class="notice error" role="status"><p>Không nhận ra bảng mã {{.UnknownCharset}}; nội dung có thể hiển thị sai.</p><p class="en" lang="en">Unknown charset {{.UnknownCharset}}; the text may show wrongly.</p></div>{{end}}
{{if .Damaged}}<div class="notice info" role="status" id="damaged"><p>Thư bị lỗi định dạng (MIME) ở một phần; chỉ hiển thị những gì đọc được.</p><p class="en" lang="en">Part of this message is malformed (MIME); what could be read is shown.</p></div>{{end}}
{{if .HTML}}<iframe class="mailhtml" src="{{.FrameSrc}}" sandbox="{{.FrameSandbox}}" referrerpolicy="no-referrer" title="Nội dung thư / Message body"></iframe>
{{else if .NoBody}}<p class="hint">Thư không có nội dung văn bản. <span class="en" lang="en">The message has no text.</span></p>
{{else}}<div class="mailtext">{{.Text}}</div>{{end}}
{{if .Truncated}}<p class="hint">Thư quá dài, chỉ hiển thị phần đầu. <span class="en" lang="en">Long message: only the beginning is shown.</span></p>{{end}}
{{if .Attachments}}<h2>Tệp đính kèm <span class="en" lang="en">/ Attachments</span> ({{len .Attachments}})</h2>
<ul class="attachments">{{range .Attachments}}<li><a href="{{.Href}}" download>{{.Name}}</a> <span class="hint">{{.Type}}, {{.Size}}</span></li>{{end}}</ul>{{end}}
</section></div>{{end}}{{end}}`

const searchTemplate = `{{define "content"}}{{with .Data}}<div class="mail">{{template "mailfolders" .}}
<section class="mailmain">
{{template "searchform" (searchOf .Query)}}
<h1>Kết quả tìm kiếm <span class="en" lang="en">/ Search results</span></h1>
<p class="hint" id="search-count">{{if .Rows}}Thư {{.First}}–{{.Last}}{{if .More}} (còn nữa){{end}} trong {{.Folder.Label}}, mới nhất trước <span class="en" lang="en">/ messages {{.First}}–{{.Last}}{{if .More}} of more{{end}}, newest first</span>{{else}}Không tìm thấy thư nào. <span class="en" lang="en">Nothing found.</span>{{end}}</p>
{{if .Truncated}}<p class="hint">Chỉ hiển thị những thư mới nhất; hãy thêm điều kiện (người gửi, ngày) để tìm thư cũ hơn. <span class="en" lang="en">Only the newest are shown; add criteria to find older ones.</span></p>{{end}}
{{if .Rows}}<table class="msgs results"><thead><tr><th>Người gửi <span class="en" lang="en">/ From</span></th><th>Tiêu đề <span class="en" lang="en">/ Subject</span></th>{{if .AllScope}}<th>Thư mục <span class="en" lang="en">/ Folder</span></th>{{end}}<th class="date">Ngày <span class="en" lang="en">/ Date</span></th></tr></thead>
<tbody>{{range .Rows}}<tr class="msg{{if .Unread}} unread{{end}}" data-uid="{{.UID}}">
<td class="who" title="{{.WhoTitle}}">{{.Who}}</td>
<td class="subj"><a href="{{.Href}}">{{.Subject}}</a>{{if .Attachment}} <span class="mark att" title="Có tệp đính kèm / Has attachments">đính kèm</span>{{end}}</td>
{{if $.Data.AllScope}}<td class="folder">{{.FolderLabel}}</td>{{end}}<td class="date" title="{{.DateTitle}}">{{.Date}}</td></tr>
{{end}}</tbody></table>
{{if or .Prev .Next}}<nav class="pager" aria-label="Trang / Pages">
{{if .Prev}}<a href="{{.Prev}}" rel="prev">‹ Trang trước <span class="en" lang="en">/ Previous</span></a>{{end}}
<span>Trang {{.Page}}</span>
{{if .Next}}<a href="{{.Next}}" rel="next">Trang sau <span class="en" lang="en">/ Next</span> ›</a>{{end}}</nav>{{end}}{{end}}
</section></div>{{end}}{{end}}`

const mailErrorTemplate = `{{define "content"}}<p><a href="/mail">Về hộp thư <span class="en" lang="en">/ Back to the mailbox</span></a> · <a href="/">Tài khoản <span class="en" lang="en">/ Account</span></a></p>{{end}}`

// tmpl are the webmail's pages, parsed once.
var tmpl = core.ParsePagesWith(mailFolders+searchForm+moveBox, template.FuncMap{"searchBox": searchBox, "searchOf": searchOf}, map[string]string{
	"maillist":  mailListTemplate,
	"mailview":  mailViewTemplate,
	"mailerror": mailErrorTemplate,
	"compose":   composeTemplate,
	"search":    searchTemplate,
	"folders":   foldersTemplate,
})

// searchBoxData fills the search form.
type searchBoxData struct {
	Folder, Q, From, To, Subject, Body, Since, Until string
	All, Open                                        bool
}

func searchBox(folder string) searchBoxData { return searchBoxData{Folder: folder} }

func searchOf(q *searchQuery) searchBoxData {
	return searchBoxData{Folder: q.Folder, Q: q.Q, From: q.From, To: q.To, Subject: q.Subject, Body: q.Body,
		Since: q.Since, Until: q.Until, All: q.Folder == "",
		Open: q.From != "" || q.To != "" || q.Subject != "" || q.Body != "" || q.Since != "" || q.Until != ""}
}
