package sieve

import (
	"bytes"
	"congvu/internal/autoreply"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Vacation replies (RFC 5230) with the safeguards of RFC 3834: never to a
// null sender, a list, bulk mail or another automatic message, only when
// the user is a visible recipient, once per sender per :days, marked
// Auto-Submitted: auto-replied and sent with the null reverse-path.

// vacationSkip says why no reply is due, "" when one is.
func vacationSkip(m *Message, userAddrs []string) string {
	sender := strings.ToLower(m.EnvelopeFrom)
	if sender == "" {
		return "null sender"
	}
	for _, a := range userAddrs {
		if sender == a {
			return "sent by the user"
		}
	}
	// RFC 3834 / RFC 5230 4.6: programs, lists, bulk and automatic mail
	// (the same rule as the notices of changed addresses).
	if reason := autoreply.Skip(sender, &m.Header); reason != "" {
		return reason
	}
	// RFC 5230 4.5: only when one of the user's addresses is a visible
	// recipient (not to Bcc'd or list copies).
	for _, h := range []string{"To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"} {
		for _, raw := range m.Header.Values(h) {
			list, err := mail.ParseAddressList(unfold(raw))
			if err != nil {
				continue
			}
			for _, a := range list {
				for _, u := range userAddrs {
					if strings.EqualFold(a.Address, u) {
						return ""
					}
				}
			}
		}
	}
	return "user not among the visible recipients"
}

// vacationHandle identifies a vacation "message" for the once-per-period
// rule (RFC 5230 4.2): :handle, else a hash of what the reply says.
func vacationHandle(v *VacationRequest) string {
	if v.Handle != "" {
		return "h:" + v.Handle
	}
	h := sha256.New()
	for _, s := range []string{v.Subject, v.From, fmt.Sprint(v.MIME), v.Reason} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "s:" + hex.EncodeToString(h.Sum(nil)[:12])
}

// maxTracked bounds the senders remembered per user; the oldest entries
// go first (they would expire first anyway).
const maxTracked = 10000

// vacationDue reports whether sender may get a reply for handle now, and
// if so records that one is sent, until now+days. The caller holds the
// user's lock. The record is written durably before the reply is sent:
// a crash in between loses one reply rather than sending two.
func (s *Store) vacationDue(user, handle, sender string, days int, now time.Time) (bool, error) {
	dir, err := s.userDir(user)
	if err != nil {
		return false, err
	}
	path := filepath.Join(dir, "vacation.json")
	seen := map[string]int64{}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return false, err
	default:
		if err := json.Unmarshal(b, &seen); err != nil {
			seen = map[string]int64{} // a damaged record: start again
		}
	}
	key := handle + "\x00" + strings.ToLower(sender)
	if until, ok := seen[key]; ok && now.Unix() < until {
		return false, nil
	}
	for k, until := range seen {
		if now.Unix() >= until {
			delete(seen, k)
		}
	}
	if len(seen) >= maxTracked {
		var oldestKey string
		var oldest int64
		for k, until := range seen {
			if oldestKey == "" || until < oldest {
				oldestKey, oldest = k, until
			}
		}
		delete(seen, oldestKey)
	}
	seen[key] = now.Add(time.Duration(days) * 24 * time.Hour).Unix()
	b, err = json.Marshal(seen)
	if err != nil {
		return false, err
	}
	return true, writeFile(dir, "vacation.json", b)
}

// composeReply builds the reply (RFC 5230 5).
func composeReply(v *VacationRequest, m *Message, from *mail.Address, to, hostname string, now time.Time) ([]byte, error) {
	var b bytes.Buffer
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", from.String())
	hdr("To", (&mail.Address{Address: to}).String())
	subject := v.Subject
	if subject == "" {
		// RFC 5230 5.6: "Auto: " and the original subject.
		orig := m.Header.Get("Subject")
		if d, err := wordDecoder.DecodeHeader(unfold(orig)); err == nil {
			orig = d
		}
		subject = "Auto: " + strings.TrimSpace(orig)
	}
	hdr("Subject", mime.QEncoding.Encode("utf-8", sanitizeLine(subject)))
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+randomID()+"@"+hostname+">")
	// RFC 5230 5.8: In-Reply-To and References.
	if id := strings.TrimSpace(unfold(m.Header.Get("Message-Id"))); id != "" && len(id) < 1000 {
		hdr("In-Reply-To", id)
		refs := strings.Join(strings.Fields(unfold(m.Header.Get("References"))), " ")
		if len(refs) > 4000 {
			refs = refs[len(refs)-4000:]
			if i := strings.IndexByte(refs, ' '); i >= 0 {
				refs = refs[i+1:]
			}
		}
		if refs != "" {
			refs += " "
		}
		hdr("References", refs+id)
	}
	// RFC 3834 5, RFC 5230 5.7.
	hdr("Auto-Submitted", "auto-replied")
	hdr("MIME-Version", "1.0")
	if v.MIME {
		// RFC 5230 4.8: the reason is a MIME entity, header included.
		reason := strings.ReplaceAll(strings.ReplaceAll(v.Reason, "\r\n", "\n"), "\n", "\r\n")
		if !strings.Contains(reason, "\r\n\r\n") || !strings.HasPrefix(strings.ToLower(reason), "content-") {
			return nil, errors.New("vacation :mime reason is not a MIME entity")
		}
		b.WriteString(reason)
		return b.Bytes(), nil
	}
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(strings.ReplaceAll(v.Reason, "\r\n", "\n"), "\n", "\r\n")
	qp.Write([]byte(body))
	qp.Close()
	b.WriteString("\r\n")
	return b.Bytes(), nil
}

// sanitizeLine keeps header text on one line.
func sanitizeLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 400 {
		s = s[:400]
	}
	return strings.TrimSpace(s)
}

func randomID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
