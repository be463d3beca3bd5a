package mail

// Writing a message as Thunderbird and Outlook expect to read it: header
// text in RFC 2047 encoded words (UTF-8, folded at 78 columns), the text
// body as UTF-8 quoted-printable, attachments in base64 under a name given
// twice — RFC 2231 filename* in Content-Disposition (the standard, with
// continuations for long names) and an RFC 2047 name= in Content-Type (what
// older Outlook reads) — and a forwarded message as message/rfc822.

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// outMessage is a message being written: a draft or one to send.
type outMessage struct {
	From        *mail.Address
	To, Cc, Bcc []*mail.Address
	Subject     string
	Body        string
	MessageID   string // without angle brackets
	InReplyTo   string // without angle brackets
	References  []string
	Date        time.Time
	ComposeID   string // ties the versions of one draft together
	Orig        string // drafts: the message answered or forwarded
	Attachments []outAttachment
	// Sign: drafts remember that the unit's signature was asked for.
	Sign                 bool
	withBcc, asDraftCopy bool
}

// outAttachment is a file attached to an outMessage.
type outAttachment struct {
	Name, Type string
	// Open returns the decoded bytes (or, for a message/rfc822, the
	// message as stored).
	Open func() (io.ReadCloser, error)
}

// composeIDField marks the versions of one draft (saved manually, on
// leaving the page, after a refused send) so a new save replaces the old.
// Only drafts carry it; a sent message never does.
const composeIDField = "X-Congvu-Compose-Id"

// draftSignField remembers, in a draft only, that the unit's signature
// was asked for. It is not the submission's control field (a draft sent
// later from Thunderbird is not signed behind the official's back).
const draftSignField = "X-Congvu-Compose-Sign"

// headerWriter folds header fields at spaces to stay within 78 columns
// (RFC 5322 2.1.1) where it can.
type headerWriter struct {
	w   *bufio.Writer
	err error
}

func (h *headerWriter) field(name, value string) {
	if h.err != nil || value == "" {
		return
	}
	line := name + ": "
	col := len(line)
	var b strings.Builder
	b.WriteString(line)
	for i, word := range strings.Split(value, " ") {
		if i > 0 {
			if col+1+len(word) > 78 && col > len(name)+2 {
				b.WriteString("\r\n ")
				col = 1
			} else {
				b.WriteByte(' ')
				col++
			}
		}
		b.WriteString(word)
		col += len(word)
	}
	b.WriteString("\r\n")
	_, h.err = h.w.WriteString(b.String())
}

// encodeText is an unstructured header value (Subject) in RFC 2047
// encoded words when it is not plain ASCII.
func encodeText(s string) string {
	s = cleanText(s, maxSubjectRunes)
	if isPrintableASCII(s) {
		return s
	}
	return mime.BEncoding.Encode("utf-8", s)
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// addressField formats an address list; net/mail encodes display names
// with RFC 2047 and quotes them as needed.
func addressField(list []*mail.Address) string {
	parts := make([]string, len(list))
	for i, a := range list {
		parts[i] = a.String() + map[bool]string{true: ",", false: ""}[i < len(list)-1]
	}
	return strings.Join(parts, " ")
}

func angle(ids []string) string {
	var out []string
	for _, id := range ids {
		if id != "" {
			out = append(out, "<"+id+">")
		}
	}
	return strings.Join(out, " ")
}

// newBoundary is a multipart boundary no text body can contain by chance.
func newBoundary() string { return "=_congvu_" + rand.Text() }

// newMessageID is a Message-ID in the sender's domain (RFC 5322 3.6.4).
func newMessageID(from string, now time.Time) string {
	domain := "localhost"
	if i := strings.LastIndexByte(from, '@'); i >= 0 {
		domain = from[i+1:]
	}
	return fmt.Sprintf("%s.%s@%s", strings.ToLower(rand.Text()[:16]), now.UTC().Format("20060102150405"), domain)
}

// write writes the message. The copy sent leaves Bcc out (RFC 5322
// 3.6.3: the recipients must not see it); drafts and the Sent copy keep it.
func (m *outMessage) write(out io.Writer) error {
	w := bufio.NewWriter(out)
	h := &headerWriter{w: w}
	h.field("Date", m.Date.Format(time.RFC1123Z))
	h.field("From", addressField([]*mail.Address{m.From}))
	h.field("To", addressField(m.To))
	h.field("Cc", addressField(m.Cc))
	if m.withBcc {
		h.field("Bcc", addressField(m.Bcc))
	}
	h.field("Subject", encodeText(m.Subject))
	h.field("Message-ID", angle([]string{m.MessageID}))
	h.field("In-Reply-To", angle([]string{m.InReplyTo}))
	h.field("References", angle(m.References))
	if m.asDraftCopy {
		h.field(composeIDField, m.ComposeID)
		h.field(origField, encodeText(m.Orig))
		if m.Sign {
			h.field(draftSignField, "yes")
		}
	}
	h.field("MIME-Version", "1.0")
	if h.err != nil {
		return h.err
	}
	if len(m.Attachments) == 0 {
		if err := writeTextPart(w, m.Body); err != nil {
			return err
		}
		return w.Flush()
	}
	boundary := newBoundary()
	fmt.Fprintf(w, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\nThis is a multi-part message in MIME format.\r\n", boundary)
	fmt.Fprintf(w, "--%s\r\n", boundary)
	if err := writeTextPart(w, m.Body); err != nil {
		return err
	}
	for _, a := range m.Attachments {
		fmt.Fprintf(w, "\r\n--%s\r\n", boundary)
		if err := writeAttachment(w, a); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\r\n--%s--\r\n", boundary)
	return w.Flush()
}

// writeTextPart writes the body's header and the body: UTF-8 in NFC,
// quoted-printable with CRLF line ends.
func writeTextPart(w *bufio.Writer, body string) error {
	w.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	body = norm.NFC.String(strings.ToValidUTF8(body, "\uFFFD"))
	body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\r", "\n")
	qp := quotedprintable.NewWriter(w) // text mode: "\n" becomes CRLF
	if _, err := io.WriteString(qp, body); err != nil {
		return err
	}
	if err := qp.Close(); err != nil {
		return err
	}
	if !strings.HasSuffix(body, "\n") {
		w.WriteString("\r\n")
	}
	return nil
}

// writeAttachment writes one attachment part.
func writeAttachment(w *bufio.Writer, a outAttachment) error {
	name := cleanFileName(a.Name)
	if name == "" {
		name = "tep-dinh-kem"
	}
	mt := strings.ToLower(a.Type)
	if _, _, err := mime.ParseMediaType(mt); err != nil || mt == "" || strings.HasPrefix(mt, "multipart/") {
		mt = "application/octet-stream"
	}
	h := &headerWriter{w: w}
	h.field("Content-Type", mt+"; name="+quoteParam(encodeText(name)))
	h.field("Content-Disposition", "attachment; "+rfc2231Param("filename", name))
	if h.err != nil {
		return h.err
	}
	rc, err := a.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if mt == "message/rfc822" {
		// RFC 2046 5.2.1: never base64; the message goes in as stored.
		w.WriteString("Content-Transfer-Encoding: 8bit\r\n\r\n")
		_, err := io.Copy(w, rc)
		return err
	}
	w.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
	return writeBase64Lines(w, rc)
}

// writeBase64Lines writes base64 in lines of 76 characters (RFC 2045 6.8).
func writeBase64Lines(w io.Writer, r io.Reader) error {
	buf := make([]byte, 57*64) // 57 bytes make one 76-character line
	line := make([]byte, 76)
	for {
		n, err := io.ReadFull(r, buf)
		for i := 0; i < n; i += 57 {
			chunk := buf[i:min(i+57, n)]
			base64.StdEncoding.Encode(line, chunk)
			if _, werr := w.Write(append(line[:base64.StdEncoding.EncodedLen(len(chunk))], '\r', '\n')); werr != nil {
				return werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func quoteParam(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// rfc2231Param writes a parameter: plain when the value is short ASCII,
// otherwise UTF-8 percent-encoded (RFC 2231 4) and split into numbered
// continuations (RFC 2231 3) so that no line grows long.
func rfc2231Param(name, value string) string {
	if isPrintableASCII(value) && len(value) <= 60 && !strings.ContainsAny(value, `"\`) {
		return name + "=" + quoteParam(value)
	}
	const attrChar = "!#$&+-.^_`|~" // RFC 2231 7 attribute-char besides ALPHA / DIGIT
	var chunks []string
	var cur strings.Builder
	for _, r := range value {
		var enc strings.Builder
		if r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(attrChar, r)) {
			enc.WriteRune(r)
		} else {
			var b [4]byte
			for _, c := range b[:utf8.EncodeRune(b[:], r)] {
				fmt.Fprintf(&enc, "%%%02X", c)
			}
		}
		// A rune's bytes stay in one continuation.
		if cur.Len()+enc.Len() > 48 && cur.Len() > 0 {
			chunks = append(chunks, cur.String())
			cur.Reset()
		}
		cur.WriteString(enc.String())
	}
	chunks = append(chunks, cur.String())
	if len(chunks) == 1 {
		return name + "*=UTF-8''" + chunks[0]
	}
	parts := make([]string, len(chunks))
	for i, c := range chunks {
		if i == 0 {
			c = "UTF-8''" + c
		}
		sep := ";"
		if i == len(chunks)-1 {
			sep = ""
		}
		parts[i] = fmt.Sprintf("%s*%d*=%s%s", name, i, c, sep)
	}
	return strings.Join(parts, " ")
}
