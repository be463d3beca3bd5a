package pop3d

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"congvu/storage"
)

// message is one entry of the maildrop snapshot taken at login.
type message struct {
	uid     uint32
	size    int64 // octets as sent by RETR, CRLF line ends, before dot-stuffing
	deleted bool  // marked by DELE, acted on in UPDATE only
	read    bool  // sent in full by RETR
}

// maildrop is the session's view of the INBOX (RFC 1939 section 3: message
// numbers stay fixed for the whole session, whatever IMAP does meanwhile).
type maildrop struct {
	mb          storage.Mailbox
	uidValidity uint32
	msgs        []message
}

// openMaildrop snapshots the INBOX of user.
func openMaildrop(ctx context.Context, st storage.Store, user string, quota int64) (*maildrop, error) {
	mb, err := st.Mailbox(ctx, user, quota)
	if err != nil {
		return nil, err
	}
	status, err := mb.Status(ctx, storage.Inbox)
	if err != nil {
		return nil, err
	}
	infos, err := mb.Messages(ctx, storage.Inbox)
	if err != nil {
		return nil, err
	}
	md := &maildrop{mb: mb, uidValidity: status.UIDValidity, msgs: make([]message, 0, len(infos))}
	for _, mi := range infos {
		// The store keeps messages as received. SMTP DATA (RFC 5321
		// 2.3.8) and IMAP APPEND (RFC 9051 2.2) carry CRLF lines, so the
		// stored size is the RFC 1939 octet count. writeMessage still
		// completes a bare LF or a missing final CRLF so the wire stays
		// valid, and RETR logs when what it sent differs from this size.
		md.msgs = append(md.msgs, message{uid: mi.UID, size: mi.Size})
	}
	return md, nil
}

// get returns message n (1-based) unless it is out of range or deleted.
func (md *maildrop) get(n int) (*message, bool) {
	if n < 1 || n > len(md.msgs) || md.msgs[n-1].deleted {
		return nil, false
	}
	return &md.msgs[n-1], true
}

// stat returns the count and total size of the undeleted messages
// (RFC 1939 section 5, STAT).
func (md *maildrop) stat() (count int, size int64) {
	for _, m := range md.msgs {
		if !m.deleted {
			count++
			size += m.size
		}
	}
	return count, size
}

// uidl is the unique-id of a message (RFC 1939 section 7: 1 to 70 characters
// in 0x21-0x7E, the same across sessions). UIDVALIDITY and UID together
// identify a message for as long as the store keeps it.
func (md *maildrop) uidl(m *message) string {
	return fmt.Sprintf("%08x%08x", md.uidValidity, m.uid)
}

// deletedUIDs and readUIDs list the UIDs the UPDATE state acts on.
func (md *maildrop) deletedUIDs() []uint32 {
	var uids []uint32
	for _, m := range md.msgs {
		if m.deleted {
			uids = append(uids, m.uid)
		}
	}
	return uids
}

func (md *maildrop) readUIDs() []uint32 {
	var uids []uint32
	for _, m := range md.msgs {
		if m.read && !m.deleted {
			uids = append(uids, m.uid)
		}
	}
	return uids
}

// reset unmarks every message (RFC 1939 section 5, RSET).
func (md *maildrop) reset() {
	for i := range md.msgs {
		md.msgs[i].deleted = false
	}
}

// writeMessage copies a message to w as the body of a multi-line response
// (RFC 1939 section 3): lines starting with "." get one more ".", every
// line ends with CRLF (a bare LF is completed), and the final ".CRLF" is
// written. With bodyLines >= 0 only the header, the blank line and that
// many body lines are sent (TOP). It returns the octets of the message as
// sent, without the stuffed dots and the terminator, so RETR can compare
// them with the size LIST announced.
func writeMessage(w *bufio.Writer, r io.Reader, bodyLines int) (int64, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	var (
		n         int64
		lineStart = true  // at the first octet of a line
		inHeader  = true  // before the blank line ending the header
		lineLen   = 0     // octets of the current line so far
		prev      byte    // last octet written, to spot bare LF
		body      = 0     // body lines sent
		stop      = false // TOP has sent its lines
	)
	for !stop {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			if lineStart && !inHeader && bodyLines >= 0 && body >= bodyLines {
				break
			}
			if lineStart && chunk[0] == '.' {
				// Byte-stuffing, RFC 1939 section 3.
				if err := w.WriteByte('.'); err != nil {
					return n, err
				}
			}
			data := chunk
			complete := data[len(data)-1] == '\n'
			if complete {
				data = data[:len(data)-1]
			}
			if _, err := w.Write(data); err != nil {
				return n, err
			}
			n += int64(len(data))
			lineLen += len(data)
			if len(data) > 0 {
				prev = data[len(data)-1]
			}
			lineStart = complete
			if complete {
				// Bare LF becomes CRLF; a CR that ended the previous chunk
				// belongs to this line end.
				if prev != '\r' {
					if err := w.WriteByte('\r'); err != nil {
						return n, err
					}
					n++
				}
				if err := w.WriteByte('\n'); err != nil {
					return n, err
				}
				n++
				if inHeader && (lineLen == 0 || lineLen == 1 && prev == '\r') {
					inHeader = false
				} else if !inHeader {
					body++
				}
				lineLen, prev = 0, '\n'
			}
		}
		switch {
		case err == nil, err == bufio.ErrBufferFull:
		case err == io.EOF:
			stop = true
		default:
			return n, err
		}
	}
	if !lineStart {
		// A message not ending in CRLF still needs one before the
		// terminator; it is part of what the client receives.
		if _, err := w.WriteString("\r\n"); err != nil {
			return n, err
		}
		n += 2
	}
	_, err := w.WriteString(".\r\n")
	return n, err
}
