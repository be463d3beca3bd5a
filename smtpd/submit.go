package smtpd

// Submit: the webmail (and any other front end that has signed the
// official in itself) sends through the very checks the submission
// listeners apply — From ownership, the policy engine's MAIL, RCPT and DATA
// hooks (send limits, secret guard, signed-document rule), NUL and content
// checks, DKIM, the outbound queue and local delivery — by driving a
// session without a connection. Nothing is copied: only the session's
// connection-bound facts (EHLO name, TLS state) have a stand-in, and its
// refusals come back as *mailerr.Error instead of SMTP replies.

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"

	"github.com/emersion/go-smtp"

	"congvu/directory"
	"congvu/internal/ascii"
	"congvu/internal/frontend"
	"congvu/internal/mailerr"
)

// SubmitRequest is one message sent by a signed-in official.
type SubmitRequest struct {
	// Account is the signed-in account; Submit checks that it may send
	// (the policy's MAIL hook refuses a locked sender).
	Account *directory.Account
	// IP is the client's address, for the policy and the trace field.
	IP net.IP
	// Via names the front end in the Received field ("webmail").
	Via string
	// From is the envelope sender: the account's address or an alias.
	From string
	// Rcpts are the envelope recipients (To, Cc and Bcc together).
	Rcpts []string
	// Message is the RFC 5322 message with CRLF line ends.
	Message io.Reader
}

// RecipientError is a refusal of one recipient (the RCPT stage).
type RecipientError struct {
	Address string
	Err     *mailerr.Error
}

func (e *RecipientError) Error() string { return e.Address + ": " + e.Err.Error() }
func (e *RecipientError) Unwrap() error { return e.Err }

// errTooManyRecipients: RFC 5321 4.5.3.1.10, as go-smtp answers beyond
// MaxRecipients on the listeners.
var errTooManyRecipients = &mailerr.Error{SMTPCode: 452, Enhanced: [3]int{4, 5, 3}, Temporary: true,
	Message: "Too many recipients", MessageVI: "Quá nhiều người nhận trong một thư"}

// Submit sends req.Message as a submission session would: nil means what
// a 250 means on the listeners (stored for local recipients, queued for
// the others). A refusal is a *mailerr.Error, wrapped in a
// *RecipientError when one recipient was refused; nothing was sent then.
// ctx bounds nothing yet: the session's own time limits apply.
func (s *Server) Submit(ctx context.Context, req SubmitRequest) error {
	if err := ctx.Err(); err != nil {
		return mailerr.Classify(err)
	}
	if req.Account == nil {
		return errAuthRequired
	}
	if req.Account.State != directory.StateActive {
		// What AUTH refuses on the listeners.
		return mailerr.ErrAccountDisabled.With(fmt.Errorf("%s is %s", req.Account.Address, req.Account.State))
	}
	if len(req.Rcpts) == 0 {
		return errNoRecipients
	}
	if len(req.Rcpts) > s.cfg.MaxRecipients {
		return errTooManyRecipients.With(fmt.Errorf("%d recipients", len(req.Rcpts)))
	}
	via := req.Via
	if via == "" {
		via = "localhost"
	}
	sess := &session{srv: s, mode: modeSubmission, ip: req.IP, account: req.Account, via: via, rdns: startRDNS(nil)}
	remote := "unknown"
	if req.IP != nil {
		remote = req.IP.String()
	}
	sess.log = s.log.With("listener", via, "remote", remote, "user", req.Account.Address)
	// RFC 6531 3.4: SMTPUTF8 only when an address needs it.
	utf8 := !ascii.IsString(req.From)
	for _, r := range req.Rcpts {
		utf8 = utf8 || !ascii.IsString(r)
	}
	if err := sess.Mail(req.From, &smtp.MailOptions{UTF8: utf8}); err != nil {
		return err
	}
	for _, rcpt := range req.Rcpts {
		if err := sess.Rcpt(rcpt, nil); err != nil {
			return &RecipientError{Address: rcpt, Err: toMailErr(err)}
		}
	}
	return sess.Data(req.Message)
}

// heloName is the client's EHLO name, or the front end's name.
func (s *session) heloName() string {
	if s.conn == nil {
		return s.via
	}
	return s.conn.Hostname()
}

// tlsState is the connection's TLS state; a front end reached over its
// own TLS (HTTPS) has none here.
func (s *session) tlsState() (tls.ConnectionState, bool) {
	if s.conn == nil {
		return tls.ConnectionState{}, false
	}
	return s.conn.TLSConnectionState()
}

// secure reports whether the client's connection is encrypted: TLS on
// this connection, or TLS that ended at the trusted proxy in front of the
// node (frontend.SecuredByProxy: nginx, listen.submission_proxy).
func (s *session) secure() bool {
	if _, ok := s.tlsState(); ok {
		return true
	}
	return s.conn != nil && frontend.SecuredByProxy(s.conn.Conn())
}

// asReply is what a refusal becomes: an SMTP reply on a connection, the
// *mailerr.Error itself for Submit.
func (s *session) asReply(me *mailerr.Error) error {
	if s.conn == nil {
		return me
	}
	return &smtp.SMTPError{Code: me.SMTPCode, EnhancedCode: smtp.EnhancedCode(me.Enhanced), Message: me.Message}
}
