package smtpd

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"strings"
	"unicode"

	"github.com/emersion/go-message/textproto"
	"golang.org/x/text/unicode/norm"

	"congvu/internal/mailerr"
	"congvu/policy"
)

// errAttachmentTooBig: one part of the message is larger than
// Config.MaxAttachmentBytes once decoded (RFC 3463 5.3.4: message too big
// for system). The text names the part; the caller adds sizes.
var errAttachmentTooBig = &mailerr.Error{SMTPCode: 552, Enhanced: [3]int{5, 3, 4}, IMAPCode: "TOOBIG",
	Message: "Attachment too big", MessageVI: "Tệp đính kèm vượt quá dung lượng cho phép"}

// maxAttachmentDepth bounds how deep checkAttachments descends. Every level
// adds a multipart reader that every byte below it passes through, so the
// cost grows with depth × size; below this depth the remaining entity is
// counted whole, undecoded — an over-estimate (base64 and quoted-printable
// only shrink when decoded), so nesting cannot hide a large attachment.
const maxAttachmentDepth = 16

// checkAttachments enforces Config.MaxAttachmentBytes on every leaf part
// of the message after its Content-Transfer-Encoding is decoded (RFC 2045
// 6), forwarded messages (message/rfc822) included: the regulation limits
// attachments to 30 MB, and a 30 MB file is about 41 MB on the wire, which
// is what the message limit is sized for. Broken MIME is counted as far as
// it parses and is never refused here (storage.CheckMIMEStructure runs
// first and the readers degrade).
//
// It also returns whether the message carries an attachment by the usage
// counters' rule (policy.IsAttachment on parts reached through multiparts),
// nil when it could not tell, so the policy engine need not read the
// message again (issue 16).
func (s *session) checkAttachments(msg *spool) (*bool, error) {
	limit := s.srv.cfg.MaxAttachmentBytes
	if limit <= 0 {
		return nil, nil
	}
	c := attachmentCounter{limit: limit}
	br := s.srv.readers.Get(msg.reader())
	c.entity(br, "", 0)
	s.srv.readers.Put(br)
	if c.tooBig == nil {
		if c.unsure {
			return nil, nil
		}
		return &c.attachment, nil
	}
	big := c.tooBig
	name := asciiFold(big.name)
	mb := func(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }
	limitMB := fmt.Sprintf("%d MB", limit>>20)
	if limit%(1<<20) != 0 {
		limitMB = mb(limit)
	}
	return nil, errAttachmentTooBig.WithMessage(
		fmt.Sprintf("Tep dinh kem %q vuot qua %s / Attachment %q is %s after decoding, over the limit of %s per attachment",
			name, limitMB, name, mb(big.size), limitMB),
		fmt.Sprintf("Tệp đính kèm %q vượt quá %s cho mỗi tệp", big.name, limitMB)).
		With(fmt.Errorf("part %s (%s): %d bytes decoded", big.number, big.name, big.size))
}

type bigPart struct {
	name, number string
	size         int64
}

type attachmentCounter struct {
	limit  int64
	tooBig *bigPart
	// attachment: a part reached through multiparts only (as the policy
	// engine's own walk does) is an attachment; unsure: some part was not
	// looked at (too deep), so attachment says nothing.
	attachment bool
	unsure     bool
	inMessage  int // levels of message/rfc822 above the part
}

// entity reads one MIME entity (header and body) from r.
func (c *attachmentCounter) entity(r *bufio.Reader, number string, depth int) {
	if c.tooBig != nil {
		return
	}
	h, err := textproto.ReadHeader(r)
	if err != nil {
		return
	}
	c.body(h, r, number, depth)
}

func (c *attachmentCounter) body(h textproto.Header, body io.Reader, number string, depth int) {
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		mt = "text/plain"
	}
	name := partName(h, params)
	if depth > 0 && c.inMessage == 0 && policy.IsAttachment(&h) {
		c.attachment = true
	}
	if depth >= maxAttachmentDepth {
		c.unsure = true
		c.count(body, name, number)
		return
	}
	switch {
	case strings.HasPrefix(mt, "multipart/") && params["boundary"] != "":
		mr := multipart.NewReader(body, params["boundary"])
		for i := 1; c.tooBig == nil; i++ {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			c.body(textproto.HeaderFromMap(p.Header), p, childNumber(number, i), depth+1)
		}
	case mt == "message/rfc822" || mt == "message/global":
		c.inMessage++
		c.entity(bufio.NewReader(decoded(h, body)), number, depth+1)
		c.inMessage--
	default:
		c.count(decoded(h, body), name, number)
	}
}

// count reads a part and records it when it exceeds the limit. The whole
// part is read (the message is bounded by MaxMessageBytes) so the reply can
// say how large it is.
func (c *attachmentCounter) count(r io.Reader, name, number string) {
	if n, _ := io.Copy(io.Discard, r); n > c.limit {
		c.tooBig = &bigPart{name: name, number: number, size: n}
	}
}

// decoded undoes the Content-Transfer-Encoding of a body (RFC 2045 6);
// unknown encodings are read as they are. Go's base64 decoder skips line
// breaks; other bad characters end the part where they appear.
func decoded(h textproto.Header, body io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, body)
	case "quoted-printable":
		return quotedprintable.NewReader(body)
	}
	return body
}

func childNumber(parent string, i int) string {
	if parent == "" {
		return fmt.Sprint(i)
	}
	return fmt.Sprintf("%s.%d", parent, i)
}

// partName is the part's file name (Content-Disposition, else the
// Content-Type name parameter; RFC 2231 and RFC 2047 decoded), or its media
// type when it has none.
func partName(h textproto.Header, ctParams map[string]string) string {
	name := ""
	if _, dp, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil {
		name = dp["filename"]
	}
	if name == "" {
		name = ctParams["name"]
	}
	if name != "" {
		if d, err := new(mime.WordDecoder).DecodeHeader(name); err == nil {
			name = d
		}
		return name
	}
	if ct := h.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		return mt
	}
	return "text/plain"
}

// asciiFold writes s for an SMTP reply, which is US-ASCII: Vietnamese
// letters lose their diacritics, other characters become '?', at most 80
// characters.
func asciiFold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'đ':
			r = 'd'
		case r == 'Đ':
			r = 'D'
		case r < 0x20 || r > 0x7e || r == '"':
			r = '?'
		}
		if b.Len() >= 80 {
			b.WriteString("...")
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
