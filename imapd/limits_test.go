package imapd

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Every limit on what a client sends is answered with BAD or NO and a
// reason, the rest of the command is skipped, and the session goes on;
// nothing a client sends is reported as a server bug.
func TestLimitsAnsweredAndSessionContinues(t *testing.T) {
	e := newEnv(t)
	e.deliver(userAddr, simpleMsg("Một", "một", time.Now()))
	r := e.raw(true)
	expect := func(tag, cmd, want string) {
		t.Helper()
		untagged, done := r.cmd(tag, cmd)
		if !strings.HasPrefix(done, tag+" "+want) {
			t.Errorf("%.60q: got %q (untagged %q), want %s", cmd, done, untagged, want)
		}
		for _, l := range append(untagged, done) {
			if strings.Contains(l, "SERVERBUG") {
				t.Errorf("%.60q: client error reported as a server bug: %q", cmd, l)
			}
		}
	}
	// Before login: a 4 GiB synchronizing literal is refused without a
	// continuation request, so the client never sends it.
	expect("a1", "LOGIN {4294967296}", "BAD [TOOBIG]")
	// A long ID before login (RFC 2971 allows 30 pairs of 1 KiB values).
	var id strings.Builder
	id.WriteString("ID (")
	for i := range 30 {
		fmt.Fprintf(&id, `"f%d" "%s" `, i, strings.Repeat("v", 1024))
	}
	expect("a2", strings.TrimSpace(id.String())+")", "OK")
	expect("a3", `LOGIN "`+userAddr+`" "`+userPass+`"`, "OK")

	// A line longer than the limit: untagged BAD, line skipped.
	r.send("a4 NOOP " + strings.Repeat("x", 70<<10))
	if l := r.line(); !strings.HasPrefix(l, "* BAD") || !strings.Contains(l, "too long") {
		t.Errorf("long line: %q", l)
	}
	expect("a5", "SELECT INBOX", "OK")
	// Nesting beyond the limit.
	expect("a6", "SEARCH "+strings.Repeat("(", 100)+"ALL"+strings.Repeat(")", 100), "BAD [LIMIT]")
	expect("a7", "SEARCH "+strings.Repeat("NOT ", 100)+"ALL", "BAD [LIMIT]")
	// A sequence set with too many ranges.
	var set strings.Builder
	for i := range 9000 {
		if i > 0 {
			set.WriteByte(',')
		}
		fmt.Fprint(&set, i%2+1)
	}
	expect("a8", "FETCH "+set.String()+" FLAGS", "BAD [LIMIT]")
	// A non-synchronizing literal larger than the limit is skipped whole.
	big := strings.Repeat("y", 2<<20)
	expect("a9", "STATUS {"+fmt.Sprint(len(big))+"+}\r\n"+big+" (MESSAGES)", "BAD [TOOBIG]")
	// Malformed sequence numbers, unknown keys, bad names.
	expect("b1", "FETCH 1:abc FLAGS", "BAD")
	expect("b2", "FETCH 0 FLAGS", "BAD")
	expect("b3", "FETCH 99 FLAGS", "BAD")
	expect("b4", "SEARCH NOSUCHKEY", "BAD")
	expect("b5", "SELECT &Jjo", "BAD")
	expect("b6", `CREATE "&AGE-&AGE-"`, "BAD")
	expect("b7", "STORE 1 +FLAGS (\\Seen", "BAD")
	expect("b8", "UID FETCH 1 (FLAGS) (CHANGEDSINCE 0)", "BAD")
	// The session is still fine.
	expect("c1", "NOOP", "OK")
}
