// Package mail is the webmail room of the web: folders, a folder's
// messages newest first in pages, one message (its text, or its HTML sanitised and shown in a sandboxed
// frame), attachment downloads, and flag and move actions. Everything
// goes through storage.Mailbox, the interface the IMAP server reads too,
// so a message read here is \Seen in Thunderbird a moment later.
//
// A list page must stay fast on a 100,000-message folder: it pages by UID
// over Mailbox.Messages (index rows, kept in the store's listing cache)
// and reads envelopes only for the rows it shows, in one CachedMany query.
package mail

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"congvu/internal/mailerr"
	"congvu/smime"
	"congvu/storage"
	"congvu/web/core"
)

// MailStore is what the webmail needs of the mail store (storage.Store
// has it).
type MailStore interface {
	Mailbox(ctx context.Context, user string, quotaBytes int64) (storage.Mailbox, error)
}

// IMAP system flags as storage keeps them (RFC 9051 2.3.2).
const (
	flagSeen     = `\Seen`
	flagFlagged  = `\Flagged`
	flagDeleted  = `\Deleted`
	flagAnswered = `\Answered`
)

// pageSize is the number of messages on one list page.
const pageSize = 50

// errNoMailStore answers the mail pages of a web started without a store.
var errNoMailStore = &mailerr.Error{SMTPCode: 451, Enhanced: [3]int{4, 3, 0}, Temporary: true, HTTPStatus: http.StatusServiceUnavailable,
	Message: "Mail is not available on this server", MessageVI: "Máy chủ này chưa bật hộp thư trên web"}

// errBadRequest is a malformed query or form (a hand-edited URL).
var errBadRequest = &mailerr.Error{SMTPCode: 501, Enhanced: [3]int{5, 5, 4}, HTTPStatus: http.StatusBadRequest,
	Message: "Invalid request", MessageVI: "Yêu cầu không hợp lệ"}

// Options configures the webmail.
type Options struct {
	// Mail is the mail store; nil shows that mail is not available.
	Mail MailStore
	// Send is the submission path; nil shows that sending is not available.
	Send Sender
	// IsStateDomain tells whether a domain is inside the state's mail
	// (the policy engine's state domains); nil: gov.vn and its subdomains.
	IsStateDomain func(domain string) bool
	// MaxMessageBytes is the largest message that can be sent, attachments
	// included (smtp.max_message_bytes); default 30 MiB.
	MaxMessageBytes int64
	// SpoolDir holds uploads and messages being written; default the
	// system's temporary directory.
	SpoolDir string
	// Contacts suggests recipients and names state senders; nil: none.
	Contacts Contacts
	// Signatures reads the signature results stamped into a stored
	// header (smime.FromHeader with inbound.authserv_id); nil shows no
	// signature badge.
	Signatures func(header []byte) []smime.Result
	// AuthservID is this server's name in the Authentication-Results it
	// writes at delivery (inbound.authserv_id); "" shows no DMARC banner.
	AuthservID string
	// CentralKey reports whether a unit has a key for centralised signing
	// ([signing.central]) that may sign mail from address (the unit
	// certificate names the unit mailbox); nil: no unit has one. The
	// compose form offers "Ký số bằng chứng thư của đơn vị" to the văn thư
	// (or the unit mailbox) who can use it.
	CentralKey func(unitCode, address string) bool
	// Sharing lists the unit mailboxes (hộp thư văn thư) an official may
	// open, with their rights (sharing.Service); SharedMail opens them
	// (the store). Either nil: the webmail shows one's own mailbox only.
	Sharing    SharedBoxes
	SharedMail SharedStore
}

// room is the webmail on a site.
type room struct {
	*core.Site
	opts Options
}

// Register adds the webmail pages to site.
func Register(site *core.Site, opts Options) {
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = 30 << 20
	}
	if opts.SpoolDir == "" {
		opts.SpoolDir = os.TempDir()
	}
	wb := &room{Site: site, opts: opts}
	m := site
	m.HandleFunc("GET /mail/search", wb.authed(wb.mailSearch))
	m.HandleFunc("GET /mail/contacts", wb.authed(wb.contacts))
	m.HandleFunc("GET /mail/folders", wb.authed(wb.foldersPage))
	m.HandleFunc("POST /mail/folders", wb.authed(wb.foldersPost))
	m.HandleFunc("POST /mail/empty", wb.authed(wb.emptyFolder))
	m.HandleFunc("GET /mail/compose", wb.authed(wb.composeGet))
	m.HandleFunc("POST /mail/compose", wb.authed(wb.composePost))
	// The form with its files: the message limit, plus the form's fields.
	site.LimitBody("/mail/compose", opts.MaxMessageBytes+4<<20)
	m.HandleFunc("GET /mail", wb.authed(wb.mailList))
	m.HandleFunc("GET /mail/{$}", wb.authed(wb.mailList))
	m.HandleFunc("GET /mail/msg", wb.authed(wb.mailView))
	m.HandleFunc("GET /mail/frame", wb.authed(wb.mailFrame))
	m.HandleFunc("GET /mail/part", wb.authed(wb.mailPart))
	m.HandleFunc("POST /mail/action", wb.authed(wb.mailAction))
}

// openMailbox opens the signed-in official's own mailbox: the only one a
// web session ever reaches, whatever the URL says.
func (wb *room) openMailbox(ctx context.Context, c *core.Ctx) (storage.Mailbox, error) {
	if wb.opts.Mail == nil {
		return nil, errNoMailStore
	}
	return wb.opts.Mail.Mailbox(ctx, c.Acct.Address, c.Acct.QuotaBytes)
}

// mailFail answers a failed mail request with a readable page, keeping the
// official signed in and the folders one click away.
func (wb *room) mailFail(w http.ResponseWriter, c *core.Ctx, what string, err error) {
	e := mailerr.Classify(err)
	code := e.HTTP()
	if code >= 500 || mailerr.As(err) == nil {
		wb.Log.Warn("web: mail "+what+" failed", "address", c.Acct.Address, "err", err)
	}
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "30")
	}
	p := wb.Page(c, "Thông báo", "Notice", nil)
	p.Notice = core.ErrorNotice(e)
	wb.Render(w, code, tmpl["mailerror"], p)
}

// folderView is one folder in the side list.
type folderView struct {
	Name           string // IMAP name
	Label, LabelEN string
	SpecialUse     string
	Messages       uint32
	Unseen         uint32
	Href           string
	Current        bool
	// Group heads a shared mailbox's folders in the side list.
	Group string
}

// specialFolders gives the order and the names of the special-use folders
// (RFC 6154), INBOX first.
var specialFolders = []struct{ use, vi, en string }{
	{"INBOX", "Hộp thư đến", "Inbox"},
	{`\Drafts`, "Thư nháp", "Drafts"},
	{`\Sent`, "Đã gửi", "Sent"},
	{`\Archive`, "Lưu trữ", "Archive"},
	{`\Junk`, "Thư rác", "Junk"},
	{`\Trash`, "Thùng rác", "Trash"},
}

func specialRank(use string) int {
	for i, s := range specialFolders {
		if s.use == use {
			return i
		}
	}
	return len(specialFolders)
}

func folderUse(st storage.FolderStatus) string {
	if strings.EqualFold(st.Name, storage.Inbox) {
		return "INBOX"
	}
	return st.SpecialUse
}

func newFolderView(st storage.FolderStatus) folderView {
	f := folderView{Name: st.Name, Label: st.Name, SpecialUse: folderUse(st), Messages: st.Messages, Unseen: st.Unseen,
		Href: "/mail?" + url.Values{"folder": {st.Name}}.Encode()}
	if r := specialRank(f.SpecialUse); r < len(specialFolders) {
		f.Label, f.LabelEN = specialFolders[r].vi, specialFolders[r].en
	}
	return f
}

// folderViews lists the folders: special-use ones in a fixed order, then
// the official's own folders by name.
func folderViews(list []storage.FolderStatus, current string) []folderView {
	out := make([]folderView, 0, len(list))
	for _, st := range list {
		f := newFolderView(st)
		f.Current = f.Name == current
		out = append(out, f)
	}
	slices.SortStableFunc(out, func(a, b folderView) int {
		if ra, rb := specialRank(a.SpecialUse), specialRank(b.SpecialUse); ra != rb {
			return ra - rb
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// specialFolder finds the folder with a special use, e.g. `\Trash`.
func specialFolder(list []storage.FolderStatus, use string) (string, bool) {
	for _, st := range list {
		if folderUse(st) == use {
			return st.Name, true
		}
	}
	return "", false
}

// listRow is one message in the list.
type listRow struct {
	UID                         uint32
	Href                        string
	Who, WhoTitle               string
	Subject                     string
	Date, DateTitle             string
	Size                        string
	Unread, Flagged, Attachment bool
	Answered                    bool
	FolderLabel                 string // search in all folders: where it is
}

type listData struct {
	Folders         []folderView
	Folder          folderView
	Rows            []listRow
	ShowTo          bool // Sent and Drafts show the recipients
	Page, Pages     int
	First, Last     int
	Total           int
	Prev, Next      string
	FirstP, LastP   string
	InTrash, InJunk bool
	InArchive       bool
	QueryPage       string // page number carried by the action form
	QueryFolder     string
	// Targets are the folders messages can be moved or copied to.
	Targets []folderView
	Quota   *quotaView
	Can     canView
	Shared  bool // a unit mailbox's folder
}

// canView is what the official's rights allow on the folder shown; the
// buttons they do not allow are not offered (and refused if sent).
type canView struct {
	Seen, Flag, Move, Copy, Delete bool
	// MoveOut: moving from a unit mailbox into one's own folders (t, e).
	MoveOut bool
	// Empty: emptying the folder for good (Trash, Junk: t, e).
	Empty bool
}

func newCanView(p *place, inTrash bool) canView {
	return canView{Seen: p.can(actionRights("read", inTrash)), Flag: p.can(actionRights("flag", inTrash)),
		Move: p.can(actionRights("move", inTrash)), Copy: p.can(actionRights("copy", inTrash)),
		Delete: p.can(actionRights("delete", inTrash)), MoveOut: p.box != nil && p.can("rte"), Empty: p.can("te")}
}

// pageURL is the list page p of folder.
func pageURL(folder string, p int) string {
	v := url.Values{"folder": {folder}}
	if p > 1 {
		v.Set("page", strconv.Itoa(p))
	}
	return "/mail?" + v.Encode()
}

// folderParam is the folder of a request; INBOX when absent.
func folderParam(v string) string {
	if v == "" {
		return storage.Inbox
	}
	return v
}

// pageBounds returns the index range [lo, hi) of ascending-UID messages
// shown on page p (1 = newest) of n messages, and the page after clamping
// to the last one.
func pageBounds(n, p int) (lo, hi, page, pages int) {
	pages = max(1, (n+pageSize-1)/pageSize)
	page = min(max(p, 1), pages)
	hi = n - (page-1)*pageSize
	lo = max(0, hi-pageSize)
	return lo, hi, page, pages
}

func (wb *room) mailList(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
	q := r.URL.Query()
	folder := folderParam(q.Get("folder"))
	page := 1
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			wb.mailFail(w, c, "list", errBadRequest.WithMessage("Invalid page number", "Số trang không hợp lệ"))
			return
		}
		page = n
	}
	ctx := r.Context()
	pl, err := wb.openPlace(ctx, c, folder)
	if err != nil {
		wb.mailFail(w, c, "open", err)
		return
	}
	mb := pl.mb
	folders, err := mb.Folders(ctx)
	if err != nil {
		wb.mailFail(w, c, "folders", err)
		return
	}
	st, ok := pl.findFolder(folders, folder)
	if !ok {
		wb.mailFail(w, c, "list", mailerr.ErrNoSuchFolder)
		return
	}
	cur := pl.view(*st)
	msgs, err := mb.Messages(ctx, st.Name)
	if err != nil {
		wb.mailFail(w, c, "list", err)
		return
	}
	lo, hi, page, pages := pageBounds(len(msgs), page)
	shown := msgs[lo:hi]
	uids := make([]uint32, len(shown))
	for i, m := range shown {
		uids[i] = m.UID
	}
	cached, err := cachedMany(ctx, mb, st.Name, uids)
	if err != nil {
		wb.mailFail(w, c, "list", err)
		return
	}
	cur.Current = true
	d := listData{Folders: wb.sideFolders(ctx, c, pl, folders, cur.Name), Folder: cur, Page: page, Pages: pages, Total: len(msgs),
		ShowTo:  cur.SpecialUse == `\Sent` || cur.SpecialUse == `\Drafts`,
		InTrash: cur.SpecialUse == `\Trash`, InJunk: cur.SpecialUse == `\Junk`, InArchive: cur.SpecialUse == `\Archive`,
		QueryPage: strconv.Itoa(page), QueryFolder: cur.Name}
	if len(msgs) > 0 {
		d.First, d.Last = len(msgs)-hi+1, len(msgs)-lo
	}
	if page > 1 {
		d.Prev, d.FirstP = pageURL(cur.Name, page-1), pageURL(cur.Name, 1)
	}
	if page < pages {
		d.Next, d.LastP = pageURL(cur.Name, page+1), pageURL(cur.Name, pages)
	}
	d.Targets = wb.targetsOf(ctx, c, pl, folders, cur.Name)
	d.Can, d.Shared = newCanView(pl, d.InTrash), pl.box != nil
	if pl.box == nil {
		d.Quota = wb.quota(ctx, mb) // the quota beside the list is one's own
	}
	names := func(a []imap.Address) []imap.Address { return wb.named(ctx, a) }
	now := wb.Now()
	for i := len(shown) - 1; i >= 0; i-- { // newest first
		d.Rows = append(d.Rows, newListRow(shown[i], cached[shown[i].UID], cur.Name, page, d.ShowTo, now, names))
	}
	title := cur.Label
	p := wb.Page(c, title, cur.LabelEN, d)
	p.Scripts = []string{"/static/list.js"}
	wb.Render(w, http.StatusOK, tmpl["maillist"], p)
}

// cachedMany reads the cached envelopes of uids in one query when the
// mailbox can; one by one otherwise.
func cachedMany(ctx context.Context, mb storage.Mailbox, folder string, uids []uint32) (map[uint32]*storage.Cached, error) {
	if cl, ok := mb.(storage.CachedLister); ok {
		return cl.CachedMany(ctx, folder, uids, false)
	}
	out := make(map[uint32]*storage.Cached, len(uids))
	for _, uid := range uids {
		c, err := mb.Cached(ctx, folder, uid)
		if errors.Is(err, storage.ErrNoSuchMessage) {
			continue // expunged meanwhile
		}
		if err != nil {
			return nil, err
		}
		out[uid] = c
	}
	return out, nil
}

func msgURL(folder string, uid uint32, page int) string {
	v := url.Values{"folder": {folder}, "uid": {strconv.FormatUint(uint64(uid), 10)}}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	return "/mail/msg?" + v.Encode()
}

// newListRow is one row of the list; names (nil: none) replaces the
// names of state addresses with the directory's.
func newListRow(m storage.MessageInfo, c *storage.Cached, folder string, page int, showTo bool, now time.Time,
	names func([]imap.Address) []imap.Address) listRow {
	row := listRow{UID: m.UID, Href: msgURL(folder, m.UID, page), Size: formatSize(m.Size),
		Unread: !slices.Contains(m.Flags, flagSeen), Flagged: slices.Contains(m.Flags, flagFlagged),
		Answered: slices.Contains(m.Flags, flagAnswered)}
	row.Date, row.DateTitle = listDate(m.InternalDate, now), core.FormatTime(m.InternalDate)
	var env *imap.Envelope
	if c != nil {
		env = c.Envelope
		row.Attachment = hasAttachment(c.BodyStructure)
	}
	if env == nil {
		env = &imap.Envelope{}
	}
	row.Subject = cleanText(env.Subject, maxSubjectRunes)
	if row.Subject == "" {
		row.Subject = "(không có tiêu đề)"
	}
	addrs, field := env.From, "From"
	if showTo {
		addrs, field = env.To, "To"
	}
	if len(addrs) == 0 && c != nil {
		// An address list go-imap could not parse: show the decoded field.
		row.Who = cleanText(headerText(c.Header, field), maxShownNameRunes)
	} else {
		if names != nil {
			addrs = names(addrs)
		}
		row.Who, row.WhoTitle = whoSummary(addrs)
	}
	if row.Who == "" {
		row.Who = "(không rõ)"
	}
	return row
}

// whoSummary is how the list shows senders or recipients: names (or
// addresses), the first two and a count of the rest.
func whoSummary(addrs []imap.Address) (show, title string) {
	var names, full []string
	for _, a := range addrs {
		full = append(full, addressText(a))
		if len(names) < 2 {
			n := cleanText(a.Name, maxShownNameRunes)
			if n == "" {
				n = a.Addr()
			}
			names = append(names, n)
		}
	}
	show = strings.Join(names, ", ")
	if len(addrs) > 2 {
		show += " +" + strconv.Itoa(len(addrs)-2)
	}
	return show, strings.Join(full, ", ")
}

// addressText is "Name <address>", or the address alone.
func addressText(a imap.Address) string {
	n := cleanText(a.Name, maxShownNameRunes)
	if n == "" {
		return a.Addr()
	}
	return n + " <" + a.Addr() + ">"
}

// listDate shows today's messages by their time, older ones by their day,
// in Viet Nam.
func listDate(t, now time.Time) string {
	if t.IsZero() {
		return "—"
	}
	t, now = t.In(core.Vietnam()), now.In(core.Vietnam())
	if t.Year() == now.Year() && t.YearDay() == now.YearDay() {
		return t.Format("15:04")
	}
	return t.Format("02/01/2006")
}

// formatSize writes a size the Vietnamese way (decimal comma).
func formatSize(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1000<<10:
		return strconv.FormatInt((n+1023)>>10, 10) + " KB"
	case n < 1<<30:
		return decimal(float64(n)/(1<<20)) + " MB"
	}
	return decimal(float64(n)/(1<<30)) + " GB"
}

// decimal writes x with one decimal, a comma, and no ",0".
func decimal(x float64) string {
	s := strconv.FormatFloat(x, 'f', 1, 64)
	return strings.Replace(strings.TrimSuffix(s, ".0"), ".", ",", 1)
}

// hasAttachment tells from the cached body structure whether the list
// marks a message as having attachments: a part that is an attachment by
// its disposition, or any part with a file name that is not an inline
// image of an HTML message.
func hasAttachment(bs imap.BodyStructure) bool {
	found := false
	if bs == nil {
		return false
	}
	bs.Walk(func(path []int, part imap.BodyStructure) bool {
		sp, ok := part.(*imap.BodyStructureSinglePart)
		if !ok {
			return true
		}
		disp := sp.Disposition()
		switch {
		case disp != nil && strings.EqualFold(disp.Value, "attachment"):
			found = true
		case disp != nil && strings.EqualFold(disp.Value, "inline"):
		case sp.Filename() != "" || sp.Params["name"] != "":
			found = true
		case sp.MessageRFC822 != nil:
			found = true
		}
		return !found
	})
	return found
}

// moveTargets are the folders other than current.
func moveTargets(folders []folderView, current string) []folderView {
	var out []folderView
	for _, f := range folders {
		if f.Name != current {
			out = append(out, f)
		}
	}
	return out
}

// named replaces the display names of state addresses with the
// directory's, so that a message cannot claim a colleague's name.
func (wb *room) named(ctx context.Context, addrs []imap.Address) []imap.Address {
	if wb.opts.Contacts == nil {
		return addrs
	}
	out := addrs
	for i, a := range addrs {
		if n := wb.directoryName(ctx, a.Addr()); n != "" && n != a.Name {
			if &out[0] == &addrs[0] {
				out = slices.Clone(addrs)
			}
			out[i].Name = n
		}
	}
	return out
}

// quotaView is the mailbox's use of its quota, shown beside the folders.
type quotaView struct {
	Used, Limit string
	Percent     int
	Warn        bool // 90 % or more
}

// quota reads the mailbox's quota; nil when unknown or unlimited.
func (wb *room) quota(ctx context.Context, mb storage.Mailbox) *quotaView {
	used, limit, err := mb.Quota(ctx)
	if err != nil || limit <= 0 {
		return nil
	}
	pct := int(used * 100 / limit)
	return &quotaView{Used: formatSize(used), Limit: formatSize(limit), Percent: min(pct, 100), Warn: pct >= 90}
}
