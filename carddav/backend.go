package carddav

import (
	"context"
	"errors"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/emersion/go-vcard"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/carddav"

	"congvu/addressbook"
)

// backend implements carddav.Backend for the signed-in official.
type backend struct{ h *Handler }

const (
	bookProvince = "tinh"
	bookUnit     = "donvi"
	bookPersonal = "canhan"
)

// maxCardBytes is the largest card a client may store (RFC 6352 6.2.3).
const maxCardBytes = 256 << 10

// httpErr is an error with an HTTP status: go-webdav finds its own
// error inside (Unwrap), the RFC 6578 answers (sync.go) read the code.
func httpErr(code int, msg string) error {
	return &statusError{code: code, dav: webdav.NewHTTPError(code, errors.New(msg))}
}

type statusError struct {
	code int
	dav  error
}

func (e *statusError) Error() string { return e.dav.Error() }
func (e *statusError) Unwrap() error { return e.dav }

func principal(ctx context.Context) (string, error) {
	a := accountFrom(ctx)
	if a == nil {
		return "", httpErr(http.StatusUnauthorized, "not signed in")
	}
	return Prefix + "/" + a.Address + "/", nil
}

func (b *backend) CurrentUserPrincipal(ctx context.Context) (string, error) { return principal(ctx) }

func (b *backend) AddressBookHomeSetPath(ctx context.Context) (string, error) {
	p, err := principal(ctx)
	return p + "books/", err
}

func (b *backend) books(ctx context.Context) ([]carddav.AddressBook, error) {
	home, err := b.AddressBookHomeSetPath(ctx)
	if err != nil {
		return nil, err
	}
	data := []carddav.AddressDataType{{ContentType: vcard.MIMEType, Version: "3.0"}, {ContentType: vcard.MIMEType, Version: "4.0"}}
	return []carddav.AddressBook{
		{Path: home + bookProvince + "/", Name: "Danh bạ toàn tỉnh", Description: "Danh bạ thư công vụ (chỉ đọc) / the whole danh bạ (read-only)",
			SupportedAddressData: data, MaxResourceSize: maxCardBytes},
		{Path: home + bookUnit + "/", Name: "Danh bạ đơn vị", Description: "Đơn vị của tôi (chỉ đọc) / my unit (read-only)",
			SupportedAddressData: data, MaxResourceSize: maxCardBytes},
		{Path: home + bookPersonal + "/", Name: "Danh bạ cá nhân", Description: "Liên hệ cá nhân / personal contacts",
			SupportedAddressData: data, MaxResourceSize: maxCardBytes},
	}, nil
}

func (b *backend) ListAddressBooks(ctx context.Context) ([]carddav.AddressBook, error) {
	return b.books(ctx)
}

// split parses …/books/<book>/[<object>] of the signed-in official.
func (b *backend) split(ctx context.Context, p string) (book, object string, err error) {
	home, err := b.AddressBookHomeSetPath(ctx)
	if err != nil {
		return "", "", err
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") {
		clean += "/"
	}
	rest, ok := strings.CutPrefix(clean, home)
	if !ok {
		// Another official's books, or a path outside them.
		return "", "", httpErr(http.StatusForbidden, "not your address books")
	}
	book, object, _ = strings.Cut(rest, "/")
	switch book {
	case bookProvince, bookUnit, bookPersonal:
	default:
		return "", "", httpErr(http.StatusNotFound, "no such address book")
	}
	return book, object, nil
}

func (b *backend) GetAddressBook(ctx context.Context, p string) (*carddav.AddressBook, error) {
	book, _, err := b.split(ctx, p)
	if err != nil {
		return nil, err
	}
	all, _ := b.books(ctx)
	for i := range all {
		if strings.HasSuffix(all[i].Path, "/"+book+"/") {
			return &all[i], nil
		}
	}
	return nil, httpErr(http.StatusNotFound, "no such address book")
}

func (b *backend) CreateAddressBook(context.Context, *carddav.AddressBook) error {
	return httpErr(http.StatusForbidden, "address books are fixed: tinh, donvi, canhan")
}

func (b *backend) DeleteAddressBook(context.Context, string) error {
	return httpErr(http.StatusForbidden, "address books cannot be deleted")
}

// published lists the cards of a read-only book.
func (b *backend) published(ctx context.Context, book string) ([]carddav.AddressObject, error) {
	snap, err := b.h.o.Book.Snapshot(ctx)
	if err != nil {
		return nil, httpErr(http.StatusServiceUnavailable, "directory unavailable")
	}
	return b.publishedSnap(ctx, snap, book)
}

// publishedSnap lists the cards of a read-only book in snapshot snap.
func (b *backend) publishedSnap(ctx context.Context, snap *addressbook.Snapshot, book string) ([]carddav.AddressObject, error) {
	home, _ := b.AddressBookHomeSetPath(ctx)
	var in map[string]bool
	if book == bookUnit {
		unit := accountFrom(ctx).UnitCode
		if unit == "" {
			return nil, nil
		}
		in = snap.SubtreeSet(unit)
	}
	v4 := wantV4(ctx)
	var out []carddav.AddressObject
	for _, e := range snap.Entries {
		if in != nil && !in[e.UnitCode] {
			continue
		}
		ao, err := publishedObject(home+book+"/", e, v4, snap.Fetched)
		if err != nil {
			return nil, err
		}
		out = append(out, ao)
	}
	return out, nil
}

func publishedObject(dir string, e addressbook.Entry, v4 bool, fetched time.Time) (carddav.AddressObject, error) {
	card := publishedCard(e, v4)
	data, etag, err := encode(card)
	if err != nil {
		return carddav.AddressObject{}, err
	}
	mod := e.Updated
	if mod.IsZero() {
		mod = fetched
	}
	return carddav.AddressObject{Path: dir + e.Address + ".vcf", ModTime: mod, ContentLength: int64(len(data)), ETag: etag, Card: card}, nil
}

func (b *backend) GetAddressObject(ctx context.Context, p string, _ *carddav.AddressDataRequest) (*carddav.AddressObject, error) {
	book, object, err := b.split(ctx, p)
	if err != nil {
		return nil, err
	}
	if object == "" {
		return nil, httpErr(http.StatusNotFound, "not an address object")
	}
	if book == bookPersonal {
		return b.h.o.Personal.get(ctx, accountFrom(ctx).Address, object, path.Dir(p)+"/")
	}
	addr, ok := strings.CutSuffix(object, ".vcf")
	if !ok {
		return nil, httpErr(http.StatusNotFound, "no such card")
	}
	snap, err := b.h.o.Book.Snapshot(ctx)
	if err != nil {
		return nil, httpErr(http.StatusServiceUnavailable, "directory unavailable")
	}
	e, ok := snap.Lookup(addr)
	if !ok || book == bookUnit && !snap.SubtreeSet(accountFrom(ctx).UnitCode)[e.UnitCode] {
		return nil, httpErr(http.StatusNotFound, "no such card")
	}
	ao, err := publishedObject(path.Dir(p)+"/", e, wantV4(ctx), snap.Fetched)
	return &ao, err
}

func (b *backend) ListAddressObjects(ctx context.Context, p string, _ *carddav.AddressDataRequest) ([]carddav.AddressObject, error) {
	book, _, err := b.split(ctx, p)
	if err != nil {
		return nil, err
	}
	if book == bookPersonal {
		return b.h.o.Personal.list(ctx, accountFrom(ctx).Address, p)
	}
	return b.published(ctx, book)
}

// QueryAddressObjects answers addressbook-query (RFC 6352 8.6) with
// matching that ignores case and Vietnamese diacritics, so a client
// searching "nguyen van" finds "Nguyễn Văn An".
func (b *backend) QueryAddressObjects(ctx context.Context, p string, q *carddav.AddressBookQuery) ([]carddav.AddressObject, error) {
	all, err := b.ListAddressObjects(ctx, p, &q.DataRequest)
	if err != nil {
		return nil, err
	}
	limit := b.h.o.SizeLimit
	if q.Limit > 0 && q.Limit < limit {
		limit = q.Limit
	}
	var out []carddav.AddressObject
	for _, ao := range all {
		if !matchQuery(q, ao.Card) {
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, ao)
	}
	return out, nil
}

func (b *backend) PutAddressObject(ctx context.Context, p string, card vcard.Card, opts *carddav.PutAddressObjectOptions) (*carddav.AddressObject, error) {
	book, object, err := b.split(ctx, p)
	if err != nil {
		return nil, err
	}
	if book != bookPersonal {
		return nil, httpErr(http.StatusForbidden, "danh bạ công vụ chỉ đọc / the published address books are read-only")
	}
	return b.h.o.Personal.put(ctx, accountFrom(ctx).Address, object, path.Dir(p)+"/", card, opts)
}

func (b *backend) DeleteAddressObject(ctx context.Context, p string) error {
	book, object, err := b.split(ctx, p)
	if err != nil {
		return err
	}
	if book != bookPersonal {
		return httpErr(http.StatusForbidden, "danh bạ công vụ chỉ đọc / the published address books are read-only")
	}
	return b.h.o.Personal.delete(ctx, accountFrom(ctx).Address, object)
}

// matchQuery evaluates an addressbook-query filter (RFC 6352 10.5) on
// folded values.
func matchQuery(q *carddav.AddressBookQuery, c vcard.Card) bool {
	if len(q.PropFilters) == 0 {
		return true
	}
	all := q.FilterTest == carddav.FilterAllOf
	for _, pf := range q.PropFilters {
		ok := matchProp(pf, c)
		if all && !ok {
			return false
		}
		if !all && ok {
			return true
		}
	}
	return all
}

func matchProp(pf carddav.PropFilter, c vcard.Card) bool {
	fields := c[strings.ToUpper(pf.Name)]
	if pf.IsNotDefined {
		return len(fields) == 0
	}
	if len(pf.TextMatches) == 0 {
		return len(fields) > 0
	}
	all := pf.Test == carddav.FilterAllOf
	for _, tm := range pf.TextMatches {
		ok := false
		for _, f := range fields {
			if matchText(tm, f.Value) {
				ok = true
				break
			}
		}
		if tm.NegateCondition {
			ok = !ok
		}
		if all && !ok {
			return false
		}
		if !all && ok {
			return true
		}
	}
	return all
}

func matchText(tm carddav.TextMatch, value string) bool {
	v, t := addressbook.Fold(value), addressbook.Fold(tm.Text)
	switch tm.MatchType {
	case carddav.MatchEquals:
		return v == t
	case carddav.MatchStartsWith:
		return strings.HasPrefix(v, t)
	case carddav.MatchEndsWith:
		return strings.HasSuffix(v, t)
	}
	return strings.Contains(v, t)
}
