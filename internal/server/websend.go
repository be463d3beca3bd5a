package server

import (
	"context"
	"errors"
	"io"
	"strings"

	"congvu/smtpd"
	webmail "congvu/web/mail"
)

// webSender sends the webmail's messages through smtpd's submission path
// (Submit), so that the web gets every check SMTP clients get. A message
// to be signed with the unit's certificate carries the same control field
// an SMTP client writes ([signing.central] header): package official reads
// it, strips it and signs, with the policy's decision and audit.
type webSender struct {
	srv        *smtpd.Server
	signHeader string
}

var _ webmail.Sender = webSender{}

func (s webSender) Send(ctx context.Context, m webmail.Outgoing) error {
	msg := m.Message
	if m.Sign {
		msg = io.MultiReader(strings.NewReader(cmpOr(s.signHeader, "X-Congvu-Sign")+": yes\r\n"), msg)
	}
	err := s.srv.Submit(ctx, smtpd.SubmitRequest{Account: m.Account, IP: m.IP, Via: "webmail", From: m.From,
		Rcpts: m.Rcpts, Message: msg})
	var re *smtpd.RecipientError
	if errors.As(err, &re) {
		return &webmail.RecipientError{Address: re.Address, Err: re.Err}
	}
	return err
}
