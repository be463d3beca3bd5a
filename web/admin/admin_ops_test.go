package admin

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/web/core"
)

// fakeQueue is a queue of fixed messages that records the actions.
type fakeQueue struct {
	mu      sync.Mutex
	msgs    []QueuedMessage
	retried []string
	deleted []string
}

func (q *fakeQueue) List(context.Context) ([]QueuedMessage, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.msgs), nil
}

func (q *fakeQueue) find(id string) *QueuedMessage {
	for i := range q.msgs {
		if q.msgs[i].ID == id {
			return &q.msgs[i]
		}
	}
	return nil
}

func (q *fakeQueue) Show(_ context.Context, id string) (*QueuedMessage, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if m := q.find(id); m != nil {
		c := *m
		return &c, nil
	}
	return nil, ErrNotQueued
}

func (q *fakeQueue) Header(_ context.Context, id string) ([]byte, error) {
	if _, err := q.Show(context.Background(), id); err != nil {
		return nil, err
	}
	return []byte("From: " + anAddr + "\r\nSubject: Giay moi hop <b>\r\n"), nil
}

func (q *fakeQueue) Retry(_ context.Context, id string) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if id != "" && q.find(id) == nil {
		return 0, ErrNotQueued
	}
	q.retried = append(q.retried, id)
	return 1, nil
}

func (q *fakeQueue) Delete(_ context.Context, id string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := range q.msgs {
		if q.msgs[i].ID == id {
			q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
			q.deleted = append(q.deleted, id)
			return nil
		}
	}
	return ErrNotQueued
}

func (q *fakeQueue) actions() (retried, deleted []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.retried), slices.Clone(q.deleted)
}

const deferredID = "01jqueue0deferred"

func sampleQueue(now time.Time) *fakeQueue {
	return &fakeQueue{msgs: []QueuedMessage{{
		ID: deferredID, From: anAddr, Created: now.Add(-3 * time.Hour), Size: 2048,
		Recipients: []QueuedRecipient{
			{Address: "vanthu@angiang.gov.vn", State: QueueDelivered, LastAttempt: now.Add(-2 * time.Hour),
				RemoteMTA: "mx.angiang.gov.vn", Security: "STARTTLS TLS1.3, certificate verified"},
			{Address: "busy@angiang.gov.vn", State: QueueDeferred, Attempts: 3, NextAttempt: now.Add(27 * time.Minute),
				LastAttempt: now.Add(-10 * time.Minute), RemoteMTA: "mx.angiang.gov.vn", Security: "STARTTLS TLS1.2, certificate not verified",
				LastReply: "452 4.2.2 <script>mailbox full</script>"},
		},
	}, {
		ID: "01jqueue0new", From: "", Created: now.Add(-time.Minute), Size: 900,
		Recipients: []QueuedRecipient{{Address: "someone@example.com", State: QueueWaiting, NextAttempt: now}},
	}}}
}

func TestAdminQueue(t *testing.T) {
	var q *fakeQueue
	e := newWebEnv(t, func(o *testOptions) { q = sampleQueue(o.Now()); o.Queue = q })
	withAdmins(e)

	// A unit administrator neither sees nor acts on the queue.
	b := e.Browser()
	expect(t, b.Login(skhcnAdmin, secretPW), 200)
	if strings.Contains(b.Get("/admin/reports").Body, `href="/admin/queue"`) {
		t.Error("a unit admin is offered the queue")
	}
	expect(t, b.Get("/admin/queue"), http.StatusForbidden, "Chỉ quản trị hệ thống mới xem được hàng đợi thư đi.")
	expect(t, b.Get("/admin/queue/"+deferredID), http.StatusForbidden)
	expect(t, b.Post("/admin/reports", "/admin/queue/retry", url.Values{"id": {deferredID}}), http.StatusForbidden)
	expect(t, b.Post("/admin/reports", "/admin/queue/delete", url.Values{"id": {deferredID}, "confirm": {"yes"}}), http.StatusForbidden)
	if r, d := q.actions(); len(r)+len(d) != 0 {
		t.Fatalf("a unit admin's POST reached the queue: retried %v deleted %v", r, d)
	}

	op := e.Browser()
	expect(t, op.Login(operatorAddr, secretPW), 200)
	r := op.Get("/admin/queue")
	expect(t, r, 200, `href="/admin/queue" class="cur"`, "2 thư, 2 người nhận đang chờ gửi",
		"busy@angiang.gov.vn", "Hoãn, sẽ thử lại", "deferred", "Đã gửi", "Chờ gửi", "chưa thử",
		"sau 27 phút / in 27m", "mx.angiang.gov.vn", "STARTTLS TLS1.2, certificate not verified",
		"452 4.2.2 &lt;script&gt;mailbox full&lt;/script&gt;", "10 phút trước", "thư thông báo", `href="/admin/queue/`+deferredID+`"`)
	if strings.Contains(r.Body, "<script>") {
		t.Error("a remote reply is not escaped")
	}
	page := "/admin/queue/" + deferredID
	expect(t, op.Get(page), 200, "Tiêu đề thư", "Subject: Giay moi hop &lt;b&gt;", "Gửi lại ngay", "Xoá thư", anAddr)
	expect(t, op.Get("/admin/queue/nope"), http.StatusNotFound, "Không có thư nope trong hàng đợi")

	// POSTs need the session's token.
	expect(t, op.Do("POST", "/admin/queue/retry", url.Values{"id": {deferredID}}), http.StatusForbidden, "mã chống giả mạo (CSRF)")
	expect(t, op.Do("POST", "/admin/queue/delete", url.Values{"id": {deferredID}, "confirm": {"yes"}}), http.StatusForbidden, "CSRF")
	if r, d := q.actions(); len(r)+len(d) != 0 {
		t.Fatalf("a POST without token reached the queue: retried %v deleted %v", r, d)
	}
	r = op.Post(page, "/admin/queue/retry", url.Values{"id": {deferredID}})
	expect(t, r, 200, "1 người nhận sẽ được gửi lại ngay.")
	if r.Request.URL.Path != page {
		t.Errorf("after retry the operator is on %s", r.Request.URL.Path)
	}
	expect(t, op.Post("/admin/queue", "/admin/queue/retry", url.Values{"all": {"yes"}}), 200, "sẽ được gửi lại ngay")
	expect(t, op.Post(page, "/admin/queue/delete", url.Values{"id": {deferredID}}), http.StatusBadRequest, "đánh dấu ô xác nhận")
	expect(t, op.Post(page, "/admin/queue/delete", url.Values{"id": {deferredID}, "confirm": {"yes"}}), 200,
		"Đã xoá thư "+deferredID+" khỏi hàng đợi", "1 thư")
	retried, deleted := q.actions()
	if !slices.Equal(retried, []string{deferredID, ""}) || !slices.Equal(deleted, []string{deferredID}) {
		t.Errorf("retried %q, deleted %q", retried, deleted)
	}
	expect(t, op.Post("/admin/queue", "/admin/queue/delete", url.Values{"id": {deferredID}, "confirm": {"yes"}}), http.StatusNotFound)

	// Without outbound delivery there is no queue, and the page says so.
	off := newWebEnv(t, nil)
	withAdmins(off)
	op = off.Browser()
	expect(t, op.Login(operatorAddr, secretPW), 200)
	expect(t, op.Get("/admin/queue"), 200, "Gửi thư ra ngoài đang tắt", "Outbound delivery is off")
	expect(t, op.Get("/admin/queue/"+deferredID), 200, "Gửi thư ra ngoài đang tắt")
}

// fakeAudit filters fixed entries like the policy database does.
type fakeAudit struct {
	mu      sync.Mutex
	entries []AuditEntry
	last    AuditQuery
	calls   int
}

func (f *fakeAudit) AuditEntries(_ context.Context, q AuditQuery) ([]AuditEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last, f.calls = q, f.calls+1
	var out []AuditEntry
	for _, e := range f.entries {
		switch {
		case q.Subject != "" && e.Subject != q.Subject,
			q.Subjects != nil && !slices.Contains(q.Subjects, e.Subject),
			q.Action != "" && e.Action != q.Action,
			q.Rule != "" && e.Rule != q.Rule,
			!q.Since.IsZero() && e.At.Before(q.Since),
			!q.Until.IsZero() && !e.At.Before(q.Until):
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

func (f *fakeAudit) query() (AuditQuery, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last, f.calls
}

func TestAdminAudit(t *testing.T) {
	at := time.Date(2026, 3, 2, 8, 30, 0, 0, core.Vietnam())
	audit := &fakeAudit{entries: []AuditEntry{
		{At: at, Actor: "policy", Subject: anAddr, Action: "lock", Rule: "lockout", Protocol: "imap", IP: "192.0.2.7",
			Detail: "Nhập sai mật khẩu 12 lần liên tiếp / 12 consecutive failed logins"},
		{At: at.Add(time.Hour), Actor: skhcnAdmin, Subject: ducAddr, Action: "unlock", Rule: "admin", Detail: "đã xác minh"},
		{At: at.Add(2 * time.Hour), Actor: "policy", Subject: tramAddr, Action: "send-lock", Rule: "send-rate", Detail: "251 outside recipients"},
		{At: at.Add(3 * time.Hour), Actor: "policy", Subject: "203.0.113.9", Action: "defer", Rule: "ip-throttle", Protocol: "pop3"},
	}}
	e := newWebEnv(t, func(o *testOptions) { o.Audit = audit })
	withAdmins(e)

	// A department admin sees its own and its division's accounts only.
	b := e.Browser()
	expect(t, b.Login(skhcnAdmin, secretPW), 200)
	r := b.Get("/admin/audit")
	expect(t, r, 200, "Nhật ký kiểm tra", "tài khoản thuộc đơn vị mình quản lý", anAddr, ducAddr,
		"Khoá tài khoản", "Sai mật khẩu liên tiếp", "12 consecutive failed logins", "192.0.2.7", "tự động",
		`href="/admin/account?address=`+url.QueryEscape(anAddr)+`"`)
	for _, hidden := range []string{tramAddr, "203.0.113.9", "251 outside recipients"} {
		if strings.Contains(r.Body, hidden) {
			t.Errorf("a unit admin sees %s", hidden)
		}
	}
	q, _ := audit.query()
	if !slices.Contains(q.Subjects, anAddr) || !slices.Contains(q.Subjects, ducAddr) || slices.Contains(q.Subjects, tramAddr) {
		t.Errorf("unit admin's subjects %q", q.Subjects)
	}
	r = b.Get("/admin/audit?subject=" + url.QueryEscape(tramAddr))
	expect(t, r, 200, "Không có mục nào khớp bộ lọc.")
	if strings.Contains(r.Body, "251 outside recipients") {
		t.Error("a unit admin finds another unit's entry by its address")
	}
	expect(t, b.Get("/admin/audit?subject=203.0.113.9"), 200, "Không có mục nào")

	// Filters reach the query; days are inclusive in Viet Nam.
	expect(t, b.Get("/admin/audit?action=lock&rule=lockout&from=2026-03-02&to=2026-03-02"), 200, "12 consecutive failed logins")
	q, _ = audit.query()
	if q.Action != "lock" || q.Rule != "lockout" || !q.Since.Equal(time.Date(2026, 3, 2, 0, 0, 0, 0, core.Vietnam())) ||
		!q.Until.Equal(time.Date(2026, 3, 3, 0, 0, 0, 0, core.Vietnam())) || q.Limit != maxAuditRows {
		t.Errorf("query %+v", q)
	}
	expect(t, b.Get("/admin/audit?from=2026-03-03"), 200, "Không có mục nào")
	_, calls := audit.query()
	expect(t, b.Get("/admin/audit?from=03/02/2026"), http.StatusBadRequest, "Ngày không hợp lệ")
	if _, c := audit.query(); c != calls {
		t.Error("the audit was queried with an invalid date")
	}

	// A commune's admin has none of these.
	if err := e.Dir.PutAccount(t.Context(), directory.Account{Address: "quantri.nhatrang@khanhhoa.gov.vn", UnitCode: "22333",
		Role: directory.RoleAdmin}, secretPW); err != nil {
		t.Fatal(err)
	}
	c := e.Browser()
	expect(t, c.Login("quantri.nhatrang@khanhhoa.gov.vn", secretPW), 200)
	r = c.Get("/admin/audit")
	expect(t, r, 200, tramAddr, "Khoá gửi thư")
	if strings.Contains(r.Body, anAddr) || strings.Contains(r.Body, ducAddr) {
		t.Error("a commune admin sees a department's entries")
	}

	op := e.Browser()
	expect(t, op.Login(operatorAddr, secretPW), 200)
	r = op.Get("/admin/audit")
	expect(t, r, 200, anAddr, ducAddr, tramAddr, "203.0.113.9", "Hạn chế theo địa chỉ IP")
	if q, _ := audit.query(); q.Subjects != nil {
		t.Errorf("an operator's query is limited to %q", q.Subjects)
	}
	expect(t, op.Get("/admin/audit?subject=203.0.113.9"), 200, "Tạm hoãn")

	none := newWebEnv(t, nil)
	withAdmins(none)
	op = none.Browser()
	expect(t, op.Login(operatorAddr, secretPW), 200)
	expect(t, op.Get("/admin/audit"), 200, "Nhật ký kiểm tra chưa có trên máy chủ này")
}

func TestAdminReportDownloads(t *testing.T) {
	reports := &fakeReports{}
	e := newWebEnv(t, func(o *testOptions) { o.Reports = reports })
	withAdmins(e)
	b := e.Browser()
	expect(t, b.Login(skhcnAdmin, secretPW), 200)

	const q = "unit=56.skhcn.vp&from=2026-01-01&to=2026-01-31"
	r := b.Get("/admin/reports?" + q)
	expect(t, r, 200, `<img src="/admin/reports/access.svg?from=2026-01-01&amp;to=2026-01-31&amp;unit=56.skhcn.vp"`,
		`href="/admin/reports/access.csv?from=2026-01-01&amp;to=2026-01-31&amp;unit=56.skhcn.vp"`,
		`href="/admin/reports/access.png?`, "Tải bảng tính (CSV)", "Tải biểu đồ (PNG)")

	for _, tc := range []struct {
		path, ctype, disp, start string
		format                   ReportFormat
	}{
		{"/admin/reports/access.csv?" + q, "text/csv; charset=utf-8", `attachment; filename="truy-cap_56.skhcn.vp_2026-01-01_2026-01-31.csv"`, "\ufeffMã đơn vị", FormatCSV},
		{"/admin/reports/access.svg?" + q, "image/svg+xml", `inline; filename="truy-cap_56.skhcn.vp_2026-01-01_2026-01-31.svg"`, "<svg", FormatSVG},
		{"/admin/reports/access.png?" + q, "image/png", `attachment; filename="truy-cap_56.skhcn.vp_2026-01-01_2026-01-31.png"`, "\x89PNG", FormatPNG},
	} {
		r := b.Get(tc.path)
		expect(t, r, 200)
		if got := r.Header.Get("Content-Type"); got != tc.ctype {
			t.Errorf("%s: Content-Type %q", tc.path, got)
		}
		if got := r.Header.Get("Content-Disposition"); got != tc.disp {
			t.Errorf("%s: Content-Disposition %q", tc.path, got)
		}
		if !strings.HasPrefix(r.Body, tc.start) {
			t.Errorf("%s: body starts %q", tc.path, r.Body[:min(20, len(r.Body))])
		}
		if reports.format != tc.format || reports.unit != "56.skhcn.vp" || !reports.from.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, core.Vietnam())) {
			t.Errorf("%s: report asked as %s for %s from %v", tc.path, reports.format, reports.unit, reports.from)
		}
		if r.Header.Get("Content-Security-Policy") == "" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: security headers missing", tc.path)
		}
	}
	n := reports.calledWith
	expect(t, b.Get("/admin/reports/access.csv?unit=22333"), http.StatusForbidden, "không thuộc phạm vi bạn quản lý")
	expect(t, b.Get("/admin/reports/access.png?unit=56"), http.StatusForbidden)
	expect(t, b.Get("/admin/reports/access.csv?from=2026-02-30"), http.StatusBadRequest, "Ngày không hợp lệ")
	if reports.calledWith != n {
		t.Error("a refused download reached the reports")
	}
	reports.err = mailerr.ErrDirectoryUnavailable
	r = b.Get("/admin/reports/access.csv")
	expect(t, r, http.StatusServiceUnavailable, "Danh bạ tạm thời không truy cập được")
	if strings.Contains(r.Body, "partial") {
		t.Error("a failed download sends what was written")
	}
	reports.err = nil

	// The usage report: this year by default, a quarter or a month on request.
	year := time.Now().In(core.Vietnam()).Format("2006")
	expect(t, b.Get("/admin/reports/usage"), 200, "Báo cáo sử dụng", `<table id="usage-report"><tr><td>56.skhcn `+year+`</td></tr></table>`,
		`<option value="`+year+`" selected>`, `<optgroup label="Quý / Quarter">`, "Tải bảng tính (CSV)",
		`href="/admin/reports/usage.csv?period=`+year+`&amp;unit=56.skhcn"`, "— Văn phòng Sở")
	expect(t, b.Get("/admin/reports/usage?unit=56.skhcn.vp&period=2025-q2"), 200, "56.skhcn.vp 2025-Q2", `value="2025-Q2" selected`)
	expect(t, b.Get("/admin/reports/usage?period=2019-07"), 200, `<option value="2019-07" selected>`)
	n = reports.calledWith
	expect(t, b.Get("/admin/reports/usage?period=2025-13"), http.StatusBadRequest, "Kỳ báo cáo không hợp lệ")
	expect(t, b.Get("/admin/reports/usage.csv?period=last+year"), http.StatusBadRequest, "Kỳ báo cáo không hợp lệ")
	expect(t, b.Get("/admin/reports/usage?unit=22333"), http.StatusForbidden)
	expect(t, b.Get("/admin/reports/usage.csv?unit=22333"), http.StatusForbidden)
	if reports.calledWith != n {
		t.Error("a refused usage request reached the reports")
	}
	r = b.Get("/admin/reports/usage.csv?unit=56.skhcn&period=2025-03")
	expect(t, r, 200)
	if !strings.HasPrefix(r.Body, "\ufeff") || reports.format != FormatCSV || reports.period != "2025-03" ||
		r.Header.Get("Content-Disposition") != `attachment; filename="su-dung_56.skhcn_2025-03.csv"` {
		t.Errorf("usage CSV: %q %s %s %q", r.Body, reports.format, reports.period, r.Header.Get("Content-Disposition"))
	}

	none := newWebEnv(t, nil)
	withAdmins(none)
	op := none.Browser()
	expect(t, op.Login(operatorAddr, secretPW), 200)
	expect(t, op.Get("/admin/reports/usage"), 200, "Báo cáo sử dụng chưa có trên máy chủ này")
	expect(t, op.Get("/admin/reports/access.csv"), http.StatusNotFound)
}

// fakeSendLocks holds sending locks by address.
type fakeSendLocks struct {
	mu     sync.Mutex
	locks  map[string]SendLock
	actors []string
}

func (f *fakeSendLocks) SendLock(_ context.Context, address string) (*SendLock, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l, ok := f.locks[address]; ok {
		return &l, nil
	}
	return nil, nil
}

func (f *fakeSendLocks) UnlockSending(_ context.Context, actor, address, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.locks, address)
	f.actors = append(f.actors, actor)
	return nil
}

func (f *fakeSendLocks) locked(address string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.locks[address]
	return ok
}

func TestAdminSendLock(t *testing.T) {
	locks := &fakeSendLocks{locks: map[string]SendLock{
		anAddr:   {At: time.Now().Add(-time.Hour), Reason: "251 người nhận bên ngoài trong 10 phút / 251 outside recipients in 10 minutes"},
		tramAddr: {At: time.Now(), Reason: "251 outside recipients"},
	}}
	e := newWebEnv(t, func(o *testOptions) { o.SendLocks = locks })
	withAdmins(e)
	if err := e.Dir.SetStateReason(t.Context(), thanhAddr, directory.StateLocked, "Nhập sai mật khẩu 12 lần liên tiếp / 12 consecutive failed logins"); err != nil {
		t.Fatal(err)
	}
	b := e.Browser()
	expect(t, b.Login(skhcnAdmin, secretPW), 200)
	expect(t, b.Get(accountHref(thanhAddr)), 200, "Lý do", "12 consecutive failed logins", "Được gửi thư")
	page := accountHref(anAddr)
	expect(t, b.Get(page), 200, "Đang khoá gửi thư", "251 outside recipients in 10 minutes", `id="unlock-sending"`)

	expect(t, b.Do("POST", "/admin/unlock-sending", adminForm(anAddr)), http.StatusForbidden, "CSRF")
	expect(t, b.Post(page, "/admin/unlock-sending", adminForm(tramAddr)), http.StatusForbidden, "không thuộc đơn vị bạn quản lý")
	if !locks.locked(anAddr) || !locks.locked(tramAddr) {
		t.Fatal("a refused POST lifted a lock")
	}
	r := b.Post(page, "/admin/unlock-sending", adminForm(anAddr))
	expect(t, r, 200, "Đã mở khoá gửi thư cho "+anAddr, "Được gửi thư")
	if locks.locked(anAddr) || !slices.Equal(locks.actors, []string{skhcnAdmin}) {
		t.Errorf("after the unlock: locked %v, actors %q", locks.locked(anAddr), locks.actors)
	}
	if strings.Contains(r.Body, `id="unlock-sending"`) {
		t.Error("the unlock button stays after the unlock")
	}
	expect(t, b.Post(page, "/admin/unlock-sending", adminForm(anAddr)), http.StatusConflict, "không bị khoá gửi thư")

	// Without sending locks the account page does not mention them.
	plain := newWebEnv(t, nil)
	withAdmins(plain)
	b = plain.Browser()
	expect(t, b.Login(skhcnAdmin, secretPW), 200)
	if r := b.Get(page); strings.Contains(r.Body, "Gửi thư <span") {
		t.Error("sending state shown without SendLocks")
	}
}

func TestSpan(t *testing.T) {
	for _, tc := range []struct {
		d      time.Duration
		vi, en string
	}{
		{40 * time.Second, "40 giây", "40s"},
		{59*time.Second + 700*time.Millisecond, "1 phút", "1m"},
		{27 * time.Minute, "27 phút", "27m"},
		{59*time.Minute + 59*time.Second, "1 giờ", "1h"},
		{30 * time.Hour, "30 giờ", "30h"},
		{5 * 24 * time.Hour, "5 ngày", "5d"},
	} {
		if vi, en := span(tc.d); vi != tc.vi || en != tc.en {
			t.Errorf("span(%v) = %q %q, want %q %q", tc.d, vi, en, tc.vi, tc.en)
		}
	}
}
