package pop3d

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"congvu/storage"
)

// TestPythonPoplib runs testdata/poplib_client.py, a client built on Python's
// standard poplib, against the server: a second, independent implementation
// of RFC 1939, RFC 2449 and RFC 2595 reading our wire format.
func TestPythonPoplib(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	e := newEnv(t)
	msgs := []string{msg1, msg2, msg3,
		"From: =?UTF-8?B?Tmd1eeG7hW4=?= <a@b.vn>\r\nSubject: Công văn\r\n\r\nKính gửi các đơn vị.\r\n.\r\n"}
	var uids []uint32
	for _, m := range msgs {
		uids = append(uids, e.deliver(userAddr, m))
	}
	mb, err := e.store.Mailbox(context.Background(), userAddr, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, err := mb.Status(context.Background(), storage.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	var uidls []string
	for _, u := range uids {
		uidls = append(uidls, fmt.Sprintf("%08x%08x", st.UIDValidity, u))
	}
	fixture, err := json.Marshal(map[string]any{"user": userAddr, "password": userPass,
		"messages": msgs, "uidls": uidls})
	if err != nil {
		t.Fatal(err)
	}
	fixtureFile := filepath.Join(t.TempDir(), "fixture.json")
	if err := os.WriteFile(fixtureFile, fixture, 0o600); err != nil {
		t.Fatal(err)
	}
	host, plainPort, _ := net.SplitHostPort(e.plainAddr)
	_, tlsPort, _ := net.SplitHostPort(e.tlsAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, filepath.Join("testdata", "poplib_client.py"),
		host, plainPort, tlsPort, e.caFile, fixtureFile).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("poplib client: %v\n%s", err, out)
	}
}
