package smtpd

import (
	"bufio"
	"bytes"
	"fmt"

	"github.com/emersion/go-message/textproto"

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

// checkAuthor refuses a submitted message whose From field names an
// address the authenticated account does not own. RFC 5322 3.6.2 allows
// several authors; every one of them must be the account's.
func (s *session) checkAuthor(msg *spool) error {
	if s.mode != modeSubmission || s.account == nil {
		return nil
	}
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(msg.header())))
	if err != nil {
		return errNoFrom.With(err)
	}
	authors, err := msgauth.Authors(h)
	if err != nil {
		return errNoFrom.With(fmt.Errorf("From %q: %w", h.Get("From"), err))
	}
	for _, a := range authors {
		if !owns(s.account, a.Address) {
			return errFromNotOwned.With(fmt.Errorf("%s wrote From: %s", s.account.Address, a.Address))
		}
	}
	return nil
}
