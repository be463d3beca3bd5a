package carddav

import (
	"encoding/xml"
	"testing"
)

// FuzzSyncRequest: the RFC 6578 request parsing (the root element, a
// sync-collection body, a PROPFIND's property names, a token) never
// panics and a token it accepts names a positive generation.
func FuzzSyncRequest(f *testing.F) {
	f.Add([]byte(`<d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`), "")
	f.Add([]byte(`<d:sync-collection xmlns:d="DAV:"><d:sync-token>urn:congvu:sync:ab:3:56.skhcn</d:sync-token><d:limit><d:nresults>5</d:nresults></d:limit></d:sync-collection>`), "urn:congvu:sync:ab:3:56.skhcn")
	f.Add([]byte(`<d:propfind xmlns:d="DAV:"><d:prop><d:sync-token/><x:getctag xmlns:x="http://calendarserver.org/ns/"/></d:prop></d:propfind>`), "urn:congvu:sync::")
	f.Fuzz(func(t *testing.T, body []byte, token string) {
		_ = rootName(body)
		var req syncCollectionRequest
		_ = xml.Unmarshal(body, &req)
		_, _ = wantsSyncProps(body)
		if _, gen, _, ok := parseToken(token); ok && gen < 1 {
			t.Errorf("token %q accepted with generation %d", token, gen)
		}
	})
}
