// Package textextract turns the parts of a message into plain text lines
// for the state-secret guard: text/plain in any charset, HTML, the XML
// inside Office Open XML (DOCX, XLSX, PPTX) and OpenDocument (ODT, ODS,
// ODP) zip files, and the text layer of PDFs. Paragraphs, table cells and
// text boxes become lines of their own, so a stamp box reads as a line.
//
// Every input is hostile until read: decoded size, extracted text, zip
// entries, each entry's expansion ratio, the total expanded bytes and the
// time are bounded; hitting a limit returns the text read so far with
// ErrLimit, never a stall.
package textextract

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/net/html"
	"golang.org/x/text/unicode/norm"

	"congvu/internal/ascii"
	"congvu/pdf"
)

// Limits bound one extraction.
type Limits struct {
	// MaxText bounds the text returned (default 4 MiB).
	MaxText int
	// MaxZipEntries bounds the entries of a zip container (default
	// 4,000), MaxZipRatio the expansion of one entry (default 100×; real
	// documents stay far below) and MaxZipBytes the bytes expanded from
	// one container (default 16 MiB of XML, several hundred pages).
	MaxZipEntries int
	MaxZipRatio   int64
	MaxZipBytes   int64
	// Timeout bounds one extraction (default 5 s).
	Timeout time.Duration
}

// WithDefaults fills zero fields.
func (l Limits) WithDefaults() Limits {
	if l.MaxText <= 0 {
		l.MaxText = 4 << 20
	}
	if l.MaxZipEntries <= 0 {
		l.MaxZipEntries = 4000
	}
	if l.MaxZipRatio <= 0 {
		l.MaxZipRatio = 100
	}
	if l.MaxZipBytes <= 0 {
		l.MaxZipBytes = 16 << 20
	}
	if l.Timeout <= 0 {
		l.Timeout = 5 * time.Second
	}
	return l
}

// ErrLimit says a limit stopped the extraction; the text read before it
// is returned with it.
var ErrLimit = errors.New("textextract: limit reached")

// ErrUnsupported: the format has no text we read (images, old binary
// Office files…).
var ErrUnsupported = errors.New("textextract: format not supported")

// Kind is the format Extract recognised.
type Kind string

const (
	Plain       Kind = "text"
	HTML        Kind = "html"
	Office      Kind = "office" // OOXML or OpenDocument
	PDF         Kind = "pdf"
	Unsupported Kind = ""
)

// KindOf recognises a part by its media type, then its file name.
func KindOf(mediaType, filename string) Kind {
	mediaType = strings.ToLower(mediaType)
	ext := strings.ToLower(path.Ext(filename))
	switch {
	case mediaType == "application/pdf" || ext == ".pdf":
		return PDF
	case strings.Contains(mediaType, "openxmlformats-officedocument") || strings.HasPrefix(mediaType, "application/vnd.oasis.opendocument"):
		return Office
	case ext == ".docx" || ext == ".xlsx" || ext == ".pptx" || ext == ".odt" || ext == ".ods" || ext == ".odp":
		return Office
	case mediaType == "text/html" || ext == ".html" || ext == ".htm":
		return HTML
	case strings.HasPrefix(mediaType, "text/") && mediaType != "text/rtf":
		return Plain
	case ext == ".txt" || ext == ".csv":
		return Plain
	}
	return Unsupported
}

// Extract returns the text of a decoded part. charsetLabel is the part's
// charset parameter ("" for UTF-8 or none).
func Extract(ctx context.Context, kind Kind, charsetLabel string, data []byte, lim Limits) (string, error) {
	lim = lim.WithDefaults()
	ctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	w := &textWriter{max: lim.MaxText}
	var err error
	switch kind {
	case Plain:
		// Text within the limit is the answer as it is: going through the
		// writer copied every delivery's body twice more (issue 16).
		s := decodeCharset(charsetLabel, data)
		if len(s) <= w.max {
			return s, nil
		}
		w.WriteString(s)
	case HTML:
		err = htmlText(ctx, w, charsetLabel, data)
	case Office:
		err = officeText(ctx, w, data, lim)
	case PDF:
		f := pdf.Open(ctx, data, pdf.Limits{MaxTextBytes: lim.MaxText})
		var t string
		t, err = f.Text()
		w.WriteString(t)
		if errors.Is(err, pdf.ErrLimit) {
			err = ErrLimit
		}
	default:
		return "", ErrUnsupported
	}
	if w.full && err == nil {
		err = ErrLimit
	}
	if err == nil && ctx.Err() != nil {
		err = ErrLimit
	}
	return w.String(), err
}

// textWriter collects text up to max bytes.
type textWriter struct {
	b    strings.Builder
	max  int
	full bool
}

func (w *textWriter) WriteString(s string) {
	if w.full {
		return
	}
	if w.b.Len()+len(s) > w.max {
		s = s[:w.max-w.b.Len()]
		for len(s) > 0 && !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		w.full = true
	}
	w.b.WriteString(s)
}

func (w *textWriter) newline() {
	s := w.b.String()
	if len(s) > 0 && s[len(s)-1] != '\n' {
		w.WriteString("\n")
	}
}

func (w *textWriter) String() string { return w.b.String() }

// decodeCharset converts data from label to UTF-8 (unknown labels and
// UTF-8 pass through; invalid bytes become U+FFFD).
func decodeCharset(label string, data []byte) string {
	l := strings.ToLower(strings.TrimSpace(label))
	if l != "" && l != "utf-8" && l != "utf8" && l != "us-ascii" {
		if r, err := charset.Reader(l, bytes.NewReader(data)); err == nil {
			if b, err := io.ReadAll(r); err == nil {
				data = b
			}
		}
	}
	if ascii.Is(data) {
		// Valid and composed already: spare the two passes below, which
		// every delivery's state-secret check pays (issue 16).
		return string(data)
	}
	// windows-1258 and VNI-era text decode to combining tone marks:
	// compose them (TCVN 6909 text is NFC).
	return norm.NFC.String(strings.ToValidUTF8(string(data), "\uFFFD"))
}

// blockElements end a line in HTML.
var blockElements = map[string]bool{
	"p": true, "div": true, "br": true, "tr": true, "td": true, "th": true, "li": true, "h1": true, "h2": true,
	"h3": true, "h4": true, "h5": true, "h6": true, "table": true, "blockquote": true, "pre": true, "hr": true,
	"section": true, "article": true, "header": true, "footer": true, "center": true, "title": true,
}

func htmlText(ctx context.Context, w *textWriter, label string, data []byte) error {
	z := html.NewTokenizer(strings.NewReader(decodeCharset(label, data)))
	z.SetMaxBuf(1 << 20)
	skip := 0
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return ErrLimit
		}
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return nil // EOF, or a broken tail: keep what was read
		case html.TextToken:
			if skip == 0 {
				w.WriteString(html.UnescapeString(string(z.Raw())))
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if tag == "script" || tag == "style" {
				switch {
				case tt == html.StartTagToken:
					skip++
				case tt == html.EndTagToken && skip > 0:
					skip--
				}
				continue
			}
			if blockElements[tag] {
				w.newline()
			}
		}
		if w.full {
			return ErrLimit
		}
	}
}
