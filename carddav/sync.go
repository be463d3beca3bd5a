package carddav

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/emersion/go-vcard"
	"github.com/emersion/go-webdav/carddav"

	"congvu/addressbook"
)

// Collection synchronisation (RFC 6578) of the published books (tinh,
// donvi): the DAV:sync-token property and the DAV:sync-collection REPORT,
// answered from the addressbook snapshot's generation and its change log.
// go-webdav serves the rest of CardDAV; it has no server side of RFC 6578,
// so these two requests are answered here. The personal book has no
// sync-token and refuses the report (RFC 3253 3.6: DAV:supported-report);
// clients list it by PROPFIND as before.

const (
	nsDAV     = "DAV:"
	nsCardDAV = "urn:ietf:params:xml:ns:carddav"
	nsCS      = "http://calendarserver.org/ns/"
)

// tokenPrefix starts every sync token (RFC 6578 4: a URI).
const tokenPrefix = "urn:congvu:sync:"

// syncToken names generation gen of the Book's epoch; a unit's book also
// names the unit, since its members follow the official's unit.
func syncToken(snap *addressbook.Snapshot, unit string) string {
	t := tokenPrefix + snap.Epoch + ":" + strconv.FormatInt(snap.Generation, 10)
	if unit != "" {
		t += ":" + unit
	}
	return t
}

// parseToken reads a token of ours; ok=false for anything else.
func parseToken(t string) (epoch string, gen int64, unit string, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(t), tokenPrefix)
	if !found {
		return "", 0, "", false
	}
	parts := strings.SplitN(rest, ":", 3)
	if len(parts) < 2 || parts[0] == "" {
		return "", 0, "", false
	}
	gen, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || gen < 1 {
		return "", 0, "", false
	}
	if len(parts) == 3 {
		unit = parts[2]
	}
	return parts[0], gen, unit, true
}

// propNames is a DAV:prop of a request: the names asked for.
type propNames struct {
	Names []struct {
		XMLName xml.Name
	} `xml:",any"`
}

func (p *propNames) has(space, local string) bool {
	if p == nil {
		return false
	}
	for _, n := range p.Names {
		if n.XMLName.Space == space && n.XMLName.Local == local {
			return true
		}
	}
	return false
}

// syncCollectionRequest is RFC 6578 3.2's DAV:sync-collection.
type syncCollectionRequest struct {
	XMLName   xml.Name `xml:"DAV: sync-collection"`
	SyncToken string   `xml:"DAV: sync-token"`
	SyncLevel string   `xml:"DAV: sync-level"`
	Limit     *struct {
		NResults string `xml:"DAV: nresults"`
	} `xml:"DAV: limit"`
	Prop *propNames `xml:"DAV: prop"`
}

// rootName is the name of an XML body's root element ("" when none).
func rootName(body []byte) xml.Name {
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.Name{}
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name
		}
	}
}

// davError answers a precondition failure (RFC 4918 16: a DAV:error body).
func davError(w http.ResponseWriter, status int, condition string) {
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?>`+"\n"+`<d:error xmlns:d="DAV:"><d:%s/></d:error>`+"\n", condition)
}

// syncCollection answers a DAV:sync-collection REPORT on a book.
func (h *Handler) syncCollection(w http.ResponseWriter, r *http.Request, body []byte) {
	ctx := r.Context()
	var req syncCollectionRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		http.Error(w, "sync-collection: "+err.Error(), http.StatusBadRequest)
		return
	}
	b := &backend{h: h}
	book, object, err := b.split(ctx, r.URL.Path)
	if err != nil {
		writeDAVErr(w, err)
		return
	}
	if object != "" || book == bookPersonal {
		davError(w, http.StatusForbidden, "supported-report")
		return
	}
	// RFC 6578 3.3: "1" is the members; a book has no sub-collections,
	// so "infinite" reports the same.
	if lvl := strings.TrimSpace(req.SyncLevel); lvl != "1" && lvl != "infinite" {
		http.Error(w, "sync-collection: DAV:sync-level must be 1 or infinite", http.StatusBadRequest)
		return
	}
	limit := 0
	if req.Limit != nil {
		if limit, err = strconv.Atoi(strings.TrimSpace(req.Limit.NResults)); err != nil || limit < 1 {
			http.Error(w, "sync-collection: DAV:limit needs a positive DAV:nresults", http.StatusBadRequest)
			return
		}
	}
	snap, err := h.o.Book.Snapshot(ctx)
	if err != nil {
		writeDAVErr(w, httpErr(http.StatusServiceUnavailable, "directory unavailable"))
		return
	}
	unit := ""
	if book == bookUnit {
		unit = accountFrom(ctx).UnitCode
	}
	all, err := b.publishedSnap(ctx, snap, book)
	if err != nil {
		writeDAVErr(w, err)
		return
	}
	dir := strings.TrimSuffix(r.URL.Path, "/") + "/"
	var updated []carddav.AddressObject
	var removed []string
	if tok := strings.TrimSpace(req.SyncToken); tok == "" {
		updated = all // RFC 6578 3.4: the initial sync lists every member
	} else {
		epoch, gen, tokUnit, ok := parseToken(tok)
		ok = ok && tokUnit == unit
		var ch addressbook.Changes
		if ok {
			ch, ok = h.o.Book.ChangesSince(snap, epoch, gen)
		}
		// RFC 6578 3.2: a token the server cannot use is refused with
		// DAV:valid-sync-token; the client then syncs from scratch. A
		// unit's book whose tree changed cannot say which members left.
		if !ok || book == bookUnit && ch.TreeChanged {
			davError(w, http.StatusForbidden, "valid-sync-token")
			return
		}
		byAddress := make(map[string]carddav.AddressObject, len(all))
		for _, ao := range all {
			byAddress[strings.TrimSuffix(ao.Path[strings.LastIndexByte(ao.Path, '/')+1:], ".vcf")] = ao
		}
		var inUnit map[string]bool
		if book == bookUnit {
			inUnit = snap.SubtreeSet(unit) // the tree is the token's (checked above)
		}
		for _, a := range ch.Addresses {
			if ao, ok := byAddress[a]; ok {
				updated = append(updated, ao)
				continue
			}
			// RFC 6578 3.5.2: a member the book had at the token and has
			// no more is reported with 404.
			if u, was := ch.Before[a]; was && (inUnit == nil || inUnit[u]) {
				removed = append(removed, dir+a+".vcf")
			}
		}
	}
	if limit > 0 && len(updated)+len(removed) > limit {
		// RFC 6578 3.6: the server may not truncate silently.
		davError(w, http.StatusInsufficientStorage, "number-of-matches-within-limits")
		return
	}
	var out bytes.Buffer
	out.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n" +
		`<d:multistatus xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">` + "\n")
	for _, ao := range updated {
		if err := writeMember(&out, ao, req.Prop); err != nil {
			writeDAVErr(w, err)
			return
		}
	}
	for _, p := range removed {
		fmt.Fprintf(&out, "<d:response><d:href>%s</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>\n", escapeHref(p))
	}
	fmt.Fprintf(&out, "<d:sync-token>%s</d:sync-token>\n</d:multistatus>\n", escapeText(syncToken(snap, unit)))
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	w.Write(out.Bytes())
}

// writeMember writes one changed member with the properties asked for
// (RFC 6578 3.5.1): its ETag and card; the others as not found.
func writeMember(out *bytes.Buffer, ao carddav.AddressObject, prop *propNames) error {
	fmt.Fprintf(out, "<d:response><d:href>%s</d:href>", escapeHref(ao.Path))
	var ok, missing bytes.Buffer
	if prop == nil || len(prop.Names) == 0 {
		fmt.Fprintf(&ok, "<d:getetag>%s</d:getetag>", escapeText(strconv.Quote(ao.ETag)))
	}
	if prop != nil {
		for _, n := range prop.Names {
			switch {
			case n.XMLName.Space == nsDAV && n.XMLName.Local == "getetag":
				fmt.Fprintf(&ok, "<d:getetag>%s</d:getetag>", escapeText(strconv.Quote(ao.ETag)))
			case n.XMLName.Space == nsDAV && n.XMLName.Local == "getcontenttype":
				ok.WriteString("<d:getcontenttype>text/vcard; charset=utf-8</d:getcontenttype>")
			case n.XMLName.Space == nsCardDAV && n.XMLName.Local == "address-data":
				var card bytes.Buffer
				if err := vcard.NewEncoder(&card).Encode(ao.Card); err != nil {
					return err
				}
				fmt.Fprintf(&ok, "<card:address-data>%s</card:address-data>", escapeText(card.String()))
			default:
				fmt.Fprintf(&missing, `<x:%s xmlns:x="%s"/>`, n.XMLName.Local, escapeText(n.XMLName.Space))
			}
		}
	}
	if ok.Len() > 0 {
		fmt.Fprintf(out, "<d:propstat><d:prop>%s</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>", ok.Bytes())
	}
	if missing.Len() > 0 {
		fmt.Fprintf(out, "<d:propstat><d:prop>%s</d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>", missing.Bytes())
	}
	out.WriteString("</d:response>\n")
	return nil
}

// propfindRequest is a PROPFIND body (RFC 4918 14.20).
type propfindRequest struct {
	XMLName xml.Name   `xml:"DAV: propfind"`
	Prop    *propNames `xml:"DAV: prop"`
}

// wantsSyncProps reports whether a PROPFIND asks for what go-webdav does
// not know of a book: its sync token (RFC 6578 4), the CalendarServer
// ctag clients use alike, or the reports it supports (sync-collection
// among them, RFC 3253 3.1.5).
func wantsSyncProps(body []byte) (*propNames, bool) {
	var req propfindRequest
	if xml.Unmarshal(body, &req) != nil || req.Prop == nil {
		return nil, false
	}
	return req.Prop, req.Prop.has(nsDAV, "sync-token") || req.Prop.has(nsCS, "getctag") || req.Prop.has(nsDAV, "supported-report-set")
}

// propfindBook answers a Depth: 0 PROPFIND on a published book that asks
// for its sync token.
func (h *Handler) propfindBook(w http.ResponseWriter, r *http.Request, book string, prop *propNames) {
	ctx := r.Context()
	b := &backend{h: h}
	snap, err := h.o.Book.Snapshot(ctx)
	if err != nil {
		writeDAVErr(w, httpErr(http.StatusServiceUnavailable, "directory unavailable"))
		return
	}
	ab, err := b.GetAddressBook(ctx, r.URL.Path)
	if err != nil {
		writeDAVErr(w, err)
		return
	}
	unit := ""
	if book == bookUnit {
		unit = accountFrom(ctx).UnitCode
	}
	token := escapeText(syncToken(snap, unit))
	principalPath, _ := principal(ctx)
	var ok, missing bytes.Buffer
	for _, n := range prop.Names {
		switch n.XMLName {
		case xml.Name{Space: nsDAV, Local: "sync-token"}:
			fmt.Fprintf(&ok, "<d:sync-token>%s</d:sync-token>", token)
		case xml.Name{Space: nsCS, Local: "getctag"}:
			fmt.Fprintf(&ok, `<cs:getctag xmlns:cs="%s">%s</cs:getctag>`, nsCS, token)
		case xml.Name{Space: nsDAV, Local: "resourcetype"}:
			ok.WriteString("<d:resourcetype><d:collection/><card:addressbook/></d:resourcetype>")
		case xml.Name{Space: nsDAV, Local: "displayname"}:
			fmt.Fprintf(&ok, "<d:displayname>%s</d:displayname>", escapeText(ab.Name))
		case xml.Name{Space: nsCardDAV, Local: "addressbook-description"}:
			fmt.Fprintf(&ok, "<card:addressbook-description>%s</card:addressbook-description>", escapeText(ab.Description))
		case xml.Name{Space: nsDAV, Local: "current-user-principal"}:
			fmt.Fprintf(&ok, "<d:current-user-principal><d:href>%s</d:href></d:current-user-principal>", escapeHref(principalPath))
		case xml.Name{Space: nsDAV, Local: "supported-report-set"}:
			ok.WriteString("<d:supported-report-set>")
			for _, rep := range []string{"<card:addressbook-query/>", "<card:addressbook-multiget/>", "<d:sync-collection/>"} {
				ok.WriteString("<d:supported-report><d:report>" + rep + "</d:report></d:supported-report>")
			}
			ok.WriteString("</d:supported-report-set>")
		case xml.Name{Space: nsCardDAV, Local: "supported-address-data"}:
			ok.WriteString(`<card:supported-address-data><card:address-data-type content-type="text/vcard" version="3.0"/>` +
				`<card:address-data-type content-type="text/vcard" version="4.0"/></card:supported-address-data>`)
		case xml.Name{Space: nsCardDAV, Local: "max-resource-size"}:
			fmt.Fprintf(&ok, "<card:max-resource-size>%d</card:max-resource-size>", ab.MaxResourceSize)
		default:
			fmt.Fprintf(&missing, `<x:%s xmlns:x="%s"/>`, n.XMLName.Local, escapeText(n.XMLName.Space))
		}
	}
	var out bytes.Buffer
	out.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n" +
		`<d:multistatus xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">` + "\n")
	fmt.Fprintf(&out, "<d:response><d:href>%s</d:href>", escapeHref(ab.Path))
	if ok.Len() > 0 {
		fmt.Fprintf(&out, "<d:propstat><d:prop>%s</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>", ok.Bytes())
	}
	if missing.Len() > 0 {
		fmt.Fprintf(&out, "<d:propstat><d:prop>%s</d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>", missing.Bytes())
	}
	out.WriteString("</d:response>\n</d:multistatus>\n")
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	w.Write(out.Bytes())
}

// syncRequest answers the two RFC 6578 requests; false leaves the
// request to go-webdav.
func (h *Handler) syncRequest(w http.ResponseWriter, r *http.Request, body []byte) bool {
	switch r.Method {
	case "REPORT":
		if rootName(body) != (xml.Name{Space: nsDAV, Local: "sync-collection"}) {
			return false
		}
		h.syncCollection(w, r, body)
		return true
	case "PROPFIND":
		if r.Header.Get("Depth") != "0" {
			return false
		}
		prop, ok := wantsSyncProps(body)
		if !ok {
			return false
		}
		book, object, err := (&backend{h: h}).split(r.Context(), r.URL.Path)
		if err != nil || object != "" || book == bookPersonal {
			return false
		}
		h.propfindBook(w, r, book, prop)
		return true
	}
	return false
}

func writeDAVErr(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	var se *statusError
	if errors.As(err, &se) {
		code = se.code
	}
	http.Error(w, err.Error(), code)
}

func escapeText(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func escapeHref(p string) string { return escapeText((&url.URL{Path: p}).EscapedPath()) }
