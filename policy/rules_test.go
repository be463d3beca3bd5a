package policy

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"congvu/directory"
	"congvu/internal/mailerr"
)

func submission(e *env, from string, rcpts ...string) *Message {
	m := &Message{Envelope: Envelope{Protocol: Submission, IP: ip1, Account: e.account(from), From: from},
		Open: msgReader("From: " + from + "\r\nSubject: Công văn\r\n\r\nNội dung\r\n")}
	for _, r := range rcpts {
		rc := Recipient{Address: r}
		if strings.HasSuffix(r, "@"+domain) {
			rc.Account = e.account(r)
		}
		m.Rcpts = append(m.Rcpts, rc)
	}
	return m
}

// 250 messages to outside domains in 10 minutes pass (a message counts
// once however many outside recipients it has: QĐ 162/2025 counts "thư");
// the 251st is refused and locks sending (MAIL FROM refused), the operators
// get an alert in their INBOX, and an admin can lift the lock. Local
// recipients do not count, and the window slides.
func TestSendRateLock(t *testing.T) {
	e := newEnv(t, testConfig())
	ctx := context.Background()
	for i := range 250 {
		if d := e.engine.Data(ctx, submission(e, thanh, "a@gmail.com", "vanthu@boyte.gov.vn", mai)); d.Refused() {
			t.Fatalf("message %d refused: %+v", i+1, d)
		}
		e.clock.Add(2 * time.Second)
	}
	d := e.engine.Data(ctx, submission(e, thanh, "b@gmail.com"))
	if d.Verdict != Reject || d.Rule != RuleSendRate || !errors.Is(d.Err(), mailerr.ErrSendingLocked) {
		t.Fatalf("251st outside message: %+v", d)
	}
	if d := e.engine.MailFrom(ctx, Envelope{Protocol: Submission, Account: e.account(thanh), From: thanh}); !errors.Is(d.Err(), mailerr.ErrSendingLocked) {
		t.Errorf("MAIL FROM after the lock: %+v", d)
	}
	if d := e.engine.MailFrom(ctx, Envelope{Protocol: Submission, Account: e.account(mai), From: mai}); d.Refused() {
		t.Errorf("other account refused: %+v", d)
	}
	alerts := e.inbox(operator)
	if len(alerts) != 1 || !strings.Contains(alerts[0], "Auto-Submitted: auto-generated") {
		t.Fatalf("operator alerts: %d", len(alerts))
	}
	if body := decodeBody(t, alerts[0]); !strings.Contains(body, thanh) || !strings.Contains(body, "251 messages") {
		t.Errorf("alert body lacks the account or the count: %q", body)
	}
	if list := e.audit(AuditQuery{Subject: thanh, Action: ActionSendLock}); len(list) != 1 {
		t.Errorf("send-lock audit entries: %+v", list)
	}
	if err := UnlockSending(ctx, e.engine.DB(), "cli:root", thanh, "mật khẩu đã đổi"); err != nil {
		t.Fatal(err)
	}
	if d := e.engine.MailFrom(ctx, Envelope{Protocol: Submission, Account: e.account(thanh), From: thanh}); d.Refused() {
		t.Errorf("still locked after unlock: %+v", d)
	}
	// Only local recipients: not counted at all.
	for i := range 300 {
		if d := e.engine.Data(ctx, submission(e, lan, mai, thanh)); d.Refused() {
			t.Fatalf("local message %d refused: %+v", i+1, d)
		}
	}
	// The window slides: 200 now, 200 more after 10 minutes is fine.
	for range 200 {
		e.engine.Data(ctx, submission(e, mai, "x@gmail.com"))
	}
	e.clock.Add(10 * time.Minute)
	for i := range 200 {
		if d := e.engine.Data(ctx, submission(e, mai, "x@gmail.com")); d.Refused() {
			t.Fatalf("after the window, message %d refused", i+1)
		}
	}
}

// decodeBody returns the text of a single-part message.
func decodeBody(t *testing.T, raw string) string {
	t.Helper()
	r, err := mail.CreateReader(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := p.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// The digest reaches each unit admin's INBOX with the unit's officials
// (divisions included) who did not access that day, Vietnamese first.
func TestDigest(t *testing.T) {
	e := newEnv(t, testConfig())
	loc := ict(t)
	day := DayFromDate(2025, 6, 1)
	e.engine.RecordAccess(thanh, IMAP, day.Start(loc).Add(23*time.Hour+59*time.Minute)) // 23:59 counts
	e.engine.RecordAccess(mai, IMAP, (day + 1).Start(loc))                              // 00:00 the next day does not
	e.engine.RecordAccess(duc, Web, day.Start(loc).Add(9*time.Hour))
	ctx := context.Background()
	if err := e.engine.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := e.engine.SendDigests(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("digests for %d units, want 2 (department and commune have admins)", len(res))
	}
	msgs := e.inbox(admin)
	if len(msgs) != 1 {
		t.Fatalf("admin INBOX has %d messages", len(msgs))
	}
	h, err := mail.CreateReader(strings.NewReader(msgs[0]))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := h.Header.Subject()
	if !strings.HasPrefix(subject, "[Thư công vụ] Sở Khoa học và Công nghệ: 3 cán bộ chưa truy cập hộp thư ngày 01/06/2025") {
		t.Errorf("subject %q", subject)
	}
	if id, _ := h.Header.MessageID(); id == "" {
		t.Error("no Message-ID")
	}
	body := decodeBody(t, msgs[0])
	for _, want := range []string{"Trần Thị Mai", mai, "Phạm Thị Lan", "Văn phòng Sở", admin} {
		if !strings.Contains(body, want) {
			t.Errorf("digest lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, thanh) || strings.Contains(body, duc) {
		t.Errorf("digest lists someone who accessed:\n%s", body)
	}
	if vi, en := strings.Index(body, "Kính gửi"), strings.Index(body, "English"); vi < 0 || en < vi {
		t.Error("Vietnamese does not come first")
	}
	if got := e.inbox(ducAdmin); len(got) != 1 || !strings.Contains(decodeBody(t, got[0]), ducAdmin) {
		t.Errorf("commune admin digest: %d", len(got))
	}
}

// The scheduled digest runs once per day after the configured hour and
// survives restarts without repeating.
func TestDigestSchedule(t *testing.T) {
	cfg := testConfig()
	cfg.DigestHour = 7
	e := newEnv(t, cfg) // the clock says 10:00, so the job runs at start
	deadline := time.Now().Add(10 * time.Second)
	for len(e.inbox(admin)) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(e.inbox(admin)); n != 1 {
		t.Fatalf("after start at 10:00: %d digests, want 1", n)
	}
	e.restart()
	time.Sleep(300 * time.Millisecond)
	if n := len(e.inbox(admin)); n != 1 {
		t.Errorf("restart repeated the digest: %d", n)
	}
}

// Lifecycle jobs: an unchanged initial password locks the account after 30
// days; a retired account's mailbox is deleted after 3 months; both are
// audited; an admin state change is audited too.
func TestLifecycleJobs(t *testing.T) {
	e := newEnv(t, testConfig())
	ctx := context.Background()
	a := e.account(duc)
	a.MustChangePassword = true
	if err := e.dir.PutAccount(ctx, *a, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Deliver(ctx, strings.NewReader("Subject: x\r\n\r\nx\r\n"), nil); err != nil {
		t.Fatal(err)
	}
	mb, _ := e.store.Mailbox(ctx, lan, 0)
	if _, err := mb.Append(ctx, "INBOX", strings.NewReader("Subject: cũ\r\n\r\nx\r\n"), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := e.engine.SetAccountState(ctx, "admin@"+domain, lan, directory.StateRetired, "chuyển công tác"); err != nil {
		t.Fatal(err)
	}
	// The engine's clock runs ahead of the directory's real timestamps.
	e.clock.Set(time.Now().Add(29 * 24 * time.Hour))
	if locked, deleted, err := e.engine.RunLifecycle(ctx); err != nil || locked+deleted != 0 {
		t.Fatalf("day 29: locked %d deleted %d err %v", locked, deleted, err)
	}
	e.clock.Set(time.Now().Add(31 * 24 * time.Hour))
	if locked, _, err := e.engine.RunLifecycle(ctx); err != nil || locked != 1 {
		t.Fatalf("day 31: locked %d, %v", locked, err)
	}
	if a := e.account(duc); a.State != directory.StateLocked || !strings.Contains(a.StateReason, "initial password") {
		t.Errorf("duc: %s %q", a.State, a.StateReason)
	}
	if len(e.inbox(lan)) != 1 {
		t.Fatal("retired mailbox deleted before its retention period")
	}
	e.clock.Set(time.Now().AddDate(0, 3, 1))
	if _, deleted, err := e.engine.RunLifecycle(ctx); err != nil || deleted != 1 {
		t.Fatalf("after 3 months: deleted %d, %v", deleted, err)
	}
	if n := len(e.inbox(lan)); n != 0 {
		t.Errorf("retired mailbox still has %d messages", n)
	}
	if _, deleted, _ := e.engine.RunLifecycle(ctx); deleted != 0 {
		t.Error("deleted twice")
	}
	for _, q := range []AuditQuery{{Subject: duc, Rule: RuleInitialPassword}, {Subject: lan, Action: ActionRetire},
		{Subject: lan, Action: ActionDeleteData}} {
		if len(e.audit(q)) != 1 {
			t.Errorf("audit %+v: %+v", q, e.audit(AuditQuery{}))
		}
	}
}

// Forwarding: only into the state mail system; local targets get a copy
// with Delivered-To at delivery; outside targets are refused and audited.
func TestForwarding(t *testing.T) {
	e := newEnv(t, testConfig())
	ctx := context.Background()
	fw := e.engine.Forwarding()
	for _, target := range []string{"ca.nhan@gmail.com", "x@gov.vn.example.com", "y@notgov.vn"} {
		if err := fw.Set(ctx, "cli:root", e.account(thanh), target); !errors.Is(err, mailerr.ErrForwardOutside) {
			t.Errorf("forward to %s: %v, want ErrForwardOutside", target, err)
		}
	}
	if err := e.engine.AllowForward(ctx, e.account(thanh), "vanthu@boyte.gov.vn"); err != nil {
		t.Errorf("state domain refused: %v", err)
	}
	if err := e.engine.AllowForward(ctx, e.account(thanh), "vanthu@hanoi.gov.vn"); err != nil {
		t.Errorf("*.gov.vn subdomain refused: %v", err)
	}
	if err := fw.Set(ctx, "cli:root", e.account(thanh), mai); err != nil {
		t.Fatal(err)
	}
	m := &Message{Envelope: Envelope{Protocol: SMTP, From: "a@gmail.com"},
		Rcpts: []Recipient{{Address: thanh, Account: e.account(thanh)}},
		Open:  msgReader("Subject: chuyển tiếp\r\n\r\nx\r\n")}
	e.engine.Delivered(ctx, m)
	got := e.inbox(mai)
	if len(got) != 1 || !strings.HasPrefix(got[0], "Delivered-To: "+thanh+"\r\n") {
		t.Errorf("forwarded copy: %q", got)
	}
	if list := e.audit(AuditQuery{Rule: RuleForwardOutside}); len(list) != 3 {
		t.Errorf("refused forwards audited %d times, want 3", len(list))
	}
	// Several recipients, looked up together: each forward follows its
	// own recipient, one without a rule gets no copy elsewhere.
	if err := fw.Set(ctx, "cli:root", e.account(duc), mai); err != nil {
		t.Fatal(err)
	}
	e.engine.Delivered(ctx, &Message{Envelope: Envelope{Protocol: SMTP, From: "a@gmail.com"},
		Rcpts: []Recipient{{Address: thanh, Account: e.account(thanh)}, {Address: "x@gmail.com"},
			{Address: mai, Account: e.account(mai)}, {Address: duc, Account: e.account(duc)}},
		Open: msgReader("Subject: ba người nhận\r\n\r\nx\r\n")})
	got = e.inbox(mai)
	var hops []string
	for _, g := range got[1:] {
		hops = append(hops, g[:strings.Index(g, "\r\n")])
	}
	slices.Sort(hops)
	if want := []string{"Delivered-To: " + duc, "Delivered-To: " + thanh}; !slices.Equal(hops, want) {
		t.Errorf("forwarded copies of a three-recipient message: %q, want %q", hops, want)
	}
	if err := fw.Clear(ctx, "cli:root", duc); err != nil {
		t.Fatal(err)
	}
	if err := fw.Clear(ctx, "cli:root", thanh); err != nil {
		t.Fatal(err)
	}
	if l, _ := e.engine.DB().Forwards(ctx); len(l) != 0 {
		t.Errorf("forwards after clear: %+v", l)
	}
	// Delivery reads the rules from memory: a cleared rule forwards no
	// more at once; one written by another process (here straight into
	// the table) counts once the copy is older than its TTL.
	deliverToThanh := func(subject string) {
		e.engine.Delivered(ctx, &Message{Envelope: Envelope{Protocol: SMTP, From: "a@gmail.com"},
			Rcpts: []Recipient{{Address: thanh, Account: e.account(thanh)}}, Open: msgReader("Subject: " + subject + "\r\n\r\nx\r\n")})
	}
	before := len(e.inbox(mai))
	deliverToThanh("sau khi huỷ")
	if n := len(e.inbox(mai)); n != before {
		t.Errorf("a cleared rule still forwarded (%d copies, had %d)", n, before)
	}
	db := e.engine.DB()
	if _, err := db.rw.ExecContext(ctx, `INSERT INTO forwards (address, target, updated, actor) VALUES (?, ?, 0, 'cli:root')`, thanh, mai); err != nil {
		t.Fatal(err)
	}
	db.forwards.mu.Lock()
	db.forwards.at = db.forwards.at.Add(-forwardCacheTTL)
	db.forwards.mu.Unlock()
	deliverToThanh("quy tắc từ tiến trình khác")
	if n := len(e.inbox(mai)); n != before+1 {
		t.Errorf("a rule written elsewhere did not forward after the TTL (%d copies, had %d)", n, before)
	}
	// With more rules than the cache keeps, delivery asks the database.
	if _, err := db.rw.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i <= ?)
		INSERT INTO forwards (address, target, updated, actor) SELECT 'x' || i || '@khanhhoa.gov.vn', ?, 0, 'cli:root' FROM n`,
		maxCachedForwards, mai); err != nil {
		t.Fatal(err)
	}
	db.forwards.changed()
	if _, ok, err := db.forwards.lookup(ctx, db, []string{thanh}); ok || err != nil {
		t.Fatalf("%d rules cached (%v)", maxCachedForwards+2, err)
	}
	deliverToThanh("nhiều quy tắc")
	if n := len(e.inbox(mai)); n != before+2 {
		t.Errorf("with the rules uncached, no forward (%d copies, had %d)", n, before)
	}
}

// Usage counters per unit: sent by the sender's unit, received by each
// recipient's unit, state vs outside, attachments detected in MIME.
func TestUsageReport(t *testing.T) {
	e := newEnv(t, testConfig())
	ctx := context.Background()
	withAttachment := "From: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" +
		"Content-Type: text/plain\r\n\r\nxem\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"cv.pdf\"\r\n\r\nJVBE\r\n--b--\r\n"
	m := submission(e, thanh, mai, duc, "a@gmail.com")
	m.Open = msgReader(withAttachment)
	e.engine.Delivered(ctx, m)
	e.engine.Delivered(ctx, submission(e, duc, "vanthu@boyte.gov.vn"))
	e.engine.Delivered(ctx, &Message{Envelope: Envelope{Protocol: SMTP, From: "spam@example.com"},
		Rcpts: []Recipient{{Address: thanh, Account: e.account(thanh)}}, Open: msgReader("Subject: x\r\n\r\nx\r\n")})
	e.engine.Delivered(ctx, &Message{Envelope: Envelope{Protocol: SMTP, From: "vanthu@boyte.gov.vn"},
		Rcpts: []Recipient{{Address: duc, Account: e.account(duc)}}, Open: msgReader("Subject: x\r\n\r\nx\r\n")})
	month := MonthOf(DayOf(e.clock.Now(), ict(t)))
	rep, err := e.engine.UsageReport(ctx, "", month, month)
	if err != nil {
		t.Fatal(err)
	}
	byCode := map[string]UsageRow{}
	for _, r := range rep.Rows {
		if !r.Subtotal {
			byCode[r.Unit.Code] = r
		}
	}
	skhcn, commune := byCode[skhcnCode], byCode[communeCode]
	if skhcn.SentOutside != 1 || skhcn.SentWithAttachment != 1 || skhcn.ReceivedState != 1 || skhcn.ReceivedOutside != 1 ||
		skhcn.ReceivedWithAttachment != 1 {
		t.Errorf("skhcn %+v", skhcn.UsageCounts)
	}
	if commune.SentState != 1 || commune.ReceivedState != 2 || commune.ReceivedWithAttachment != 1 {
		t.Errorf("commune %+v", commune.UsageCounts)
	}
	if rep.Total.Sent() != 2 || rep.Total.Received() != 4 {
		t.Errorf("total %+v", rep.Total.UsageCounts)
	}
	var b strings.Builder
	if err := RenderUsageCSV(&b, rep); err != nil || !strings.Contains(b.String(), "Văn bản có chữ ký số hợp lệ") {
		t.Errorf("usage CSV: %v", err)
	}
	b.Reset()
	if err := RenderUsagePage(&b, rep); err != nil || !strings.Contains(b.String(), "Cơ quan nhà nước") {
		t.Errorf("usage HTML: %v", err)
	}
	for s, want := range map[string][2]Month{"2025": {2025 * 12, 2025*12 + 11}, "2025-Q2": {2025*12 + 3, 2025*12 + 5},
		"2025-06": {2025*12 + 5, 2025*12 + 5}} {
		f, to, err := ParsePeriod(s)
		if err != nil || f != want[0] || to != want[1] {
			t.Errorf("ParsePeriod(%s) = %v %v %v", s, f, to, err)
		}
	}
	if _, _, err := ParsePeriod("2025-Q5"); err == nil {
		t.Error("Q5 accepted")
	}
}

func TestHasAttachment(t *testing.T) {
	for msg, want := range map[string]bool{
		"Subject: x\r\n\r\nplain\r\n": false,
		"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--b--\r\n":                                                                       false,
		"Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: multipart/related; boundary=i\r\n\r\n--i\r\nContent-Type: text/plain\r\n\r\nx\r\n--i\r\nContent-Type: image/png; name=\"a.png\"\r\n\r\nx\r\n--i--\r\n--o--\r\n": true,
	} {
		if got := HasAttachment(strings.NewReader(msg)); got != want {
			t.Errorf("HasAttachment(%q) = %v", msg[:30], got)
		}
	}
}

func TestAuditQuery(t *testing.T) {
	e := newEnv(t, testConfig())
	cfg := testConfig()
	cfg.DenyNetworks = []string{"203.0.113.0/24"}
	if err := e.engine.Reload(cfg, []string{domain}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e.engine.Connect(ctx, Conn{Protocol: IMAP, IP: ip1})
	e.clock.Add(time.Hour)
	e.engine.Connect(ctx, Conn{Protocol: POP3, IP: netip.MustParseAddr("203.0.113.9")})
	all := e.audit(AuditQuery{})
	if len(all) != 2 || all[0].Protocol != POP3 {
		t.Fatalf("newest first: %+v", all)
	}
	if got := e.audit(AuditQuery{Subject: ip1.String()}); len(got) != 1 {
		t.Errorf("by subject: %+v", got)
	}
	if got := e.audit(AuditQuery{Since: e.clock.Now().Add(-time.Minute)}); len(got) != 1 {
		t.Errorf("since: %+v", got)
	}
	if got := e.audit(AuditQuery{Rule: RuleLockout}); len(got) != 0 {
		t.Errorf("by rule: %+v", got)
	}
}

// With send_limit_counts = "recipients" each outside recipient counts: 125
// messages to two outside recipients reach 250, the next recipient locks.
func TestSendRateCountsRecipients(t *testing.T) {
	cfg := testConfig()
	cfg.Rules.SendLimitCounts = "recipients"
	e := newEnv(t, cfg)
	ctx := context.Background()
	for i := range 125 {
		if d := e.engine.Data(ctx, submission(e, thanh, "a@gmail.com", "vanthu@boyte.gov.vn", mai)); d.Refused() {
			t.Fatalf("message %d refused: %+v", i+1, d)
		}
	}
	if d := e.engine.Data(ctx, submission(e, thanh, "b@gmail.com")); d.Rule != RuleSendRate {
		t.Fatalf("251st outside recipient: %+v", d)
	}
	if list := e.audit(AuditQuery{Subject: thanh, Action: ActionSendLock}); len(list) != 1 || !strings.Contains(list[0].Detail, "251 recipients") {
		t.Errorf("send-lock audit: %+v", list)
	}
}

// Overdue provisioning requests are listed in the digest of their unit
// and, every unit's, in a digest to the operators, who decide them; with
// none overdue the operators get nothing.
func TestDigestOverdueRequests(t *testing.T) {
	e := newEnv(t, testConfig())
	ctx := context.Background()
	day := DayFromDate(2026, 2, 25)
	var asked [][]string
	overdue := []string{"#7 new, đơn vị/unit " + skhcnCode + ": 3 tài khoản mới"}
	e.engine.SetOverdueRequests(func(_ context.Context, units []string) ([]string, error) {
		asked = append(asked, units)
		if units == nil || slices.Contains(units, skhcnCode) {
			return overdue, nil
		}
		return nil, nil
	})
	if _, err := e.engine.SendDigests(ctx, day); err != nil {
		t.Fatal(err)
	}
	if body := decodeBody(t, e.inbox(admin)[0]); !strings.Contains(body, "quá hạn") || !strings.Contains(body, overdue[0]) {
		t.Errorf("unit digest lacks the overdue request:\n%s", body)
	}
	if body := decodeBody(t, e.inbox(ducAdmin)[0]); strings.Contains(body, overdue[0]) {
		t.Errorf("another unit's digest lists the request:\n%s", body)
	}
	ops := e.inbox(operator)
	if len(ops) != 1 {
		t.Fatalf("operator got %d digests, want 1", len(ops))
	}
	h, _ := mail.CreateReader(strings.NewReader(ops[0]))
	if subject, _ := h.Header.Subject(); !strings.Contains(subject, "1 đề nghị cấp tài khoản quá hạn ngày 25/02/2026") {
		t.Errorf("operator digest subject %q", subject)
	}
	if body := decodeBody(t, ops[0]); !strings.Contains(body, overdue[0]) {
		t.Errorf("operator digest:\n%s", body)
	}
	overdue = nil
	if _, err := e.engine.SendDigests(ctx, day+1); err != nil {
		t.Fatal(err)
	}
	if n := len(e.inbox(operator)); n != 1 {
		t.Errorf("operator got a digest with nothing overdue (%d)", n)
	}
}

// The account page's last access day: the latest day with an access,
// across months, and nothing for an account that never accessed.
func TestLastAccess(t *testing.T) {
	e := newEnv(t, testConfig())
	loc := ict(t)
	ctx := context.Background()
	e.engine.RecordAccess(thanh, IMAP, DayFromDate(2025, 5, 31).Start(loc).Add(23*time.Hour))
	e.engine.RecordAccess(thanh, Web, DayFromDate(2025, 6, 2).Start(loc).Add(8*time.Hour))
	e.engine.RecordAccess(mai, POP3, DayFromDate(2025, 5, 1).Start(loc))
	if err := e.engine.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]Day{thanh: DayFromDate(2025, 6, 2), strings.ToUpper(mai): DayFromDate(2025, 5, 1)} {
		if d, ok, err := e.engine.DB().LastAccess(ctx, addr); err != nil || !ok || d != want {
			t.Errorf("%s: last access %v %v %v, want %v", addr, d, ok, err, want)
		}
	}
	if _, ok, err := e.engine.DB().LastAccess(ctx, duc); ok || err != nil {
		t.Errorf("an account that never accessed: %v %v", ok, err)
	}
}
