package smtpd

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"congvu/directory"
	"congvu/directory/sqldir"
	"congvu/internal/config"
	"congvu/policy"
	"congvu/storage"
)

// engineWith returns an envOptions.policy that starts a real engine with
// cfg changed by mutate.
func engineWith(t *testing.T, mutate func(*config.Policy)) func(*sqldir.DB, *storage.FileStore) policy.Hooks {
	return func(dir *sqldir.DB, store *storage.FileStore) policy.Hooks {
		cfg := config.DefaultPolicy()
		cfg.DigestHour = -1
		mutate(&cfg)
		e, err := policy.New(policy.Options{Config: cfg, LocalDomains: []string{domain}, DBPath: filepath.Join(t.TempDir(), "policy.db"),
			Dir: dir, Writer: dir, Store: store})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return e
	}
}

func (e *env) submitter(user, pass string) *raw {
	e.t.Helper()
	r := dialRaw(e.t, e.sub, nil)
	r.ehlo()
	r.startTLS(e.client)
	r.ehlo()
	r.authPlain(235, "2.0.0", user, pass)
	return r
}

// Consecutive failed AUTHs lock the account: the failure that reaches the
// limit says so, the right password is then refused as locked, and mail to
// the account still arrives over MX.
func TestPolicyLockoutOverAuth(t *testing.T) {
	// More than 2 failures lock: the third.
	e := newEnv(t, envOptions{policy: engineWith(t, func(c *config.Policy) { c.Rules.LockoutFailures = 2 })})
	r := dialRaw(t, e.sub, nil)
	r.ehlo()
	r.startTLS(e.client)
	r.ehlo()
	r.authPlain(535, "5.7.8", thanh, "sai-mat-khau-1")
	r.authPlain(535, "5.7.8", thanhAlias, "sai-mat-khau-2")
	if msg := r.cmd(535, "5.7.8", "AUTH PLAIN %s", plain(thanh, "sai-mat-khau-3")); !strings.Contains(msg, "too many failed logins") {
		t.Errorf("third failure: %q, want the lockout text", msg)
	}
	r.authPlain(535, "5.7.8", thanh, thanhPass)
	if a, _ := e.dir.Lookup(context.Background(), thanh); a.State != directory.StateLocked || a.StateReason == "" {
		t.Errorf("directory: %s %q", a.State, a.StateReason)
	}
	mx := dialRaw(t, e.mx, nil)
	mx.ehlo()
	mx.cmd(250, "2.0.0", "MAIL FROM:<%s>", remote)
	mx.cmd(250, "2.0.0", "RCPT TO:<%s>", thanh)
	mx.data(250, "2.0.0", message(remote, thanh, "Vẫn nhận thư", "Tài khoản bị khoá vẫn nhận thư."))
	if n := len(e.inbox(thanh)); n != 1 {
		t.Errorf("locked account INBOX has %d messages, want 1", n)
	}
}

// A throttled client address gets 454 4.7.0 with the reason, before any
// password is checked.
func TestPolicyThrottleOverAuth(t *testing.T) {
	e := newEnv(t, envOptions{policy: engineWith(t, func(c *config.Policy) { c.Rules.IPMaxFailures = 2 })})
	r := dialRaw(t, e.sub, nil)
	r.ehlo()
	r.startTLS(e.client)
	r.ehlo()
	r.authPlain(535, "5.7.8", "khongco@"+domain, "x")
	r.authPlain(535, "5.7.8", "khongco2@"+domain, "x")
	if msg := r.cmd(454, "4.7.0", "AUTH PLAIN %s", plain(thanh, thanhPass)); !strings.Contains(msg, "Too many failed logins") {
		t.Errorf("throttled: %q", msg)
	}
}

// More messages to outside domains than the limit within the window lock
// sending (a message counts once, however many outside recipients): the
// message that crosses it is refused at DATA and neither stored nor queued,
// and the next MAIL FROM is refused too. Local recipients count for nothing.
func TestPolicySendRateLocksSending(t *testing.T) {
	q := &fakeQueue{}
	e := newEnv(t, envOptions{outbound: q, policy: engineWith(t, func(c *config.Policy) { c.Rules.SendLimitExternal = 2 })})
	r := e.submitter(thanh, thanhPass)
	send := func(code int, enh string, rcpts ...string) {
		t.Helper()
		r.cmd(250, "2.0.0", "MAIL FROM:<%s>", thanh)
		for _, to := range rcpts {
			r.cmd(250, "2.0.0", "RCPT TO:<%s>", to)
		}
		r.data(code, enh, message(thanh, rcpts[0], "Công văn", "Nội dung"))
	}
	send(250, "2.0.0", remote, "vanthu@boyte.gov.vn", mai)
	send(250, "2.0.0", mai) // local only: not counted
	send(250, "2.0.0", "a@gmail.com", "b@yahoo.com")
	send(550, "5.7.1", "c@gmail.com", mai) // the 3rd outside message
	if len(q.msgs) != 2 {
		t.Errorf("queued %d messages, want 2: %v", len(q.msgs), q.msgs)
	}
	if n := len(e.inbox(mai)); n != 2 {
		t.Errorf("mai got %d messages, want 2 (the refused one not stored)", n)
	}
	if msg := r.cmd(550, "5.7.1", "MAIL FROM:<%s>", thanh); !strings.Contains(msg, "Sending is locked") {
		t.Errorf("MAIL after the lock: %q", msg)
	}
	// Another account is not affected.
	r2 := e.submitter(mai, maiPass)
	r2.cmd(250, "2.0.0", "MAIL FROM:<%s>", mai)
}

// Without an outbound queue (smtp.outbound = false), outside recipients are
// refused at RCPT as before.
func TestPolicyNoOutboundStillRefusesRemote(t *testing.T) {
	e := newEnv(t, envOptions{policy: engineWith(t, func(*config.Policy) {})})
	r := e.submitter(thanh, thanhPass)
	r.cmd(250, "2.0.0", "MAIL FROM:<%s>", thanh)
	r.cmd(451, "4.4.1", "RCPT TO:<%s>", remote)
}

func TestPolicyDeniedNetwork(t *testing.T) {
	e := newEnv(t, envOptions{policy: engineWith(t, func(c *config.Policy) { c.DenyNetworks = []string{"127.0.0.0/8"} })})
	r := dialRaw(t, e.mx, nil)
	r.cmd(554, "5.7.1", "EHLO client.example")
}

// recordingHooks records the DATA-time view and refuses messages whose
// subject says so, to check that a refusal stores nothing.
type recordingHooks struct {
	policy.Nop
	mu        sync.Mutex
	delivered []*policy.Message
}

func (h *recordingHooks) Data(_ context.Context, m *policy.Message) policy.Decision {
	b, _ := io.ReadAll(m.Open())
	if bytes.Contains(b, []byte("Subject: REFUSE")) {
		return policy.Decision{Verdict: policy.Reject, Rule: "test", Reason: errNoRecipients}
	}
	return policy.Decision{}
}

func (h *recordingHooks) Delivered(_ context.Context, m *policy.Message) {
	h.mu.Lock()
	h.delivered = append(h.delivered, m)
	h.mu.Unlock()
}

func TestPolicyDataHook(t *testing.T) {
	h := &recordingHooks{}
	e := newEnv(t, envOptions{policy: func(*sqldir.DB, *storage.FileStore) policy.Hooks { return h }})
	mx := dialRaw(t, e.mx, nil)
	mx.ehlo()
	mx.cmd(250, "2.0.0", "MAIL FROM:<%s>", remote)
	mx.cmd(250, "2.0.0", "RCPT TO:<%s>", thanhAlias)
	mx.data(554, "5.5.1", message(remote, thanh, "REFUSE", "x"))
	if n := len(e.inbox(thanh)); n != 0 {
		t.Fatalf("refused message stored (%d)", n)
	}
	mx.cmd(250, "2.0.0", "MAIL FROM:<%s>", remote)
	mx.cmd(250, "2.0.0", "RCPT TO:<%s>", thanhAlias)
	mx.data(250, "2.0.0", message(remote, thanh, "Chào", "x"))
	if len(h.delivered) != 1 || h.delivered[0].Protocol != policy.SMTP || h.delivered[0].From != remote ||
		len(h.delivered[0].Rcpts) != 1 || h.delivered[0].Rcpts[0].Account.Address != thanh {
		t.Errorf("Delivered saw %+v", h.delivered)
	}
}
