package admin

// The queue view of the operators: the outbound queue as `congvu queue
// list|show` shows it (per recipient the state, attempts, next try and the
// last attempt: which server, how the connection was protected, what it
// answered), with the actions retry now and delete. Unit administrators do
// not see it: the queue holds every unit's mail.

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"congvu/directory"
	"congvu/web/core"
)

// operator wraps a handler for operators only.
func (wb *room) operator(h func(http.ResponseWriter, *http.Request, *adminCtx)) http.HandlerFunc {
	return wb.admin(func(w http.ResponseWriter, r *http.Request, a *adminCtx) {
		if a.Acct.Role != directory.RoleOperator {
			wb.Log.Warn("web: operator page refused", "address", a.Acct.Address, "path", r.URL.Path)
			wb.Message(w, http.StatusForbidden, "Chỉ quản trị hệ thống mới xem được hàng đợi thư đi.",
				"Only operators can see the outbound queue.")
			return
		}
		h(w, r, a)
	})
}

func queueHref(id string) string { return "/admin/queue/" + url.PathEscape(id) }

// span is a duration as a person reads it, Vietnamese and English.
func span(d time.Duration) (vi, en string) {
	// Compare after rounding, so that 59m59s reads "1 giờ", not "60 phút".
	switch {
	case d.Round(time.Second) < time.Minute:
		s := int(d.Round(time.Second) / time.Second)
		return fmt.Sprintf("%d giây", s), fmt.Sprintf("%ds", s)
	case d.Round(time.Minute) < time.Hour:
		m := int(d.Round(time.Minute) / time.Minute)
		return fmt.Sprintf("%d phút", m), fmt.Sprintf("%dm", m)
	case d.Round(time.Hour) < 48*time.Hour:
		h := int(d.Round(time.Hour) / time.Hour)
		return fmt.Sprintf("%d giờ", h), fmt.Sprintf("%dh", h)
	}
	days := int(d.Round(24*time.Hour) / (24 * time.Hour))
	return fmt.Sprintf("%d ngày", days), fmt.Sprintf("%dd", days)
}

func ago(now, t time.Time) string {
	vi, en := span(now.Sub(t))
	return vi + " trước / " + en + " ago"
}

var queueStates = map[string]struct{ VI, EN, Class string }{
	QueueWaiting:   {"Chờ gửi", "waiting", "must"},
	QueueDeferred:  {"Hoãn, sẽ thử lại", "deferred", "locked"},
	QueueDelivered: {"Đã gửi", "delivered", "active"},
	QueueFailed:    {"Lỗi, đã báo người gửi", "failed", "retired"},
}

// queueRow is one recipient line of the queue table.
type queueRow struct {
	First                 bool // first recipient of its message
	Span                  int  // recipients of the message (on the first line)
	ID, Href, From        string
	Age, Size             string
	Rcpt                  string
	StateVI, StateEN      string
	StateClass            string
	Attempts              int
	Next                  string
	Tried                 bool
	LastAt, Remote, Secur string
	Reply                 string
}

type queueData struct {
	Available bool
	Rows      []queueRow
	Messages  int
	Waiting   int
	Message   *QueuedMessage // the detail page
	Header    string
	Back      string
}

func (wb *room) queueRows(ms []QueuedMessage) (rows []queueRow, waiting int) {
	now := wb.Now()
	for _, m := range ms {
		from := m.From
		if from == "" {
			from = "<> (thư thông báo / notification)"
		}
		ageVI, ageEN := span(now.Sub(m.Created))
		for i, rc := range m.Recipients {
			st, ok := queueStates[rc.State]
			if !ok {
				st.VI, st.EN = rc.State, ""
			}
			row := queueRow{First: i == 0, Span: len(m.Recipients), ID: m.ID, Href: queueHref(m.ID), From: from,
				Age: ageVI + " / " + ageEN, Size: byteSize(m.Size), Rcpt: rc.Address,
				StateVI: st.VI, StateEN: st.EN, StateClass: st.Class, Attempts: rc.Attempts, Next: "—",
				Tried: !rc.LastAttempt.IsZero(), Remote: rc.RemoteMTA, Secur: rc.Security, Reply: rc.LastReply}
			if rc.State == QueueWaiting || rc.State == QueueDeferred {
				waiting++
				row.Next = "ngay / now"
				if d := rc.NextAttempt.Sub(now); d > 0 {
					vi, en := span(d)
					row.Next = core.FormatTime(rc.NextAttempt) + " (sau " + vi + " / in " + en + ")"
				}
			}
			if row.Tried {
				row.LastAt = core.FormatTime(rc.LastAttempt) + " (" + ago(now, rc.LastAttempt) + ")"
			}
			rows = append(rows, row)
		}
	}
	return rows, waiting
}

func byteSize(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.1f KB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1024*1024))
}

func (wb *room) queueOff(w http.ResponseWriter, a *adminCtx) {
	wb.Render(w, http.StatusOK, tmpl["admin-queue"], wb.adminPage(a, "queue", "Hàng đợi thư đi", "Outbound queue", queueData{}))
}

func (wb *room) adminQueue(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	if wb.opts.Queue == nil {
		wb.queueOff(w, a)
		return
	}
	ms, err := wb.opts.Queue.List(r.Context())
	if err != nil {
		wb.Fail(w, "queue list", err)
		return
	}
	d := queueData{Available: true, Messages: len(ms)}
	d.Rows, d.Waiting = wb.queueRows(ms)
	wb.Render(w, http.StatusOK, tmpl["admin-queue"], wb.adminPage(a, "queue", "Hàng đợi thư đi", "Outbound queue", d))
}

func (wb *room) notQueued(w http.ResponseWriter, id string) {
	wb.Message(w, http.StatusNotFound, "Không có thư "+id+" trong hàng đợi (có thể đã gửi xong hoặc đã bị xoá).",
		"No message "+id+" in the queue (it may have been delivered or deleted).")
}

func (wb *room) adminQueueMessage(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	if wb.opts.Queue == nil {
		wb.queueOff(w, a)
		return
	}
	id := r.PathValue("id")
	m, err := wb.opts.Queue.Show(r.Context(), id)
	if errors.Is(err, ErrNotQueued) {
		wb.notQueued(w, id)
		return
	}
	if err != nil {
		wb.Fail(w, "queue show", err)
		return
	}
	d := queueData{Available: true, Messages: 1, Message: m, Back: "/admin/queue"}
	d.Rows, d.Waiting = wb.queueRows([]QueuedMessage{*m})
	if h, err := wb.opts.Queue.Header(r.Context(), id); err == nil {
		d.Header = string(h)
	} else if !errors.Is(err, ErrNotQueued) {
		wb.Log.Warn("web: queue header failed", "id", id, "err", err)
	}
	wb.Render(w, http.StatusOK, tmpl["admin-queue-message"], wb.adminPage(a, "queue", "Thư "+id, "Queued message", d))
}

// adminQueueRetry makes a message (or, with all=yes, every message) due now.
func (wb *room) adminQueueRetry(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	if wb.opts.Queue == nil {
		wb.queueOff(w, a)
		return
	}
	id, back := r.PostFormValue("id"), "/admin/queue"
	if r.PostFormValue("all") == "yes" {
		id = ""
	} else if id == "" {
		wb.Message(w, http.StatusBadRequest, "Thiếu mã thư.", "No message id given.")
		return
	} else {
		back = queueHref(id)
	}
	n, err := wb.opts.Queue.Retry(r.Context(), id)
	if errors.Is(err, ErrNotQueued) {
		wb.notQueued(w, id)
		return
	}
	if err != nil {
		wb.Fail(w, "queue retry", err)
		return
	}
	wb.Log.Info("web: queue retry", "actor", a.Acct.Address, "id", id, "recipients", n, "ip", core.ClientIP(r))
	wb.SetFlash(a.Ctx, &core.Notice{Kind: "ok", VI: fmt.Sprintf("%d người nhận sẽ được gửi lại ngay.", n), EN: fmt.Sprintf("%d recipient(s) due now.", n)})
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// adminQueueDelete drops a message without a bounce; it needs the
// confirmation box.
func (wb *room) adminQueueDelete(w http.ResponseWriter, r *http.Request, a *adminCtx) {
	if wb.opts.Queue == nil {
		wb.queueOff(w, a)
		return
	}
	id := r.PostFormValue("id")
	if id == "" {
		wb.Message(w, http.StatusBadRequest, "Thiếu mã thư.", "No message id given.")
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		wb.Message(w, http.StatusBadRequest, "Hãy đánh dấu ô xác nhận trước khi xoá thư khỏi hàng đợi.",
			"Tick the confirmation box before deleting the message from the queue.")
		return
	}
	err := wb.opts.Queue.Delete(r.Context(), id)
	if errors.Is(err, ErrNotQueued) {
		wb.notQueued(w, id)
		return
	}
	if err != nil {
		wb.Fail(w, "queue delete", err)
		return
	}
	wb.Log.Info("web: queue delete", "actor", a.Acct.Address, "id", id, "ip", core.ClientIP(r))
	wb.SetFlash(a.Ctx, &core.Notice{Kind: "ok", VI: "Đã xoá thư " + id + " khỏi hàng đợi; người gửi không được báo.",
		EN: "Message " + id + " deleted from the queue; the sender was not notified."})
	http.Redirect(w, r, "/admin/queue", http.StatusSeeOther)
}
