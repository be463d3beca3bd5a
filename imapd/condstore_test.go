package imapd

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"congvu/storage"
)

var modseqRe = regexp.MustCompile(`MODSEQ \((\d+)\)`)
var highestRe = regexp.MustCompile(`HIGHESTMODSEQ (\d+)`)

func findNum(t *testing.T, re *regexp.Regexp, lines []string) uint64 {
	t.Helper()
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			n, _ := strconv.ParseUint(m[1], 10, 64)
			return n
		}
	}
	t.Fatalf("no %s in %q", re, lines)
	return 0
}

// RFC 7162 §3.1: CONDSTORE — HIGHESTMODSEQ at SELECT, MODSEQ in FETCH,
// FETCH (CHANGEDSINCE), STORE (UNCHANGEDSINCE) with [MODIFIED], SEARCH
// MODSEQ, STATUS HIGHESTMODSEQ, and MODSEQ in flag updates of other
// sessions.
func TestCondstore(t *testing.T) {
	e := newEnv(t)
	for i := range 3 {
		e.deliver(userAddr, simpleMsg(fmt.Sprint("Thư ", i), "x", time.Now()))
	}
	a, b := e.loggedIn(t), e.loggedIn(t)
	if un, _ := a.cmd("a1", "ENABLE CONDSTORE"); len(un) != 1 || un[0] != "* ENABLED CONDSTORE" {
		t.Fatalf("ENABLE: %q", un)
	}
	un, _ := a.cmd("a2", "SELECT INBOX")
	hms := findNum(t, highestRe, un)
	b.cmd("b1", "SELECT INBOX (CONDSTORE)")
	un, done := a.cmd("a3", "FETCH 1:* (MODSEQ)")
	mustOK(t, done)
	if len(un) != 3 || !strings.HasPrefix(un[0], "* 1 FETCH (MODSEQ (") {
		t.Fatalf("FETCH MODSEQ: %q", un)
	}
	// B changes message 2; A's conditional STORE on 1:3 fails for it.
	if un, _ := b.cmd("b2", `STORE 2 +FLAGS (\Flagged)`); len(un) != 1 || !modseqRe.MatchString(un[0]) {
		t.Errorf("STORE response without MODSEQ: %q", un)
	}
	un, done = a.cmd("a4", fmt.Sprintf(`STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\Seen)`, hms))
	if !strings.HasPrefix(done, "a4 OK [MODIFIED 2]") {
		t.Errorf("conditional STORE: %q %q", un, done)
	}
	// A hears of B's change with its MODSEQ, before the tagged reply.
	un2, _ := a.cmd("a5", "NOOP")
	un = append(un, un2...)
	if !containsPrefix(un, "* 2 FETCH (UID 2 FLAGS (\\Flagged") || !modseqRe.MatchString(strings.Join(un, " ")) {
		t.Errorf("flag update without MODSEQ: %q", un)
	}
	un, _ = a.cmd("a6", fmt.Sprintf("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)", hms))
	if len(un) != 3 {
		t.Errorf("CHANGEDSINCE: %q", un)
	}
	un, _ = a.cmd("a7", "FETCH 1 (MODSEQ)")
	m1 := findNum(t, modseqRe, un)
	un, _ = a.cmd("a8", fmt.Sprintf("SEARCH MODSEQ %d", m1))
	if len(un) != 1 || un[0] != fmt.Sprintf("* SEARCH 1 3 (MODSEQ %d)", m1) {
		t.Errorf("SEARCH MODSEQ: %q", un)
	}
	un, _ = b.cmd("b3", "STATUS Archive (HIGHESTMODSEQ MESSAGES)")
	if len(un) < 1 || !strings.HasPrefix(un[0], "* STATUS Archive (HIGHESTMODSEQ ") {
		t.Errorf("STATUS HIGHESTMODSEQ: %q", un)
	}
	if _, done := a.cmd("a9", "STORE 1 (UNCHANGEDSINCE 0) +FLAGS (\\Draft)"); !strings.HasPrefix(done, "a9 OK [MODIFIED 1]") {
		t.Errorf("UNCHANGEDSINCE 0: %q", done)
	}
}

func containsPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// RFC 7162 §3.2: QRESYNC — a reconnecting client learns what was
// expunged (VANISHED (EARLIER)) and what changed since its MODSEQ,
// expunges are VANISHED afterwards, and UID FETCH (CHANGEDSINCE
// VANISHED) reports both.
func TestQresync(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		e.deliver(userAddr, simpleMsg(fmt.Sprint("Thư ", i), "x", time.Now()))
	}
	first := e.loggedIn(t)
	un, _ := first.cmd("f1", "SELECT INBOX (CONDSTORE)")
	uv := findNum(t, regexp.MustCompile(`UIDVALIDITY (\d+)`), un)
	hms := findNum(t, highestRe, un)
	first.cmd("f2", "LOGOUT")

	other := e.loggedIn(t)
	other.cmd("o1", "SELECT INBOX")
	other.cmd("o2", `STORE 2 +FLAGS (\Answered)`)
	other.cmd("o3", `STORE 3,4 +FLAGS (\Deleted)`)
	other.cmd("o4", "EXPUNGE")

	r := e.loggedIn(t)
	if _, done := r.cmd("r0", fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d))", uv, hms)); !strings.HasPrefix(done, "r0 BAD") {
		t.Errorf("QRESYNC without ENABLE: %q", done)
	}
	r.cmd("r1", "ENABLE QRESYNC")
	un, done := r.cmd("r2", fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d 1:5))", uv, hms))
	mustOK(t, done)
	if !containsLine(un, "* VANISHED (EARLIER) 3:4") || !containsPrefix(un, "* 2 FETCH (UID 2 FLAGS (") {
		t.Errorf("QRESYNC SELECT: %q", un)
	}
	// Own expunges come as VANISHED (RFC 7162 §3.2.10).
	r.cmd("r3", `UID STORE 5 +FLAGS.SILENT (\Deleted)`)
	un, _ = r.cmd("r4", "EXPUNGE")
	if len(un) != 1 || un[0] != "* VANISHED 5" {
		t.Errorf("EXPUNGE with QRESYNC: %q", un)
	}
	un, _ = r.cmd("r5", fmt.Sprintf("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)", hms))
	if len(un) < 2 || un[0] != "* VANISHED (EARLIER) 3:5" || !strings.HasPrefix(un[1], "* 2 FETCH (UID 2 FLAGS (") {
		t.Errorf("UID FETCH CHANGEDSINCE VANISHED: %q", un)
	}
	// Another UIDVALIDITY: an ordinary SELECT, the client starts over.
	un, _ = r.cmd("r6", fmt.Sprintf("SELECT INBOX (QRESYNC (%d %d))", uv+1, hms))
	if containsPrefix(un, "* VANISHED") {
		t.Errorf("QRESYNC with a stale UIDVALIDITY: %q", un)
	}
}

// incompleteLog stands for a store whose expunge log was trimmed.
type incompleteLog struct{ storage.Store }

func (s incompleteLog) Mailbox(ctx context.Context, user string, quota int64) (storage.Mailbox, error) {
	m, err := s.Store.Mailbox(ctx, user, quota)
	return incompleteLogMailbox{m}, err
}

type incompleteLogMailbox struct{ storage.Mailbox }

func (incompleteLogMailbox) Vanished(context.Context, string, uint64) ([]uint32, bool, error) {
	return nil, false, nil
}

// RFC 7162 §3.2.5.2: when the server does not know every expunge since
// the client's MODSEQ, it reports every known UID that is gone.
func TestQresyncTrimmedLog(t *testing.T) {
	e := newEnv(t, func(_ *Config, d *Deps) { d.Store = incompleteLog{d.Store} })
	for i := range 6 {
		e.deliver(userAddr, simpleMsg(fmt.Sprint("Thư ", i), "x", time.Now()))
	}
	r := e.loggedIn(t)
	un, _ := r.cmd("a1", "SELECT INBOX (CONDSTORE)")
	uv := findNum(t, regexp.MustCompile(`UIDVALIDITY (\d+)`), un)
	r.cmd("a2", `STORE 2,5 +FLAGS.SILENT (\Deleted)`)
	r.cmd("a3", "EXPUNGE")
	r.cmd("a4", "UNSELECT")
	r.cmd("a5", "ENABLE QRESYNC")
	un, _ = r.cmd("a6", fmt.Sprintf("SELECT INBOX (QRESYNC (%d 1 2:6))", uv))
	if !containsLine(un, "* VANISHED (EARLIER) 2,5") {
		t.Errorf("VANISHED from a trimmed log: %q", un)
	}
}
