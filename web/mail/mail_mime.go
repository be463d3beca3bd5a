package mail

// Reading a stored message for display: its parts in IMAP numbering, the
// text to show (converted to UTF-8 from its charset, windows-1258
// included), the inline images of an HTML body, and the attachments.

import (
	"bufio"
	"errors"
	"io"
	"mime"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"congvu/internal/bufsize"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
	"golang.org/x/text/unicode/norm"
)

const (
	// maxMIMEDepth and maxMIMEParts bound the work one hostile message
	// can cause (storage bounds its parser the same way).
	maxMIMEDepth = 32
	maxMIMEParts = 1000
	// maxTextBytes is how much of a text body is shown.
	maxTextBytes = 2 << 20
	// maxInlineImageBytes bounds the inline images put into an HTML body
	// as data: URIs, all together.
	maxInlineImageBytes = 8 << 20
	maxSubjectRunes     = 500
	maxShownNameRunes   = 200
)

// mimePart is one leaf of a message.
type mimePart struct {
	Number      string // IMAP part number (RFC 9051 6.4.5), "1.2"
	Type        string // media type, lower case
	Params      map[string]string
	Disposition string // "attachment", "inline" or ""
	FileName    string // decoded (RFC 2231, RFC 2047), may be ""
	ContentID   string // without the angle brackets
	Parent      string // media type of the enclosing multipart, "" at the top
	ParentNum   string // part number of that multipart
	Size        int64  // decoded bytes
	// Damaged: the part ended early (unterminated multipart, bad
	// transfer encoding); what came before is shown.
	Damaged bool
}

// isBodyCandidate: a text part meant to be read, not downloaded.
func (p *mimePart) isBodyCandidate() bool {
	return (p.Type == "text/plain" || p.Type == "text/html") && p.Disposition != "attachment" && p.FileName == ""
}

// errStopWalk ends walkMIME early without an error.
var errStopWalk = errors.New("stop")

// walkMIME calls visit for every leaf of the message in r, in order, with
// the body's transfer encoding decoded (charset left alone: attachments
// download byte for byte). Encapsulated messages (message/rfc822) are
// leaves: they download as .eml files. visit need not read the body.
//
// A broken message is walked as far as it can be (mail_decode.go): the
// only errors are visit's own and failures to read r itself.
func walkMIME(r io.Reader, visit func(p *mimePart, body io.Reader) error) error {
	src := &sourceReader{r: r}
	br := bufio.NewReader(src)
	h, err := readHeaderLenient(br)
	if err != nil {
		return err
	}
	n := 0
	err = walkEntity(h, br, "", "", "", 0, &n, visit)
	if errors.Is(err, errStopWalk) {
		err = nil
	}
	if err == nil {
		err = src.err
	}
	return err
}

func walkEntity(h textproto.Header, body io.Reader, number, parent, parentNum string, depth int, n *int, visit func(*mimePart, io.Reader) error) error {
	hdr := gomessage.Header{Header: h}
	mt, params, err := hdr.ContentType()
	if err != nil || mt == "" {
		mt, params = "text/plain", map[string]string{"charset": "us-ascii"} // RFC 2045 5.2
	}
	mt = strings.ToLower(mt)
	if strings.HasPrefix(mt, "multipart/") && params["boundary"] == "" {
		// RFC 2046 5.1.1 requires the boundary; without one the body
		// cannot be split, so it is shown as the text it is.
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") && depth < maxMIMEDepth {
		damaged := false
		mr := textproto.NewMultipartReader(partReader{r: body, damaged: &damaged}, params["boundary"])
		for i := 1; ; i++ {
			part, err := mr.NextPart()
			if err != nil {
				// io.EOF, or a broken multipart: show what came before.
				return nil
			}
			child := strconv.Itoa(i)
			if number != "" {
				child = number + "." + child
			}
			if err := walkEntity(part.Header, part, child, mt, number, depth+1, n, visit); err != nil {
				return err
			}
		}
	}
	if number == "" {
		number = "1" // RFC 9051 6.4.5: a non-multipart message's body is part 1
	}
	if *n++; *n > maxMIMEParts {
		return errStopWalk
	}
	p := &mimePart{Number: number, Type: mt, Params: params, Parent: parent, ParentNum: parentNum,
		ContentID: strings.Trim(strings.TrimSpace(h.Get("Content-Id")), "<>")}
	if disp, dp, err := hdr.ContentDisposition(); err == nil {
		p.Disposition = strings.ToLower(disp)
		p.FileName = dp["filename"]
	}
	if p.FileName == "" {
		p.FileName = params["name"]
	}
	p.FileName = cleanFileName(p.FileName)
	if strings.HasPrefix(mt, "multipart/") {
		// Nested beyond maxMIMEDepth: the rest downloads as it is.
		p.Type = "application/octet-stream"
	}
	cr := &byteCounter{r: partReader{r: decodeTransfer(h.Get("Content-Transfer-Encoding"), partReader{r: body, damaged: &p.Damaged}), damaged: &p.Damaged}}
	if err := visit(p, cr); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, cr)
	p.Size = cr.n
	return err
}

type byteCounter struct {
	r io.Reader
	n int64
}

func (c *byteCounter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// mailContent is what the message view and the HTML frame need.
type mailContent struct {
	Parts []*mimePart
	// Body is the part shown, nil when the message has no text.
	Body     *mimePart
	BodyText string // UTF-8, NFC
	// Truncated: the body was longer than maxTextBytes.
	Truncated bool
	// UnknownCharset names a charset that could not be converted.
	UnknownCharset string
	// Damaged: some part ended early (see mail_decode.go).
	Damaged bool
	// Images are the inline images by Content-ID (only with wantImages).
	Images map[string]inlineImage
	texts  map[string]decodedText
	// alt: the body is a version of the multipart/alternative altRoot.
	alt     bool
	altRoot string
}

type decodedText struct {
	text           string
	truncated      bool
	unknownCharset string
}

type inlineImage struct {
	Type string
	Data []byte
}

// inlineImageTypes are the image types put into an HTML body. SVG is not
// one: it is a document that can carry script.
var inlineImageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// readContent reads the message once: every part's description, the text
// of the body candidates and, with wantImages, the inline images.
func readContent(r io.Reader, wantImages bool) (*mailContent, error) {
	mc := &mailContent{texts: map[string]decodedText{}, Images: map[string]inlineImage{}}
	imageBytes := 0
	err := walkMIME(r, func(p *mimePart, body io.Reader) error {
		mc.Parts = append(mc.Parts, p)
		switch {
		case p.isBodyCandidate() && len(mc.texts) < 8:
			mc.texts[p.Number] = decodeText(body, p.Params["charset"])
		case wantImages && p.ContentID != "" && inlineImageTypes[p.Type] && imageBytes < maxInlineImageBytes:
			data, err := io.ReadAll(io.LimitReader(body, int64(maxInlineImageBytes-imageBytes)+1))
			if err != nil {
				return err
			}
			if imageBytes+len(data) <= maxInlineImageBytes {
				imageBytes += len(data)
				mc.Images[p.ContentID] = inlineImage{Type: p.Type, Data: data}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	mc.chooseBody()
	for _, p := range mc.Parts {
		mc.Damaged = mc.Damaged || p.Damaged
	}
	return mc, nil
}

// chooseBody picks the part to show: the first body candidate or, when it
// is one of the versions of a multipart/alternative, the HTML of the last
// version that has one (RFC 2046 5.1.4: the last is the richest), which
// may sit inside a multipart/related with its images.
func (mc *mailContent) chooseBody() {
	for _, p := range mc.Parts {
		if _, ok := mc.texts[p.Number]; !ok {
			continue
		}
		mc.Body = p
		if p.Parent == "multipart/alternative" {
			mc.alt, mc.altRoot = true, p.ParentNum
			for _, q := range mc.Parts {
				if _, ok := mc.texts[q.Number]; ok && q.Type == "text/html" && within(q.Number, mc.altRoot) {
					mc.Body = q
				}
			}
		}
		break
	}
	if mc.Body != nil {
		t := mc.texts[mc.Body.Number]
		mc.BodyText, mc.Truncated, mc.UnknownCharset = t.text, t.truncated, t.unknownCharset
	}
}

// within tells whether part number n lies inside the multipart numbered
// root ("" is the whole message).
func within(n, root string) bool {
	return root == "" || strings.HasPrefix(n, root+".")
}

// alternativeOf tells whether p is another version of the body (the text
// beside the HTML of a multipart/alternative).
func (mc *mailContent) alternativeOf(p *mimePart) bool {
	return mc.alt && p.isBodyCandidate() && within(p.Number, mc.altRoot)
}

// attachments are the parts listed for download: everything but the body,
// its alternatives, and the inline images an HTML body shows.
func (mc *mailContent) attachments() []*mimePart {
	var out []*mimePart
	html := mc.Body != nil && mc.Body.Type == "text/html"
	for _, p := range mc.Parts {
		switch {
		case p == mc.Body || mc.alternativeOf(p):
		case html && p.ContentID != "" && p.Disposition != "attachment" && p.Parent == "multipart/related" && inlineImageTypes[p.Type]:
		case p.Size == 0 && p.FileName == "":
		case p.Parent == "multipart/signed" && isSignaturePart(p.Type):
			// The S/MIME signature itself (RFC 8551 3.5.3): the badge
			// says what it means; a download would only confuse.
		default:
			out = append(out, p)
		}
	}
	return out
}

// decodeText converts a text part to valid UTF-8 in NFC (windows-1258
// writes Vietnamese with combining tone marks; NFC composes them).
func decodeText(body io.Reader, label string) decodedText {
	var d decodedText
	r := body
	if label != "" && !strings.EqualFold(label, "utf-8") && !strings.EqualFold(label, "us-ascii") {
		if cr, err := charset.Reader(label, body); err == nil {
			r = cr
		} else {
			d.unknownCharset = label
		}
	}
	b, _ := io.ReadAll(io.LimitReader(r, maxTextBytes+1))
	if len(b) > maxTextBytes {
		b, d.truncated = b[:maxTextBytes], true
	}
	d.text = norm.NFC.String(strings.ToValidUTF8(string(b), "\uFFFD"))
	return d
}

// headerText is the decoded value of one field of a raw header block.
func headerText(raw []byte, key string) string {
	h, err := textproto.ReadHeader(bufsize.Bytes(raw))
	if err != nil && h.Len() == 0 {
		return ""
	}
	v, _ := (&gomessage.Header{Header: h}).Text(key)
	return v
}

// cleanText makes a decoded header value safe to show: valid UTF-8 in
// NFC, one line, without control characters or the bidirectional
// overrides that make "gpj.exe" read "exe.jpg", at most max runes.
func cleanText(s string, max int) string {
	s = norm.NFC.String(strings.ToValidUTF8(s, "\uFFFD"))
	var b strings.Builder
	n := 0
	space := false
	for _, r := range s {
		switch {
		case r == '\t' || r == '\r' || r == '\n' || unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.IsControl(r) || isBidiControl(r):
			continue
		}
		if n >= max {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

func isBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x200E || r == 0x200F || r == 0x061C
}

// cleanFileName keeps the last path component of a sender's file name,
// without controls or bidirectional overrides.
func cleanFileName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base("/" + name)
	if name == "/" || name == "." || name == ".." {
		return ""
	}
	name = cleanText(name, 200)
	return strings.TrimLeft(name, ".")
}

// downloadName is the file name an attachment is saved under.
func downloadName(p *mimePart) string {
	if p.FileName != "" {
		return p.FileName
	}
	base := "tep-dinh-kem-" + strings.ReplaceAll(p.Number, ".", "-")
	switch p.Type {
	case "message/rfc822", "message/global":
		return base + ".eml"
	case "text/plain":
		return base + ".txt"
	case "text/html":
		return base + ".html"
	}
	if exts, _ := mime.ExtensionsByType(p.Type); len(exts) > 0 {
		return base + exts[0]
	}
	return base + ".bin"
}

// contentDisposition is an attachment's Content-Disposition (RFC 6266
// 4.3): an ASCII filename for old clients (Vietnamese letters without
// their marks) and the UTF-8 name in filename* (RFC 8187).
func contentDisposition(name string) string {
	var ascii, ext strings.Builder
	for _, r := range norm.NFD.String(name) {
		switch {
		case r == 'đ':
			ascii.WriteByte('d')
		case r == 'Đ':
			ascii.WriteByte('D')
		case unicode.Is(unicode.Mn, r):
		case r < 0x20 || r >= 0x7f || r == '"' || r == '\\' || r == '%' || r == ';':
			ascii.WriteByte('_')
		default:
			ascii.WriteRune(r)
		}
	}
	const attrChar = "!#$&+-.^_`|~" // RFC 8187 3.2.1 attr-char besides ALPHA / DIGIT
	for _, c := range []byte(name) {
		if c < utf8.RuneSelf && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(attrChar, c) >= 0) {
			ext.WriteByte(c)
		} else {
			ext.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(c)|0x100, 16)[1:]))
		}
	}
	return `attachment; filename="` + ascii.String() + `"; filename*=UTF-8''` + ext.String()
}

// isSignaturePart: the detached signature of a multipart/signed message.
func isSignaturePart(mediaType string) bool {
	switch mediaType {
	case "application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature":
		return true
	}
	return false
}
