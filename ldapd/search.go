package ldapd

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/jimlambrt/gldap"

	"congvu/addressbook"
)

// The search operation (RFC 4511 4.5): the root DSE, the base and people
// entries, filtered, limited and paged (RFC 2696).

func (s *Server) rootDSE() *entry {
	return newEntry("",
		"objectClass", []string{"top", "extensibleObject"},
		"namingContexts", s.cfg.BaseDN,
		"supportedLDAPVersion", "3",
		"supportedControl", gldap.ControlTypePaging,
		"supportedExtension", []string{string(gldap.ExtendedOperationStartTLS), string(gldap.ExtendedOperationWhoAmI)},
		"vendorName", "congvu",
	)
}

func (s *Server) baseEntry() *entry {
	dc, _, _ := strings.Cut(s.base, ",")
	return newEntry(s.cfg.BaseDN,
		"objectClass", []string{"top", "dcObject", "organization"},
		"dc", strings.TrimPrefix(dc, "dc="),
		"o", "Danh bạ thư điện tử công vụ",
	)
}

func (s *Server) peopleEntry() *entry {
	return newEntry("ou=people,"+s.cfg.BaseDN, "objectClass", []string{"top", "organizationalUnit"}, "ou", "people")
}

// candidates lists the entries in scope of a search, or ok=false when the
// base does not exist.
func (s *Server) candidates(snap *addressbook.Snapshot, base string, scope gldap.Scope) ([]*entry, bool) {
	people := func() []*entry {
		out := make([]*entry, len(snap.Entries))
		for i, p := range snap.Entries {
			out[i] = personEntry(p, s.cfg.BaseDN)
		}
		return out
	}
	peopleDN := "ou=people," + s.base
	switch {
	case base == s.base:
		switch scope {
		case gldap.BaseObject:
			return []*entry{s.baseEntry()}, true
		case gldap.SingleLevel:
			return []*entry{s.peopleEntry()}, true
		}
		return append([]*entry{s.baseEntry(), s.peopleEntry()}, people()...), true
	case base == peopleDN:
		switch scope {
		case gldap.BaseObject:
			return []*entry{s.peopleEntry()}, true
		case gldap.SingleLevel:
			return people(), true
		}
		return append([]*entry{s.peopleEntry()}, people()...), true
	case strings.HasSuffix(base, ","+peopleDN) && strings.HasPrefix(base, "uid="):
		addr := strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(base, "uid="), ","+peopleDN), `\`, "")
		p, ok := snap.Lookup(addr)
		if !ok {
			return nil, false
		}
		if scope == gldap.SingleLevel {
			return nil, true
		}
		return []*entry{personEntry(p, s.cfg.BaseDN)}, true
	}
	return nil, false
}

// pageCookie is an offset and a hash of the search it belongs to.
func pageCookie(offset int, key [8]byte) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, uint64(offset))
	copy(b[8:], key[:])
	return b
}

func searchKey(m *gldap.SearchMessage) [8]byte {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%s\x00%s", normalizeDN(m.BaseDN), m.Scope, m.Filter, strings.Join(m.Attributes, ","))))
	var k [8]byte
	copy(k[:], h[:8])
	return k
}

func (s *Server) search(w *gldap.ResponseWriter, r *gldap.Request, st *connState) {
	done := r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultSuccess))
	defer func() { w.Write(done) }()
	m, err := r.GetSearchMessage()
	if err != nil {
		done.SetResultCode(gldap.ResultProtocolError)
		return
	}
	base := normalizeDN(m.BaseDN)
	// The root DSE is public (RFC 4512 5.1).
	if base == "" && m.Scope == gldap.BaseObject {
		f, err := compileFilter(m.Filter)
		if err != nil {
			done.SetResultCode(gldap.ResultProtocolError)
			return
		}
		if e := s.rootDSE(); f.match(e) {
			w.Write(s.responseEntry(r, e, m))
		}
		return
	}
	s.mu.Lock()
	bound := st.bound
	s.mu.Unlock()
	if !s.cfg.Anonymous && bound == nil {
		done.SetResultCode(gldap.ResultInsufficientAccessRights)
		done.SetDiagnosticMessage("hãy đăng nhập (bind) bằng địa chỉ thư và mật khẩu / bind with your address and password")
		return
	}
	f, err := compileFilter(m.Filter)
	if err != nil {
		done.SetResultCode(gldap.ResultProtocolError)
		done.SetDiagnosticMessage("bad filter")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	snap, err := s.deps.Book.Snapshot(ctx)
	if err != nil {
		done.SetResultCode(gldap.ResultUnavailable)
		done.SetDiagnosticMessage("danh bạ tạm thời không truy cập được / the directory is temporarily unavailable")
		return
	}
	cands, ok := s.candidates(snap, base, m.Scope)
	if !ok {
		done.SetResultCode(gldap.ResultNoSuchObject)
		done.SetMatchedDN(s.cfg.BaseDN)
		return
	}
	var matched []*entry
	for _, e := range cands {
		if f.match(e) {
			matched = append(matched, e)
		}
	}
	limit := s.cfg.SizeLimit
	if m.SizeLimit > 0 && int(m.SizeLimit) < limit {
		limit = int(m.SizeLimit)
	}
	exceeded := len(matched) > limit
	if exceeded {
		matched = matched[:limit]
	}
	// RFC 2696: a page of the result set and a cookie for the next one.
	var paging *gldap.ControlPaging
	for _, c := range m.Controls {
		if p, ok := c.(*gldap.ControlPaging); ok {
			paging = p
		}
	}
	start, end := 0, len(matched)
	if paging != nil {
		key := searchKey(m)
		if len(paging.Cookie) > 0 {
			if len(paging.Cookie) != 16 || [8]byte(paging.Cookie[8:]) != key {
				done.SetResultCode(gldap.ResultUnwillingToPerform)
				done.SetDiagnosticMessage("paged results cookie does not belong to this search")
				return
			}
			start = min(int(binary.BigEndian.Uint64(paging.Cookie)), len(matched))
		}
		if paging.PagingSize == 0 {
			// A size of 0 abandons the paged search.
			done.SetControls(&gldap.ControlPaging{})
			return
		}
		end = min(start+int(paging.PagingSize), len(matched))
		resp := &gldap.ControlPaging{PagingSize: uint32(len(matched))}
		if end < len(matched) {
			resp.Cookie = pageCookie(end, key)
		}
		done.SetControls(resp)
	}
	for _, e := range matched[start:end] {
		if err := w.Write(s.responseEntry(r, e, m)); err != nil {
			return
		}
	}
	if exceeded && end == len(matched) {
		done.SetResultCode(gldap.ResultSizeLimitExceeded)
	}
}

// responseEntry writes the attributes the client asked for (RFC 4511
// 4.5.1.8: none listed or "*" means all user attributes, "1.1" none).
func (s *Server) responseEntry(r *gldap.Request, e *entry, m *gldap.SearchMessage) *gldap.SearchResponseEntry {
	out := r.NewSearchResponseEntry(e.dn)
	all := len(m.Attributes) == 0
	for _, a := range m.Attributes {
		if a == "*" {
			all = true
		}
	}
	want := map[string]bool{}
	for _, a := range m.Attributes {
		want[strings.ToLower(a)] = true
		if alias, ok := aliases[strings.ToLower(a)]; ok {
			want[strings.ToLower(alias)] = true
		}
	}
	for _, a := range e.attrs {
		if !all && !want[strings.ToLower(a.name)] {
			continue
		}
		vals := a.values
		if m.TypesOnly {
			vals = []string{}
		}
		out.AddAttribute(a.name, vals)
	}
	return out
}
