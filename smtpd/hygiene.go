package smtpd

import (
	"fmt"
	"strings"

	"congvu/internal/mailerr"
)

// errCommandBytes: a command line with NUL or another control character.
// RFC 5321 2.3.8 and 4.1.2: commands are printable text; a NUL in a path or
// a domain is how smuggling and log injection begin.
var errCommandBytes = &mailerr.Error{SMTPCode: 501, Enhanced: [3]int{5, 5, 2},
	Message:   "NUL and control characters are not allowed in commands",
	MessageVI: "Lệnh SMTP chứa ký tự NUL hoặc ký tự điều khiển"}

// errNULHeader / errNULBody: RFC 5322 3.5 and 4: NUL is not allowed in a
// header; in a body it is obsolete syntax that must not be generated.
var (
	errNULHeader = &mailerr.Error{SMTPCode: 554, Enhanced: [3]int{5, 6, 0},
		Message:   "NUL byte in the message header",
		MessageVI: "Phần tiêu đề thư chứa ký tự NUL"}
	errNULBody = &mailerr.Error{SMTPCode: 554, Enhanced: [3]int{5, 6, 0},
		Message:   "NUL byte in the message body; send binary content as an attachment",
		MessageVI: "Nội dung thư chứa ký tự NUL; hãy gửi dữ liệu nhị phân dưới dạng tệp đính kèm"}
)

// hasControl reports whether s has a NUL or another C0 control character
// (TAB aside) or DEL.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f })
}

// checkCommand refuses a command argument (EHLO domain, MAIL or RCPT path)
// with control characters.
func checkCommand(cmd, arg string) error {
	if hasControl(arg) {
		return errCommandBytes.With(fmt.Errorf("%s argument %q", cmd, arg))
	}
	return nil
}

// checkNUL applies RFC 5322 to NUL bytes found while receiving: refused in
// a header on every listener; refused in a submitted body; accepted in a
// body arriving from another server (obs-body, RFC 5322 4.1), stored as it
// came, so that mail another MTA accepted is not lost — readers handle it
// (IMAP sends such parts only in literal8 / BINARY, RFC 3516).
func (s *session) checkNUL(msg *spool) error {
	if msg.nulAt < 0 {
		return nil
	}
	if msg.headerEnd < 0 || msg.nulAt < msg.headerEnd {
		return errNULHeader.With(fmt.Errorf("NUL at offset %d", msg.nulAt))
	}
	if s.mode == modeSubmission {
		return errNULBody.With(fmt.Errorf("NUL at offset %d", msg.nulAt))
	}
	s.log.Info("message body has NUL bytes (obs-body), stored as received", "offset", msg.nulAt)
	return nil
}
