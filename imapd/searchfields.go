package imapd

import (
	"bytes"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

	"congvu/internal/bufsize"
	"congvu/storage"
)

// selectFields returns the lines of the header block that belong to
// fields named key (case-insensitively, with their continuation lines),
// as a header block of their own. SEARCH SUBJECT and its relatives used to
// parse every field of every header in the folder, which was most of
// SEARCH's CPU in the bench's mixed workload; parsing only the lines of
// the asked field keeps the parser's own unfolding and decoding.
func selectFields(block []byte, key string) []byte {
	var out []byte
	name := []byte(key)
	keep := false
	for len(block) > 0 {
		line := block
		if i := bytes.IndexByte(block, '\n'); i >= 0 {
			line, block = block[:i+1], block[i+1:]
		} else {
			block = nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			if keep {
				out = append(out, line...)
			}
			continue
		}
		field, _, ok := bytes.Cut(line, []byte{':'})
		// RFC 5322 §4.5.3 (obsolete syntax): white space before the colon.
		keep = ok && bytes.EqualFold(bytes.TrimRight(field, " \t"), name)
		if keep {
			out = append(out, line...)
		}
	}
	if len(out) == 0 {
		return nil
	}
	if out[len(out)-1] != '\n' {
		out = append(out, '\r', '\n')
	}
	return append(out, '\r', '\n')
}

// fieldsOf returns the fields named key of the message's header, parsing
// only their lines unless the whole header is parsed already.
func (mc *matchCtx) fieldsOf(key string) (gomessage.HeaderFields, error) {
	if mc.header != nil {
		return mc.header.FieldsByKey(key), nil
	}
	cached, err := mc.cachedRow()
	if err != nil {
		return nil, err
	}
	h, _ := textproto.ReadHeader(bufsize.Bytes(selectFields(cached.Header, key)))
	return (&gomessage.Header{Header: h}).FieldsByKey(key), nil
}

// cachedRow returns the message's cached header row, from the search's
// window when it was read ahead, else from the store.
func (mc *matchCtx) cachedRow() (*storage.Cached, error) {
	if mc.cached == nil {
		cached, err := mc.c.sel.mbox.Cached(mc.c.ctx, mc.folder, mc.msg.uid)
		if err != nil {
			return nil, err
		}
		mc.cached = cached
	}
	return mc.cached, nil
}
