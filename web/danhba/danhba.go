// Package danhba is the published danh bạ (directory of officials): a public page at /danhba
// to search and browse the province's units and officials, and exports of a
// unit or the whole province at /danhba.csv, /danhba.vcf and /danhba.ldif.
// Only public attributes are ever shown or exported: name, title, unit,
// address and phone. State, quota, role and password data never leave here.
package danhba

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"congvu/addressbook"
	"congvu/directory"
	"congvu/directory/addr"
	"congvu/internal/mailerr"
)

// Options tunes the published directory.
type Options struct {
	// PageSize is the number of people per page; default 50.
	PageSize int
	// Logger receives directory failures; default discards.
	Logger *slog.Logger
	// Now is the clock, for tests; default time.Now.
	Now func() time.Time
	// AliasDomains lists the old domains of merged provinces and the
	// domain each delivers to (orgdb.DB.DomainAliases, the one list the
	// address book and discovery share); nil lists none.
	AliasDomains func(ctx context.Context) ([]AliasDomain, error)
}

// AliasDomain is a merged province's old domain and the one mail to it
// is delivered to.
type AliasDomain struct{ Old, New string }

// maxQueryRunes bounds the work one search does.
const maxQueryRunes = 200

// New returns the handler for GET /danhba, /danhba.csv, /danhba.vcf,
// /danhba.ldif and /danhba.cer (one official's certificate). Mount it on
// each of those paths. book is the one cached snapshot of the published
// directory that the LDAP listener and CardDAV serve too, with the
// publishing controls applied (package addressbook): the page and its
// exports follow a change at once, and `congvu reload` forgets it there.
func New(book *addressbook.Book, opts Options) *Directory {
	if opts.PageSize <= 0 {
		opts.PageSize = 50
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Directory{book: book, opts: opts}
}

// Directory is the published danh bạ: its pages and exports (ServeHTTP)
// and, for the webmail, recipient suggestions (Suggest).
type Directory struct {
	book *addressbook.Book
	opts Options

	// mu guards the page view derived from the book's snapshot, rebuilt
	// only when the book hands out a new snapshot.
	mu   sync.Mutex
	src  *addressbook.Snapshot
	snap *snapshot
}

// entry is one listed mailbox with only its public attributes.
type entry struct {
	Name, Title, Unit, UnitCode, Address, Phone string
	IsUnit                                      bool     // the unit's shared mailbox
	IsGroup                                     bool     // a distribution list
	words                                       []string // of name, title and unit name
	nameWords                                   int      // words[:nameWords] are the name's
	folded                                      string   // folded address

	Cert        []byte // the published S/MIME certificate (DER), nil when none
	CertHref    string // where the page offers it for download
	CertExpired bool
}

// snapshot is the page view of one addressbook snapshot. It is
// immutable once built and shared by concurrent requests.
type snapshot struct {
	*directory.Tree
	byAddress map[string]int // index into entries
	entries   []entry        // in unit tree order, unit mailbox first
}

func (d *Directory) snapshot(ctx context.Context) (*snapshot, error) {
	src, err := d.book.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if src != d.src {
		d.src, d.snap = src, view(src, d.opts.Now())
	}
	return d.snap, nil
}

// view derives the page's entries (search words, certificate links)
// from an address-book snapshot, keeping its order.
func view(src *addressbook.Snapshot, now time.Time) *snapshot {
	s := &snapshot{Tree: src.Tree, byAddress: make(map[string]int, len(src.Entries)), entries: make([]entry, 0, len(src.Entries))}
	for _, a := range src.Entries {
		e := entry{Name: a.Name, Title: a.Title, Unit: a.Unit, UnitCode: a.UnitCode, Address: a.Address,
			Phone: a.Phone, IsUnit: a.IsUnit, IsGroup: a.IsGroup}
		e.words = words(e.Name)
		e.nameWords = len(e.words)
		e.words = append(e.words, words(e.Title+" "+e.Unit)...)
		e.folded = addr.Fold(e.Address)
		e.attachCertificate(a.Certificate, now)
		s.byAddress[e.Address] = len(s.entries)
		s.entries = append(s.entries, e)
	}
	return s
}

// words folds s (no diacritics, lower case) and splits it into words.
func words(s string) []string {
	return strings.FieldsFunc(addr.Fold(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// filter returns the entries in unit's subtree (all when unit is empty)
// that match every word of q: a word matches when it starts a word of the
// name, title or unit name, or occurs in the address. Matching ignores
// diacritics and case: "nguyen van an" finds "Nguyễn Văn An". People whose
// name alone matches come first ("van" is also the title "Văn thư").
func (s *snapshot) filter(unit, q string) []entry {
	var in map[string]bool
	if unit != "" {
		in = s.SubtreeSet(unit)
	}
	terms := words(q)
	var byName, other []entry
	for _, e := range s.entries {
		if in != nil && !in[e.UnitCode] {
			continue
		}
		if matches(e.words[:e.nameWords], "", terms) {
			byName = append(byName, e)
		} else if matches(e.words, e.folded, terms) {
			other = append(other, e)
		}
	}
	return append(byName, other...)
}

// matches tells whether every term starts one of words or occurs in address.
func matches(words []string, address string, terms []string) bool {
	for _, t := range terms {
		ok := address != "" && strings.Contains(address, t)
		for _, w := range words {
			if ok {
				break
			}
			ok = strings.HasPrefix(w, t)
		}
		if !ok {
			return false
		}
	}
	return true
}

// request is the parsed query of every danh bạ route.
type request struct {
	Q, Unit string
	Page    int
}

func parseRequest(r *http.Request) (request, error) {
	v := r.URL.Query()
	q := strings.TrimSpace(v.Get("q"))
	if rs := []rune(q); len(rs) > maxQueryRunes {
		q = string(rs[:maxQueryRunes])
	}
	req := request{Q: q, Unit: strings.TrimSpace(v.Get("unit")), Page: 1}
	if p := v.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return req, errors.New("bad page")
		}
		req.Page = n
	}
	return req, nil
}

// SetSecurityHeaders sets the headers of the public pages.
func SetSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

func (d *Directory) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	SetSecurityHeaders(w.Header())
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		d.message(w, http.StatusMethodNotAllowed, "Phương thức không được hỗ trợ.", "Method not allowed.")
		return
	}
	var format string
	switch {
	case strings.HasSuffix(r.URL.Path, "/danhba"):
	case strings.HasSuffix(r.URL.Path, "/danhba.csv"):
		format = "csv"
	case strings.HasSuffix(r.URL.Path, "/danhba.vcf"):
		format = "vcf"
	case strings.HasSuffix(r.URL.Path, "/danhba.ldif"):
		format = "ldif"
	case strings.HasSuffix(r.URL.Path, "/danhba.cer"):
		format = "cer"
	default:
		d.message(w, http.StatusNotFound, "Không tìm thấy trang.", "Page not found.")
		return
	}
	req, err := parseRequest(r)
	if err != nil {
		d.message(w, http.StatusBadRequest, "Số trang không hợp lệ.", "Invalid page number.")
		return
	}
	snap, err := d.snapshot(r.Context())
	if err != nil {
		// Never internal text: only the classified, user-readable message.
		e := mailerr.Classify(err)
		code := http.StatusInternalServerError
		if e.Temporary {
			code = http.StatusServiceUnavailable
			w.Header().Set("Retry-After", "30")
		}
		d.message(w, code, e.MessageVI+".", e.Message+".")
		return
	}
	if req.Unit != "" {
		if _, ok := snap.Units[req.Unit]; !ok {
			d.message(w, http.StatusNotFound, "Không có đơn vị này trong danh bạ.", "No such unit in the directory.")
			return
		}
	}
	if format == "cer" {
		serveCertificate(w, r, snap, d)
		return
	}
	list := snap.filter(req.Unit, req.Q)
	if format == "" {
		d.page(w, snap, req, list)
		return
	}
	export(w, snap, req, list, format)
}

// crumb is a link in the unit path or the sub-unit list.
type crumb struct{ Code, Name, Href string }

type pageLink struct {
	N       int
	Href    string
	Current bool
}

func (s *snapshot) link(unit, q string, page int) string {
	v := url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	if unit != "" {
		v.Set("unit", unit)
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return "danhba"
	}
	return "danhba?" + v.Encode()
}

func (d *Directory) page(w http.ResponseWriter, s *snapshot, req request, list []entry) {
	size := d.opts.PageSize
	pages := max(1, (len(list)+size-1)/size)
	req.Page = min(req.Page, pages) // clamp: a stale link still shows the last page
	lo, hi := (req.Page-1)*size, min(req.Page*size, len(list))
	data := struct {
		Q, Unit, UnitName, UnitAddress string
		Path, Sub                      []crumb
		Entries                        []entry
		Total, From, To, Page, Pages   int
		PageLinks                      []pageLink
		Prev, Next                     string
		CSV, VCF, LDIF                 string
		Aliases                        []AliasDomain
	}{Q: req.Q, Unit: req.Unit, Entries: list[lo:hi], Total: len(list), From: lo + 1, To: hi,
		Page: req.Page, Pages: pages}
	if d.opts.AliasDomains != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if list, err := d.opts.AliasDomains(ctx); err == nil {
			data.Aliases = list
		} else {
			d.opts.Logger.Warn("danhba: reading domain aliases", "err", err)
		}
		cancel()
	}
	children := s.Roots
	if req.Unit != "" {
		u := s.Units[req.Unit]
		data.UnitName, data.UnitAddress = u.Name, u.Address
		for _, uc := range s.Path(req.Unit) {
			data.Path = append(data.Path, crumb{uc.Code, uc.Name, s.link(uc.Code, "", 1)})
		}
		children = s.Children[req.Unit]
	}
	for _, c := range children {
		data.Sub = append(data.Sub, crumb{c, s.Units[c].Name, s.link(c, "", 1)})
	}
	if pages > 1 {
		for n := 1; n <= pages; n++ {
			// Around the current page and the ends, so a province of
			// thousands does not print hundreds of links.
			if n == 1 || n == pages || (n >= req.Page-3 && n <= req.Page+3) {
				data.PageLinks = append(data.PageLinks, pageLink{n, s.link(req.Unit, req.Q, n), n == req.Page})
			} else if l := len(data.PageLinks); l > 0 && data.PageLinks[l-1].N != 0 {
				data.PageLinks = append(data.PageLinks, pageLink{}) // an ellipsis
			}
		}
		if req.Page > 1 {
			data.Prev = s.link(req.Unit, req.Q, req.Page-1)
		}
		if req.Page < pages {
			data.Next = s.link(req.Unit, req.Q, req.Page+1)
		}
	}
	exp := url.Values{}
	if req.Unit != "" {
		exp.Set("unit", req.Unit)
	}
	if req.Q != "" {
		exp.Set("q", req.Q)
	}
	suffix := ""
	if len(exp) > 0 {
		suffix = "?" + exp.Encode()
	}
	data.CSV, data.VCF, data.LDIF = "danhba.csv"+suffix, "danhba.vcf"+suffix, "danhba.ldif"+suffix
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=30")
	danhbaTemplate.Execute(w, data)
}

// message writes a small Vietnamese-first error or notice page.
func (d *Directory) message(w http.ResponseWriter, code int, vi, en string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	danhbaMessageTemplate.Execute(w, struct {
		Code   int
		VI, EN string
	}{code, vi, en})
}

// WriteNotice writes a minimal page with one notice in the public pages'
// style (the plain HTTP listener's answers).
func WriteNotice(w http.ResponseWriter, code int, vi, en string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	danhbaMessageTemplate.Execute(w, struct {
		Code   int
		VI, EN string
	}{code, vi, en})
}

// Suggestion is one mailbox offered as a recipient.
type Suggestion struct {
	Name, Address string
	Unit          string // the unit's name, "" for a unit mailbox
	IsUnit        bool   // the unit's shared mailbox
}

// Suggest returns at most limit mailboxes matching q as the danh bạ search
// does: every word starts a word of the name, title or unit, or occurs
// in the address, without regard to diacritics or case; names first.
func (d *Directory) Suggest(ctx context.Context, q string, limit int) ([]Suggestion, error) {
	if rs := []rune(strings.TrimSpace(q)); len(rs) > maxQueryRunes {
		q = string(rs[:maxQueryRunes])
	}
	if len(words(q)) == 0 {
		return nil, nil
	}
	s, err := d.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	var out []Suggestion
	for _, e := range s.filter("", q) {
		if len(out) >= limit {
			break
		}
		sg := Suggestion{Name: e.Name, Address: e.Address, IsUnit: e.IsUnit}
		switch {
		case e.IsGroup:
			sg.Unit = strings.TrimSuffix("Nhóm thư / mailing list · "+e.Unit, " · ")
		case !e.IsUnit:
			sg.Unit = e.Unit
		}
		out = append(out, sg)
	}
	return out, nil
}

// Name is the directory's name of address (a listed mailbox), "" when
// the address is not listed or the directory cannot be read.
func (d *Directory) Name(ctx context.Context, address string) string {
	s, err := d.snapshot(ctx)
	if err != nil {
		return ""
	}
	if i, ok := s.byAddress[strings.ToLower(address)]; ok {
		return s.entries[i].Name
	}
	return ""
}
