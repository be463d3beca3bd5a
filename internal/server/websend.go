package server

import (
	"context"
	"errors"

	"congvu/smtpd"
	webmail "congvu/web/mail"
)

// webSender sends the webmail's messages through smtpd's submission path
// (Submit), so that the web gets every check SMTP clients get.
type webSender struct{ srv *smtpd.Server }

var _ webmail.Sender = webSender{}

func (s webSender) Send(ctx context.Context, m webmail.Outgoing) error {
	err := s.srv.Submit(ctx, smtpd.SubmitRequest{Account: m.Account, IP: m.IP, Via: "webmail", From: m.From,
		Rcpts: m.Rcpts, Message: m.Message})
	var re *smtpd.RecipientError
	if errors.As(err, &re) {
		return &webmail.RecipientError{Address: re.Address, Err: re.Err}
	}
	return err
}
