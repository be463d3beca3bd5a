package mail

// Writing mail: GET /mail/compose shows the form (new, reply, reply-all,
// forward inline or as an attachment, or a draft reopened); POST sends it
// or saves it as a draft. Sending goes through Options.Send, the same
// submission path as SMTP clients (smtpd.Server.Submit): the web checks
// nothing the submission path would check again, and bypasses none of it.
//
// Every form that is not sent ends in a draft in "Thư nháp" (saving, a
// refused send, recipients outside the state's domains to confirm), and
// the page is then the draft reopened (POST, redirect, GET): the files
// uploaded with the form live on in the draft, and a reload repeats
// nothing. A draft carries X-Congvu-Compose-Id so that its next version
// replaces it.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/storage"
	"congvu/web/core"
)

// Sender sends a message through the submission path (smtpd.Server.Submit
// behind an adapter). Refusals are *mailerr.Error; a refused recipient is
// a *RecipientError.
type Sender interface {
	Send(ctx context.Context, m Outgoing) error
}

// Outgoing is one message to send.
type Outgoing struct {
	Account *directory.Account
	IP      net.IP
	From    string
	Rcpts   []string
	Message io.Reader
	// Sign asks the submission path to sign the message with the unit's
	// certificate (the control field package official reads; the
	// adapter writes it, and the submission path strips it).
	Sign bool
}

// RecipientError is a refusal of one recipient.
type RecipientError struct {
	Address string
	Err     *mailerr.Error
}

func (e *RecipientError) Error() string { return e.Address + ": " + e.Err.Error() }
func (e *RecipientError) Unwrap() error { return e.Err }

// errSendingOff: a web started without the submission path.
var errSendingOff = &mailerr.Error{SMTPCode: 451, Enhanced: [3]int{4, 3, 0}, Temporary: true, HTTPStatus: http.StatusServiceUnavailable,
	Message: "Sending is not available on this server", MessageVI: "Máy chủ này chưa bật gửi thư trên web"}

// errTooBig: the message with its attachments is over the limit.
func (wb *room) errTooBig(what string) *mailerr.Error {
	limit := formatSize(wb.opts.MaxMessageBytes)
	return &mailerr.Error{SMTPCode: 552, Enhanced: [3]int{5, 3, 4}, HTTPStatus: http.StatusRequestEntityTooLarge,
		Message:   fmt.Sprintf("%s is too large: a message with its attachments may have at most %s", what, limit),
		MessageVI: fmt.Sprintf("%s quá lớn: thư kèm tệp đính kèm tối đa %s", what, limit)}
}

// attachBudget is how many bytes of files fit in one message: base64
// makes 3 bytes 4 characters and 57 bytes a 78-character line.
func (wb *room) attachBudget() int64 {
	return wb.opts.MaxMessageBytes/78*57 - min(64<<10, wb.opts.MaxMessageBytes/16)
}

// composeFolders finds (or names) the Drafts and Sent folders.
func composeFolders(folders []storage.FolderStatus) (drafts, sent string) {
	drafts, ok := specialFolder(folders, `\Drafts`)
	if !ok {
		drafts = storage.Drafts
	}
	sent, ok = specialFolder(folders, `\Sent`)
	if !ok {
		sent = storage.Sent
	}
	return drafts, sent
}

// composePost sends or saves the compose form.
func (wb *room) composePost(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
	mr := core.Multipart(r)
	if mr == nil {
		wb.mailFail(w, c, "compose", errBadRequest)
		return
	}
	f, files, problem := readComposeForm(mr, wb.opts.SpoolDir, wb.attachBudget())
	defer removeUploads(files)
	if !validComposeID(f.ComposeID) {
		f.ComposeID = rand.Text()
	}
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
	drafts, sent := composeFolders(folders)
	cm := &composing{wb: wb, c: c, mb: mb, drafts: drafts, form: f, uploads: files}

	var n *core.Notice
	switch {
	case problem != nil && problem.TooBig != "":
		n = core.ErrorNotice(wb.errTooBig("Tệp " + problem.TooBig))
		n.EN = core.Sentence(wb.errTooBig("File " + problem.TooBig).Message)
	case problem != nil:
		n = &core.Notice{Kind: "error", VI: "Biểu mẫu gửi lên không trọn vẹn; hãy kiểm tra lại thư rồi thử lại.",
			EN: "The form arrived incomplete; check the message and try again."}
	case f.Action == "send":
		var done bool
		done, n = cm.send(r, sent)
		if done {
			wb.FlashAndGo(w, r, c, cm.back(), n)
			return
		}
	}
	uid, err := cm.saveDraft(ctx, f.Action == "autosave")
	if f.Action == "autosave" {
		if err != nil {
			wb.Log.Warn("web: draft autosave failed", "address", c.Acct.Address, "err", err)
			http.Error(w, "", mailerr.Classify(err).HTTP())
			return
		}
		w.Header().Set("X-Draft-Uid", strconv.FormatUint(uint64(uid), 10))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err != nil {
		// Not even a draft: show the form as posted, files aside.
		e := mailerr.Classify(err)
		if n == nil {
			n = core.ErrorNotice(e)
		} else {
			n.VI += " Không lưu được thư nháp: " + core.Sentence(e.MessageVI)
			n.EN += " The draft could not be saved: " + core.Sentence(e.Message)
		}
		wb.renderCompose(w, c, e.HTTP(), cm.formView(), n)
		return
	}
	if n == nil {
		n = &core.Notice{Kind: "ok", VI: "Đã lưu thư nháp.", EN: "Draft saved."}
	}
	target := "/mail/compose?" + url.Values{"draft": {strconv.FormatUint(uint64(uid), 10)}}.Encode()
	if cm.confirm != "" {
		target += "&confirm=" + url.QueryEscape(cm.confirm)
	}
	wb.FlashAndGo(w, r, c, target, n)
}

// composing is one POST of the compose form being handled.
type composing struct {
	wb      *room
	c       *core.Ctx
	mb      storage.Mailbox
	drafts  string
	form    composeForm
	uploads []upload
	// confirm is the token of the outside recipients shown for
	// confirmation ("" when there are none to confirm).
	confirm string
}

// back is where a sent message leaves the official: the folder of the
// message answered, else the Inbox.
func (cm *composing) back() string {
	if _, _, folder, ok := parseOrig(cm.form.Orig); ok {
		return pageURL(folder, 1)
	}
	return pageURL(storage.Inbox, 1)
}

// recipients parses To, Cc and Bcc.
func (cm *composing) recipients() (to, cc, bcc []*mail.Address, err error) {
	if to, err = parseAddressInput("To", cm.form.To); err != nil {
		return
	}
	if cc, err = parseAddressInput("Cc", cm.form.Cc); err != nil {
		return
	}
	bcc, err = parseAddressInput("Bcc", cm.form.Bcc)
	return
}

// outsiders are the recipients outside the state's domains.
func (cm *composing) outsiders(lists ...[]*mail.Address) []string {
	var out []string
	for _, l := range lists {
		for _, a := range l {
			if !cm.wb.isStateAddress(a.Address) && !slices.Contains(out, a.Address) {
				out = append(out, a.Address)
			}
		}
	}
	slices.Sort(out)
	return out
}

// outsidersToken ties a confirmation to the exact list of outside
// recipients the official saw.
func outsidersToken(list []string) string {
	if len(list) == 0 {
		return ""
	}
	h := sha256.Sum256([]byte(strings.Join(list, "\n")))
	return hex.EncodeToString(h[:8])
}

// send tries to send the form. done means sent; n says what happened.
func (cm *composing) send(r *http.Request, sentFolder string) (done bool, n *core.Notice) {
	wb, c, ctx := cm.wb, cm.c, r.Context()
	if wb.opts.Send == nil {
		return false, core.ErrorNotice(errSendingOff)
	}
	to, cc, bcc, err := cm.recipients()
	var ae *addressInputError
	if errors.As(err, &ae) {
		return false, &core.Notice{Kind: "error", VI: fmt.Sprintf("Địa chỉ không hợp lệ ở ô %s: «%s».", fieldVI(ae.Field), ae.Value),
			EN: fmt.Sprintf("Not a valid address in %s: “%s”.", ae.Field, ae.Value)}
	}
	rcpts := make([]string, 0, len(to)+len(cc)+len(bcc))
	for _, l := range [][]*mail.Address{to, cc, bcc} {
		for _, a := range l {
			if !slices.Contains(rcpts, a.Address) {
				rcpts = append(rcpts, a.Address)
			}
		}
	}
	switch {
	case len(rcpts) == 0:
		return false, core.ErrorNotice(errNoRecipient)
	case len(rcpts) > maxRecipients:
		return false, core.ErrorNotice(errTooManyRecipients)
	}
	if out := cm.outsiders(to, cc, bcc); len(out) > 0 && outsidersToken(out) != cm.form.ExternalOK {
		cm.confirm = outsidersToken(out)
		return false, &core.Notice{Kind: "info",
			VI: "Thư có người nhận ngoài hệ thống thư công vụ nhà nước: " + strings.Join(out, ", ") + ". Kiểm tra lại rồi bấm Gửi lần nữa để gửi.",
			EN: "Some recipients are outside the state's mail: " + strings.Join(out, ", ") + ". Check them, then press Send again."}
	}
	now := wb.Now()
	m := cm.message(to, cc, bcc, now)
	m.MessageID = newMessageID(c.Acct.Address, now)
	files, err := cm.attachments(ctx, false)
	if err != nil {
		return false, core.ErrorNotice(mailerr.Classify(err))
	}
	m.Attachments = files
	spool, size, err := cm.spool(m)
	if err != nil {
		return false, core.ErrorNotice(mailerr.Classify(err))
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	if size > wb.opts.MaxMessageBytes {
		return false, core.ErrorNotice(wb.errTooBig("Thư"))
	}
	err = wb.opts.Send.Send(ctx, Outgoing{Account: c.Acct, IP: core.ClientIP(r), From: c.Acct.Address, Rcpts: rcpts, Message: spool,
		Sign: cm.form.Sign && wb.canSign(c.Acct)})
	if err != nil {
		wb.Log.Info("web: send refused", "address", c.Acct.Address, "err", err)
		var re *RecipientError
		if errors.As(err, &re) {
			return false, &core.Notice{Kind: "error", VI: "Không gửi được tới " + re.Address + ": " + core.Sentence(re.Err.MessageVI) + " Thư đã được lưu vào Thư nháp.",
				EN: "Not sent to " + re.Address + ": " + core.Sentence(re.Err.Message) + " The message was kept in Drafts."}
		}
		e := mailerr.Classify(err)
		return false, &core.Notice{Kind: "error", VI: "Thư chưa được gửi: " + core.Sentence(e.MessageVI) + " Thư đã được lưu vào Thư nháp.",
			EN: "Not sent: " + core.Sentence(e.Message) + " The message was kept in Drafts."}
	}
	wb.Log.Info("web: mail sent", "address", c.Acct.Address, "recipients", len(rcpts), "size", size)
	n = &core.Notice{Kind: "ok", VI: "Đã gửi thư.", EN: "Message sent."}
	// The Sent copy keeps Bcc (only the official sees it).
	m.withBcc = true
	if err := cm.appendCopy(ctx, m, sentFolder, []string{flagSeen}, now); err != nil {
		wb.Log.Warn("web: saving the sent copy failed", "address", c.Acct.Address, "err", err)
		e := mailerr.Classify(err)
		n = &core.Notice{Kind: "info", VI: "Đã gửi thư, nhưng không lưu được bản sao vào Đã gửi: " + core.Sentence(e.MessageVI),
			EN: "Message sent, but the copy in Sent could not be saved: " + core.Sentence(e.Message)}
	}
	cm.dropOldDraft(ctx)
	cm.markOriginal(ctx)
	return true, n
}

// message is the form as a message (without its attachments).
func (cm *composing) message(to, cc, bcc []*mail.Address, now time.Time) *outMessage {
	f := cm.form
	m := &outMessage{From: &mail.Address{Name: cm.c.Acct.DisplayName, Address: cm.c.Acct.Address},
		To: to, Cc: cc, Bcc: bcc, Subject: f.Subject, Body: f.Body, Date: now.In(core.Vietnam()),
		InReplyTo: cleanMsgID(f.InReplyTo), ComposeID: f.ComposeID, Sign: f.Sign && cm.wb.canSign(cm.c.Acct)}
	if _, _, _, ok := parseOrig(f.Orig); ok {
		m.Orig = f.Orig
	}
	for _, ref := range strings.Fields(f.References) {
		if id := cleanMsgID(ref); id != "" && len(m.References) < maxReferences {
			m.References = append(m.References, id)
		}
	}
	return m
}

// maxReferences bounds the References field (RFC 5322 3.6.4 lets it
// grow; clients trim it too).
const maxReferences = 20

// cleanMsgID keeps a message id that can be written back into a header.
func cleanMsgID(s string) string {
	s = strings.Trim(strings.TrimSpace(s), "<>")
	if s == "" || len(s) > 250 || !isPrintableASCII(s) || strings.ContainsAny(s, " <>\"\\") {
		return ""
	}
	return s
}

// spool writes m to a temporary file and rewinds it.
func (cm *composing) spool(m *outMessage) (*os.File, int64, error) {
	f, err := os.CreateTemp(cm.wb.opts.SpoolDir, "congvu-compose-*")
	if err != nil {
		return nil, 0, err
	}
	if err := m.write(f); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, 0, err
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, 0, err
	}
	return f, size, nil
}

// appendCopy stores m in folder.
func (cm *composing) appendCopy(ctx context.Context, m *outMessage, folder string, flags []string, now time.Time) error {
	f, _, err := cm.spool(m)
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	_, err = cm.mb.Append(ctx, folder, f, flags, now)
	if errors.Is(err, mailerr.ErrNoSuchFolder) {
		if cerr := cm.mb.Create(ctx, folder); cerr == nil {
			f.Seek(0, io.SeekStart)
			_, err = cm.mb.Append(ctx, folder, f, flags, now)
		}
	}
	return err
}

// saveDraft stores the form as the new version of its draft and removes
// the old one. An autosave keeps every carried attachment (the page's
// check boxes still point at them); a save keeps the checked ones.
func (cm *composing) saveDraft(ctx context.Context, autosave bool) (uint32, error) {
	to, _ := parseAddressInput("To", cm.form.To)
	cc, _ := parseAddressInput("Cc", cm.form.Cc)
	bcc, _ := parseAddressInput("Bcc", cm.form.Bcc)
	now := cm.wb.Now()
	m := cm.message(to, cc, bcc, now)
	m.withBcc, m.asDraftCopy = true, true
	m.MessageID = newMessageID(cm.c.Acct.Address, now)
	if to == nil && strings.TrimSpace(cm.form.To) != "" {
		// Keep what was typed, even if it is not an address yet.
		m.To = []*mail.Address{{Name: cleanText(cm.form.To, 500), Address: "chua-hop-le@invalid"}}
	}
	files, err := cm.attachments(ctx, autosave)
	if err != nil {
		return 0, err
	}
	m.Attachments = files
	f, size, err := cm.spool(m)
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if size > cm.wb.opts.MaxMessageBytes+1<<20 {
		return 0, cm.wb.errTooBig("Thư nháp")
	}
	res, err := cm.mb.Append(ctx, cm.drafts, f, []string{flagSeen, `\Draft`}, now)
	if errors.Is(err, mailerr.ErrNoSuchFolder) {
		if cerr := cm.mb.Create(ctx, cm.drafts); cerr == nil {
			f.Seek(0, io.SeekStart)
			res, err = cm.mb.Append(ctx, cm.drafts, f, []string{flagSeen, `\Draft`}, now)
		}
	}
	if err != nil {
		return 0, err
	}
	cm.dropOldDraft(ctx)
	return res.UID, nil
}

// dropOldDraft removes the draft this form was saved as before, if it is
// still this form's (same compose id) and still in Drafts.
func (cm *composing) dropOldDraft(ctx context.Context) {
	uid := cm.form.DraftUID
	if uid == 0 {
		return
	}
	cached, err := cm.mb.Cached(ctx, cm.drafts, uid)
	if err != nil || headerText(cached.Header, composeIDField) != cm.form.ComposeID {
		return
	}
	if _, _, err := cm.mb.SetFlags(ctx, cm.drafts, []uint32{uid}, storage.FlagsAdd, []string{flagDeleted}, 0); err == nil {
		_, err = cm.mb.Expunge(ctx, cm.drafts, []uint32{uid})
		if err != nil {
			cm.wb.Log.Warn("web: removing an old draft failed", "address", cm.c.Acct.Address, "err", err)
		}
	}
}

// markOriginal flags the message answered (\Answered, RFC 9051 2.3.2) or
// forwarded ($Forwarded, RFC 5550 5.9), as Thunderbird shows them.
func (cm *composing) markOriginal(ctx context.Context) {
	kind, uid, folder, ok := parseOrig(cm.form.Orig)
	if !ok {
		return
	}
	flag := flagAnswered
	if kind == "forwarded" {
		flag = "$Forwarded"
	}
	mb := cm.mb
	if isSharedName(folder) {
		// In a unit mailbox the flag is shared: it needs the w right
		// (RFC 4314 §4), which a leader with lrs does not have.
		pl, err := cm.wb.openPlace(ctx, cm.c, folder)
		if err != nil || !pl.can("w") {
			return
		}
		in, ok := pl.inner(folder)
		if !ok {
			return
		}
		mb, folder = pl.mb, in
	}
	mb.SetFlags(ctx, folder, []uint32{uid}, storage.FlagsAdd, []string{flag}, 0)
}

// parseOrig reads "answered:uid:folder" or "forwarded:uid:folder".
func parseOrig(s string) (kind string, uid uint32, folder string, ok bool) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 || (parts[0] != "answered" && parts[0] != "forwarded") {
		return "", 0, "", false
	}
	n, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil || n == 0 {
		return "", 0, "", false
	}
	return parts[0], uint32(n), parts[2], true
}

func fieldVI(f string) string {
	switch f {
	case "To":
		return "Người nhận"
	case "Cc":
		return "Đồng gửi (Cc)"
	case "Bcc":
		return "Gửi ẩn (Bcc)"
	}
	return f
}

// canSign tells whether the official may ask for the unit's signature on
// the compose form: the văn thư (or the unit mailbox itself) of a unit
// with a central signing key. The policy engine decides again at
// submission; this only decides whether the form offers the choice.
func (wb *room) canSign(a *directory.Account) bool {
	if wb.opts.CentralKey == nil || a == nil || a.UnitCode == "" {
		return false
	}
	return (a.Role == directory.RoleClerk || a.Role == directory.RoleUnit) && wb.opts.CentralKey(a.UnitCode, a.Address)
}

// isStateAddress tells whether mail to address stays inside the state's
// mail system (the policy engine's state domains).
func (wb *room) isStateAddress(address string) bool {
	d := directory.Domain(address)
	if wb.opts.IsStateDomain != nil {
		return wb.opts.IsStateDomain(d)
	}
	return strings.HasSuffix(d, ".gov.vn") || d == "gov.vn"
}
