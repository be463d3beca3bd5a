package mail

// Search: GET /mail/search with any of q (anywhere: sender, recipients,
// subject or text), from, to, subject, body, since and until (days the
// message arrived, in Viet Nam, as the list shows them), in one folder
// (folder=, default the Inbox) or in all of them (scope=all). A term typed without
// Vietnamese marks matches text with or without them ("nguyen van an"
// finds "Nguyễn Văn An"); a term with marks matches as typed.
//
// It uses the store's index: dates from the message rows, then the text
// filters (storage.TextFilter, UnaccentedTextFilter) drop every message
// that cannot hold all the terms before anything is read; the rest are
// checked for real, newest first, envelopes from the cache in batches and
// message files only for text terms, until enough are found.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"congvu/internal/mailerr"
	"congvu/sharing"
	"congvu/storage"
	"congvu/web/core"
)

// Bounds of one search.
const (
	maxSearchPages   = 20 // pages of results one query can reach
	maxSearchResults = maxSearchPages * pageSize
	maxSearchChecked = 20000 // candidates checked per folder
	maxTermRunes     = 200
	searchBatch      = 100 // envelopes read in one query
)

// searchQuery is a parsed search form.
type searchQuery struct {
	Q, From, To, Subject, Body string
	Since, Until               string // yyyy-mm-dd as typed
	Folder                     string // "" in all folders
	since, until               time.Time
}

func (q *searchQuery) empty() bool {
	return q.Q == "" && q.From == "" && q.To == "" && q.Subject == "" && q.Body == "" && q.since.IsZero() && q.until.IsZero()
}

func parseSearch(v url.Values) (*searchQuery, error) {
	q := &searchQuery{Folder: v.Get("folder")}
	switch {
	case v.Get("scope") == "all":
		q.Folder = ""
	case q.Folder == "":
		q.Folder = storage.Inbox
	}
	for _, f := range []struct {
		dst  *string
		name string
	}{{&q.Q, "q"}, {&q.From, "from"}, {&q.To, "to"}, {&q.Subject, "subject"}, {&q.Body, "body"}} {
		*f.dst = cleanText(v.Get(f.name), maxTermRunes)
	}
	var err error
	if q.Since = v.Get("since"); q.Since != "" {
		if q.since, err = time.ParseInLocation(time.DateOnly, q.Since, core.Vietnam()); err != nil {
			return nil, errBadRequest.WithMessage("Invalid date", "Ngày không hợp lệ (năm-tháng-ngày)")
		}
	}
	if q.Until = v.Get("until"); q.Until != "" {
		if q.until, err = time.ParseInLocation(time.DateOnly, q.Until, core.Vietnam()); err != nil {
			return nil, errBadRequest.WithMessage("Invalid date", "Ngày không hợp lệ (năm-tháng-ngày)")
		}
		q.until = q.until.AddDate(0, 0, 1) // the whole day
	}
	return q, nil
}

// term is one text criterion, folded the way it is to be matched.
type term struct {
	text       string
	unaccented bool
}

func newTerm(s string) term {
	if s == "" {
		return term{}
	}
	if storage.HasAccents(s) {
		return term{text: storage.FoldText(s)}
	}
	return term{text: storage.Unaccent(s), unaccented: true}
}

func (t term) in(s string) bool {
	if t.unaccented {
		return strings.Contains(storage.Unaccent(s), t.text)
	}
	return strings.Contains(storage.FoldText(s), t.text)
}

func (t term) inText(raw []byte) bool {
	if t.unaccented {
		return storage.ContainsUnaccented(raw, t.text, false)
	}
	return storage.ContainsText(raw, t.text, false)
}

// hit is one message found.
type hit struct {
	pl     *place // the mailbox: one's own or a unit's
	folder string
	use    string // the folder's special use
	info   storage.MessageInfo
	cached *storage.Cached
}

// searcher runs one query in one mailbox.
type searcher struct {
	pl                       *place
	mb                       storage.Mailbox
	q                        *searchQuery
	any, from, to, subj, txt term
	// truncated: a folder had more candidates than were checked.
	truncated bool
}

// terms are the text criteria (every one must hold).
func (s *searcher) terms() []term {
	var out []term
	for _, t := range []term{s.any, s.from, s.to, s.subj, s.txt} {
		if t.text != "" {
			out = append(out, t)
		}
	}
	return out
}

// excluded asks the text filters which messages of folder cannot hold
// every term; nil when the store keeps no filters or no term is long
// enough to say anything.
func (s *searcher) excluded(ctx context.Context, folder string) (map[uint32]bool, error) {
	var plain, bare []string
	for _, t := range s.terms() {
		if t.unaccented {
			bare = append(bare, t.text)
		} else {
			plain = append(plain, t.text)
		}
	}
	out := map[uint32]bool{}
	if tf, ok := s.mb.(storage.TextFilter); ok && len(plain) > 0 {
		ex, err := tf.TextExcluded(ctx, folder, plain)
		if err != nil {
			return nil, err
		}
		out = ex
	}
	if tf, ok := s.mb.(storage.UnaccentedTextFilter); ok && len(bare) > 0 {
		ex, err := tf.TextExcludedUnaccented(ctx, folder, bare)
		if err != nil {
			return nil, err
		}
		for uid := range ex {
			out[uid] = true
		}
	}
	return out, nil
}

// folder searches one folder, newest first, for at most limit hits.
func (s *searcher) folder(ctx context.Context, folder string, limit int) ([]hit, error) {
	msgs, err := s.mb.Messages(ctx, folder)
	if err != nil {
		return nil, err
	}
	ex, err := s.excluded(ctx, folder)
	if err != nil {
		return nil, err
	}
	var hits []hit
	var batch []storage.MessageInfo
	checked := 0
	flush := func() error {
		uids := make([]uint32, len(batch))
		for i, m := range batch {
			uids[i] = m.UID
		}
		cached, err := cachedMany(ctx, s.mb, folder, uids)
		if err != nil {
			return err
		}
		for _, m := range batch {
			c := cached[m.UID]
			if c == nil {
				continue // expunged meanwhile
			}
			ok, err := s.match(ctx, folder, m, c)
			if err != nil {
				return err
			}
			if ok && len(hits) < limit {
				hits = append(hits, hit{pl: s.pl, folder: folder, info: m, cached: c})
			}
		}
		batch = batch[:0]
		return nil
	}
	for i := len(msgs) - 1; i >= 0 && len(hits) < limit; i-- {
		m := msgs[i]
		if ex[m.UID] || !s.q.since.IsZero() && m.InternalDate.Before(s.q.since) || !s.q.until.IsZero() && !m.InternalDate.Before(s.q.until) {
			continue
		}
		if checked++; checked > maxSearchChecked {
			s.truncated = true
			break
		}
		batch = append(batch, m)
		if len(batch) == searchBatch || len(hits)+len(batch) >= limit {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if len(batch) > 0 {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return hits, nil
}

// match checks one candidate: header terms against the cached envelope,
// text terms against the message file.
func (s *searcher) match(ctx context.Context, folder string, m storage.MessageInfo, c *storage.Cached) (bool, error) {
	env := c.Envelope
	if env == nil {
		env = &imap.Envelope{}
	}
	from := addressesText(env.From) + " " + addressesText(env.Sender) + " " + headerText(c.Header, "From")
	to := addressesText(env.To) + " " + addressesText(env.Cc)
	if s.from.text != "" && !s.from.in(from) || s.to.text != "" && !s.to.in(to) || s.subj.text != "" && !s.subj.in(env.Subject) {
		return false, nil
	}
	anyInHeader := s.any.text == "" || s.any.in(from) || s.any.in(to) || s.any.in(env.Subject)
	if s.txt.text == "" && anyInHeader {
		return true, nil
	}
	rc, err := s.mb.Open(ctx, folder, m.UID)
	if errors.Is(err, storage.ErrNoSuchMessage) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	raw, err := readAllLimited(rc)
	rc.Close()
	if err != nil {
		return false, err
	}
	if s.txt.text != "" && !s.txt.inText(raw) {
		return false, nil
	}
	return anyInHeader || s.any.inText(raw), nil
}

// maxSearchRead bounds the bytes of one message read for a text term
// (what storage searches of a part, too).
const maxSearchRead = 64 << 20

func readAllLimited(r io.Reader) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, maxSearchRead))
}

// addressesText is names and addresses, for matching.
func addressesText(list []imap.Address) string {
	var b strings.Builder
	for _, a := range list {
		b.WriteString(a.Name + " " + a.Addr() + " ")
	}
	return b.String()
}

type searchData struct {
	listData
	Query     *searchQuery
	AllScope  bool
	Truncated bool
	Found     int
	// More: there are matches after this page (not counted).
	More bool
}

// mailSearch answers the search form.
func (wb *room) mailSearch(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
	q, err := parseSearch(r.URL.Query())
	if err != nil {
		wb.mailFail(w, c, "search", err)
		return
	}
	page := 1
	if p, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && p > 1 {
		page = min(p, maxSearchPages)
	}
	// A page needs only the matches up to it, and one more to know there
	// is a next page: the first page of a broad query stops early.
	need := min(page*pageSize+1, maxSearchResults)
	ctx := r.Context()
	// One folder of a unit's shared mailbox, or one's own folders.
	pl, err := wb.openPlace(ctx, c, q.Folder)
	if err != nil {
		wb.mailFail(w, c, "search", err)
		return
	}
	mb := pl.mb
	folders, err := mb.Folders(ctx)
	if err != nil {
		wb.mailFail(w, c, "search", err)
		return
	}
	var scope []storage.FolderStatus
	if q.Folder == "" {
		scope = folders
	} else if st, ok := pl.findFolder(folders, q.Folder); ok {
		scope = []storage.FolderStatus{*st}
	}
	if len(scope) == 0 {
		wb.mailFail(w, c, "search", mailerr.ErrNoSuchFolder)
		return
	}
	d := searchData{Query: q, AllScope: q.Folder == ""}
	cur := pl.view(scope[0])
	if d.AllScope {
		cur = folderView{Label: "Mọi thư mục", LabelEN: "All folders"}
	} else {
		q.Folder = cur.Name
		cur.Current = true
	}
	d.Folders, d.Folder = wb.sideFolders(ctx, c, pl, folders, q.Folder), cur
	d.QueryFolder = q.Folder
	var hits []hit
	if !q.empty() {
		// All folders: one's own, then those of every unit mailbox the
		// official may read (r), each with the rights package sharing gives.
		areas := []searchArea{{pl, scope}}
		if d.AllScope {
			areas = append(areas, wb.sharedAreas(ctx, c)...)
		}
		truncated := false
		for _, a := range areas {
			s := &searcher{pl: a.pl, mb: a.pl.mb, q: q, any: newTerm(q.Q), from: newTerm(q.From), to: newTerm(q.To), subj: newTerm(q.Subject), txt: newTerm(q.Body)}
			for _, f := range a.scope {
				found, err := s.folder(ctx, f.Name, need)
				if err != nil {
					wb.mailFail(w, c, "search", err)
					return
				}
				for i := range found {
					found[i].use = f.SpecialUse
				}
				hits = append(hits, found...)
			}
			truncated = truncated || s.truncated
		}
		slices.SortStableFunc(hits, func(a, b hit) int { return b.info.InternalDate.Compare(a.info.InternalDate) })
		if len(hits) > need {
			hits = hits[:need]
		}
		d.Truncated = truncated || len(hits) == maxSearchResults
	}
	more := len(hits) > page*pageSize && page < maxSearchPages
	if more {
		hits = hits[:page*pageSize]
	}
	d.Found, d.Total, d.More = len(hits), len(hits), more
	pages := max(1, (len(hits)+pageSize-1)/pageSize)
	page = min(page, pages)
	d.Page, d.Pages = page, pages
	lo, hi := (page-1)*pageSize, min(page*pageSize, len(hits))
	now := wb.Now()
	for _, h := range hits[lo:hi] {
		row := newListRow(h.info, h.cached, h.pl.web(h.folder), 1, false, now, func(a []imap.Address) []imap.Address { return wb.named(ctx, a) })
		if d.AllScope {
			row.FolderLabel = h.pl.folderLabel(h.folder, h.use)
		}
		d.Rows = append(d.Rows, row)
	}
	if len(hits) > 0 {
		d.First, d.Last = lo+1, hi
	}
	link := func(p int) string {
		v := r.URL.Query()
		v.Set("page", strconv.Itoa(p))
		return "/mail/search?" + v.Encode()
	}
	if page > 1 {
		d.Prev, d.FirstP = link(page-1), link(1)
	}
	if more {
		d.Next = link(page + 1)
	}
	wb.Render(w, http.StatusOK, tmpl["search"], wb.Page(c, "Tìm thư", "Search", d))
}

func specialUseOf(folders []storage.FolderStatus, name string) string {
	for _, f := range folders {
		if f.Name == name {
			return f.SpecialUse
		}
	}
	return ""
}

// searchArea is one mailbox a search looks in, and its folders to search.
type searchArea struct {
	pl    *place
	scope []storage.FolderStatus
}

// sharedAreas opens every unit mailbox the official may read (r), with
// all its folders; one that cannot be read now is left out of the search
// (and logged).
func (wb *room) sharedAreas(ctx context.Context, c *core.Ctx) []searchArea {
	boxes, err := wb.sharedBoxes(ctx, c)
	if err != nil {
		wb.Log.Warn("web: shared mailboxes unavailable for search", "address", c.Acct.Address, "err", err)
		return nil
	}
	var out []searchArea
	for i := range boxes {
		b := &boxes[i]
		if !sharing.Has(b.Rights, "r") {
			continue
		}
		mb, err := wb.openShared(ctx, c, b.Owner)
		var list []storage.FolderStatus
		if err == nil {
			list, err = mb.Folders(ctx)
		}
		if err != nil {
			wb.Log.Warn("web: shared mailbox unavailable for search", "address", c.Acct.Address, "box", b.Owner, "err", err)
			continue
		}
		out = append(out, searchArea{&place{mb: mb, box: b, rights: b.Rights}, list})
	}
	return out
}
