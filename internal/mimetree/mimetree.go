// Package mimetree splits a message into its MIME entities (RFC 2045,
// RFC 2046) without copying or decoding anything, so that each entity's
// exact bytes stay available: an S/MIME multipart/signed signature covers
// the first part's header and body byte for byte (RFC 8551 3.5), and a
// parser that re-encodes the part cannot check it.
//
// Parse never fails and never panics: a malformed entity is read as far as
// it goes, and limits on depth and part count keep hostile nesting cheap.
package mimetree

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"strconv"
	"strings"

	"congvu/internal/bufsize"

	"github.com/emersion/go-message/textproto"
)

// Limits of Parse.
const (
	// MaxDepth bounds nesting of multiparts and embedded messages.
	MaxDepth = 32
	// MaxParts bounds the entities of one message.
	MaxParts = 2000
)

// Part is one MIME entity.
type Part struct {
	// Number is the IMAP part specifier (RFC 9051 6.4.5): "" for the
	// message itself, "1", "2.1"…; a part of an embedded message or of an
	// unwrapped S/MIME entity continues its parent's number.
	Number string
	Header textproto.Header
	// Raw is the whole entity, header and body, exactly as in the message;
	// HeaderRaw and Body are its two halves (Body still transfer-encoded).
	Raw, HeaderRaw, Body []byte
	// MediaType is lower case ("text/plain"); Params its parameters.
	MediaType string
	Params    map[string]string
	// Disposition is "attachment", "inline" or ""; Filename is the
	// file name from Content-Disposition or Content-Type (RFC 2231 and
	// RFC 2047 decoded).
	Disposition, Filename string
	// Children are the parts of a multipart; Embedded is the message of a
	// message/rfc822 part or the content an Unwrap hook returned.
	Children []*Part
	Embedded *Part
	Depth    int
}

// Options tune Parse.
type Options struct {
	// Unwrap, when set, is asked for the inner entity of leaf parts (an
	// opaque S/MIME application/pkcs7-mime signed-data): a non-nil result
	// is parsed as the part's Embedded entity.
	Unwrap func(p *Part) []byte
}

// Parse splits msg into its entities.
func Parse(msg []byte, opts Options) *Part {
	n := 0
	return parseEntity(msg, "", 0, &n, opts)
}

func parseEntity(raw []byte, number string, depth int, count *int, opts Options) *Part {
	*count++
	hdrRaw, body := splitHeader(raw)
	p := &Part{Number: number, Raw: raw, HeaderRaw: hdrRaw, Body: body, Depth: depth}
	p.Header, _ = textproto.ReadHeader(bufsize.Bytes(hdrRaw))
	ct := p.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt == "" {
		mt, params = "text/plain", map[string]string{}
		if ct != "" {
			// An unreadable Content-Type: RFC 2045 5.2 says text/plain,
			// but keep a name= from it to recognise attachments.
			if i := indexFold(ct, "name="); i >= 0 {
				params["name"] = strings.Trim(strings.TrimSpace(strings.SplitN(ct[i+5:], ";", 2)[0]), `"`)
			}
			if m, _, _ := strings.Cut(ct, ";"); strings.Contains(m, "/") {
				mt = strings.ToLower(strings.TrimSpace(m))
			}
		}
	}
	p.MediaType, p.Params = mt, params
	if d, dp, err := mime.ParseMediaType(p.Header.Get("Content-Disposition")); err == nil {
		p.Disposition = d
		p.Filename = dp["filename"]
	}
	if p.Filename == "" {
		p.Filename = params["name"]
	}
	if strings.Contains(p.Filename, "=?") {
		if d, err := (&mime.WordDecoder{}).DecodeHeader(p.Filename); err == nil {
			p.Filename = d
		}
	}
	child := func(i int) string {
		if number == "" {
			return strconv.Itoa(i)
		}
		return number + "." + strconv.Itoa(i)
	}
	switch {
	case depth >= MaxDepth || *count >= MaxParts:
	case strings.HasPrefix(mt, "multipart/") && params["boundary"] != "":
		for i, pr := range splitMultipart(body, params["boundary"]) {
			if *count >= MaxParts {
				break
			}
			p.Children = append(p.Children, parseEntity(pr, child(i+1), depth+1, count, opts))
		}
	case mt == "message/rfc822" || mt == "message/global":
		if dec, err := p.Decoded(int64(len(body)) + 1); err == nil {
			// RFC 9051 6.4.5: the parts of an embedded message are
			// numbered below the message/rfc822 part itself.
			p.Embedded = parseEntity(dec, number, depth+1, count, opts)
			if number == "" {
				p.Embedded.Number = "1"
			}
		}
	case opts.Unwrap != nil:
		if inner := opts.Unwrap(p); inner != nil {
			num := number
			if num == "" {
				num = "1"
			}
			p.Embedded = parseEntity(inner, num, depth+1, count, opts)
		}
	}
	return p
}

// splitHeader returns the header block (with the empty line that ends it)
// and the body.
func splitHeader(raw []byte) (hdr, body []byte) {
	if len(raw) > 0 && (raw[0] == '\n' || bytes.HasPrefix(raw, []byte("\r\n"))) {
		n := 1
		if raw[0] == '\r' {
			n = 2
		}
		return raw[:n], raw[n:]
	}
	for i := 0; i < len(raw); {
		j := bytes.IndexByte(raw[i:], '\n')
		if j < 0 {
			return raw, nil
		}
		next := i + j + 1
		switch {
		case bytes.HasPrefix(raw[next:], []byte("\r\n")):
			return raw[:next+2], raw[next+2:]
		case bytes.HasPrefix(raw[next:], []byte("\n")):
			return raw[:next+1], raw[next+1:]
		}
		i = next
	}
	return raw, nil
}

// splitMultipart returns the body parts of a multipart body (RFC 2046
// 5.1.1): the bytes between delimiter lines, without the CRLF that
// precedes each delimiter (it belongs to the delimiter).
func splitMultipart(body []byte, boundary string) [][]byte {
	delim := []byte("--" + boundary)
	var parts [][]byte
	start := -1 // start of the current part
	for i := 0; i <= len(body); {
		atLine := i == 0 || body[i-1] == '\n'
		if atLine && bytes.HasPrefix(body[i:], delim) {
			rest := body[i+len(delim):]
			closing := bytes.HasPrefix(rest, []byte("--"))
			eol := bytes.IndexByte(rest, '\n')
			// The delimiter line may carry transport padding only.
			line := rest
			if eol >= 0 {
				line = rest[:eol]
			}
			if closing {
				line = line[2:]
			}
			if len(bytes.TrimRight(line, " \t\r")) == 0 {
				if start >= 0 {
					end := i
					if end > start && body[end-1] == '\n' {
						end--
						if end > start && body[end-1] == '\r' {
							end--
						}
					}
					parts = append(parts, body[start:end])
				}
				if closing || eol < 0 {
					return parts
				}
				i += len(delim) + eol + 1
				start = i
				continue
			}
		}
		j := bytes.IndexByte(body[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
	}
	if start >= 0 && start <= len(body) {
		parts = append(parts, body[start:]) // no closing delimiter
	}
	return parts
}

// ErrTooLarge is returned by Decoded when the decoded body exceeds the
// limit.
var ErrTooLarge = errors.New("mimetree: decoded body over the limit")

// Decoded returns the body without its Content-Transfer-Encoding
// (base64, quoted-printable, or none), at most limit bytes. Without an
// encoding it is the part's own memory: read it, do not change it.
func (p *Part) Decoded(limit int64) ([]byte, error) {
	var r io.Reader = bytes.NewReader(p.Body)
	switch strings.ToLower(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding"))) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &base64Cleaner{r: r})
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	default:
		// 7bit, 8bit, binary or none: the body is the content. It is
		// returned without a copy (every delivery's state-secret check
		// decodes its text parts, issue 16), capped so that an append
		// by the caller cannot write into the part.
		if int64(len(p.Body)) > limit {
			return p.Body[:limit:limit], ErrTooLarge
		}
		return p.Body[:len(p.Body):len(p.Body)], nil
	}
	// Base64 and quoted-printable only shrink: one buffer of the encoded
	// size holds the result (io.ReadAll grew from 512 bytes).
	buf := bytes.NewBuffer(make([]byte, 0, min(int64(len(p.Body)), limit)+bytes.MinRead))
	_, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	b := buf.Bytes()
	if int64(len(b)) > limit {
		return b[:limit], ErrTooLarge
	}
	if err != nil && len(b) == 0 {
		return nil, err
	}
	return b, nil // a damaged tail keeps what decoded
}

// base64Cleaner drops what base64 bodies carry besides the alphabet
// (line breaks, spaces).
type base64Cleaner struct {
	r io.Reader
}

func (c *base64Cleaner) Read(p []byte) (int, error) {
	for {
		n, err := c.r.Read(p)
		k := 0
		for _, b := range p[:n] {
			if b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '+' || b == '/' || b == '=' {
				p[k] = b
				k++
			}
		}
		if k > 0 || err != nil {
			return k, err
		}
	}
}

// Walk calls fn for p and every entity below it, depth first, children
// before embedded content; fn returning false skips the part's subtree.
func (p *Part) Walk(fn func(*Part) bool) {
	if p == nil || !fn(p) {
		return
	}
	for _, c := range p.Children {
		c.Walk(fn)
	}
	p.Embedded.Walk(fn)
}

// IsAttachment reports whether the part is a file: a disposition of
// attachment, or a file name.
func (p *Part) IsAttachment() bool {
	return p.Disposition == "attachment" || p.Filename != ""
}

// indexFold is strings.Index ignoring ASCII case. Lower-casing the whole
// string would not do: invalid UTF-8 changes length when lowered, and the
// index would point elsewhere (found by FuzzParse).
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
