package groups_test

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"congvu/directory/orgdb"
	"congvu/groups"
	"congvu/internal/config"
	"congvu/policy"
	"congvu/storage"
	"congvu/web/webtest"
)

// forwardEnv is the policy engine with this package's expansion, as the
// server wires them, and a mail store for forwarded copies.
type forwardEnv struct {
	t      *testing.T
	engine *policy.Engine
	store  *storage.FileStore
	ad     *groups.Admin
}

func newForwardEnv(t *testing.T) *forwardEnv {
	t.Helper()
	dir := webtest.Seed(t, 0)
	tmp := t.TempDir()
	org, err := orgdb.Open(filepath.Join(tmp, "org.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { org.Close() })
	st, err := storage.Open(filepath.Join(tmp, "mail"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	x := groups.New(dir, org, func(d string) bool { return strings.HasSuffix(d, ".gov.vn") }, nil)
	cfg := config.DefaultPolicy()
	cfg.DigestHour = -1
	eng, err := policy.New(policy.Options{Config: cfg, LocalDomains: []string{dom}, DBPath: filepath.Join(tmp, "policy.db"),
		Dir: dir, Writer: dir, Store: st, Groups: x})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	e := &forwardEnv{t: t, engine: eng, store: st, ad: &groups.Admin{Dir: dir, Org: org, Audit: eng.DB(), LocalDomains: []string{dom}}}
	who := groups.Actor{Name: "quantri@" + dom, IP: "192.0.2.7"}
	for _, g := range []orgdb.Group{
		{Address: "lanhdao.skhcn@" + dom, Name: "Lãnh đạo Sở KH&CN", Kind: orgdb.GroupCustom, UnitCode: "56.skhcn",
			Policy: orgdb.PolicyMembers, Members: []string{"thanhnn.skhcn@" + dom, "anv.skhcn@" + dom}},
		{Address: "mot.skhcn@" + dom, Name: "Một người", Kind: orgdb.GroupCustom, UnitCode: "56.skhcn",
			Policy: orgdb.PolicyAnyone, Members: []string{"anv.skhcn@" + dom}},
	} {
		if err := e.ad.Create(t.Context(), g, who); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *forwardEnv) inbox(user string) []string {
	e.t.Helper()
	ctx := context.Background()
	mb, err := e.store.Mailbox(ctx, user, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	msgs, err := mb.Messages(ctx, storage.Inbox)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		r, err := mb.Open(ctx, storage.Inbox, m.UID)
		if err != nil {
			e.t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		out = append(out, string(b))
	}
	return out
}

func (e *forwardEnv) account(t *testing.T, address string) *policy.Recipient {
	t.Helper()
	acct, err := e.ad.Dir.Lookup(t.Context(), address)
	if err != nil {
		t.Fatal(err)
	}
	return &policy.Recipient{Address: acct.Address, Account: acct}
}

// A Sieve redirect to a group (ForwardTargets, the decision sieve's
// Deliverer asks for) reaches the group's members through the groups
// package's expansion, with the group's rule applied to the forwarding
// account; a copy back through an address the message already passed is
// a loop; a group whose only member already has the message reaches
// nobody. Each refusal is a clear error the message is kept with.
func TestRedirectToGroup(t *testing.T) {
	e := newForwardEnv(t)
	ctx := t.Context()
	anv, duc := e.account(t, "anv.skhcn@"+dom).Account, e.account(t, "duclv.vanphong.skhcn@"+dom).Account
	c, err := e.engine.ForwardTargets(ctx, anv, "LanhDao.skhcn@"+dom, []string{anv.Address})
	if err != nil {
		t.Fatal(err)
	}
	if c.Group != "lanhdao.skhcn@"+dom || !slices.Equal(c.Rcpts, []string{"thanhnn.skhcn@" + dom}) {
		t.Errorf("a member's redirect to the leaders: %+v, want the other leader only", c)
	}
	if h := string(c.Header(anv.Address)); h != "Delivered-To: lanhdao.skhcn@"+dom+"\r\nDelivered-To: "+anv.Address+"\r\n" {
		t.Errorf("trace fields %q", h)
	}
	// A non-member forwarding to a members-only group: refused (550 5.7.1)
	// and audited, as if they had written to it.
	if _, err := e.engine.ForwardTargets(ctx, duc, "lanhdao.skhcn@"+dom, nil); !errors.Is(err, groups.ErrMembersOnly) {
		t.Errorf("a non-member's redirect to a members-only group: %v", err)
	}
	if err := e.engine.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if list, _ := e.engine.DB().Audit(ctx, policy.AuditQuery{Rule: policy.RuleForwardGroup}); len(list) != 1 || list[0].Subject != duc.Address {
		t.Errorf("refused forward to a group audited as %+v", list)
	}
	// The message came through the group: sending it there again loops.
	if _, err := e.engine.ForwardTargets(ctx, anv, "lanhdao.skhcn@"+dom, []string{"lanhdao.skhcn@" + dom}); !errors.Is(err, policy.ErrForwardLoop) {
		t.Errorf("redirect back into the group it came through: %v", err)
	}
	if _, err := e.engine.ForwardTargets(ctx, anv, "mot.skhcn@"+dom, nil); !errors.Is(err, policy.ErrForwardNobodyLeft) {
		t.Errorf("redirect to a group of oneself: %v", err)
	}
	// An ordinary address is itself, with one trace field.
	if c, err := e.engine.ForwardTargets(ctx, anv, "thanhnn.skhcn@"+dom, nil); err != nil || c.Group != "" ||
		!slices.Equal(c.Rcpts, []string{"thanhnn.skhcn@" + dom}) || string(c.Header(anv.Address)) != "Delivered-To: "+anv.Address+"\r\n" {
		t.Errorf("redirect to an account: %+v %v", c, err)
	}
}

// A forwarding rule whose target is a group: each delivered message gives
// the members (not the forwarding account) one copy with both hops traced;
// a message that reached the account through that group is not sent
// round again; a non-member's rule to a members-only group sends nothing.
func TestForwardingRuleToGroup(t *testing.T) {
	e := newForwardEnv(t)
	ctx := t.Context()
	fw := e.engine.Forwarding()
	anv, duc := e.account(t, "anv.skhcn@"+dom), e.account(t, "duclv.vanphong.skhcn@"+dom)
	if err := fw.Set(ctx, "cli:root", anv.Account, "lanhdao.skhcn@"+dom); err != nil {
		t.Fatal(err)
	}
	// A rule the account could never use is refused when it is set, with
	// the group's reason...
	if err := fw.Set(ctx, "cli:root", duc.Account, "lanhdao.skhcn@"+dom); !errors.Is(err, groups.ErrMembersOnly) {
		t.Errorf("a non-member's forwarding rule to a members-only group: %v", err)
	}
	// ...and one stored before (without the groups' check) is refused at
	// delivery.
	old, err := policy.ForwardingFor(e.engine.DB(), config.DefaultPolicy(), []string{dom})
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Set(ctx, "cli:root", duc.Account, "lanhdao.skhcn@"+dom); err != nil {
		t.Fatal(err)
	}
	msg := func(s string) func() io.Reader { return func() io.Reader { return strings.NewReader(s) } }
	e.engine.Delivered(ctx, &policy.Message{Envelope: policy.Envelope{Protocol: policy.SMTP, From: "vanthu@boyte.gov.vn"},
		Rcpts: []policy.Recipient{*anv}, Open: msg("Subject: cong van 1\r\n\r\nx\r\n")})
	got := e.inbox("thanhnn.skhcn@" + dom)
	if len(got) != 1 || !strings.HasPrefix(got[0], "Delivered-To: lanhdao.skhcn@"+dom+"\r\nDelivered-To: "+anv.Address+"\r\n") {
		t.Fatalf("the other leader's copy: %q", got)
	}
	if own := e.inbox(anv.Address); len(own) != 0 {
		t.Errorf("the forwarding account got its own copy back: %d", len(own))
	}
	// Delivered to anv through the group itself: no second round.
	via := *anv
	via.Given = "lanhdao.skhcn@" + dom
	e.engine.Delivered(ctx, &policy.Message{Envelope: policy.Envelope{Protocol: policy.SMTP, From: "vanthu@boyte.gov.vn"},
		Rcpts: []policy.Recipient{via}, Open: msg("Subject: cong van 2\r\n\r\nx\r\n")})
	// A non-member's rule: refused at delivery, nothing sent.
	e.engine.Delivered(ctx, &policy.Message{Envelope: policy.Envelope{Protocol: policy.SMTP, From: "vanthu@boyte.gov.vn"},
		Rcpts: []policy.Recipient{*duc}, Open: msg("Subject: cong van 3\r\n\r\nx\r\n")})
	if got := e.inbox("thanhnn.skhcn@" + dom); len(got) != 1 {
		t.Errorf("the leader has %d forwarded copies, want 1 (no loop, no copy from a non-member)", len(got))
	}
}
