package mail

// What the message view warns about, from what the server recorded at
// delivery and from the message itself: mail from outside the state's
// domains, mail that failed DMARC or was put in Junk (with the reason the
// inbound checks wrote in X-Congvu-Junk-Reason), and a display name that
// carries an address other than the sender's (issue 15 §3). Sender names
// of state addresses come from the directory, not from the message.

import (
	"context"
	"strings"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-msgauth/authres"

	"congvu/directory"
	"congvu/internal/bufsize"
	"congvu/msgauth"
	"congvu/storage"
)

// junkReasonField is where the inbound checks record why a message went
// to Junk (msgauth).
const junkReasonField = "X-Congvu-Junk-Reason"

// banner is one warning above a message.
type banner struct {
	ID     string // for tests and styling
	Kind   string // "warn" or "error"
	VI, EN string
}

// banners lists the warnings for a message with header h from sender
// (address and display name), in folder.
func (wb *room) banners(h []byte, senderAddr, senderName string, folder storage.FolderStatus) []banner {
	var out []banner
	if senderAddr != "" && !wb.isStateAddress(senderAddr) {
		out = append(out, banner{ID: "banner-outside", Kind: "warn",
			VI: "Thư từ bên ngoài hệ thống thư công vụ nhà nước (" + directory.Domain(senderAddr) + "). Cẩn trọng với liên kết, tệp đính kèm và yêu cầu cung cấp thông tin.",
			EN: "From outside the state's mail (" + directory.Domain(senderAddr) + "). Be careful with links, attachments and requests for information."})
	}
	if spoofs := msgauth.NameSpoofs(senderName, senderAddr); len(spoofs) > 0 {
		out = append(out, banner{ID: "banner-name", Kind: "error",
			VI: "Tên hiển thị của người gửi chứa địa chỉ khác (" + strings.Join(spoofs, ", ") + "); địa chỉ gửi thật là " + senderAddr + ".",
			EN: "The sender's display name carries another address (" + strings.Join(spoofs, ", ") + "); the real sender is " + senderAddr + "."})
	}
	if res, ok := wb.ownResults(h); ok {
		for _, r := range res {
			if d, ok := r.(*authres.DMARCResult); ok && d.Value == authres.ResultFail {
				out = append(out, banner{ID: "banner-dmarc", Kind: "error",
					VI: "Thư không vượt qua kiểm tra xác thực tên miền (DMARC) của " + d.From + ": có thể đã bị giả mạo.",
					EN: "The message failed the domain's authentication check (DMARC) for " + d.From + ": it may be forged."})
			}
		}
	}
	if folderUse(folder) == `\Junk` {
		reason := cleanText(headerText(h, junkReasonField), 500)
		vi := "Thư này nằm trong Thư rác."
		en := "This message is in Junk."
		if reason != "" {
			vi += " Lý do: " + reason
			en += " Reason: " + reason
		}
		out = append(out, banner{ID: "banner-junk", Kind: "warn", VI: vi, EN: en})
	}
	return out
}

// ownResults are the Authentication-Results written by this server (its
// authserv-id; delivery removes forged ones, RFC 8601 5).
func (wb *room) ownResults(raw []byte) ([]authres.Result, bool) {
	if wb.opts.AuthservID == "" {
		return nil, false
	}
	h, err := textproto.ReadHeader(bufsize.Bytes(raw))
	if err != nil && h.Len() == 0 {
		return nil, false
	}
	fields := h.FieldsByKey("Authentication-Results")
	for fields.Next() {
		id, res, err := authres.Parse(fields.Value())
		if err == nil && strings.EqualFold(id, wb.opts.AuthservID) {
			return res, true
		}
	}
	return nil, false
}

// directoryName is the directory's name for a state address, "" for
// others or when the directory does not know it.
func (wb *room) directoryName(ctx context.Context, address string) string {
	if wb.opts.Contacts == nil || address == "" || !wb.isStateAddress(address) {
		return ""
	}
	return wb.opts.Contacts.Name(ctx, strings.ToLower(address))
}
