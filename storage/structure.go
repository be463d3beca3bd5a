package storage

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"strings"

	"congvu/internal/bufsize"
	"congvu/internal/mailerr"
)

// Limits on the MIME structure of a message accepted for delivery or
// APPEND (issue 15 §1). Real mail stays far below them: a forwarded
// message inside a signed multipart inside a mixed one is depth 4.
const (
	MaxMIMENesting = 100
	MaxMIMEParts   = 10000
)

// ErrMIMEStructure refuses a message nested too deeply or with too many
// parts: every reader would pay for it.
var ErrMIMEStructure = &mailerr.Error{SMTPCode: 554, Enhanced: [3]int{5, 6, 0}, IMAPCode: "LIMIT",
	Message:   fmt.Sprintf("Message structure too complex (more than %d nested parts or %d parts)", MaxMIMENesting, MaxMIMEParts),
	MessageVI: "Cấu trúc thư quá phức tạp (lồng nhau quá sâu hoặc quá nhiều phần)"}

// maxStructureHeader bounds the header text kept per entity while
// looking for its Content-Type.
const maxStructureHeader = 256 << 10

// CheckMIMEStructure reads a message once, in time linear in its size,
// and refuses it when its multipart / message/rfc822 nesting is deeper
// than MaxMIMENesting or it has more than MaxMIMEParts parts. It only
// follows boundaries (RFC 2046 5.1.1) and never decodes, so it cannot be
// made slow by the structure it measures: each delimiter line is compared
// with at most MaxMIMENesting open boundaries.
func CheckMIMEStructure(r io.Reader) error {
	return CheckMIMEStructureFrom(bufsize.Reader(r, 64<<10))
}

// CheckMIMEStructureFrom is CheckMIMEStructure reading from br (a pooled
// reader: nothing refers to its buffer afterwards).
func CheckMIMEStructureFrom(br *bufio.Reader) error {
	// open is the stack of enclosing entities: a boundary for a
	// multipart, "" for a message/rfc822 wrapper.
	var open []string
	parts := 0
	inHeader := true
	var header bytes.Buffer
	partial := false // the previous read ended inside a long line
	for {
		line, err := br.ReadSlice('\n')
		long := err == bufio.ErrBufferFull
		if len(line) > 0 {
			startOfLine := !partial
			partial = long
			switch {
			case inHeader:
				if startOfLine && isBlank(line) {
					inHeader = false
					child, multipart, boundary := entityKind(header.Bytes())
					header.Reset()
					if multipart {
						open = append(open, boundary)
					} else if child {
						open = append(open, "")
						inHeader = true // the enclosed message's header follows
					}
					if len(open) > MaxMIMENesting {
						return ErrMIMEStructure.With(fmt.Errorf("nesting deeper than %d", MaxMIMENesting))
					}
				} else if header.Len() < maxStructureHeader {
					header.Write(line)
				}
			case startOfLine && bytes.HasPrefix(line, []byte("--")):
				if i, closing := matchBoundary(line, open); i >= 0 {
					if closing {
						open = open[:i]
					} else {
						open = open[:i+1]
						parts++
						if parts > MaxMIMEParts {
							return ErrMIMEStructure.With(fmt.Errorf("more than %d parts", MaxMIMEParts))
						}
						inHeader = true
					}
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil && !long {
			return err
		}
	}
}

func isBlank(line []byte) bool {
	return len(bytes.TrimRight(line, "\r\n")) == 0
}

// entityKind reads the Content-Type of a header block: whether the body is
// an enclosed message (message/rfc822, message/global) or a multipart with
// its boundary.
func entityKind(header []byte) (child, multipart bool, boundary string) {
	ct := headerValue(header, "content-type")
	if ct == "" {
		return false, false, ""
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return false, false, ""
	}
	switch {
	case strings.HasPrefix(mt, "multipart/") && params["boundary"] != "":
		return false, true, params["boundary"]
	case mt == "message/rfc822" || mt == "message/global":
		return true, false, ""
	}
	return false, false, ""
}

// headerValue returns the unfolded value of the first field named name
// (lower case) in a raw header block.
func headerValue(header []byte, name string) string {
	var val []byte
	in := false
	for _, line := range bytes.SplitAfter(header, []byte("\n")) {
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if in {
				val = append(val, bytes.TrimRight(line, "\r\n")...)
			}
			continue
		}
		if in {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon > 0 && strings.EqualFold(string(bytes.TrimSpace(line[:colon])), name) {
			in = true
			val = append(val, bytes.TrimRight(line[colon+1:], "\r\n")...)
		}
	}
	return strings.TrimSpace(string(val))
}

// matchBoundary finds the innermost open boundary that line delimits
// (RFC 2046 5.1.1: "--" boundary, then "--" for the close delimiter, then
// optional white space). It returns its index and whether it closes.
func matchBoundary(line []byte, open []string) (int, bool) {
	rest := bytes.TrimRight(line[2:], " \t\r\n")
	for i := len(open) - 1; i >= 0; i-- {
		b := open[i]
		if b == "" || !bytes.HasPrefix(rest, []byte(b)) {
			continue
		}
		switch tail := rest[len(b):]; {
		case len(tail) == 0:
			return i, false
		case string(tail) == "--":
			return i, true
		}
	}
	return -1, false
}
