package smtpd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/emersion/go-smtp"

	"congvu/internal/mailerr"
)

// Refusals specific to SMTP. The shared ones live in internal/mailerr.
var (
	// errAuthRequired: RFC 4954 6, MAIL before AUTH on submission.
	errAuthRequired = &mailerr.Error{SMTPCode: 530, Enhanced: [3]int{5, 7, 0},
		Message: "Authentication required", MessageVI: "Cần đăng nhập trước khi gửi thư"}
	// errAuthNotOffered: AUTH on the MX port.
	errAuthNotOffered = &mailerr.Error{SMTPCode: 503, Enhanced: [3]int{5, 5, 1},
		Message:   "Authentication not available on this port, use submission (587 or 465)",
		MessageVI: "Cổng này không hỗ trợ đăng nhập, hãy dùng cổng 587 hoặc 465"}
	// errUnknownMechanism: RFC 4954 4, unrecognized mechanism.
	errUnknownMechanism = &mailerr.Error{SMTPCode: 504, Enhanced: [3]int{5, 5, 4},
		Message:   "Unrecognized authentication mechanism, use PLAIN or LOGIN",
		MessageVI: "Cơ chế đăng nhập không được hỗ trợ"}
	// errMalformedAuth: a SASL exchange that does not parse (RFC 4954 4:
	// 501 for a bad base64 or malformed response).
	errMalformedAuth = &mailerr.Error{SMTPCode: 501, Enhanced: [3]int{5, 5, 2},
		Message: "Malformed authentication data", MessageVI: "Dữ liệu đăng nhập không hợp lệ"}
	// errAuthTemporary: RFC 4954 6, "454 4.7.0 Temporary authentication
	// failure", for any temporary error while authenticating.
	errAuthTemporary = &mailerr.Error{SMTPCode: 454, Enhanced: [3]int{4, 7, 0}, Temporary: true,
		Message:   "Temporary authentication failure, try again later",
		MessageVI: "Tạm thời không đăng nhập được, vui lòng thử lại sau"}
	// errNullSender: RFC 6409 6.1 lets submission refuse a reverse-path the
	// user may not use; the null path is for bounces, never for people.
	errNullSender = mailerr.ErrSenderNotOwned.WithMessage("Null sender not allowed on submission",
		"Thư gửi đi phải có địa chỉ người gửi")
	// errMailboxDisabled: RFC 3463 X.2.1, a retired account.
	errMailboxDisabled = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 2, 1}, IMAPCode: "NONEXISTENT",
		Message: "Mailbox disabled, not accepting messages", MessageVI: "Hộp thư đã ngừng hoạt động"}
	// errAddressLiteral: a submitted recipient at an address literal or a
	// bare IP address instead of a domain name.
	errAddressLiteral = &mailerr.Error{SMTPCode: 553, Enhanced: [3]int{5, 1, 3},
		Message:   "Recipients must be at a domain name, not an IP address",
		MessageVI: "Địa chỉ người nhận phải thuộc một tên miền, không phải địa chỉ IP"}
	// errNoRecipients: DATA whose recipients were all reset away.
	errNoRecipients = &mailerr.Error{SMTPCode: 554, Enhanced: [3]int{5, 5, 1},
		Message: "No valid recipients", MessageVI: "Không có người nhận hợp lệ"}
	// errTransferAborted: the client broke off DATA/BDAT (RSET during
	// chunking, dropped connection, timeout). RFC 3463 X.4.2 bad connection.
	errTransferAborted = &mailerr.Error{SMTPCode: 451, Enhanced: [3]int{4, 4, 2}, Temporary: true,
		Message: "Message transfer aborted", MessageVI: "Truyền thư bị gián đoạn"}
	// errLineTooLong: a message line beyond maxLineLength (RFC 5321
	// 4.5.3.1.6); go-smtp closes the connection after this reply.
	errLineTooLong = &mailerr.Error{SMTPCode: 554, Enhanced: [3]int{5, 6, 0},
		Message: fmt.Sprintf("Message has a line longer than %d octets", maxLineLength), MessageVI: "Thư có dòng quá dài"}
	// errShuttingDown: RFC 5321 3.8, the server is going down.
	errShuttingDown = &mailerr.Error{SMTPCode: 421, Enhanced: [3]int{4, 3, 2}, Temporary: true,
		Message: "Server shutting down, try again later", MessageVI: "Máy chủ đang dừng, vui lòng thử lại sau"}
)

// phase says which command an error answers; AUTH has its own temporary
// code (RFC 4954 6).
type phase int

const (
	phaseMail phase = iota
	phaseRcpt
	phaseData
	phaseAuth
	phaseConnect
)

func (p phase) String() string {
	return [...]string{"MAIL", "RCPT", "DATA", "AUTH", "CONNECT"}[p]
}

// reply is the one place where an error becomes an SMTP reply: a
// *mailerr.Error keeps its code, enhanced code (RFC 3463) and English text;
// any other error becomes 451 4.3.0 with no internal detail (mailerr.Classify).
// It also logs the refusal and counts it. reply(nil) is nil.
func (s *session) reply(p phase, err error) error {
	if err == nil {
		return nil
	}
	me := toMailErr(err)
	if me.SMTPCode < 400 || me.SMTPCode > 599 {
		me = mailerr.ErrInternal.With(err)
	}
	if p == phaseAuth && me.Temporary && me.SMTPCode != 454 {
		me = errAuthTemporary.With(err)
	}
	code := strconv.Itoa(me.SMTPCode)
	s.srv.metrics.MessagesRejected.WithLabelValues(s.mode.String(), code).Inc()
	level := slog.LevelInfo
	if errors.Is(me, mailerr.ErrInternal) || errors.Is(me, mailerr.ErrStorageFull) || me.SMTPCode == 421 {
		level = slog.LevelError // our fault, not the client's
	}
	// err, not me.Err: for a sentinel returned as is, its own text is the
	// whole story; for a wrapped one, the cause follows.
	s.log.Log(context.Background(), level, "refused", "cmd", p.String(), "code", code,
		"enhanced", enhanced(me.Enhanced), "err", err)
	return s.asReply(me)
}

// toMailErr classifies err. go-smtp's own errors (the data reader's size
// limit) keep their meaning; everything else goes through mailerr.Classify.
func toMailErr(err error) *mailerr.Error {
	if errors.Is(err, smtp.ErrDataTooLarge) {
		return mailerr.ErrTooBig.With(err)
	}
	if errors.Is(err, smtp.ErrTooLongLine) {
		return errLineTooLong.With(err)
	}
	if mailerr.As(err) != nil {
		return mailerr.Classify(err)
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return &mailerr.Error{SMTPCode: se.Code, Enhanced: [3]int(se.EnhancedCode),
			Temporary: se.Code/100 == 4, Message: se.Message, Err: err}
	}
	return mailerr.Classify(err)
}

func enhanced(e [3]int) string {
	return strconv.Itoa(e[0]) + "." + strconv.Itoa(e[1]) + "." + strconv.Itoa(e[2])
}
