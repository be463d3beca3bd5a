package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"congvu/directory"
	"congvu/directory/sqldir"
	"congvu/internal/mailerr"
	"congvu/queue"
	"congvu/web"
	"congvu/web/admin"
)

// deferringTransport answers every recipient with a 4xx, as a busy
// destination does.
type deferringTransport struct{ attempts atomic.Int32 }

func (d *deferringTransport) Deliver(_ context.Context, dl *queue.Delivery) []queue.Result {
	d.attempts.Add(1)
	out := make([]queue.Result, len(dl.Rcpts))
	for i := range out {
		out[i] = queue.Result{
			Err: &mailerr.Error{SMTPCode: 452, Enhanced: [3]int{4, 2, 2}, Temporary: true,
				Message: "mailbox full, try later"},
			RemoteMTA: "mx." + dl.Domain,
			Security:  "STARTTLS TLS1.3, certificate verified",
		}
	}
	return out
}

// webClient is a cookie jar that fills forms with their CSRF token.
type webClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (w *webClient) do(method, path string, form url.Values) (int, string) {
	w.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, w.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := w.c.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (w *webClient) post(from, action string, form url.Values) (int, string) {
	w.t.Helper()
	_, page := w.do("GET", from, nil)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		w.t.Fatalf("no CSRF token on %s:\n%.1000s", from, page)
	}
	form.Set("csrf", m[1])
	return w.do("POST", action, form)
}

// The operators' queue view on a real queue: a message the destination
// defers shows why and when it is retried; "retry now" makes the queue try
// again at once, and "delete" removes it from the queue.
func TestWebQueueView(t *testing.T) {
	ctx := t.Context()
	tr := &deferringTransport{}
	q, err := queue.Open(queue.Config{Dir: t.TempDir(), Hostname: "mail.khanhhoa.gov.vn",
		RetryIntervals: []time.Duration{time.Hour}, PollInterval: 20 * time.Millisecond},
		queue.Deps{Transport: tr, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	q.Start()
	t.Cleanup(func() { q.Close() })
	const sender = "anv.skhcn@khanhhoa.gov.vn"
	id, err := q.Enqueue(ctx, sender, []string{"vanthu@angiang.gov.vn"},
		strings.NewReader("From: <"+sender+">\r\nSubject: Cong van so 12\r\n\r\nNoi dung\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	attempts := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			e, err := q.Admin().Show(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if e.Rcpts[0].Attempts >= want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("attempts %d, want %d", e.Rcpts[0].Attempts, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	attempts(1)

	dir, err := sqldir.Open(filepath.Join(t.TempDir(), "directory.db"), sqldir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	const operator, pw = "quantri@khanhhoa.gov.vn", "Khanh-Hoa#2025a"
	if err := dir.PutUnit(ctx, directory.Unit{Code: "56", Name: "Ủy ban nhân dân tỉnh Khánh Hòa", Abbr: "ubnd", Kind: directory.UnitProvince}); err != nil {
		t.Fatal(err)
	}
	if err := dir.PutAccount(ctx, directory.Account{Address: operator, UnitCode: "56", Role: directory.RoleOperator, State: directory.StateActive}, pw); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(web.New(web.Options{Dir: dir, Admin: admin.Options{Queue: newWebQueue(q)}}))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	c := *srv.Client()
	c.Jar = jar
	w := &webClient{t: t, base: srv.URL, c: &c}
	if code, page := w.post("/login", "/login", url.Values{"login": {operator}, "password": {pw}}); code != 200 || !strings.Contains(page, "Xin chào") {
		t.Fatalf("login: %d\n%.1000s", code, page)
	}

	code, page := w.do("GET", "/admin/queue", nil)
	for _, want := range []string{id, sender, "vanthu@angiang.gov.vn", "Hoãn, sẽ thử lại", "deferred", "mx.angiang.gov.vn",
		"STARTTLS TLS1.3, certificate verified", "452 4.2.2 mailbox full, try later", "sau 1 giờ / in 1h", "1 thư, 1 người nhận đang chờ gửi"} {
		if !strings.Contains(page, want) {
			t.Errorf("queue page (%d) lacks %q\n%.3000s", code, want, page)
		}
	}
	msg := "/admin/queue/" + id
	if _, page := w.do("GET", msg, nil); !strings.Contains(page, "Subject: Cong van so 12") {
		t.Errorf("message page lacks the header:\n%.3000s", page)
	}

	if code, page := w.post(msg, "/admin/queue/retry", url.Values{"id": {id}}); code != 200 || !strings.Contains(page, "1 người nhận sẽ được gửi lại ngay") {
		t.Errorf("retry: %d\n%.2000s", code, page)
	}
	attempts(2)

	if code, page := w.post(msg, "/admin/queue/delete", url.Values{"id": {id}, "confirm": {"yes"}}); code != 200 || !strings.Contains(page, "Hàng đợi trống") {
		t.Errorf("delete: %d\n%.2000s", code, page)
	}
	if _, err := q.Admin().Show(ctx, id); !errors.Is(err, queue.ErrNotFound) {
		t.Errorf("after delete the queue still has %s: %v", id, err)
	}
	if code, _ := w.do("GET", msg, nil); code != http.StatusNotFound {
		t.Errorf("deleted message page: %d", code)
	}
}

// With outbound delivery off the server gives the web no queue at all (a
// nil interface, not a nil *queue.Queue inside one).
func TestWebQueueOff(t *testing.T) {
	if newWebQueue(nil) != nil {
		t.Fatal("newWebQueue(nil) is not a nil admin.Queue")
	}
}
