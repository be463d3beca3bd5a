package mail

// The compose page: a new message, a reply, a reply to all, a forward
// (inline, or the message as an attachment) or a draft reopened, and the
// attachments a form carries over from its draft or from the message it
// forwards.

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"

	"congvu/internal/mailerr"
	"congvu/storage"
	"congvu/web/core"
	"congvu/web/webdb"
)

// origField carries, in drafts only, the message a reply or forward is
// about, so that sending the reopened draft flags it.
const origField = "X-Congvu-Orig"

// carriedView is an attachment carried over, as the form lists it.
type carriedView struct {
	Ref, Name, Type, Size string
	Checked               bool
}

type composeView struct {
	Folders         []folderView
	Folder          folderView
	ComposeID       string
	DraftUID        uint32
	To, Cc, Bcc     string
	Subject, Body   string
	InReplyTo       string
	References      string
	Orig            string
	Carried         []carriedView
	ExternalOK      string
	Outsiders       []string
	MaxSize         string
	MaxBytes        int64
	Heading         string
	HeadingEN       string
	ShowCopies      bool
	AutosaveSeconds int
	Quota           *quotaView
	// CanSign offers "Ký số bằng chứng thư của đơn vị"; Sign ticks it.
	CanSign, Sign bool
}

// composeGet shows the form: ?draft=UID reopens a draft; ?mode=reply,
// replyall, forward or attach with folder and uid answers or forwards a
// message; ?to= starts a message to someone.
func (wb *room) composeGet(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
	q := r.URL.Query()
	ctx := r.Context()
	mb, err := wb.openMailbox(ctx, c)
	if err != nil {
		wb.mailFail(w, c, "compose", err)
		return
	}
	folders, err := mb.Folders(ctx)
	if err != nil {
		wb.mailFail(w, c, "compose", err)
		return
	}
	drafts, _ := composeFolders(folders)
	v := &composeView{ComposeID: rand.Text(), Heading: "Soạn thư", HeadingEN: "New message"}
	switch {
	case q.Has("draft"):
		uid, perr := strconv.ParseUint(q.Get("draft"), 10, 32)
		if perr != nil || uid == 0 {
			wb.mailFail(w, c, "compose", errBadRequest.WithMessage("Invalid draft number", "Số hiệu thư nháp không hợp lệ"))
			return
		}
		err = wb.loadDraft(ctx, mb, drafts, uint32(uid), v)
	case q.Get("mode") != "":
		var ref msgRef
		if ref, err = parseMsgRef(q); err == nil {
			err = wb.prefill(ctx, c, ref, q.Get("mode"), v)
		}
	default:
		if to := q.Get("to"); to != "" && len(to) <= maxAddressBytes {
			v.To = to
		}
	}
	if err != nil {
		wb.mailFail(w, c, "compose", err)
		return
	}
	if !q.Has("draft") {
		wb.addSignature(ctx, c, v)
	}
	v.Folders = folderViews(folders, "")
	if out := wb.outsidersOf(v.To, v.Cc, v.Bcc); len(out) > 0 {
		v.Outsiders = out
		if tok := q.Get("confirm"); tok != "" && tok == outsidersToken(out) {
			v.ExternalOK = tok
		}
	}
	wb.renderCompose(w, c, http.StatusOK, v, nil)
}

// outsidersOf lists the outside recipients among what the fields hold,
// skipping what does not parse.
func (wb *room) outsidersOf(fields ...string) []string {
	var out []string
	for _, f := range fields {
		for _, item := range splitAddresses(f) {
			if a, err := mail.ParseAddress(item); err == nil {
				addr := strings.ToLower(a.Address)
				if !wb.isStateAddress(addr) && !slices.Contains(out, addr) {
					out = append(out, addr)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func (wb *room) renderCompose(w http.ResponseWriter, c *core.Ctx, status int, v *composeView, n *core.Notice) {
	v.MaxSize, v.MaxBytes = formatSize(wb.opts.MaxMessageBytes), wb.opts.MaxMessageBytes
	v.ShowCopies = v.ShowCopies || v.Cc != "" || v.Bcc != ""
	v.AutosaveSeconds = 30
	v.CanSign = wb.canSign(c.Acct)
	v.Sign = v.Sign && v.CanSign
	p := wb.Page(c, v.Heading, v.HeadingEN, v)
	if n != nil {
		p.Notice = n
	}
	p.Scripts = []string{"/static/compose.js"}
	wb.Render(w, status, tmpl["compose"], p)
}

// formView is the form as posted, for the page shown when no draft could
// be saved.
func (cm *composing) formView() *composeView {
	f := cm.form
	v := &composeView{ComposeID: f.ComposeID, DraftUID: f.DraftUID, To: f.To, Cc: f.Cc, Bcc: f.Bcc, Subject: f.Subject,
		Body: f.Body, InReplyTo: f.InReplyTo, References: f.References, Orig: f.Orig, Heading: "Soạn thư", HeadingEN: "New message",
		Sign: f.Sign}
	for _, ref := range f.Carry {
		v.Carried = append(v.Carried, carriedView{Ref: ref, Name: "Tệp đính kèm", Checked: slices.Contains(f.Checked, ref)})
	}
	return v
}

// loadDraft fills v from a draft.
func (wb *room) loadDraft(ctx context.Context, mb storage.Mailbox, drafts string, uid uint32, v *composeView) error {
	cached, err := mb.Cached(ctx, drafts, uid)
	if err != nil {
		return err
	}
	rc, err := mb.Open(ctx, drafts, uid)
	if err != nil {
		return err
	}
	defer rc.Close()
	mc, err := readContent(rc, false)
	if err != nil {
		return err
	}
	h := cached.Header
	v.DraftUID = uid
	v.Heading, v.HeadingEN = "Thư nháp", "Draft"
	if id := headerText(h, composeIDField); validComposeID(id) {
		v.ComposeID = id
	}
	v.To, v.Cc, v.Bcc = draftAddresses(h, "To"), draftAddresses(h, "Cc"), draftAddresses(h, "Bcc")
	v.Subject = cleanText(headerText(h, "Subject"), maxSubjectRunes)
	v.InReplyTo = cleanMsgID(headerText(h, "In-Reply-To"))
	v.References = strings.Join(msgIDs(headerText(h, "References")), " ")
	if _, _, _, ok := parseOrig(headerText(h, origField)); ok {
		v.Orig = headerText(h, origField)
	}
	v.Sign = headerText(h, draftSignField) == "yes"
	if mc.Body != nil && mc.Body.Type == "text/plain" {
		v.Body = mc.BodyText
	} else if mc.Body != nil {
		v.Body = htmlToText(mc.BodyText)
	}
	for _, p := range mc.attachments() {
		v.Carried = append(v.Carried, carriedView{Ref: "d:" + p.Number, Name: downloadName(p), Type: p.Type,
			Size: formatSize(p.Size), Checked: true})
	}
	return nil
}

// draftAddresses is an address field of a draft as the form shows it,
// leaving out the placeholder saveDraft writes for what was not an address.
func draftAddresses(h []byte, field string) string {
	list, err := mail.ParseAddressList(headerText(h, field))
	if err != nil {
		return ""
	}
	var out []string
	for _, a := range list {
		if a.Address == "chua-hop-le@invalid" {
			out = append(out, a.Name)
			continue
		}
		if a.Name != "" {
			out = append(out, (&mail.Address{Name: a.Name, Address: a.Address}).String())
			// Shown decoded: net/mail encodes non-ASCII names.
			out[len(out)-1] = quoteName(a.Name) + " <" + a.Address + ">"
		} else {
			out = append(out, a.Address)
		}
	}
	return strings.Join(out, ", ")
}

// quoteName quotes a display name for the form when it needs it.
func quoteName(n string) string {
	if strings.ContainsAny(n, `,;<>"@()`) {
		return `"` + strings.ReplaceAll(n, `"`, `'`) + `"`
	}
	return n
}

// msgIDs reads the message ids of an In-Reply-To or References field.
func msgIDs(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '>' }) {
		if id := cleanMsgID(strings.TrimLeft(f, "<")); id != "" {
			out = append(out, id)
		}
	}
	return out
}

// prefill fills v for a reply, a reply to all or a forward of ref.
func (wb *room) prefill(ctx context.Context, c *core.Ctx, ref msgRef, mode string, v *composeView) error {
	switch mode {
	case "reply", "replyall", "forward", "attach":
	default:
		return errBadRequest.WithMessage("Unknown compose mode", "Chế độ soạn thư không hợp lệ")
	}
	om, err := wb.lookupMessage(ctx, c, ref)
	if err != nil {
		return err
	}
	cached, err := om.mb.Cached(ctx, om.folder.Name, ref.UID)
	if err != nil {
		return err
	}
	env := cached.Envelope
	if env == nil {
		env = &imap.Envelope{}
	}
	subject := cleanText(env.Subject, maxSubjectRunes)
	if mode == "attach" {
		v.Heading, v.HeadingEN = "Chuyển tiếp", "Forward"
		v.Subject = prefixed("Fwd: ", subject)
		v.Orig = fmt.Sprintf("forwarded:%d:%s", ref.UID, om.pl.web(om.folder.Name))
		name := cleanFileName(subject)
		if name == "" {
			name = "thu-chuyen-tiep"
		}
		v.Carried = []carriedView{{Ref: fmt.Sprintf("m:%d:*:%s", ref.UID, om.pl.web(om.folder.Name)), Name: name + ".eml",
			Type: "message/rfc822", Size: formatSize(om.info.Size), Checked: true}}
		return nil
	}
	mc, err := om.content(ctx, false)
	if err != nil {
		return err
	}
	text := ""
	if mc.Body != nil {
		text = mc.BodyText
		if mc.Body.Type == "text/html" {
			text = htmlToText(text)
		}
	}
	date := core.FormatTime(env.Date)
	if env.Date.IsZero() {
		date = core.FormatTime(om.info.InternalDate)
	}
	from := strings.Join(addressList(env.From), ", ")
	if mode == "forward" {
		v.Heading, v.HeadingEN = "Chuyển tiếp", "Forward"
		v.Subject = prefixed("Fwd: ", subject)
		v.Orig = fmt.Sprintf("forwarded:%d:%s", ref.UID, om.pl.web(om.folder.Name))
		var b strings.Builder
		b.WriteString("\n\n---------- Thư chuyển tiếp / Forwarded message ----------\n")
		fmt.Fprintf(&b, "Từ / From: %s\nNgày / Date: %s\nTiêu đề / Subject: %s\n", from, date, subject)
		if to := addressList(env.To); len(to) > 0 {
			fmt.Fprintf(&b, "Đến / To: %s\n", strings.Join(to, ", "))
		}
		if cc := addressList(env.Cc); len(cc) > 0 {
			fmt.Fprintf(&b, "Đồng gửi / Cc: %s\n", strings.Join(cc, ", "))
		}
		b.WriteString("\n" + text)
		v.Body = b.String()
		for _, p := range mc.attachments() {
			v.Carried = append(v.Carried, carriedView{Ref: fmt.Sprintf("m:%d:%s:%s", ref.UID, p.Number, om.pl.web(om.folder.Name)),
				Name: downloadName(p), Type: p.Type, Size: formatSize(p.Size), Checked: true})
		}
		return nil
	}
	v.Heading, v.HeadingEN = "Trả lời", "Reply"
	v.Subject = prefixed("Re: ", subject)
	v.Orig = fmt.Sprintf("answered:%d:%s", ref.UID, om.pl.web(om.folder.Name))
	// The field itself: the envelope's parser drops ids it finds
	// malformed, and a reply must still point at them.
	if ids := msgIDs(headerText(cached.Header, "Message-ID")); len(ids) > 0 {
		v.InReplyTo = ids[0]
	} else {
		v.InReplyTo = cleanMsgID(env.MessageID)
	}
	refs := msgIDs(headerText(cached.Header, "References"))
	if len(refs) == 0 {
		refs = msgIDs(headerText(cached.Header, "In-Reply-To"))
	}
	if v.InReplyTo != "" {
		refs = append(refs, v.InReplyTo)
	}
	if len(refs) > maxReferences {
		// RFC 5322 3.6.4: keep the first (the thread's root) and the last.
		refs = append(refs[:1], refs[len(refs)-maxReferences+1:]...)
	}
	v.References = strings.Join(refs, " ")
	own := func(addr string) bool {
		addr = strings.ToLower(addr)
		return addr == c.Acct.Address || slices.Contains(c.Acct.Aliases, addr)
	}
	replyTo := env.ReplyTo
	if len(replyTo) == 0 {
		replyTo = env.From
	}
	var to, cc []string
	add := func(list *[]string, addrs []imap.Address) {
		for _, a := range addrs {
			if a.Addr() == "" || own(a.Addr()) || slices.ContainsFunc(append(to, cc...), func(s string) bool { return strings.Contains(s, "<"+a.Addr()+">") || s == a.Addr() }) {
				continue
			}
			if n := cleanText(a.Name, maxShownNameRunes); n != "" {
				*list = append(*list, quoteName(n)+" <"+a.Addr()+">")
			} else {
				*list = append(*list, a.Addr())
			}
		}
	}
	add(&to, replyTo)
	if mode == "replyall" {
		add(&to, env.To)
		add(&cc, env.Cc)
		v.Heading, v.HeadingEN = "Trả lời tất cả", "Reply all"
	}
	if len(to) == 0 && len(replyTo) > 0 {
		// Answering one's own message: to its recipients.
		add(&to, env.To)
	}
	v.To, v.Cc = strings.Join(to, ", "), strings.Join(cc, ", ")
	var b strings.Builder
	fmt.Fprintf(&b, "\n\nVào %s, %s đã viết:\n", date, from)
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if strings.HasPrefix(line, ">") {
			b.WriteString(">" + line + "\n")
		} else {
			b.WriteString("> " + line + "\n")
		}
	}
	v.Body = b.String()
	return nil
}

// prefixed puts "Re: " or "Fwd: " before a subject that has none yet.
func prefixed(prefix, subject string) string {
	low := strings.ToLower(subject)
	for _, p := range []string{"re:", "fwd:", "fw:", "tl:", "trả lời:", "chuyển tiếp:"} {
		if strings.HasPrefix(low, p) && strings.EqualFold(strings.TrimSpace(prefix), p[:len(strings.TrimSpace(prefix))]) {
			return subject
		}
	}
	if strings.HasPrefix(low, strings.ToLower(prefix)) {
		return subject
	}
	return prefix + subject
}

// attachments are the files the message gets: the carried ones kept
// (every one on an autosave) and the uploads.
func (cm *composing) attachments(ctx context.Context, keepAll bool) ([]outAttachment, error) {
	var out []outAttachment
	for _, ref := range cm.form.Carry {
		if !keepAll && !slices.Contains(cm.form.Checked, ref) {
			continue
		}
		a, err := cm.carried(ctx, ref)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	for _, u := range cm.uploads {
		path := u.Path
		out = append(out, outAttachment{Name: u.Name, Type: u.Type, Open: func() (io.ReadCloser, error) { return openFile(path) }})
	}
	return out, nil
}

// carried resolves a carried attachment: "d:PART" of the form's draft, or
// "m:UID:PART:FOLDER" of another message of the official's ("*": the whole
// message, forwarded as an attachment).
func (cm *composing) carried(ctx context.Context, ref string) (outAttachment, error) {
	var folder, part string
	var uid uint32
	bad := errBadRequest.WithMessage("Invalid attachment reference", "Tham chiếu tệp đính kèm không hợp lệ")
	switch {
	case strings.HasPrefix(ref, "d:"):
		folder, uid, part = cm.drafts, cm.form.DraftUID, ref[2:]
	case strings.HasPrefix(ref, "m:"):
		f := strings.SplitN(ref[2:], ":", 3)
		if len(f) != 3 {
			return outAttachment{}, bad
		}
		n, err := strconv.ParseUint(f[0], 10, 32)
		if err != nil {
			return outAttachment{}, bad
		}
		uid, part, folder = uint32(n), f[1], f[2]
	default:
		return outAttachment{}, bad
	}
	if uid == 0 || part == "" {
		return outAttachment{}, bad
	}
	mb := cm.mb
	if strings.HasPrefix(ref, "m:") && isSharedName(folder) {
		// A message of a unit mailbox: read it with the official's
		// rights there (r), as the view did.
		pl, err := cm.wb.openPlace(ctx, cm.c, folder)
		if err != nil {
			return outAttachment{}, err
		}
		in, ok := pl.inner(folder)
		if !ok {
			return outAttachment{}, mailerr.ErrNoSuchFolder
		}
		mb, folder = pl.mb, in
	}
	if part == "*" {
		cached, err := mb.Cached(ctx, folder, uid)
		if err != nil {
			return outAttachment{}, err
		}
		name := "thu-chuyen-tiep"
		if cached.Envelope != nil && cleanFileName(cached.Envelope.Subject) != "" {
			name = cleanFileName(cached.Envelope.Subject)
		}
		return outAttachment{Name: name + ".eml", Type: "message/rfc822", Open: func() (io.ReadCloser, error) {
			return mb.Open(ctx, folder, uid)
		}}, nil
	}
	// Name and type as the part says.
	rc, err := mb.Open(ctx, folder, uid)
	if err != nil {
		return outAttachment{}, err
	}
	var found *mimePart
	err = walkMIME(rc, func(p *mimePart, _ io.Reader) error {
		if p.Number == part {
			found = p
			return errStopWalk
		}
		return nil
	})
	rc.Close()
	if err != nil {
		return outAttachment{}, err
	}
	if found == nil {
		return outAttachment{}, storage.ErrNoSuchMessage.WithMessage("An attachment is no longer there", "Một tệp đính kèm không còn nữa")
	}
	return outAttachment{Name: downloadName(found), Type: found.Type, Open: func() (io.ReadCloser, error) {
		return openPart(ctx, mb, folder, uid, part)
	}}, nil
}

// openPart streams one decoded part of a stored message.
func openPart(ctx context.Context, mb storage.Mailbox, folder string, uid uint32, part string) (io.ReadCloser, error) {
	rc, err := mb.Open(ctx, folder, uid)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		defer rc.Close()
		found := false
		err := walkMIME(rc, func(p *mimePart, body io.Reader) error {
			if p.Number != part {
				return nil
			}
			found = true
			if _, err := io.Copy(pw, body); err != nil {
				return err
			}
			return errStopWalk
		})
		if err == nil && !found {
			err = mailerr.ErrInternal.With(fmt.Errorf("part %s of %s/%d vanished", part, folder, uid))
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}

func openFile(path string) (io.ReadCloser, error) { return os.Open(path) }

// addSignature puts the official's signature under the text they will
// write, above a quoted message (RFC 3676 4.3: "-- " on its own line).
func (wb *room) addSignature(ctx context.Context, c *core.Ctx, v *composeView) {
	db := wb.DB()
	if db == nil {
		return
	}
	sig, err := db.Setting(ctx, c.Acct.Address, webdb.SettingSignature)
	if err != nil || sig == "" {
		return
	}
	v.Body = "\n\n-- \n" + sig + "\n" + v.Body
}
