package imapd

import (
	"context"
	"errors"
	"log/slog"

	"github.com/emersion/go-imap/v2"

	"congvu/internal/mailerr"
)

// Commands whose folder argument is a destination: a missing folder there
// is answered with TRYCREATE (RFC 9051 6.3.12, 6.4.7, RFC 6851 3.3).
const (
	opAppend = "APPEND"
	opCopy   = "COPY"
	opMove   = "MOVE"
)

// imapError is the one place where congvu errors become IMAP responses.
// *mailerr.Error carries its RFC 5530 response code; anything else is
// classified as a temporary server error whose cause is logged, never sent.
func imapError(log *slog.Logger, op string, err error) error {
	if err == nil {
		return nil
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie
	}
	me := mailerr.Classify(err)
	code := imap.ResponseCode(me.IMAPCode)
	if code == imap.ResponseCodeNonExistent {
		switch op {
		case opAppend, opCopy, opMove:
			code = imap.ResponseCodeTryCreate
		}
	}
	if me.Err != nil || mailerr.As(err) == nil {
		lvl := slog.LevelInfo
		if errors.Is(me, mailerr.ErrInternal) {
			lvl = slog.LevelError
		}
		log.Log(context.Background(), lvl, "imap command failed", "op", op, "err", err)
	}
	return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: me.Message}
}

// Errors produced by imapd itself.
var (
	errReadOnly = &imap.Error{Type: imap.StatusResponseTypeNo,
		Text: "Mailbox is read-only"}
	errBadSeqNum = &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeClientBug,
		Text: "Invalid message sequence number"}
	errSameFolder = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
		Text: "Source and destination folders are the same"}
	errNoUseAttr = &imap.Error{Type: imap.StatusResponseTypeNo, Code: "USEATTR",
		Text: "Special-use attributes cannot be assigned"}
)
