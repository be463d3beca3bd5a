package mail

// composeTemplate is the compose page: a plain form that works without
// script (compose.js only adds autosave, recipient completion and a size
// check). The CSRF token is the form's first part (core.Multipart), the
// buttons come before the files so that the action is read even when a
// file is too large, and the files come last.
const composeTemplate = `{{define "content"}}{{$csrf := .CSRF}}{{with .Data}}<div class="mail">{{template "mailfolders" .}}
<section class="mailmain">
<h1>{{.Heading}} <span class="en" lang="en">/ {{.HeadingEN}}</span></h1>
<form class="compose" id="compose" method="post" action="/mail/compose" enctype="multipart/form-data" data-autosave="{{.AutosaveSeconds}}" data-max-bytes="{{.MaxBytes}}">
<input type="hidden" name="csrf" value="{{$csrf}}">
<input type="hidden" name="compose" value="{{.ComposeID}}">
<input type="hidden" name="draft" value="{{if .DraftUID}}{{.DraftUID}}{{end}}" id="draft-uid">
<input type="hidden" name="inreplyto" value="{{.InReplyTo}}">
<input type="hidden" name="references" value="{{.References}}">
<input type="hidden" name="orig" value="{{.Orig}}">
<input type="hidden" name="external_ok" value="{{.ExternalOK}}">
{{range .Carried}}<input type="hidden" name="carry" value="{{.Ref}}">{{end}}
<div class="toolbar" role="group" aria-label="Gửi hoặc lưu / Send or save">
<button type="submit" name="action" value="send" id="send">Gửi <span class="en" lang="en">/ Send</span></button>
<button type="submit" name="action" value="save" id="save" class="secondary">Lưu nháp <span class="en" lang="en">/ Save draft</span></button>
</div>
<label for="to">Người nhận <span class="en" lang="en">/ To</span></label>
<input type="text" id="to" name="to" value="{{.To}}" autocomplete="off" list="contacts" maxlength="8192" aria-describedby="to-hint{{if .Outsiders}} outsiders{{end}}" data-recipients>
<p class="hint" id="to-hint">Nhiều địa chỉ cách nhau bằng dấu phẩy; gõ họ tên (không cần dấu) để chọn trong danh bạ, hoặc <a href="/danhba" target="_blank" rel="noopener">tra danh bạ</a>. <span class="en" lang="en">Separate addresses with commas; type a name to pick from the directory.</span></p>
{{if .ShowCopies}}<label for="cc">Đồng gửi <span class="en" lang="en">/ Cc</span></label>
<input type="text" id="cc" name="cc" value="{{.Cc}}" autocomplete="off" list="contacts" maxlength="8192" data-recipients>
<label for="bcc">Gửi ẩn <span class="en" lang="en">/ Bcc</span></label>
<input type="text" id="bcc" name="bcc" value="{{.Bcc}}" autocomplete="off" list="contacts" maxlength="8192" data-recipients>
{{else}}<details class="copies"><summary>Đồng gửi, gửi ẩn <span class="en" lang="en">/ Cc, Bcc</span></summary>
<label for="cc">Đồng gửi <span class="en" lang="en">/ Cc</span></label>
<input type="text" id="cc" name="cc" value="" autocomplete="off" list="contacts" maxlength="8192" data-recipients>
<label for="bcc">Gửi ẩn <span class="en" lang="en">/ Bcc</span></label>
<input type="text" id="bcc" name="bcc" value="" autocomplete="off" list="contacts" maxlength="8192" data-recipients>
</details>{{end}}
<datalist id="contacts"></datalist>
<div id="outsiders" class="outsiders" aria-live="polite">{{if .Outsiders}}<p class="notice warn"><strong>Ngoài hệ thống thư công vụ nhà nước</strong> <span class="en" lang="en">/ Outside the state's mail</span>:
{{range $i, $a := .Outsiders}}{{if $i}}, {{end}}<span class="outside">{{$a}}</span>{{end}}</p>{{end}}</div>
<label for="subject">Tiêu đề <span class="en" lang="en">/ Subject</span></label>
<input type="text" id="subject" name="subject" value="{{.Subject}}" maxlength="500">
<label for="body">Nội dung <span class="en" lang="en">/ Message</span></label>
<textarea id="body" name="body" rows="16" maxlength="1000000">{{.Body}}</textarea>
{{if .Carried}}<fieldset class="carried"><legend>Tệp đính kèm <span class="en" lang="en">/ Attachments</span></legend>
{{range $i, $a := .Carried}}<label class="check"><input type="checkbox" name="keep" value="{{$a.Ref}}"{{if $a.Checked}} checked{{end}}> {{$a.Name}} <span class="hint">{{if $a.Size}}{{$a.Size}}{{end}}</span></label>
{{end}}</fieldset>{{end}}
{{if .CanSign}}<div class="signopt"><label class="check"><input type="checkbox" id="sign" name="sign" value="yes" aria-describedby="sign-hint"{{if .Sign}} checked{{end}}> Ký số bằng chứng thư của đơn vị <span class="en" lang="en">/ Sign with the unit's certificate</span></label>
<p class="hint" id="sign-hint">Máy chủ ký thư bằng khóa của đơn vị (S/MIME) khi gửi; văn bản gửi cơ quan khác phải được ký số. <span class="en" lang="en">The server signs the message with the unit's key when it is sent.</span></p></div>
{{end}}<label for="files">Đính kèm tệp <span class="en" lang="en">/ Attach files</span></label>
<input type="file" id="files" name="files" multiple aria-describedby="files-hint">
<p class="hint" id="files-hint">Thư kèm tệp tối đa {{.MaxSize}}. <span class="en" lang="en">At most {{.MaxSize}} with attachments.</span></p>
<p class="hint" id="autosave-status" aria-live="polite"></p>
</form>
</section></div>{{end}}{{end}}`
