package storage

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"strings"

	"congvu/internal/bufsize"

	"github.com/emersion/go-imap/v2"
	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode RFC 2047 words in windows-1258, iso-8859-1…
	"github.com/emersion/go-message/textproto"
)

const (
	// maxHeaderBytes bounds the raw header block kept in the index. A
	// header that large is abuse; the rest of it is treated as body.
	maxHeaderBytes = 4 << 20
	// maxMIMEDepth bounds nesting of multipart and message/rfc822 parts.
	// Each level wraps the reader of its parent, so parsing cost grows with
	// size × depth; real mail stays far below this.
	maxMIMEDepth = 32
)

// parsedMessage is what the index caches about a message (see Cached).
type parsedMessage struct {
	Header   []byte
	Envelope *imap.Envelope
	Body     imap.BodyStructure
}

// parseMessage reads a whole RFC 5322 message and extracts the raw header,
// the envelope and the body structure. It never fails and never panics: on
// malformed input it degrades to what it could parse, and at worst to an
// empty envelope and a text/plain body covering everything after the header
// (RFC 2045 5.2 default).
func parseMessage(r io.Reader) *parsedMessage { return parseMessageWith(r, nil) }

// parseMessageWith is parseMessage reading through a reader from readers
// (nil: a new one); nothing it returns refers to the reader's buffer.
func parseMessageWith(r io.Reader, readers *bufsize.Pool) (p *parsedMessage) {
	cr := &countingReader{r: r}
	var br *bufio.Reader
	if readers == nil {
		br = bufio.NewReaderSize(cr, bufsize.For(r, 16<<10))
	} else {
		br = readers.Get(cr)
		defer readers.Put(br)
	}
	header, headerLines := readRawHeader(br)
	p = &parsedMessage{Header: header}
	defer func() {
		if v := recover(); v != nil {
			// A bug in a parser must not lose mail: keep what is safe.
			io.Copy(io.Discard, br)
			p.Envelope = &imap.Envelope{}
			p.Body = plainText(cr.n-int64(len(header)), cr.lines-headerLines)
		}
	}()
	h, _ := textproto.ReadHeader(bufsize.Bytes(header))
	p.Envelope = ExtractEnvelope(h)
	if len(header) >= maxHeaderBytes {
		io.Copy(io.Discard, br)
		p.Body = plainText(cr.n-int64(len(header)), cr.lines-headerLines)
		return p
	}
	p.Body = extractBodyStructure(h, br, 0)
	io.Copy(io.Discard, br)
	return p
}

// readRawHeader returns the header block including the blank line that ends
// it (CRLF CRLF, or LF LF for bare-LF messages), or everything up to EOF
// when there is no body.
func readRawHeader(br *bufio.Reader) ([]byte, int64) {
	var buf []byte
	var lines int64
	for len(buf) < maxHeaderBytes {
		line, err := br.ReadSlice('\n')
		buf = append(buf, line...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(line) > 0 && line[len(line)-1] == '\n' {
			lines++
			// A line that is only the terminator ends the header; for a
			// line split by ErrBufferFull, line is just its tail, so check
			// the whole line in buf.
			start := len(buf) - len(line)
			if start == 0 || buf[start-1] == '\n' {
				if s := string(line); s == "\r\n" || s == "\n" {
					break
				}
			}
		}
		if err != nil {
			break
		}
	}
	return buf, lines
}

// extractBodyStructure builds BODYSTRUCTURE the way go-imap v2.0.0-beta.8's
// imapserver.ExtractBodyStructure did, field for field, with three
// changes that matter for a server that parses untrusted mail at
// delivery time:
//   - leaf bodies are counted while streaming instead of read into memory;
//   - nesting deeper than maxMIMEDepth is reported as an opaque leaf;
//   - an invalid Content-Type, or a multipart that has no boundary or no
//     parts, becomes text/plain; charset=us-ascii (RFC 2045 5.2), since an
//     empty multipart is not expressible in BODYSTRUCTURE (RFC 9051 9:
//     body-type-mpart = 1*body).
//
// TestBodyStructureMatchesGoIMAP checks it against the original on
// well-formed mail.
func extractBodyStructure(rawHeader textproto.Header, r io.Reader, depth int) imap.BodyStructure {
	header := gomessage.Header{Header: rawHeader}
	mediaType, typeParams, err := header.ContentType()
	if err != nil {
		mediaType, typeParams = "text/plain", map[string]string{"charset": "us-ascii"}
	}
	primaryType, subType, _ := strings.Cut(mediaType, "/")
	cr := &countingReader{r: r}

	if primaryType == "multipart" && depth < maxMIMEDepth && typeParams["boundary"] != "" {
		bs := &imap.BodyStructureMultiPart{Subtype: subType}
		mr := textproto.NewMultipartReader(cr, typeParams["boundary"])
		for {
			part, err := mr.NextPart()
			if part == nil || err != nil {
				break
			}
			bs.Children = append(bs.Children, extractBodyStructure(part.Header, part, depth+1))
		}
		io.Copy(io.Discard, cr) // epilogue, counted for the fallback below
		if len(bs.Children) == 0 {
			return plainText(cr.n, cr.lines)
		}
		bs.Extended = &imap.BodyStructureMultiPartExt{
			Params:      typeParams,
			Disposition: getContentDisposition(header),
			Language:    getContentLanguage(header),
			Location:    header.Get("Content-Location"),
		}
		return bs
	}
	if primaryType == "multipart" {
		if depth >= maxMIMEDepth {
			primaryType, subType, typeParams = "application", "octet-stream", nil
		} else {
			io.Copy(io.Discard, cr)
			return plainText(cr.n, cr.lines)
		}
	}

	bs := &imap.BodyStructureSinglePart{
		Type:        primaryType,
		Subtype:     subType,
		Params:      typeParams,
		ID:          header.Get("Content-Id"),
		Description: header.Get("Content-Description"),
		Encoding:    header.Get("Content-Transfer-Encoding"),
	}
	if (mediaType == "message/rfc822" || mediaType == "message/global") && depth < maxMIMEDepth {
		br := bufio.NewReader(cr)
		childHeader, _ := textproto.ReadHeader(br)
		child := extractBodyStructure(childHeader, br, depth+1)
		io.Copy(io.Discard, br)
		bs.MessageRFC822 = &imap.BodyStructureMessageRFC822{
			Envelope:      ExtractEnvelope(childHeader),
			BodyStructure: child,
			NumLines:      cr.lines,
		}
	} else {
		io.Copy(io.Discard, cr)
	}
	bs.Size = clampSize(cr.n)
	if primaryType == "text" {
		bs.Text = &imap.BodyStructureText{NumLines: cr.lines}
	}
	bs.Extended = &imap.BodyStructureSinglePartExt{
		Disposition: getContentDisposition(header),
		Language:    getContentLanguage(header),
		Location:    header.Get("Content-Location"),
	}
	return bs
}

// plainText is the RFC 2045 5.2 default body.
func plainText(size, lines int64) *imap.BodyStructureSinglePart {
	return &imap.BodyStructureSinglePart{
		Type:     "text",
		Subtype:  "plain",
		Params:   map[string]string{"charset": "us-ascii"},
		Size:     clampSize(size),
		Text:     &imap.BodyStructureText{NumLines: max(lines, 0)},
		Extended: &imap.BodyStructureSinglePartExt{},
	}
}

func clampSize(n int64) uint32 {
	return uint32(min(max(n, 0), math.MaxUint32))
}

// getContentDisposition and getContentLanguage are as in go-imap.
func getContentDisposition(header gomessage.Header) *imap.BodyStructureDisposition {
	disp, dispParams, _ := header.ContentDisposition()
	if disp == "" {
		return nil
	}
	return &imap.BodyStructureDisposition{Value: disp, Params: dispParams}
}

func getContentLanguage(header gomessage.Header) []string {
	v := header.Get("Content-Language")
	if v == "" {
		return nil
	}
	l := strings.Split(v, ",")
	for i, lang := range l {
		l[i] = strings.TrimSpace(lang)
	}
	return l
}

// countingReader counts bytes and line feeds read through it.
type countingReader struct {
	r     io.Reader
	n     int64
	lines int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.lines += int64(bytes.Count(p[:n], []byte{'\n'}))
	return n, err
}
