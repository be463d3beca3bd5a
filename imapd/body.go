package imapd

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"

	"github.com/emersion/go-message/textproto"

	"congvu/imapd/wire"
	"congvu/internal/bufsize"
)

// maxPartDepth bounds MIME nesting when locating sections, as the store
// does when it parses (storage maxMIMEDepth).
const maxPartDepth = 32

// mimePart is one entity of a message by byte offsets into the raw
// message: header [start, body), body [body, end).
type mimePart struct {
	start, body, end int
	header           textproto.Header
	mediaType        string // lower case "type/subtype"
	params           map[string]string
	children         []*mimePart // multipart parts, or the message of message/rfc822
	message          bool        // message/rfc822 or message/global: children[0] is the message
}

// headerEnd finds the end of the header block starting at off: the index
// after the empty line, or len(raw) when there is none.
func headerEnd(raw []byte, off int) int {
	if off >= len(raw) {
		return len(raw)
	}
	if raw[off] == '\n' {
		return off + 1
	}
	if off+1 < len(raw) && raw[off] == '\r' && raw[off+1] == '\n' {
		return off + 2
	}
	for i := off; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\n')
		if j < 0 {
			return len(raw)
		}
		i += j + 1
		if i < len(raw) && raw[i] == '\n' {
			return i + 1
		}
		if i+1 < len(raw) && raw[i] == '\r' && raw[i+1] == '\n' {
			return i + 2
		}
	}
	return len(raw)
}

// parseEntity locates the entity raw[start:end] and its descendants.
func parseEntity(raw []byte, start, end, depth int) *mimePart {
	p := &mimePart{start: start, end: end}
	p.body = min(headerEnd(raw[:end], start), end)
	h, _ := textproto.ReadHeader(bufsize.Bytes(raw[start:p.body]))
	p.header = h
	ct := h.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil {
		mt, params = "text/plain", map[string]string{"charset": "us-ascii"}
	}
	p.mediaType, p.params = strings.ToLower(mt), params
	if depth >= maxPartDepth {
		return p
	}
	switch {
	case strings.HasPrefix(p.mediaType, "multipart/") && params["boundary"] != "":
		for _, r := range splitMultipart(raw[:end], p.body, params["boundary"]) {
			p.children = append(p.children, parseEntity(raw, r[0], r[1], depth+1))
		}
	case p.mediaType == "message/rfc822" || p.mediaType == "message/global":
		p.message = true
		p.children = []*mimePart{parseEntity(raw, p.body, end, depth+1)}
	}
	return p
}

// splitMultipart returns the [start, end) of each body part between
// boundary delimiter lines (RFC 2046 §5.1.1); the CRLF before a delimiter
// belongs to the delimiter.
func splitMultipart(raw []byte, off int, boundary string) [][2]int {
	delimLine := []byte("--" + boundary)
	var parts [][2]int
	partStart := -1
	for i := off; i < len(raw); {
		lineEnd := bytes.IndexByte(raw[i:], '\n')
		next := len(raw)
		if lineEnd >= 0 {
			next = i + lineEnd + 1
		}
		line := raw[i:next]
		if bytes.HasPrefix(line, delimLine) {
			rest := bytes.TrimRight(line[len(delimLine):], " \t\r\n")
			closing := bytes.Equal(rest, []byte("--"))
			if closing || len(rest) == 0 {
				if partStart >= 0 {
					end := i
					if end > partStart && raw[end-1] == '\n' {
						end--
						if end > partStart && raw[end-1] == '\r' {
							end--
						}
					}
					parts = append(parts, [2]int{partStart, end})
				}
				if closing {
					return parts
				}
				partStart = next
			}
		}
		i = next
	}
	if partStart >= 0 && partStart < len(raw) {
		parts = append(parts, [2]int{partStart, len(raw)}) // no closing delimiter
	}
	return parts
}

// errNoSection is a section number that does not exist: RFC 9051
// §6.4.5 leaves it to the server; like Dovecot we answer an empty string.
var errNoSection = errors.New("no such section")

// findPart follows a part number path (RFC 9051 §6.4.5 section-part).
// Numbers address the body of a message: the nth part of a multipart
// body, or 1 for a body that is not multipart. A message/rfc822 part is
// entered before the next number.
func findPart(root *mimePart, path []uint32) (*mimePart, error) {
	p, asMessage := root, true
	for _, n := range path {
		if !asMessage && p.message {
			p, asMessage = p.children[0], true
		}
		if len(p.children) > 0 && !p.message {
			if int(n) > len(p.children) {
				return nil, errNoSection
			}
			p = p.children[n-1]
		} else if n != 1 {
			return nil, errNoSection
		}
		asMessage = false
	}
	return p, nil
}

// extractSection returns the bytes of a BODY[section] (RFC 9051 §6.4.5).
func extractSection(raw []byte, sec wire.Section) []byte {
	root := parseEntity(raw, 0, len(raw), 0)
	target := root
	if len(sec.Part) > 0 {
		p, err := findPart(root, sec.Part)
		if err != nil {
			return nil
		}
		target = p
	}
	switch sec.Spec {
	case "":
		if len(sec.Part) == 0 {
			return raw
		}
		return raw[target.body:target.end]
	case "MIME":
		return raw[target.start:target.body]
	}
	// HEADER, HEADER.FIELDS[.NOT] and TEXT address a message: the
	// top-level one, or the one inside a message/rfc822 part.
	msg := target
	if len(sec.Part) > 0 {
		if !target.message {
			return nil
		}
		msg = target.children[0]
	}
	switch sec.Spec {
	case "TEXT":
		return raw[msg.body:msg.end]
	case "HEADER":
		return raw[msg.start:msg.body]
	default:
		return filterHeader(raw[msg.start:msg.body], sec.Fields, sec.Spec == "HEADER.FIELDS.NOT")
	}
}

// filterHeader keeps (or with not, drops) the named fields of a header
// block, in their original order and spelling, and ends the result with
// the empty line (RFC 9051 §6.4.5).
func filterHeader(block []byte, names []string, not bool) []byte {
	var out []byte
	keep := false
	for len(block) > 0 {
		i := bytes.IndexByte(block, '\n')
		line := block
		if i >= 0 {
			line = block[:i+1]
		}
		block = block[len(line):]
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(trimmed) == 0 {
			break // the empty line ending the header
		}
		if trimmed[0] != ' ' && trimmed[0] != '\t' {
			name := trimmed
			if c := bytes.IndexByte(trimmed, ':'); c >= 0 {
				name = bytes.TrimRight(trimmed[:c], " \t")
			}
			listed := false
			for _, n := range names {
				if strings.EqualFold(n, string(name)) {
					listed = true
					break
				}
			}
			keep = listed != not
		}
		if keep {
			out = append(out, trimmed...)
			out = append(out, '\r', '\n')
		}
	}
	return append(out, '\r', '\n')
}

// errUnknownCTE is a part whose transfer encoding cannot be decoded
// (RFC 3516 §4.3: NO [UNKNOWN-CTE]).
var errUnknownCTE = no("UNKNOWN-CTE", "Unknown content transfer encoding")

// extractBinary returns BINARY[part] (RFC 3516 §4.2): the part's content
// with its transfer encoding removed. An empty part is the whole message.
func extractBinary(raw []byte, part []uint32) ([]byte, error) {
	if len(part) == 0 {
		return raw, nil
	}
	root := parseEntity(raw, 0, len(raw), 0)
	p, err := findPart(root, part)
	if err != nil {
		return nil, nil
	}
	body := raw[p.body:p.end]
	if len(p.children) > 0 {
		return body, nil // multipart and messages carry no encoding of their own
	}
	cte := strings.ToLower(strings.TrimSpace(p.header.Get("Content-Transfer-Encoding")))
	switch cte {
	case "", "7bit", "8bit", "binary":
		return body, nil
	case "base64":
		dec, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, &base64Cleaner{data: body}))
		if err != nil {
			// Keep what decoded: damaged attachments are common.
			return dec, nil
		}
		return dec, nil
	case "quoted-printable":
		dec, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		if err != nil {
			return dec, nil
		}
		return dec, nil
	}
	return nil, errUnknownCTE
}

// base64Cleaner drops what is not base64 alphabet (line breaks, spaces)
// and stops at the first padding run, as MIME decoders must (RFC 2045
// §6.8).
type base64Cleaner struct {
	data []byte
	pad  bool
}

func (b *base64Cleaner) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && len(b.data) > 0 {
		c := b.data[0]
		b.data = b.data[1:]
		switch {
		case c == '=':
			b.pad = true
			p[n] = c
			n++
		case b.pad:
			// Data after padding is ignored.
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
			p[n] = c
			n++
		}
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}
