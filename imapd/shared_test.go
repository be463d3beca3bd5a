package imapd

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"congvu/directory"
	"congvu/policy"
	"congvu/sharing"
)

const (
	unitBox    = "skhcn@sokhcn.gov.vn"
	clerkAddr  = "vanthu@sokhcn.gov.vn"
	clerk2Addr = "vanthu2@sokhcn.gov.vn"
	leaderAddr = "giamdoc@sokhcn.gov.vn"
	adminAddr  = "quantri@sokhcn.gov.vn"
)

// withSharing gives the fixture a unit with a shared mailbox, a clerk, a
// second official, a leader and the unit administrator; audit entries
// land in *audited.
func withSharing(t *testing.T, audited *[]policy.AuditEntry) envOption {
	return func(_ *Config, d *Deps) {
		w := d.Dir.(directory.Writer)
		ctx := context.Background()
		if err := w.PutUnit(ctx, directory.Unit{Code: "56.skhcn", Name: "Sở KHCN", Abbr: "skhcn",
			Kind: directory.UnitDepartment, Address: unitBox}); err != nil {
			t.Fatal(err)
		}
		for _, a := range []directory.Account{
			{Address: unitBox, UnitCode: "56.skhcn", Role: directory.RoleUnit},
			{Address: clerkAddr, UnitCode: "56.skhcn", Role: directory.RoleClerk, Title: "Văn thư"},
			{Address: clerk2Addr, UnitCode: "56.skhcn", Role: directory.RoleOfficial, Title: "Chuyên viên"},
			{Address: leaderAddr, UnitCode: "56.skhcn", Role: directory.RoleOfficial, Title: "Giám đốc"},
			{Address: adminAddr, UnitCode: "56.skhcn", Role: directory.RoleAdmin},
		} {
			a.State = directory.StateActive
			if err := w.PutAccount(ctx, a, userPass); err != nil {
				t.Fatal(err)
			}
		}
		sh, err := sharing.Open(filepath.Join(t.TempDir(), "acl.db"), d.Dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sh.Close() })
		var mu sync.Mutex
		d.Sharing = sh
		d.Audit = func(_ context.Context, e policy.AuditEntry) error {
			mu.Lock()
			defer mu.Unlock()
			*audited = append(*audited, e)
			return nil
		}
	}
}

func (e *testEnv) loginAs(t *testing.T, addr string) *rawConn {
	t.Helper()
	r := e.raw(true)
	if _, done := r.cmd("L", `LOGIN "`+addr+`" "`+userPass+`"`); !strings.HasPrefix(done, "L OK") {
		t.Fatalf("login %s: %q", addr, done)
	}
	return r
}

// The văn thư mailbox (issue 12): the unit mailbox has no login of its
// own; its clerks open it under Shared/ (RFC 2342) with all rights, each
// with their own \Seen (RFC 4314 §4); the leader reads (lrs) but cannot
// delete; the unit administrator makes another official a clerk with
// SETACL, which is audited.
func TestSharedUnitMailbox(t *testing.T) {
	var audited []policy.AuditEntry
	e := newEnv(t, withSharing(t, &audited))
	e.deliver(unitBox, simpleMsg("Công văn đến số 1", "một", time.Now()))
	e.deliver(unitBox, simpleMsg("Công văn đến số 2", "hai", time.Now()))

	u := e.raw(true)
	if _, done := u.cmd("a", `LOGIN "`+unitBox+`" "`+userPass+`"`); !strings.HasPrefix(done, "a NO [AUTHORIZATIONFAILED]") {
		t.Errorf("login as the unit mailbox: %q", done)
	}

	clerk, leader, admin, other := e.loginAs(t, clerkAddr), e.loginAs(t, leaderAddr), e.loginAs(t, adminAddr), e.loginAs(t, clerk2Addr)
	if un, _ := clerk.cmd("c1", "NAMESPACE"); len(un) != 1 || un[0] != `* NAMESPACE (("" "/")) NIL (("Shared/" "/"))` {
		t.Errorf("NAMESPACE: %q", un)
	}
	un, _ := clerk.cmd("c2", `LIST "" "Shared*"`)
	if !containsLine(un, `* LIST (\Noselect \HasChildren) "/" Shared`) || !containsLine(un, `* LIST (\HasChildren) "/" Shared/skhcn`) ||
		!containsLine(un, `* LIST (\HasNoChildren) "/" Shared/skhcn/Sent`) {
		t.Errorf("LIST of the shared namespace: %q", un)
	}
	if un, _ := other.cmd("o1", `LIST "" "Shared*"`); len(un) != 0 {
		t.Errorf("an official without rights sees %q", un)
	}
	if un, _ := clerk.cmd("c3", "MYRIGHTS Shared/skhcn"); len(un) != 1 || un[0] != "* MYRIGHTS Shared/skhcn lrswipkxtecda" {
		t.Errorf("clerk MYRIGHTS: %q", un)
	}
	if un, _ := leader.cmd("l1", "MYRIGHTS Shared/skhcn"); len(un) != 1 || un[0] != "* MYRIGHTS Shared/skhcn lrs" {
		t.Errorf("leader MYRIGHTS: %q", un)
	}

	// Each keeps their own \Seen.
	clerk.cmd("c4", "SELECT Shared/skhcn")
	clerk.cmd("c5", "FETCH 1 (BODY[])")
	if un, _ := clerk.cmd("c6", `STATUS Shared/skhcn (UNSEEN)`); !strings.Contains(un[0], "UNSEEN 1") {
		t.Errorf("clerk UNSEEN: %q", un)
	}
	if un, _ := leader.cmd("l2", `STATUS Shared/skhcn (UNSEEN)`); !strings.Contains(un[0], "UNSEEN 2") {
		t.Errorf("leader UNSEEN: %q", un)
	}
	un, done := leader.cmd("l3", "SELECT Shared/skhcn")
	if !strings.HasPrefix(done, "l3 OK [READ-WRITE]") || !containsLine(un, `* OK [PERMANENTFLAGS (\Seen)] Flags permitted`) {
		t.Errorf("leader SELECT: %q %q", un, done)
	}
	// The leader cannot delete.
	if _, done := leader.cmd("l4", `STORE 1 +FLAGS (\Deleted)`); !strings.HasPrefix(done, "l4 NO [NOPERM]") {
		t.Errorf("leader STORE \\Deleted: %q", done)
	}
	if _, done := leader.cmd("l5", "EXPUNGE"); !strings.HasPrefix(done, "l5 NO [NOPERM]") {
		t.Errorf("leader EXPUNGE: %q", done)
	}
	if _, done := leader.cmd("l6", "MOVE 1 INBOX"); !strings.HasPrefix(done, "l6 NO [NOPERM]") {
		t.Errorf("leader MOVE out: %q", done)
	}
	if _, done := leader.cmd("l7", "SETACL Shared/skhcn "+clerk2Addr+" lrswipkxtecda"); !strings.HasPrefix(done, "l7 NO [NOPERM]") {
		t.Errorf("leader SETACL: %q", done)
	}
	// The leader files a copy in their own Archive.
	if _, done := leader.cmd("l8", "COPY 2 Archive"); !strings.HasPrefix(done, "l8 OK [COPYUID ") {
		t.Errorf("leader COPY to own folder: %q", done)
	}
	// The administrator makes another official a clerk; it is audited.
	if _, done := admin.cmd("a1", "SETACL Shared/skhcn "+clerk2Addr+" lrswipkxtecda"); !strings.HasPrefix(done, "a1 OK") {
		t.Fatalf("admin SETACL: %q", done)
	}
	if len(audited) != 1 || audited[0].Subject != clerk2Addr || audited[0].Actor != adminAddr || audited[0].Action != actionACLSet {
		t.Errorf("audit: %+v", audited)
	}
	if un, _ := admin.cmd("a2", "GETACL Shared/skhcn"); len(un) != 1 || !strings.Contains(un[0], clerk2Addr+" lrswipkxtecda") ||
		!strings.Contains(un[0], leaderAddr+" lrs") {
		t.Errorf("GETACL: %q", un)
	}
	if _, done := admin.cmd("a3", "SELECT Shared/skhcn"); !strings.HasPrefix(done, "a3 NO [NOPERM]") {
		t.Errorf("admin without r SELECTs: %q", done)
	}
	// The second clerk idles; the first moves a message to Archive: the
	// second sees it go.
	other.cmd("o2", "SELECT Shared/skhcn")
	other.send("o3 IDLE")
	if l := other.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	if _, done := clerk.cmd("c7", "MOVE 1 Shared/skhcn/Archive"); !strings.HasPrefix(done, "c7 OK") {
		t.Fatalf("clerk MOVE: %q", done)
	}
	if l := other.line(); l != "* 1 EXPUNGE" {
		t.Errorf("second clerk while idling: %q", l)
	}
	other.send("DONE")
	for !strings.HasPrefix(other.line(), "o3 ") {
	}
	// The moved message keeps the first clerk's \Seen, not the second's.
	clerk.cmd("c8", "SELECT Shared/skhcn/Archive")
	if un, _ := clerk.cmd("c9", "FETCH 1 (FLAGS)"); len(un) != 1 || !strings.Contains(un[0], `\Seen`) {
		t.Errorf("clerk's flags after MOVE: %q", un)
	}
	other.cmd("o4", "SELECT Shared/skhcn/Archive")
	if un, _ := other.cmd("o5", "FETCH 1 (FLAGS)"); len(un) != 1 || strings.Contains(un[0], `\Seen`) {
		t.Errorf("second clerk's flags after MOVE: %q", un)
	}
	if _, done := clerk.cmd("c10", "SETACL INBOX "+clerk2Addr+" lr"); !strings.HasPrefix(done, "c10 NO [CANNOT]") {
		t.Errorf("SETACL on a personal folder: %q", done)
	}
	if un, _ := clerk.cmd("c11", "GETQUOTAROOT Shared/skhcn/Archive"); len(un) != 2 || un[0] != `* QUOTAROOT Shared/skhcn/Archive "Shared/skhcn"` {
		t.Errorf("quota root of a shared folder: %q", un)
	}
}
