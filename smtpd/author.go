package smtpd

import (
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-message/textproto"

	"congvu/internal/bufsize"
	"congvu/internal/mailerr"
	"congvu/msgauth"
)

// errFromNotOwned: an official may write only as themselves. The envelope
// is checked at MAIL FROM (RFC 6409 6.1); this is the author the recipient
// sees, which the DKIM signature then vouches for (RFC 6376 5.4: From is
// always signed), so a stolen password cannot send signed mail "from" the
// chairman.
var errFromNotOwned = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 7, 1},
	Message:   "From header address not owned by authenticated user",
	MessageVI: "Địa chỉ người gửi (From) trong thư không phải của bạn"}

// errNoFrom: RFC 5322 3.6 requires exactly one From field.
var errNoFrom = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 6, 0},
	Message:   "Message must have exactly one valid From header field (RFC 5322 3.6)",
	MessageVI: "Thư phải có đúng một trường người gửi (From) hợp lệ"}

// errNameSpoof: a display name that writes out another address, which
// most mail readers show instead of the real one (issue 15 §3).
var errNameSpoof = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 7, 1},
	Message:   "Display name contains an address that is not yours",
	MessageVI: "Tên hiển thị của người gửi chứa một địa chỉ thư không phải của bạn"}

// errSenderNotOwned: the Sender field (RFC 5322 3.6.2) names the mailbox
// that actually sent the message; it must be the account's too.
var errSenderNotOwned = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 7, 1},
	Message:   "Sender header address not owned by authenticated user",
	MessageVI: "Địa chỉ trong trường Sender không phải của bạn"}

// checkAuthor refuses a submitted message whose From or Sender field names
// an address the authenticated account does not own, or whose display name
// writes out such an address. RFC 5322 3.6.2 allows several authors; every
// one of them must be the account's. It then adds Message-ID and Date when
// the client left them out (RFC 6409 8.2, 8.3).
func (s *session) checkAuthor(msg *spool) error {
	if s.mode != modeSubmission || s.account == nil {
		return nil
	}
	h, err := textproto.ReadHeader(bufsize.Bytes(msg.header()))
	if err != nil {
		return errNoFrom.With(err)
	}
	authors, err := msgauth.Authors(h)
	if err != nil {
		return errNoFrom.With(fmt.Errorf("From %q: %w", h.Get("From"), err))
	}
	if err := s.ownsAll(authors, errFromNotOwned, "From"); err != nil {
		return err
	}
	sentAs := false
	for _, a := range authors {
		sentAs = sentAs || !owns(s.account, a.Address)
	}
	if senders := h.Values("Sender"); len(senders) > 0 {
		sender, err := msgauth.ParseAddressList(senders[0])
		if err != nil || len(senders) > 1 || len(sender) != 1 {
			// RFC 5322 3.6: at most one Sender, a single mailbox.
			return errSenderNotOwned.With(fmt.Errorf("Sender %q: %d fields, %v", senders[0], len(senders), err))
		}
		if err := s.ownsAll(sender, errSenderNotOwned, "Sender"); err != nil {
			return err
		}
	}
	var add []byte
	if sentAs && !h.Has("Sender") {
		// RFC 5322 3.6.2: the clerk who wrote for the unit is the Sender.
		add = append(add, "Sender: "+s.account.Address+"\r\n"...)
	}
	if !h.Has("Message-Id") {
		add = append(add, "Message-ID: <"+newMessageID()+"@"+s.srv.cfg.Hostname+">\r\n"...)
	}
	if !h.Has("Date") {
		add = append(add, "Date: "+time.Now().In(vietnam).Format(time.RFC1123Z)+"\r\n"...)
	}
	if add != nil {
		msg.addHeader(add)
	}
	return nil
}

// ownsAll checks that every address, and every address written in its
// display name, is the account's own.
func (s *session) ownsAll(addrs []*mail.Address, notOwned *mailerr.Error, field string) error {
	for _, a := range addrs {
		if !owns(s.account, a.Address) && !s.sendsAs(a.Address) {
			return notOwned.With(fmt.Errorf("%s wrote %s: %s", s.account.Address, field, a.Address))
		}
		for _, other := range msgauth.NameAddresses(a.Name) {
			if !owns(s.account, other) {
				return errNameSpoof.With(fmt.Errorf("%s wrote %s: %q <%s>", s.account.Address, field, a.Name, a.Address))
			}
		}
	}
	return nil
}

// vietnam is Asia/Ho_Chi_Minh (UTC+7, no daylight saving since 1975), the
// zone of the Date fields the MSA adds.
var vietnam = time.FixedZone("ICT", 7*60*60)

// newMessageID is a unique left part for an added Message-ID (RFC 5322 3.6.4).
func newMessageID() string {
	return time.Now().UTC().Format("20060102150405") + "." + strings.ToLower(newID())
}
