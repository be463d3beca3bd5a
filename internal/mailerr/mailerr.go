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
	"syscall"
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
	// HTTPStatus is the status the web answers with; 0 derives it from
	// the other fields (see HTTP).
	HTTPStatus int
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

// HTTP returns the HTTP status for e (RFC 9110 15): HTTPStatus when set,
// otherwise 503 for temporary failures, 401 for failed logins, 403 for
// other refusals by rule, 404 for things that do not exist, 413 for size
// limits and 400 for the rest.
func (e *Error) HTTP() int {
	switch {
	case e.HTTPStatus != 0:
		return e.HTTPStatus
	case e.Temporary:
		return 503
	case e.IMAPCode == "AUTHENTICATIONFAILED":
		return 401
	case e.IMAPCode == "NONEXISTENT":
		return 404
	case e.IMAPCode == "TOOBIG":
		return 413
	case e.Enhanced[1] == 7:
		return 403
	}
	return 400
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
	e := As(err)
	if (e == nil || errors.Is(e, ErrInternal)) && IsStorageFull(err) {
		// A full disk is not a bug: say so (RFC 3463 X.3.1), so clients
		// retry later instead of reporting a server fault.
		return ErrStorageFull.With(err)
	}
	if e != nil {
		return e
	}
	return ErrInternal.With(err)
}

// IsStorageFull reports whether err comes from a full file system (or a
// file-system quota) under the store, the spool or the queue.
func IsStorageFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
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
	// ErrStorageFull: the server's disk is full (not the user's quota).
	// IMAP has no closer code than OVERQUOTA (RFC 5530 3), as Dovecot
	// answers too.
	ErrStorageFull = &Error{SMTPCode: 452, Enhanced: [3]int{4, 3, 1}, Temporary: true, IMAPCode: "OVERQUOTA",
		Message: "Mail system full, try again later", MessageVI: "Hệ thống lưu trữ thư đã đầy, vui lòng thử lại sau"}
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

	// Policy refusals (package policy). RFC 3463 X.7.x: security or policy.

	// ErrLockedFailures: the login that reached the consecutive-failure
	// limit locked the account (same classification as ErrAccountDisabled).
	ErrLockedFailures = ErrAccountDisabled.WithMessage(
		"Account locked after too many failed logins, contact your administrator",
		"Tài khoản đã bị khoá do nhập sai mật khẩu quá nhiều lần, vui lòng liên hệ quản trị")
	// ErrPasswordExpired: the password is right but is the initial one or
	// older than the rotation period; mail clients are refused it (RFC
	// 5530 3 EXPIRED; RFC 4954 6 535 5.7.8) and told where to change it.
	// The wire text is ASCII (SMTP, POP3 and IMAP4rev1 replies), the
	// Vietnamese without diacritics first; callers add the web address.
	ErrPasswordExpired = &Error{SMTPCode: 535, Enhanced: [3]int{5, 7, 8}, IMAPCode: "EXPIRED", HTTPStatus: 403,
		Message:   "Mat khau ban dau hoac da het han, hay doi mat khau tren web / Initial or expired password, change it on the web",
		MessageVI: "Mật khẩu ban đầu hoặc đã hết hạn, hãy đổi mật khẩu trên trang web"}
	// ErrLoginThrottled: too many failed logins from the client's address
	// (RFC 4954 6: 454 4.7.0 temporary authentication failure).
	ErrLoginThrottled = &Error{SMTPCode: 454, Enhanced: [3]int{4, 7, 0}, Temporary: true, IMAPCode: "UNAVAILABLE", HTTPStatus: 429,
		Message:   "Too many failed logins from your address, try again later",
		MessageVI: "Đăng nhập sai quá nhiều lần từ địa chỉ của bạn, vui lòng thử lại sau"}
	// ErrSendingLocked: sending is locked for the account (RFC 3463 5.7.1
	// delivery not authorized); receiving and reading still work.
	ErrSendingLocked = &Error{SMTPCode: 550, Enhanced: [3]int{5, 7, 1}, IMAPCode: "CONTACTADMIN", HTTPStatus: 403,
		Message:   "Sending is locked for this account (too many messages to outside domains), contact your administrator",
		MessageVI: "Tài khoản đã bị khoá gửi thư (gửi quá nhiều thư ra ngoài), vui lòng liên hệ quản trị"}
	// ErrForwardOutside: auto-forwarding outside the state mail system is
	// forbidden by regulation (QĐ 162/2025).
	ErrForwardOutside = &Error{SMTPCode: 550, Enhanced: [3]int{5, 7, 1}, IMAPCode: "CANNOT", HTTPStatus: 403,
		Message:   "Forwarding to addresses outside the state mail system is not allowed",
		MessageVI: "Không được tự động chuyển tiếp thư ra ngoài hệ thống thư điện tử công vụ"}
	// ErrConnectionRefused: the client's network is denied by policy
	// (RFC 5321 3.1: 554 instead of the greeting).
	ErrConnectionRefused = &Error{SMTPCode: 554, Enhanced: [3]int{5, 7, 1}, IMAPCode: "CONTACTADMIN", HTTPStatus: 403,
		Message:   "Connections from your network are not accepted",
		MessageVI: "Máy chủ không nhận kết nối từ mạng của bạn"}
	// ErrPolicyDeferred: a rule asks the client to come back later.
	ErrPolicyDeferred = &Error{SMTPCode: 451, Enhanced: [3]int{4, 7, 1}, Temporary: true, IMAPCode: "UNAVAILABLE", HTTPStatus: 503,
		Message: "Temporarily refused by policy, try again later", MessageVI: "Tạm thời bị từ chối theo quy định, vui lòng thử lại sau"}
)
