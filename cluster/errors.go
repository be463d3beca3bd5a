package cluster

import "congvu/internal/mailerr"

// Errors of a cluster: temporary, so mail waits in the queue and clients
// try again.
var (
	// ErrNodeUnavailable: the mailbox's home node cannot be reached (RFC
	// 3463 4.4.1: no answer from host).
	ErrNodeUnavailable = &mailerr.Error{SMTPCode: 451, Enhanced: [3]int{4, 4, 1}, Temporary: true, IMAPCode: "UNAVAILABLE",
		Message:   "Mailbox server temporarily unavailable, try again later",
		MessageVI: "Máy chủ hộp thư tạm thời không phục vụ, vui lòng thử lại sau"}
	// ErrMoving: the mailbox is being moved to another node; for seconds.
	ErrMoving = &mailerr.Error{SMTPCode: 451, Enhanced: [3]int{4, 2, 1}, Temporary: true, IMAPCode: "UNAVAILABLE",
		Message:   "Mailbox is being moved, try again in a minute",
		MessageVI: "Hộp thư đang được chuyển máy chủ, vui lòng thử lại sau ít phút"}
	// ErrElsewhere: a direct login on a node that does not hold the
	// mailbox (clients belong behind nginx, which routes them).
	ErrElsewhere = &mailerr.Error{SMTPCode: 451, Enhanced: [3]int{4, 3, 0}, Temporary: true, IMAPCode: "UNAVAILABLE",
		Message:   "Mailbox is on another server; connect through the mail proxy",
		MessageVI: "Hộp thư nằm trên máy chủ khác, vui lòng kết nối qua máy chủ chính"}
)
