package imapd

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"congvu/directory"
	"congvu/internal/config"
	"congvu/internal/mailerr"
	"congvu/policy"
)

// withEngine starts a real policy engine on the fixture's directory and
// store; *out receives it.
func withEngine(t *testing.T, out **policy.Engine, mutate func(*config.Policy)) envOption {
	return func(_ *Config, d *Deps) {
		cfg := config.DefaultPolicy()
		cfg.DigestHour = -1
		mutate(&cfg)
		w, _ := d.Dir.(directory.Writer)
		e, err := policy.New(policy.Options{Config: cfg, LocalDomains: []string{"sokhcn.gov.vn"},
			DBPath: filepath.Join(t.TempDir(), "policy.db"), Dir: d.Dir, Writer: w, Store: d.Store})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		d.Policy, *out = e, e
	}
}

// Wrong passwords over LOGIN lock the account at the threshold; the right
// password is then refused with CONTACTADMIN; a success is recorded as the
// day's access.
func TestPolicyIMAPLockoutAndAccess(t *testing.T) {
	var eng *policy.Engine
	// More than 2 failures lock: the third.
	e := newEnv(t, withEngine(t, &eng, func(c *config.Policy) { c.Rules.LockoutFailures = 2 }))
	c := e.login(nil)
	c.Logout()
	c = e.dial(false, nil)
	for i := range 2 {
		if err := c.Login(userAddr, "sai").Wait(); imapCode(err) != imap.ResponseCodeAuthenticationFailed {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if err := c.Login(userAddr, "sai").Wait(); imapCode(err) != imap.ResponseCodeContactAdmin {
		t.Fatalf("third failure: %v, want NO [CONTACTADMIN]", err)
	}
	if err := c.Login(userAddr, userPass).Wait(); imapCode(err) != imap.ResponseCodeContactAdmin {
		t.Fatalf("right password after lock: %v, want NO [CONTACTADMIN]", err)
	}
	ctx := context.Background()
	loc := eng.Location()
	today := policy.DayOf(time.Now(), loc)
	if err := eng.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	days, err := eng.DB().AccessHistory(ctx, userAddr, today-1, today+1, loc)
	if err != nil || len(days) != 1 || days[0].Protocols != policy.BitIMAP || days[0].Count != 1 {
		t.Errorf("access history %+v, %v; want one IMAP access today", days, err)
	}
}

// refuseAppend refuses every APPEND.
type refuseAppend struct{ policy.Nop }

func (refuseAppend) Append(context.Context, policy.AppendEvent) policy.Decision {
	return policy.Decision{Verdict: policy.Reject, Rule: "test", Reason: mailerr.ErrOverQuota}
}

func TestPolicyIMAPAppendHook(t *testing.T) {
	e := newEnv(t, func(_ *Config, d *Deps) { d.Policy = refuseAppend{} })
	c := e.login(nil)
	msg := "Subject: x\r\n\r\nx\r\n"
	cmd := c.Append("INBOX", int64(len(msg)), nil)
	cmd.Write([]byte(msg))
	cmd.Close()
	if _, err := cmd.Wait(); imapCode(err) != imap.ResponseCodeOverQuota {
		t.Errorf("APPEND: %v, want the hook's NO [OVERQUOTA]", err)
	}
}

// trackSessions records signed-in sessions like the policy engine does.
type trackSessions struct {
	policy.Nop
	mu       sync.Mutex
	sessions []policy.Session
}

func (p *trackSessions) TrackSession(s policy.Session) func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sessions = append(p.sessions, s)
	return func() {}
}

// Locking an account ends its IMAP sessions at once, IDLE included, with
// an untagged BYE giving the reason (issue 15 §8, RFC 9051 §7.1.5).
func TestRevokedSessionSaysBye(t *testing.T) {
	tr := &trackSessions{}
	e := newEnv(t, func(_ *Config, d *Deps) { d.Policy = tr })
	r := e.loggedIn(t)
	r.cmd("a", "SELECT INBOX")
	r.send("b IDLE")
	if l := r.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	tr.mu.Lock()
	if len(tr.sessions) != 1 || tr.sessions[0].Account.Address != userAddr {
		t.Fatalf("tracked %+v", tr.sessions)
	}
	end := tr.sessions[0].End
	tr.mu.Unlock()
	end(mailerr.ErrAccountDisabled)
	if l := r.line(); !strings.HasPrefix(l, "* BYE ") || !strings.Contains(l, mailerr.ErrAccountDisabled.Message) {
		t.Fatalf("after revocation: %q", l)
	}
}
