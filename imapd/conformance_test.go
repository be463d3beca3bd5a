package imapd

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Wire-level conformance tests, one per RFC clause that decides the
// behaviour, each driven over the connection as a client would.

var literalAtEnd = regexp.MustCompile(`~?\{(\d+)\}$`)

// cmdBytes sends a command and returns everything up to and including the
// tagged reply, reading literals by their announced length (they may hold
// CRLF or NUL).
func (r *rawConn) cmdBytes(tag, command string) (all []byte, done string) {
	r.t.Helper()
	r.send(tag + " " + command)
	var out bytes.Buffer
	for {
		r.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := r.br.ReadString('\n')
		if err != nil {
			r.t.Fatalf("read: %v (got %q)", err, out.String())
		}
		out.WriteString(line)
		trimmed := strings.TrimRight(line, "\r\n")
		if m := literalAtEnd.FindStringSubmatch(trimmed); m != nil && !strings.HasPrefix(trimmed, tag+" ") {
			n, _ := strconv.Atoi(m[1])
			buf := make([]byte, n)
			if _, err := io.ReadFull(r.br, buf); err != nil {
				r.t.Fatal(err)
			}
			out.Write(buf)
			continue
		}
		if strings.HasPrefix(trimmed, tag+" ") {
			return out.Bytes(), trimmed
		}
	}
}

func (e *testEnv) loggedIn(t *testing.T) *rawConn {
	t.Helper()
	r := e.raw(true)
	if _, done := r.cmd("L", `LOGIN "`+userAddr+`" "`+userPass+`"`); !strings.HasPrefix(done, "L OK") {
		t.Fatalf("login: %q", done)
	}
	return r
}

func mustOK(t *testing.T, done string) {
	t.Helper()
	if !strings.Contains(done, " OK") {
		t.Fatalf("got %q, want OK", done)
	}
}

// RFC 9051 §4.3 and RFC 3516 §4.2–4.3: NUL may only travel in a literal8,
// and only in a BINARY answer. A message appended as literal8 with NULs
// in a binary part is answered: BODY[1] as an ordinary literal without
// NUL, BINARY[1] as ~{n} with the exact bytes, BINARY.SIZE[1] = n.
func TestConformanceBinaryAppendNUL(t *testing.T) {
	e := newEnv(t)
	r := e.loggedIn(t)
	part := "ab\x00cd\x00"
	msg := "Subject: nhi phan\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n" + part + "\r\n--b--\r\n"
	_, done := r.cmdBytes("a1", fmt.Sprintf("APPEND INBOX ~{%d+}\r\n%s", len(msg), msg))
	mustOK(t, done)
	_, done = r.cmd("a2", "SELECT INBOX")
	mustOK(t, done)
	out, done := r.cmdBytes("a3", "FETCH 1 (BODY.PEEK[1])")
	mustOK(t, done)
	if bytes.IndexByte(out, 0) >= 0 || !bytes.Contains(out, []byte("BODY[1] {6}\r\nab\x80cd\x80")) {
		t.Errorf("BODY[1] with NUL: %q", out)
	}
	out, done = r.cmdBytes("a4", "FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])")
	mustOK(t, done)
	if !bytes.Contains(out, []byte("BINARY[1] ~{6}\r\n"+part)) || !bytes.Contains(out, []byte("BINARY.SIZE[1] 6")) {
		t.Errorf("BINARY[1]: %q", out)
	}
	// Without NUL the ordinary literal is used (RFC 3516 §4.3).
	out, _ = r.cmdBytes("a5", "FETCH 1 (BINARY.PEEK[1]<0.2>)")
	if !bytes.Contains(out, []byte("{2}\r\nab")) {
		t.Errorf("BINARY[1]<0.2>: %q", out)
	}
}

// RFC 3516 §4.2 (and RFC 9051 §7.5.2): a partial BINARY answer carries
// its origin, as BODY[] does.
func TestConformanceBinaryPartialOrigin(t *testing.T) {
	e := newEnv(t)
	e.deliver(userAddr, simpleMsg("Một", "nội dung của thư", time.Now()))
	r := e.loggedIn(t)
	r.cmd("a1", "SELECT INBOX")
	out, done := r.cmdBytes("a2", "FETCH 1 (BINARY.PEEK[1]<2.3> BODY.PEEK[TEXT]<2.3>)")
	mustOK(t, done)
	if !bytes.Contains(out, []byte("BINARY[1]<2> {3}")) || !bytes.Contains(out, []byte("BODY[TEXT]<2> {3}")) {
		t.Errorf("partial answers without origin: %q", out)
	}
}

// RFC 3501 §2.3.2, §6.3.1, §6.3.2, §6.4.4, §7.3.2: \Recent belongs to
// the first session that SELECTs after the message arrived; EXAMINE and
// STATUS look without taking it; SEARCH RECENT/NEW/OLD follow it; a copy
// is \Recent in its new folder.
func TestConformanceRecent(t *testing.T) {
	e := newEnv(t)
	e.deliver(userAddr, simpleMsg("Một", "1", time.Now()))
	e.deliver(userAddr, simpleMsg("Hai", "2", time.Now()))
	a, b, x := e.loggedIn(t), e.loggedIn(t), e.loggedIn(t)
	if un, _ := x.cmd("x1", "STATUS INBOX (RECENT)"); len(un) != 1 || !strings.Contains(un[0], "RECENT 2") {
		t.Errorf("STATUS RECENT: %q", un)
	}
	if un, _ := x.cmd("x2", "EXAMINE INBOX"); !containsLine(un, "* 2 RECENT") {
		t.Errorf("EXAMINE: %q", un)
	}
	un, done := a.cmd("a1", "SELECT INBOX")
	mustOK(t, done)
	if !containsLine(un, "* 2 RECENT") {
		t.Errorf("first SELECT: %q", un)
	}
	if un, _ := b.cmd("b1", "SELECT INBOX"); !containsLine(un, "* 0 RECENT") {
		t.Errorf("second SELECT: %q", un)
	}
	if un, _ := a.cmd("a2", "FETCH 1 (FLAGS)"); len(un) != 1 || !strings.Contains(un[0], `\Recent`) {
		t.Errorf("FETCH FLAGS in the first session: %q", un)
	}
	if un, _ := b.cmd("b2", "FETCH 1 (FLAGS)"); len(un) != 1 || strings.Contains(un[0], `\Recent`) {
		t.Errorf("FETCH FLAGS in the second session: %q", un)
	}
	a.cmd("a3", `STORE 2 +FLAGS.SILENT (\Seen)`)
	for _, tc := range []struct{ cmd, want string }{
		{"SEARCH RECENT", "* SEARCH 1 2"}, {"SEARCH NEW", "* SEARCH 1"}, {"SEARCH OLD", "* SEARCH"},
	} {
		if un, _ := a.cmd("s", tc.cmd); len(un) != 1 || un[0] != tc.want {
			t.Errorf("%s: %q, want %q", tc.cmd, un, tc.want)
		}
	}
	if un, _ := b.cmd("b3", "SEARCH RECENT"); len(un) < 1 || un[0] != "* SEARCH" {
		t.Errorf("SEARCH RECENT in the second session: %q", un)
	}
	// New mail goes to the first session that hears of it.
	e.deliver(userAddr, simpleMsg("Ba", "3", time.Now()))
	if un, _ := b.cmd("b4", "NOOP"); !containsLine(un, "* 3 EXISTS") || !containsLine(un, "* 1 RECENT") {
		t.Errorf("NOOP after delivery, session B: %q", un)
	}
	if un, _ := a.cmd("a4", "NOOP"); !containsLine(un, "* 3 EXISTS") || !containsLine(un, "* 2 RECENT") {
		t.Errorf("NOOP after delivery, session A: %q", un)
	}
	// Copies are \Recent where they land.
	a.cmd("a5", "COPY 1:2 Archive")
	if un, _ := b.cmd("b5", "SELECT Archive"); !containsLine(un, "* 2 RECENT") {
		t.Errorf("SELECT of the copies: %q", un)
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// RFC 9051 §7.5.2 (ENVELOPE): group syntax is kept as a group-start
// address (NIL host, group name as mailbox) and a group-end address
// (NIL mailbox and host); a comment names an address that has no phrase.
func TestConformanceEnvelopeGroups(t *testing.T) {
	e := newEnv(t)
	e.deliver(userAddr, "From: an.nguyen@sokhcn.gov.vn (Nguyen An)\r\nTo: Ban-GD: a@x.vn, \"B\" <b@x.vn>;, c@y.vn\r\n"+
		"Cc: undisclosed-recipients:;\r\nSubject: nhom\r\n\r\nx\r\n")
	r := e.loggedIn(t)
	r.cmd("a1", "SELECT INBOX")
	un, done := r.cmd("a2", "FETCH 1 (ENVELOPE)")
	mustOK(t, done)
	want := `(("Nguyen An" NIL "an.nguyen" "sokhcn.gov.vn"))`
	to := `((NIL NIL "Ban-GD" NIL)(NIL NIL "a" "x.vn")("B" NIL "b" "x.vn")(NIL NIL NIL NIL)(NIL NIL "c" "y.vn"))`
	cc := `((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL))`
	if len(un) != 1 || !strings.Contains(un[0], want) || !strings.Contains(un[0], to) || !strings.Contains(un[0], cc) {
		t.Errorf("ENVELOPE %q\nwant From %s\nTo %s\nCc %s", un, want, to, cc)
	}
}

// RFC 9051 §6.4.4: SEARCH FROM matches the field's text, comments
// included, RFC 2047 words decoded.
func TestConformanceSearchFromComment(t *testing.T) {
	e := newEnv(t)
	e.deliver(userAddr, "From: an.nguyen@sokhcn.gov.vn (=?utf-8?q?Nguy=E1=BB=85n_V=C4=83n_An?=)\r\nSubject: a\r\n\r\nx\r\n")
	e.deliver(userAddr, "From: khac@sokhcn.gov.vn\r\nSubject: b\r\n\r\nx\r\n")
	// RFC 5322 §3.2.2: comments may sit inside the address itself.
	e.deliver(userAddr, "From: Binh (Phong TH) <binh.tran(van thu)@ubnd(tinh).gov.vn>\r\nSubject: c\r\n\r\nx\r\n")
	r := e.loggedIn(t)
	r.cmd("a1", "SELECT INBOX")
	for _, tc := range []struct{ word, want string }{
		{"Nguyễn Văn", "* SEARCH 1"},
		{"binh.tran@ubnd.gov.vn", "* SEARCH 3"},
		{"Phong TH", "* SEARCH 3"},
		{"sokhcn.gov.vn", "* SEARCH 1 2"},
	} {
		un, done := r.cmd("a2", fmt.Sprintf("SEARCH CHARSET UTF-8 FROM {%d+}\r\n%s", len(tc.word), tc.word))
		mustOK(t, done)
		if len(un) != 1 || un[0] != tc.want {
			t.Errorf("SEARCH FROM %q: %q, want %q", tc.word, un, tc.want)
		}
	}
}

// RFC 9051 §5.1, §6.3.9 and RFC 3501 §5.1.3: a mailbox name or pattern
// that is not valid modified UTF-7 is a client error with a reason; atoms
// with other specials are ordinary names.
func TestConformanceMailboxNameErrors(t *testing.T) {
	e := newEnv(t)
	r := e.loggedIn(t)
	for _, tc := range []struct{ cmd, want string }{
		{`LIST "" a!#$&'+,-b`, "BAD"},
		{`LIST "" !#$'+,-`, "OK"},
		{`LIST "" &Jjo`, "BAD"},
		{`SELECT &Jjo`, "BAD"},
		{`CREATE "&AGE-&AGE-"`, "BAD"},
		{`CREATE "a&ZeVnLIqe-b"`, "OK"},
		{`STATUS "&2D3eAQ" (MESSAGES)`, "BAD"},
	} {
		un, done := r.cmd("t", tc.cmd)
		if !strings.HasPrefix(done, "t "+tc.want) || strings.Contains(done, "SERVERBUG") || len(done) < len("t BAD x") {
			t.Errorf("%s: %q %q, want %s with a reason", tc.cmd, un, done, tc.want)
		}
	}
}

// RFC 5258 §3.1, §3.4, §3.5, RFC 3501 §6.3.9 and RFC 9051 §6.3.7–6.3.8:
// a subscription outlives its folder (\NonExistent), RECURSIVEMATCH
// returns CHILDINFO for parents of subscribed names the pattern does not
// reach, LSUB marks such a parent \Noselect, and UNSUBSCRIBE of a deleted
// folder succeeds.
func TestConformanceListExtended(t *testing.T) {
	e := newEnv(t)
	r := e.loggedIn(t)
	for _, c := range []string{"CREATE Cu/Xoa", "SUBSCRIBE Cu/Xoa", "DELETE Cu/Xoa", "CREATE Du/An", "SUBSCRIBE Du/An"} {
		if _, done := r.cmd("p", c); !strings.HasPrefix(done, "p OK") {
			t.Fatalf("%s: %q", c, done)
		}
	}
	un, _ := r.cmd("a1", `LIST (SUBSCRIBED) "" "*"`)
	if !containsLine(un, `* LIST (\NonExistent \HasNoChildren \Subscribed) "/" Cu/Xoa`) {
		t.Errorf("LIST (SUBSCRIBED) of a deleted folder: %q", un)
	}
	un, _ = r.cmd("a2", `LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"`)
	// Du exists (CREATE made it as the parent of Du/An) but is not
	// subscribed: it is returned only for its child.
	if !containsLine(un, `* LIST (\HasChildren) "/" Du ("CHILDINFO" ("SUBSCRIBED"))`) {
		t.Errorf("RECURSIVEMATCH with %%: %q", un)
	}
	un, _ = r.cmd("a3", `LIST (SUBSCRIBED RECURSIVEMATCH) "" "*"`)
	for _, l := range un {
		if strings.HasSuffix(l, `"/" Du`) || strings.Contains(l, "CHILDINFO") {
			t.Errorf("RECURSIVEMATCH with * lists %q: the child matches the pattern itself", l)
		}
	}
	un, _ = r.cmd("a4", `LSUB "" "%"`)
	if !containsLine(un, `* LSUB (\Noselect) "/" Du`) {
		t.Errorf(`LSUB "" %%: %q`, un)
	}
	if _, done := r.cmd("a5", "UNSUBSCRIBE Cu/Xoa"); !strings.HasPrefix(done, "a5 OK") {
		t.Errorf("UNSUBSCRIBE of a deleted folder: %q", done)
	}
	if un, _ := r.cmd("a6", `LIST (SUBSCRIBED) "" "Cu*"`); len(un) != 0 {
		t.Errorf("still subscribed: %q", un)
	}
}

// RFC 6851 §3.3: MOVE into the selected folder is allowed; like Dovecot
// the messages get new UIDs (COPYUID), the old ones are expunged.
func TestConformanceMoveSameMailbox(t *testing.T) {
	e := newEnv(t)
	e.deliver(userAddr, simpleMsg("Một", "1", time.Now()))
	e.deliver(userAddr, simpleMsg("Hai", "2", time.Now()))
	r := e.loggedIn(t)
	r.cmd("a1", "SELECT INBOX")
	un, done := r.cmd("a2", "MOVE 1 INBOX")
	mustOK(t, done)
	// RFC 3501: the new message is \Recent for this session.
	if len(un) != 4 || !strings.HasPrefix(un[0], "* OK [COPYUID ") || !strings.HasSuffix(strings.Fields(un[0])[5], "]") ||
		un[1] != "* 1 EXPUNGE" || un[2] != "* 2 EXISTS" || un[3] != "* 2 RECENT" {
		t.Errorf("MOVE into the same folder: %q", un)
	}
	if un, _ := r.cmd("a3", "UID SEARCH ALL"); len(un) != 1 || un[0] != "* SEARCH 2 3" {
		t.Errorf("UIDs after MOVE: %q", un)
	}
}

// RFC 9051 §7.3.5 (FLAGS), §7.5.2: a keyword another session starts
// using is announced with FLAGS before it appears in a FETCH.
func TestConformanceNewKeywordAnnounced(t *testing.T) {
	e := newEnv(t)
	e.deliver(userAddr, simpleMsg("Một", "1", time.Now()))
	a, b := e.loggedIn(t), e.loggedIn(t)
	a.cmd("a1", "SELECT INBOX")
	b.cmd("b1", "SELECT INBOX")
	a.cmd("a2", "STORE 1 +FLAGS.SILENT ($DaXuLy)")
	un, _ := b.cmd("b2", "NOOP")
	flagsAt, fetchAt := -1, -1
	for i, l := range un {
		if strings.HasPrefix(l, "* FLAGS ") && strings.Contains(l, "$DaXuLy") {
			flagsAt = i
		}
		if strings.Contains(l, " FETCH ") && strings.Contains(l, "$DaXuLy") {
			fetchAt = i
		}
	}
	if flagsAt < 0 || fetchAt < 0 || flagsAt > fetchAt {
		t.Errorf("want FLAGS with the keyword before the FETCH: %q", un)
	}
	// The session that set it is told too.
	if un, _ := a.cmd("a3", "STORE 1 +FLAGS ($Moi)"); len(un) < 2 || !strings.HasPrefix(un[0], "* FLAGS ") {
		t.Errorf("own STORE of a new keyword: %q", un)
	}
}

// RFC 2971 §3.1: ID is offered and answered, before login too.
func TestConformanceID(t *testing.T) {
	e := newEnv(t)
	r := e.raw(true)
	un, done := r.cmd("a1", `ID ("name" "imaptest" "version" NIL)`)
	mustOK(t, done)
	if len(un) != 1 || !strings.HasPrefix(un[0], `* ID ("name" "congvu"`) {
		t.Errorf("ID: %q", un)
	}
	if un, _ := r.cmd("a2", "CAPABILITY"); len(un) != 1 || !strings.Contains(un[0], " ID") {
		t.Errorf("ID not offered: %q", un)
	}
	if _, done := r.cmd("a3", "ID NIL"); !strings.HasPrefix(done, "a3 OK") {
		t.Errorf("ID NIL: %q", done)
	}
}

// Names that clients map to paths are refused with a reason.
func TestConformanceDotNames(t *testing.T) {
	e := newEnv(t)
	r := e.loggedIn(t)
	for _, name := range []string{"..", ".", "../x", "a/../b", "INBOX/.."} {
		if _, done := r.cmd("t", "CREATE "+strconv.Quote(name)); !strings.HasPrefix(done, "t NO [CANNOT]") ||
			!strings.Contains(done, `"." and ".."`) {
			t.Errorf("CREATE %q: %q", name, done)
		}
	}
	if _, done := r.cmd("t", `RENAME Archive ".."`); !strings.HasPrefix(done, "t NO") {
		t.Errorf("RENAME to ..: %q", done)
	}
}

// RFC 3502 §6.3.11: MULTIAPPEND appends every message or none, and
// APPENDUID lists their UIDs (RFC 4315 §3).
func TestConformanceMultiappend(t *testing.T) {
	e := newEnv(t)
	r := e.loggedIn(t)
	m1, m2 := "Subject: a\r\n\r\na\r\n", "Subject: b\r\n\r\nbb\r\n"
	_, done := r.cmdBytes("a1", fmt.Sprintf("APPEND Archive (\\Seen) {%d+}\r\n%s {%d+}\r\n%s", len(m1), m1, len(m2), m2))
	if !strings.HasPrefix(done, "a1 OK [APPENDUID ") || !strings.HasSuffix(strings.Fields(done)[4], "1:2]") {
		t.Fatalf("MULTIAPPEND: %q", done)
	}
	// The second message is too large: neither is stored, and the rest
	// of the command is skipped.
	big := strings.Repeat("x", 2<<20)
	_, done = r.cmdBytes("a2", fmt.Sprintf("APPEND Archive {%d+}\r\n%s {%d+}\r\n%s", len(m1), m1, len(big), big))
	if !strings.HasPrefix(done, "a2 NO [TOOBIG]") {
		t.Fatalf("MULTIAPPEND with a message too large: %q", done)
	}
	if un, _ := r.cmd("a3", "STATUS Archive (MESSAGES)"); len(un) != 1 || !strings.Contains(un[0], "MESSAGES 2") {
		t.Errorf("after the refused MULTIAPPEND: %q", un)
	}
	// Synchronizing literals: one continuation per message.
	r.send(fmt.Sprintf("a4 APPEND INBOX {%d}", len(m1)))
	if l := r.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("continuation: %q", l)
	}
	r.conn.Write([]byte(m1 + fmt.Sprintf(" {%d}\r\n", len(m2))))
	if l := r.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("second continuation: %q", l)
	}
	r.conn.Write([]byte(m2 + "\r\n"))
	if l := r.line(); !strings.HasPrefix(l, "a4 OK [APPENDUID ") {
		t.Fatalf("synchronizing MULTIAPPEND: %q", l)
	}
}

// RFC 6154 §3 CREATE-SPECIAL-USE.
func TestConformanceCreateSpecialUse(t *testing.T) {
	e := newEnv(t)
	r := e.loggedIn(t)
	mustOK(t, func() string { _, d := r.cmd("a1", `CREATE "Lưu trữ 2024" (USE (\Archive))`); return d }())
	un, _ := r.cmd("a2", `LIST "" "Lưu trữ 2024"`)
	if len(un) != 1 || !strings.Contains(un[0], `\Archive`) {
		t.Errorf("LIST of the new folder: %q", un)
	}
	for _, c := range []string{`CREATE x (USE (\All))`, `CREATE y (USE (\Sent \Trash))`} {
		if _, done := r.cmd("t", c); !strings.HasPrefix(done, "t NO [USEATTR]") {
			t.Errorf("%s: %q", c, done)
		}
	}
}
