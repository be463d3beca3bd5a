package interop

import (
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The văn thư mailbox in the webmail of the real binary: a document
// arrives for the Sở over SMTP; its leader (Giám đốc, rights lrs) sees the
// unit's mailbox as its own group, reads the document and is refused when
// deleting it; the unit's clerk deletes it (to the unit's Trash).
func TestSharedMailboxWebmail(t *testing.T) {
	s := startSystem(t, "")
	requireTool(t, "python3")
	out, err := run(t, nil, "python3", "-c", `import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
code, addr = db.execute("SELECT code, address FROM units WHERE abbr = 'skhcn'").fetchone()
rows = db.execute("SELECT address, role, title FROM accounts WHERE unit_code = ? ORDER BY address", (code,)).fetchall()
print(addr, next(a for a, r, t in rows if r == "clerk"), next(a for a, r, t in rows if t == "Giám đốc"))`,
		filepath.Join(s.dir, "demo", "directory.db"))
	f := strings.Fields(out)
	if err != nil || len(f) != 3 {
		t.Fatalf("reading the quickstart's directory: %v\n%s", err, out)
	}
	unitAddr, clerkAddr, leaderAddr := f[0], f[1], f[2]
	box := "Shared/" + strings.Split(unitAddr, "@")[0]
	subject := "Cong van den so 77"
	if err := s.sendMX("vanthu@bocongan.gov.vn", []string{unitAddr}, simpleMessage("vanthu@bocongan.gov.vn", unitAddr, subject, "Noi dung.")); err != nil {
		t.Fatalf("delivery to %s: %v", unitAddr, err)
	}
	byAddr := func(a string) account {
		for _, x := range s.accounts {
			if x.Address == a {
				return x
			}
		}
		t.Fatalf("%s not in the demo accounts", a)
		return account{}
	}
	list := "/mail?" + url.Values{"folder": {box}}.Encode()
	uidOf := func(u *webUser) string {
		t.Helper()
		var p webPage
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
			if p = u.get(list); p.Status == 200 && strings.Contains(p.Body, subject) {
				m := regexp.MustCompile(`data-uid="(\d+)"`).FindStringSubmatch(p.Body)
				if m != nil {
					return m[1]
				}
			}
		}
		t.Fatalf("%s never shows the document: %d\n%.2000s", list, p.Status, p.Body)
		return ""
	}

	leader := s.signInFirst(byAddr(leaderAddr))
	if p := leader.get("/mail"); p.Status != 200 || !strings.Contains(p.Body, "Hộp thư đơn vị:") {
		t.Fatalf("the leader's folder list has no unit mailbox: %d\n%.2000s", p.Status, p.Body)
	}
	uid := uidOf(leader)
	msg := "/mail/msg?" + url.Values{"folder": {box}, "uid": {uid}}.Encode()
	if p := leader.get(msg); p.Status != 200 || !strings.Contains(p.Body, "Noi dung.") {
		t.Fatalf("the leader cannot read the document: %d\n%.2000s", p.Status, p.Body)
	}
	del := url.Values{"folder": {box}, "uid": {uid}, "action": {"delete"}}
	if p := leader.submit(list, "/mail/action", del); p.Status != 403 || !strings.Contains(p.Body, "Bạn không có quyền") {
		t.Fatalf("a leader's delete: %d\n%.2000s", p.Status, p.Body)
	}

	clerk := s.signInFirst(byAddr(clerkAddr))
	if p := clerk.get(list); !strings.Contains(p.Body, "msg unread") {
		t.Error("the leader's reading marked the document read for the clerk too")
	}
	del = url.Values{"folder": {box}, "uid": {uid}, "action": {"delete"}}
	if p := clerk.submit(list, "/mail/action", del); p.Status != 200 || !strings.Contains(p.Body, "Đã chuyển 1 thư vào Thùng rác") {
		t.Fatalf("the clerk's delete: %d\n%.2000s", p.Status, p.Body)
	}
	trash := "/mail?" + url.Values{"folder": {box + "/Trash"}}.Encode()
	if p := leader.get(trash); p.Status != 200 || !strings.Contains(p.Body, subject) {
		t.Errorf("the unit's Trash, seen by the leader: %d\n%.2000s", p.Status, p.Body)
	}
}
