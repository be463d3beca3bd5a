package imapd

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// RFC 9208 §4.1.1–4.1.2, §5.1, §7: the quota root of any folder is "",
// STORAGE is in KiB and MESSAGE counts messages; APPEND and COPY past the
// limit are NO [OVERQUOTA], and the session goes on.
func TestQuotaReported(t *testing.T) {
	e := newEnv(t)
	r := e.raw(true)
	if _, done := r.cmd("a", `LOGIN "`+smallAddr+`" "`+userPass+`"`); !strings.HasPrefix(done, "a OK") {
		t.Fatal(done)
	}
	msg := simpleMsg("Nhỏ", strings.Repeat("x", 3000), time.Now())
	_, done := r.cmdBytes("b", fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(msg), msg))
	mustOK(t, done)
	un, done := r.cmd("c", "GETQUOTAROOT Archive")
	mustOK(t, done)
	want := fmt.Sprintf(`* QUOTA "" (STORAGE %d %d MESSAGE 1 1000000)`, (len(msg)+1023)/1024, smallQuota/1024)
	if len(un) != 2 || un[0] != `* QUOTAROOT Archive ""` || un[1] != want {
		t.Errorf("GETQUOTAROOT: %q, want %q", un, want)
	}
	if un, _ := r.cmd("d", `GETQUOTA ""`); len(un) != 1 || un[0] != want {
		t.Errorf("GETQUOTA: %q", un)
	}
	r.cmd("e", "SELECT INBOX")
	// Two more copies do not fit in 8 KiB.
	r.cmd("f", "COPY 1 INBOX")
	if _, done := r.cmd("g", "COPY 1:2 INBOX"); !strings.HasPrefix(done, "g NO [OVERQUOTA]") {
		t.Errorf("COPY over quota: %q", done)
	}
	_, done = r.cmdBytes("h", fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(msg), msg))
	if !strings.HasPrefix(done, "h NO [OVERQUOTA]") {
		t.Errorf("APPEND over quota: %q", done)
	}
	if _, done := r.cmd("i", "NOOP"); !strings.HasPrefix(done, "i OK") {
		t.Errorf("session after over-quota APPEND: %q", done)
	}
	if un, _ := r.cmd("j", "CAPABILITY"); !strings.Contains(un[0], " QUOTA ") || !strings.Contains(un[0], "QUOTA=RES-MESSAGE") {
		t.Errorf("capabilities: %q", un)
	}
}
