// Package export writes an official's mailbox in the formats other mail
// programs read: mbox (mboxrd, as mutt, Thunderbird and Dovecot read it)
// and Maildir++ (Dovecot's layout, with its UID list, so Dovecot keeps
// the UIDs). `congvu export` and the webmail's download use it.
package export

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strings"
	"time"

	"congvu/storage"
)

// FolderHeader names a message's folder in a whole-mailbox mbox, the way
// Google's export uses X-Gmail-Labels: one mbox file has no folders.
const FolderHeader = "X-Congvu-Folder"

// Stats counts what an export wrote.
type Stats struct {
	Folders, Messages int
	Bytes             int64
}

// dropHeaders are header fields the mbox writer sets itself from the
// store's flags; copies arriving inside messages (from anyone on the
// internet) must not decide what mutt shows as read or flagged.
var dropHeaders = []string{"status", "x-status", "x-keywords", strings.ToLower(FolderHeader)}

// Folders resolves the folders to export: the named ones (in order), or
// every folder of the mailbox.
func Folders(ctx context.Context, mb storage.Mailbox, names []string) ([]storage.FolderStatus, error) {
	if len(names) > 0 {
		out := make([]storage.FolderStatus, 0, len(names))
		for _, n := range names {
			st, err := mb.Status(ctx, n)
			if err != nil {
				return nil, err
			}
			out = append(out, st)
		}
		return out, nil
	}
	return mb.Folders(ctx)
}

// Mbox writes the folders of mb (all of them when folders is empty) to w
// as one mbox in the mboxrd variant (RFC 4155 §2 with ">From " quoting
// that a reader can undo): a "From " line with the envelope sender (from
// Return-Path, else MAILER-DAEMON) and the internal date, Status and
// X-Status carrying \Seen, \Answered, \Flagged, \Deleted and \Draft as
// mutt reads them, X-Keywords the other keywords (as Dovecot's mbox), and
// X-Congvu-Folder the folder when several are written; then the message
// with LF line ends. Any of those fields already in a message is dropped.
func Mbox(ctx context.Context, w io.Writer, mb storage.Mailbox, folders []string) (Stats, error) {
	var st Stats
	list, err := Folders(ctx, mb, folders)
	if err != nil {
		return st, err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	for _, f := range list {
		msgs, err := mb.Messages(ctx, f.Name)
		if err != nil {
			return st, err
		}
		st.Folders++
		for _, m := range msgs {
			if err := ctx.Err(); err != nil {
				return st, err
			}
			n, err := writeMboxMessage(ctx, bw, mb, f.Name, m, len(list) > 1 || len(folders) == 0)
			if err != nil {
				return st, fmt.Errorf("export %s UID %d: %w", f.Name, m.UID, err)
			}
			st.Messages++
			st.Bytes += n
		}
	}
	return st, bw.Flush()
}

// mboxFlags returns the Status and X-Status values and the keywords.
func mboxFlags(flags []string) (status, xstatus string, keywords []string) {
	status = "O" // seen by a mail program already: not "new" in mutt
	for _, f := range flags {
		switch f {
		case `\Seen`:
			status = "RO"
		case `\Answered`:
			xstatus += "A"
		case `\Flagged`:
			xstatus += "F"
		case `\Deleted`:
			xstatus += "D"
		case `\Draft`:
			xstatus += "T"
		default:
			if !strings.HasPrefix(f, `\`) {
				keywords = append(keywords, f)
			}
		}
	}
	return status, xstatus, keywords
}

func writeMboxMessage(ctx context.Context, w *bufio.Writer, mb storage.Mailbox, folder string, m storage.MessageInfo, withFolder bool) (int64, error) {
	rc, err := mb.Open(ctx, folder, m.UID)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	r := bufio.NewReaderSize(rc, 32<<10)
	header, err := readHeader(r)
	if err != nil {
		return 0, err
	}
	sender := "MAILER-DAEMON"
	if rp := headerValue(header, "return-path"); rp != "" {
		if a, err := mail.ParseAddress(rp); err == nil && a.Address != "" && !strings.ContainsAny(a.Address, " \t") {
			sender = a.Address
		}
	}
	// RFC 4155 §2: the date in asctime form, UTC.
	fmt.Fprintf(w, "From %s %s\n", sender, m.InternalDate.UTC().Format(time.ANSIC))
	status, xstatus, keywords := mboxFlags(m.Flags)
	fmt.Fprintf(w, "Status: %s\n", status)
	if xstatus != "" {
		fmt.Fprintf(w, "X-Status: %s\n", xstatus)
	}
	if len(keywords) > 0 {
		fmt.Fprintf(w, "X-Keywords: %s\n", strings.Join(keywords, " "))
	}
	if withFolder {
		fmt.Fprintf(w, "%s: %s\n", FolderHeader, folder)
	}
	lw := &lineWriter{w: w}
	for _, field := range header {
		if slices.Contains(dropHeaders, fieldName(field)) {
			continue
		}
		lw.Write(field)
	}
	if _, err := io.Copy(lw, r); err != nil {
		return lw.n, err
	}
	lw.end()
	// The empty line that separates messages (RFC 4155 §2).
	w.WriteByte('\n')
	return lw.n, nil
}

// readHeader reads the header block as fields, each with its folded
// lines and line ends. The empty line that ends the block is consumed and
// returned as the last element, so the body follows in r and the copy
// keeps the empty line.
func readHeader(r *bufio.Reader) ([][]byte, error) {
	var fields [][]byte
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// An overlong header line: keep it whole.
			long := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				line, err = r.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		} else {
			line = append([]byte(nil), line...)
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if len(line) == 0 {
			return fields, nil
		}
		if isBlank(line) {
			return append(fields, line), nil
		}
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			fields[len(fields)-1] = append(fields[len(fields)-1], line...)
		} else {
			fields = append(fields, line)
		}
		if err == io.EOF {
			return fields, nil
		}
	}
}

func isBlank(line []byte) bool {
	return len(bytes.TrimRight(line, "\r\n")) == 0
}

// fieldName is the lower-case name of a header field ("" for the blank line).
func fieldName(field []byte) string {
	name, _, ok := bytes.Cut(field, []byte(":"))
	if !ok {
		return ""
	}
	return strings.ToLower(string(bytes.TrimSpace(name)))
}

// headerValue is the unfolded value of the first field called name.
func headerValue(fields [][]byte, name string) string {
	for _, f := range fields {
		if fieldName(f) == name {
			_, v, _ := bytes.Cut(f, []byte(":"))
			return strings.Join(strings.Fields(string(v)), " ")
		}
	}
	return ""
}

// lineWriter turns CRLF into LF and quotes lines matching ^>*From  with
// one more ">" (mboxrd), across Write calls that split lines anywhere.
type lineWriter struct {
	w *bufio.Writer
	n int64
	// pending holds the start of a line that may still turn into a
	// "From " line, or a CR that may precede LF.
	pending []byte
	mid     bool // inside a line, past the part that decides quoting
}

func (l *lineWriter) Write(p []byte) (int, error) {
	for _, c := range p {
		l.byte(c)
	}
	return len(p), nil
}

func (l *lineWriter) emit(b ...byte) {
	l.w.Write(b)
	l.n += int64(len(b))
}

func (l *lineWriter) byte(c byte) {
	if len(l.pending) > 0 && l.pending[len(l.pending)-1] == '\r' {
		l.pending = l.pending[:len(l.pending)-1]
		if c == '\n' {
			l.flushPending()
			l.emit('\n')
			l.mid = false
			return
		}
		// A lone CR is data inside the line, not a line end.
		l.flushPending()
		l.emit('\r')
		l.mid = true
	}
	switch {
	case c == '\r':
		l.pending = append(l.pending, c)
	case c == '\n':
		l.flushPending()
		l.emit('\n')
		l.mid = false
	case l.mid:
		l.emit(c)
	default:
		l.pending = append(l.pending, c)
		if !isFromPrefix(l.pending) {
			l.flushPending()
			l.mid = true
		} else if bytes.HasSuffix(l.pending, []byte("From ")) {
			l.emit('>')
			l.flushPending()
			l.mid = true
		}
	}
}

// isFromPrefix reports whether b can still grow into ">*From ".
func isFromPrefix(b []byte) bool {
	b = bytes.TrimLeft(b, ">")
	return bytes.HasPrefix([]byte("From "), b)
}

func (l *lineWriter) flushPending() {
	if len(l.pending) > 0 {
		l.emit(l.pending...)
		l.pending = l.pending[:0]
	}
}

// end finishes the message with a line end (a last line without one
// gets it; a lone CR at the end becomes the LF).
func (l *lineWriter) end() {
	inLine := l.mid || len(l.pending) > 0
	if n := len(l.pending); n > 0 && l.pending[n-1] == '\r' {
		l.pending = l.pending[:n-1]
	}
	l.flushPending()
	if inLine {
		l.emit('\n')
	}
	l.mid = false
}
