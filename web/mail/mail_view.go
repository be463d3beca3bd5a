package mail

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"

	"congvu/internal/mailerr"
	"congvu/storage"
	"congvu/web/core"
)

// msgRef is the folder and UID a message request names.
type msgRef struct {
	Folder string
	UID    uint32
	Page   int // list page to go back to
}

func parseMsgRef(v url.Values) (msgRef, error) {
	ref := msgRef{Folder: folderParam(v.Get("folder")), Page: 1}
	uid, err := strconv.ParseUint(v.Get("uid"), 10, 32)
	if err != nil || uid == 0 {
		return ref, errBadRequest.WithMessage("Invalid message number", "Số hiệu thư không hợp lệ")
	}
	ref.UID = uint32(uid)
	if p, err := strconv.Atoi(v.Get("page")); err == nil && p > 1 {
		ref.Page = p
	}
	return ref, nil
}

// openedMessage is a message looked up for a request.
type openedMessage struct {
	pl      *place
	mb      storage.Mailbox
	folders []storage.FolderStatus
	folder  storage.FolderStatus
	info    storage.MessageInfo
}

// lookupMessage finds ref in the official's own mailbox: an unknown
// folder or UID is mailerr.ErrNoSuchFolder / storage.ErrNoSuchMessage
// (404), never another official's message.
func (wb *room) lookupMessage(ctx context.Context, c *core.Ctx, ref msgRef) (*openedMessage, error) {
	pl, err := wb.openPlace(ctx, c, ref.Folder)
	if err != nil {
		return nil, err
	}
	mb := pl.mb
	folders, err := mb.Folders(ctx)
	if err != nil {
		return nil, err
	}
	st, ok := pl.findFolder(folders, ref.Folder)
	if !ok {
		return nil, mailerr.ErrNoSuchFolder
	}
	msgs, err := mb.Messages(ctx, st.Name)
	if err != nil {
		return nil, err
	}
	j, ok := slices.BinarySearchFunc(msgs, ref.UID, func(m storage.MessageInfo, uid uint32) int {
		return int(int64(m.UID) - int64(uid))
	})
	if !ok {
		return nil, storage.ErrNoSuchMessage
	}
	return &openedMessage{pl: pl, mb: mb, folders: folders, folder: *st, info: msgs[j]}, nil
}

// content reads and parses the message file.
func (om *openedMessage) content(ctx context.Context, wantImages bool) (*mailContent, error) {
	rc, err := om.mb.Open(ctx, om.folder.Name, om.info.UID)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readContent(rc, wantImages)
}

type attachmentView struct {
	Name, Type, Size, Href string
}

type viewData struct {
	Folders        []folderView
	Folder         folderView
	UID            uint32
	Subject        string
	From, To, Cc   []string
	ReplyTo        []string
	Date           string
	Text           string
	HTML           bool
	FrameSrc       string
	FrameSandbox   string
	BlockedImages  int
	Truncated      bool
	UnknownCharset string
	Damaged        bool
	Banners        []banner
	Signatures     []signatureView
	Quota          *quotaView
	NoBody         bool
	Attachments    []attachmentView
	Flagged        bool
	BackHref       string
	Page           int
	InTrash        bool
	InJunk         bool
	InArchive      bool
	InDrafts       bool
	Targets        []folderView
	Can            canView
	Shared         bool // a unit mailbox's message: replies and forwards, no draft editing
	ReplyHref      string
	ReplyAllHref   string
	ForwardHref    string
	AttachHref     string
	EditHref       string
}

func addressList(addrs []imap.Address) []string {
	var out []string
	for _, a := range addrs {
		if a.Addr() != "" {
			out = append(out, addressText(a))
		}
	}
	return out
}

func partURL(path string, ref msgRef, part string) string {
	v := url.Values{"folder": {ref.Folder}, "uid": {strconv.FormatUint(uint64(ref.UID), 10)}}
	if part != "" {
		v.Set("part", part)
	}
	return path + "?" + v.Encode()
}

// mailView shows one message and marks it \Seen, as FETCH BODY[] does in
// IMAP (RFC 9051 6.4.5): a GET that changes only that flag.
func (wb *room) mailView(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
	ref, err := parseMsgRef(r.URL.Query())
	if err != nil {
		wb.mailFail(w, c, "view", err)
		return
	}
	ctx := r.Context()
	om, err := wb.lookupMessage(ctx, c, ref)
	if err != nil {
		wb.mailFail(w, c, "view", err)
		return
	}
	ref.Folder = om.pl.web(om.folder.Name)
	cached, err := om.mb.Cached(ctx, om.folder.Name, ref.UID)
	if err != nil {
		wb.mailFail(w, c, "view", err)
		return
	}
	mc, err := om.content(ctx, false)
	if err != nil {
		wb.mailFail(w, c, "view", err)
		return
	}
	// Without the s right (RFC 4314 §4) reading leaves \Seen alone, as
	// FETCH does in imapd.
	if !slices.Contains(om.info.Flags, flagSeen) && om.pl.can("s") {
		if _, _, err := om.mb.SetFlags(ctx, om.folder.Name, []uint32{ref.UID}, storage.FlagsAdd, []string{flagSeen}, 0); err != nil {
			wb.Log.Warn("web: marking a message seen failed", "address", c.Acct.Address, "err", err)
		} else {
			// The side list shows the count after this read.
			if st, err := om.mb.Folders(ctx); err == nil {
				om.folders = st
			}
		}
	}
	env := cached.Envelope
	if env == nil {
		env = &imap.Envelope{}
	}
	var senderAddr, senderName string
	if len(env.From) > 0 {
		senderAddr, senderName = strings.ToLower(env.From[0].Addr()), env.From[0].Name
	}
	banners := wb.banners(cached.Header, senderAddr, senderName, om.folder)
	named := *env
	named.From, named.To, named.Cc = wb.named(ctx, env.From), wb.named(ctx, env.To), wb.named(ctx, env.Cc)
	env = &named
	cur := om.pl.view(om.folder)
	cur.Current = true
	d := viewData{Folders: wb.sideFolders(ctx, c, om.pl, om.folders, ref.Folder), Folder: cur, UID: ref.UID,
		Subject: cleanText(env.Subject, maxSubjectRunes),
		From:    addressList(env.From), To: addressList(env.To), Cc: addressList(env.Cc), ReplyTo: addressList(env.ReplyTo),
		Flagged:  slices.Contains(om.info.Flags, flagFlagged),
		BackHref: pageURL(ref.Folder, ref.Page), Page: ref.Page,
		InTrash: cur.SpecialUse == `\Trash`, InJunk: cur.SpecialUse == `\Junk`, InArchive: cur.SpecialUse == `\Archive`,
		Truncated: mc.Truncated, UnknownCharset: mc.UnknownCharset, Damaged: mc.Damaged, Banners: banners,
		Signatures: wb.signatureBadges(cached.Header)}
	if d.Subject == "" {
		d.Subject = "(không có tiêu đề)"
	}
	d.InDrafts = cur.SpecialUse == `\Drafts`
	d.Targets = wb.targetsOf(ctx, c, om.pl, om.folders, ref.Folder)
	d.Can = newCanView(om.pl, d.InTrash)
	d.Shared = om.pl.box != nil
	d.ReplyHref, d.ReplyAllHref = composeURL("reply", ref), composeURL("replyall", ref)
	d.ForwardHref, d.AttachHref = composeURL("forward", ref), composeURL("attach", ref)
	d.EditHref = "/mail/compose?draft=" + strconv.FormatUint(uint64(ref.UID), 10)
	if len(d.From) == 0 {
		if f := cleanText(headerText(cached.Header, "From"), maxShownNameRunes); f != "" {
			d.From = []string{f}
		}
	}
	date := env.Date
	if date.IsZero() {
		date = om.info.InternalDate
	}
	d.Date = core.FormatTime(date)
	switch {
	case mc.Body == nil:
		d.NoBody = true
	case mc.Body.Type == "text/html":
		d.HTML, d.FrameSrc, d.FrameSandbox = true, partURL("/mail/frame", ref, ""), frameSandbox
		d.BlockedImages = countRemoteImages(mc.BodyText)
	default:
		d.Text = mc.BodyText
	}
	for _, p := range mc.attachments() {
		d.Attachments = append(d.Attachments, attachmentView{Name: downloadName(p), Type: p.Type, Size: formatSize(p.Size),
			Href: partURL("/mail/part", ref, p.Number)})
	}
	// This page may frame the sanitised body, from this origin only.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; frame-src 'self'; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	wb.Render(w, http.StatusOK, tmpl["mailview"], wb.Page(c, d.Subject, "Message", d))
}

// mailFrame serves the sanitised HTML body for the view's iframe (see
// mail_html.go for why it is safe).
func (wb *room) mailFrame(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
	ref, err := parseMsgRef(r.URL.Query())
	if err != nil {
		wb.mailFail(w, c, "frame", err)
		return
	}
	ctx := r.Context()
	om, err := wb.lookupMessage(ctx, c, ref)
	if err != nil {
		wb.mailFail(w, c, "frame", err)
		return
	}
	mc, err := om.content(ctx, true)
	if err != nil {
		wb.mailFail(w, c, "frame", err)
		return
	}
	if mc.Body == nil || mc.Body.Type != "text/html" {
		wb.mailFail(w, c, "frame", storage.ErrNoSuchMessage.WithMessage("This message has no HTML part", "Thư không có phần HTML"))
		return
	}
	body, _ := sanitizeHTML(mc.BodyText, mc.Images)
	h := w.Header()
	h.Set("Content-Security-Policy", frameCSP)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, frameDocument(body))
}

// mailPart downloads one part, transfer encoding decoded, bytes as sent.
// It is always a download (attachment, octet-stream, nosniff, and a
// sandbox should a browser render it anyway), never a page of this site.
func (wb *room) mailPart(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
	q := r.URL.Query()
	ref, err := parseMsgRef(q)
	if err != nil {
		wb.mailFail(w, c, "part", err)
		return
	}
	want := q.Get("part")
	ctx := r.Context()
	om, err := wb.lookupMessage(ctx, c, ref)
	if err != nil {
		wb.mailFail(w, c, "part", err)
		return
	}
	rc, err := om.mb.Open(ctx, om.folder.Name, ref.UID)
	if err != nil {
		wb.mailFail(w, c, "part", err)
		return
	}
	defer rc.Close()
	found := false
	err = walkMIME(rc, func(p *mimePart, body io.Reader) error {
		if p.Number != want {
			return nil
		}
		found = true
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", contentDisposition(downloadName(p)))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
		if _, err := io.Copy(w, body); err != nil {
			return err
		}
		return errStopWalk
	})
	if err != nil && found {
		// Headers are out: the download just ends short.
		wb.Log.Warn("web: attachment download broken off", "address", c.Acct.Address, "err", err)
		return
	}
	if !found {
		if err == nil {
			err = storage.ErrNoSuchMessage.WithMessage("No such part in this message", "Thư không có phần đính kèm này")
		}
		wb.mailFail(w, c, "part", err)
	}
}

// composeURL is the compose page answering or forwarding ref.
func composeURL(mode string, ref msgRef) string {
	return "/mail/compose?" + url.Values{"mode": {mode}, "folder": {ref.Folder},
		"uid": {strconv.FormatUint(uint64(ref.UID), 10)}}.Encode()
}
