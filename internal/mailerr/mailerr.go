// Package mailerr defines the one error type that every congvu component
// returns when a mail operation is refused. It carries what each protocol edge
// needs to answer correctly: the SMTP reply code, the enhanced status code
// (RFC 3463), whether the failure is temporary, and an IMAP/POP3 response code.
// Components create these errors deep inside; smtpd, imapd, pop3d and webmail
// map them to the wire exactly once.
package mailerr

import (
	"errors"
	"fmt"
)

// Error is a mail-level failure with protocol-independent meaning.
type Error struct {
	// SMTPCode is the basic SMTP reply code (RFC 5321 4.2), e.g. 550.
	SMTPCode int
	// Enhanced is the enhanced status code (RFC 3463), e.g. {5, 1, 1}.
	Enhanced [3]int
	// Temporary tells whether retrying later may succeed (4xx vs 5xx).
	Temporary bool
	// IMAPCode is the IMAP response code (RFC 5530), e.g. "OVERQUOTA",
	// "UNAVAILABLE", "NONEXISTENT". Empty when none applies. POP3 uses it
	// for RESP-CODES (RFC 2449) where the name matches (AUTH, IN-USE, SYS/TEMP).
	IMAPCode string
	// Message is the English, user-readable text put on the wire.
	Message string
	// MessageVI is the Vietnamese text shown in the web UI.
	MessageVI string
	// Err is the underlying cause; it is logged, never sent to clients.
	Err error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%d %d.%d.%d %s", e.SMTPCode, e.Enhanced[0], e.Enhanced[1], e.Enhanced[2], e.Message)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrX) match on the classification (code, enhanced
// code and IMAP code) rather than on identity, so wrapped copies with a
// different cause still match their sentinel.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return e.SMTPCode == t.SMTPCode && e.Enhanced == t.Enhanced && e.IMAPCode == t.IMAPCode
}

// With returns a copy of e that wraps cause, for logging.
func (e *Error) With(cause error) *Error {
	c := *e
	c.Err = cause
	return &c
}

// WithMessage returns a copy of e with other texts.
func (e *Error) WithMessage(en, vi string) *Error {
	c := *e
	c.Message = en
	if vi != "" {
		c.MessageVI = vi
	}
	return &c
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Classify returns the *Error in err's chain or, for any other error, a
// generic temporary local error, so that unknown failures are never reported
// as permanent and never leak internal text to clients.
func Classify(err error) *Error {
	if e := As(err); e != nil {
		return e
	}
	return ErrInternal.With(err)
}

// Sentinels. Compare with errors.Is; derive with With / WithMessage.
var (
	ErrInternal = &Error{SMTPCode: 451, Enhanced: [3]int{4, 3, 0}, Temporary: true, IMAPCode: "SERVERBUG",
		Message: "Local error in processing, try again later", MessageVI: "Lỗi máy chủ, vui lòng thử lại sau"}
	ErrUnknownUser = &Error{SMTPCode: 550, Enhanced: [3]int{5, 1, 1}, IMAPCode: "NONEXISTENT",
		Message: "No such user here", MessageVI: "Địa chỉ thư không tồn tại"}
	ErrRelayDenied = &Error{SMTPCode: 554, Enhanced: [3]int{5, 7, 1},
		Message: "Relay access denied", MessageVI: "Không được phép chuyển tiếp thư"}
	ErrSenderNotOwned = &Error{SMTPCode: 553, Enhanced: [3]int{5, 7, 1},
		Message: "Sender address not owned by authenticated user", MessageVI: "Bạn không được gửi thư bằng địa chỉ này"}
	ErrOverQuota = &Error{SMTPCode: 552, Enhanced: [3]int{5, 2, 2}, IMAPCode: "OVERQUOTA",
		Message: "Mailbox full", MessageVI: "Hộp thư đã đầy"}
	ErrTooBig = &Error{SMTPCode: 552, Enhanced: [3]int{5, 3, 4}, IMAPCode: "TOOBIG",
		Message: "Message too big", MessageVI: "Thư vượt quá dung lượng cho phép"}
	ErrAuthFailed = &Error{SMTPCode: 535, Enhanced: [3]int{5, 7, 8}, IMAPCode: "AUTHENTICATIONFAILED",
		Message: "Authentication failed", MessageVI: "Sai tên đăng nhập hoặc mật khẩu"}
	ErrAccountDisabled = &Error{SMTPCode: 535, Enhanced: [3]int{5, 7, 8}, IMAPCode: "CONTACTADMIN",
		Message: "Account is locked, contact your administrator", MessageVI: "Tài khoản đang bị khoá, vui lòng liên hệ quản trị"}
	ErrDirectoryUnavailable = &Error{SMTPCode: 451, Enhanced: [3]int{4, 4, 3}, Temporary: true, IMAPCode: "UNAVAILABLE",
		Message: "Directory temporarily unavailable, try again later", MessageVI: "Danh bạ tạm thời không truy cập được, vui lòng thử lại sau"}
	ErrNoSuchFolder = &Error{SMTPCode: 550, Enhanced: [3]int{5, 2, 0}, IMAPCode: "NONEXISTENT",
		Message: "No such folder", MessageVI: "Thư mục không tồn tại"}
	ErrFolderExists = &Error{SMTPCode: 550, Enhanced: [3]int{5, 2, 0}, IMAPCode: "ALREADYEXISTS",
		Message: "Folder already exists", MessageVI: "Thư mục đã tồn tại"}
	ErrCannotDo = &Error{SMTPCode: 550, Enhanced: [3]int{5, 2, 0}, IMAPCode: "CANNOT",
		Message: "Operation not permitted on this folder", MessageVI: "Không thể thực hiện thao tác với thư mục này"}
	ErrInUse = &Error{SMTPCode: 450, Enhanced: [3]int{4, 2, 0}, Temporary: true, IMAPCode: "INUSE",
		Message: "Mailbox in use by another session", MessageVI: "Hộp thư đang được phiên khác sử dụng"}
	ErrOutboundDisabled = &Error{SMTPCode: 451, Enhanced: [3]int{4, 4, 1}, Temporary: true,
		Message: "Delivery to other domains is not enabled on this server yet", MessageVI: "Máy chủ chưa bật gửi thư ra ngoài"}
	ErrPlaintextAuth = &Error{SMTPCode: 538, Enhanced: [3]int{5, 7, 11}, IMAPCode: "PRIVACYREQUIRED",
		Message: "Encryption required for requested authentication mechanism", MessageVI: "Cần kết nối mã hoá (TLS) để đăng nhập"}
)
