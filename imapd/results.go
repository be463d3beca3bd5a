package imapd

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	"congvu/smime"
)

// An appended message did not pass through our inbound checks, so an
// Authentication-Results field naming our authserv-id in it is a forgery
// (RFC 8601 §5): a user could otherwise APPEND "smime=pass" into a shared
// mailbox and the webmail's signature badge would trust it. Such fields
// are removed as the message streams into the spool; the field boundaries
// and the authserv-id are read exactly as smime.FromHeader reads them
// (lines split at LF, one CR trimmed, folding lines start with SP or HTAB,
// the header ends at the first empty line), so that nothing FromHeader
// would trust gets through.

const (
	// stripChunk is the read buffer: a header line longer than this is
	// passed on (or held) in pieces.
	stripChunk = 16 << 10
	// maxResultsField bounds an Authentication-Results field held while
	// its authserv-id is decided; a longer one is dropped whole.
	maxResultsField = 64 << 10
)

// errHeaderLineTooLong: a header line of more than stripChunk bytes
// without a colon, whose field name cannot be known.
var errHeaderLineTooLong = errors.New("header line too long without a field name")

// resultsStripper is an io.Reader giving src without the
// Authentication-Results fields that name id.
type resultsStripper struct {
	src *bufio.Reader
	id  string

	out     []byte // what Read gives next
	outBuf  []byte
	field   []byte // an Authentication-Results field being read
	inField bool
	tooBig  bool // field passed maxResultsField: dropped
	// midLine: the last chunk ended without LF; toField: that line goes
	// to field rather than out.
	midLine, toField bool
	body             bool // past the header: copied as is
	err              error
	stripped         int
}

func stripOwnResults(r io.Reader, id string) *resultsStripper {
	return &resultsStripper{src: bufio.NewReaderSize(r, stripChunk), id: id}
}

func (s *resultsStripper) Read(p []byte) (int, error) {
	for len(s.out) == 0 {
		if s.body {
			return s.src.Read(p)
		}
		if s.err != nil {
			return 0, s.err
		}
		s.outBuf = s.outBuf[:0]
		s.step()
		s.out = s.outBuf
	}
	n := copy(p, s.out)
	s.out = s.out[n:]
	return n, nil
}

// step reads one line of the header, or one chunk of a long line.
func (s *resultsStripper) step() {
	chunk, err := s.src.ReadSlice('\n')
	bufferFull := errors.Is(err, bufio.ErrBufferFull)
	if err != nil && !bufferFull {
		// The end (or a read error): what came is the last line.
		defer func() {
			s.finishField()
			s.err = err
		}()
		if len(chunk) == 0 {
			return
		}
	}
	if s.midLine || chunk[0] == ' ' || chunk[0] == '\t' {
		// The rest of a long line, or a folding line: it belongs where
		// the line it continues went.
		if !s.midLine {
			s.toField = s.inField
		}
		s.midLine = bufferFull
		if s.toField {
			s.addField(chunk)
		} else {
			s.outBuf = append(s.outBuf, chunk...)
		}
		return
	}
	// A new field, or the end of the header: the held field is decided.
	s.finishField()
	s.midLine = bufferFull
	if line := bytes.TrimSuffix(bytes.TrimSuffix(chunk, []byte("\n")), []byte("\r")); len(line) == 0 && !bufferFull {
		s.outBuf = append(s.outBuf, chunk...)
		s.body = true
		return
	}
	colon := bytes.IndexByte(chunk, ':')
	if colon < 0 && bufferFull {
		s.err = errHeaderLineTooLong
		return
	}
	if colon > 0 && bytes.EqualFold(bytes.TrimRight(chunk[:colon], " \t"), []byte("Authentication-Results")) {
		s.inField, s.toField = true, true
		s.addField(chunk)
		return
	}
	s.toField = false
	s.outBuf = append(s.outBuf, chunk...)
}

func (s *resultsStripper) addField(b []byte) {
	if s.tooBig || len(s.field)+len(b) > maxResultsField {
		s.tooBig, s.field = true, s.field[:0]
		return
	}
	s.field = append(s.field, b...)
}

// finishField passes the held field on unless it names our authserv-id
// (or was too long to decide).
func (s *resultsStripper) finishField() {
	if !s.inField {
		return
	}
	if s.tooBig || smime.ClaimsAuthservID(unfoldValue(s.field), s.id) {
		s.stripped++
	} else {
		s.outBuf = append(s.outBuf, s.field...)
	}
	s.inField, s.tooBig, s.field = false, false, s.field[:0]
}

// unfoldValue is the value of one field, unfolded as smime.FromHeader
// unfolds it: the lines without their LF and one CR, joined by a space.
func unfoldValue(field []byte) string {
	var b bytes.Buffer
	for i, line := range bytes.Split(bytes.TrimSuffix(field, []byte("\n")), []byte("\n")) {
		line = bytes.TrimSuffix(line, []byte("\r"))
		if i == 0 {
			_, line, _ = bytes.Cut(line, []byte(":"))
		} else {
			b.WriteByte(' ')
		}
		b.Write(line)
	}
	return b.String()
}
