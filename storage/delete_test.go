package storage

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDeleteUser(t *testing.T) {
	s, dir := newStore(t)
	ctx := context.Background()
	const gone, kept = "retired.skhcn@khanhhoa.gov.vn", "thanhnn.skhcn@khanhhoa.gov.vn"
	res, err := s.Deliver(ctx, strings.NewReader(testMsg("a", "Nội dung")), []Recipient{{User: gone}, {User: kept}})
	if err != nil || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("Deliver: %v %+v", err, res)
	}
	if err := s.DeleteUser(ctx, "Retired.SKHCN@khanhhoa.gov.vn"); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, usersDir, "khanhhoa.gov.vn", "retired.skhcn")); !os.IsNotExist(err) {
		t.Errorf("user directory still there: %v", err)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, trashRoot)); len(left) != 0 {
		t.Errorf("trash not emptied: %v", left)
	}
	// The other user is untouched, and the deleted one starts empty.
	if st, err := mailboxOf(t, s, kept).Status(ctx, Inbox); err != nil || st.Messages != 1 {
		t.Errorf("kept user INBOX: %+v, %v", st, err)
	}
	if st, err := mailboxOf(t, s, gone).Status(ctx, Inbox); err != nil || st.Messages != 0 {
		t.Errorf("deleted user reopened with %+v, %v; want an empty INBOX", st, err)
	}
	if err := s.DeleteUser(ctx, "nobody@khanhhoa.gov.vn"); err != nil {
		t.Errorf("DeleteUser(no mailbox) = %v, want nil", err)
	}
	if err := s.DeleteUser(ctx, "../etc@khanhhoa.gov.vn"); err == nil {
		t.Error("DeleteUser accepted a path-escaping name")
	}
}

// A deletion interrupted after the rename (the commit point) is finished
// by the next Open.
func TestDeleteUserInterruptedIsFinishedAtOpen(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	half := filepath.Join(dir, trashRoot, "0123abcd")
	if err := os.MkdirAll(filepath.Join(half, "1"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(half, "1", "1"), []byte("x"), 0o600)
	s.Close()
	openStore(t, dir)
	if _, err := os.Stat(half); !os.IsNotExist(err) {
		t.Errorf("interrupted deletion left %s: %v", half, err)
	}
}
