package textextract

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// officeParts are the zip entries whose XML carries document text, and
// the elements that end a line in them: OOXML (ECMA-376) paragraphs,
// table cells and rows, shared strings; OpenDocument (ODF 1.3) paragraphs
// and headings. Text boxes and frames are paragraphs inside, so a stamp
// box is a line of its own.
func isTextEntry(name string) bool {
	name = strings.ToLower(name)
	switch {
	case name == "word/document.xml", name == "word/footnotes.xml", name == "word/endnotes.xml",
		strings.HasPrefix(name, "word/header") && strings.HasSuffix(name, ".xml"),
		strings.HasPrefix(name, "word/footer") && strings.HasSuffix(name, ".xml"),
		name == "xl/sharedstrings.xml",
		strings.HasPrefix(name, "xl/worksheets/sheet") && strings.HasSuffix(name, ".xml"),
		strings.HasPrefix(name, "ppt/slides/slide") && strings.HasSuffix(name, ".xml"),
		name == "content.xml", name == "styles.xml":
		return true
	}
	return false
}

// lineElements end a line (local names; OOXML w:/a:, SpreadsheetML and
// ODF text: elements).
var lineElements = map[string]bool{
	"p": true, "tc": true, "tr": true, "br": true, "cr": true, "si": true, "c": true, "h": true,
	"line-break": true, "table-cell": true, "list-item": true,
}

// textElements hold character data (w:t, a:t, SpreadsheetML t; ODF text
// is the character data of text:p/text:h/text:span directly).
var textElements = map[string]bool{"t": true, "delText": false}

// officeText reads the text entries of an OOXML or ODF zip.
func officeText(ctx context.Context, w *textWriter, data []byte, lim Limits) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("%w: not a zip container: %v", ErrUnsupported, err)
	}
	if len(zr.File) > lim.MaxZipEntries {
		return fmt.Errorf("%w: %d zip entries", ErrLimit, len(zr.File))
	}
	files := make([]*zip.File, 0, 8)
	for _, f := range zr.File {
		if isTextEntry(f.Name) {
			files = append(files, f)
		}
	}
	// Document order: body before headers, sheets by number.
	sort.SliceStable(files, func(i, j int) bool { return entryRank(files[i].Name) < entryRank(files[j].Name) })
	budget := lim.MaxZipBytes
	odf := false
	for _, f := range zr.File {
		if f.Name == "mimetype" || f.Name == "content.xml" {
			odf = true
		}
	}
	for _, f := range files {
		if ctx.Err() != nil {
			return ErrLimit
		}
		if f.Name == "styles.xml" && !odf {
			continue
		}
		used, err := xmlText(ctx, w, f, budget, lim.MaxZipRatio, odf)
		budget -= used
		if err != nil {
			return err
		}
		w.newline()
		if w.full {
			return ErrLimit
		}
	}
	return nil
}

func entryRank(name string) string {
	switch {
	case name == "word/document.xml" || name == "content.xml":
		return "0"
	case strings.HasPrefix(name, "xl/sharedStrings"):
		return "1"
	}
	return "2" + path.Base(name)
}

// ratioReader fails once more than max bytes were read, or more than
// ratio times the compressed size (a zip bomb).
type ratioReader struct {
	ctx      context.Context
	r        io.Reader
	n, limit int64
}

func (r *ratioReader) Read(p []byte) (int, error) {
	// The time limit holds inside one long XML token too.
	if r.ctx.Err() != nil {
		return 0, fmt.Errorf("%w: time", ErrLimit)
	}
	n, err := r.r.Read(p)
	r.n += int64(n)
	if r.n > r.limit {
		return n, fmt.Errorf("%w: zip entry expands beyond %d bytes", ErrLimit, r.limit)
	}
	return n, err
}

// xmlText streams one XML entry into w and returns the bytes read.
func xmlText(ctx context.Context, w *textWriter, f *zip.File, budget, ratio int64, odf bool) (int64, error) {
	if budget <= 0 {
		return 0, fmt.Errorf("%w: zip expands beyond its budget", ErrLimit)
	}
	rc, err := f.Open()
	if err != nil {
		return 0, nil // an unreadable entry has no text for us
	}
	defer rc.Close()
	limit := min(budget, max(int64(f.CompressedSize64), 1024)*ratio)
	rr := &ratioReader{ctx: ctx, r: rc, limit: limit}
	d := xml.NewDecoder(rr)
	d.Strict = false
	inText := 0
	for n := 0; ; n++ {
		if n%2048 == 0 && ctx.Err() != nil {
			return rr.n, ErrLimit
		}
		tok, err := d.RawToken()
		if err != nil {
			if errors.Is(err, ErrLimit) || errors.Is(rr.lastErr(err), ErrLimit) {
				return rr.n, err
			}
			return rr.n, nil // end of entry, or broken XML: keep what was read
		}
		switch t := tok.(type) {
		case xml.StartElement:
			local := t.Name.Local
			switch {
			case textElements[local]:
				inText++
			case odf && local == "s":
				w.WriteString(" ")
			case local == "tab":
				w.WriteString("\t")
			case lineElements[local]:
				// A paragraph inside a run (a text box) starts a line too.
				w.newline()
			}
		case xml.EndElement:
			local := t.Name.Local
			if textElements[local] && inText > 0 {
				inText--
			}
			if lineElements[local] {
				w.newline()
			}
		case xml.CharData:
			if inText > 0 || odf {
				w.WriteString(string(t))
			}
		}
		if w.full {
			return rr.n, ErrLimit
		}
	}
}

func (r *ratioReader) lastErr(err error) error {
	if r.n > r.limit {
		return ErrLimit
	}
	return err
}
