package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"congvu/directory"
	"congvu/directory/sqldir"
	"congvu/internal/config"
	"congvu/storage"
)

func TestMaildirFlags(t *testing.T) {
	kw := map[byte]string{'a': "$Label1", 'b': "NonJunk"}
	for name, want := range map[string][]string{
		"1733.M1P1Q1.host,S=100:2,FRS": {`\Flagged`, `\Answered`, `\Seen`},
		"1733.M1P1Q1.host:2,DTa":       {`\Draft`, `\Deleted`, "$Label1"},
		"1733.M1P1Q1.host:2,Pz":        {"$Forwarded"}, // z: no such keyword
		"1733.M1P1Q1.host":             nil,            // in new/: no info
	} {
		if got := maildirFlags(name, kw); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

// TestImportMaildir imports a Maildir into an account: messages arrive in
// delivery order with their flags and delivery times, and running the
// import again adds nothing.
func TestImportMaildir(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Server.DataDir = dir
	cfg.Server.LocalDomains = []string{"khanhhoa.gov.vn"}
	cfgPath := filepath.Join(dir, "congvu.toml")
	if err := config.Write(cfgPath, cfg); err != nil {
		t.Fatal(err)
	}
	db, err := sqldir.Open(filepath.Join(dir, cfg.Directory.SQLitePath), sqldir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const user = "thanhnn.skhcn@khanhhoa.gov.vn"
	err = db.PutAccount(context.Background(), directory.Account{Address: user, DisplayName: "Nguyễn Ngọc Thành",
		UnitCode: "56.skhcn", Role: directory.RoleOfficial, State: directory.StateActive}, "")
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	md := filepath.Join(dir, "Maildir")
	for _, sub := range []string{"cur", "new", "tmp"} {
		os.MkdirAll(filepath.Join(md, sub), 0o700)
	}
	base := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	files := []struct {
		name    string
		subject string
		age     time.Duration
	}{
		{"cur/1740816000.M2P9.host,S=60:2,S", "second", time.Hour},
		{"cur/1740812400.M1P9.host,S=60:2,FS", "first", 0},
		{"new/1740819600.M3P9.host", "third", 2 * time.Hour},
	}
	for _, f := range files {
		p := filepath.Join(md, f.name)
		os.WriteFile(p, []byte("Subject: "+f.subject+"\r\n\r\nbody "+f.subject+"\r\n"), 0o600)
		os.Chtimes(p, base.Add(f.age), base.Add(f.age))
	}
	os.WriteFile(filepath.Join(md, "tmp", "partial"), []byte("Subject: half"), 0o600)

	var out, errb bytes.Buffer
	args := []string{"storage", "import-maildir", "--config", cfgPath, "--user", strings.ToUpper(user), md}
	if err := run(args, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "imported: 3") {
		t.Errorf("output: %s", out.String())
	}
	out.Reset()
	if err := run(args, &out, &errb); err != nil || !strings.Contains(out.String(), "imported: 0, đã có / already there: 3") {
		t.Errorf("second run: %v %s", err, out.String())
	}

	st, err := storage.Open(filepath.Join(dir, cfg.Storage.Path), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	mb, err := st.Mailbox(ctx, user, 0)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := mb.Messages(ctx, storage.Inbox)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("INBOX: %d messages, %v", len(msgs), err)
	}
	for i, want := range []struct {
		subject string
		flags   []string
		date    time.Time
	}{
		{"first", []string{`\Flagged`, `\Seen`}, base},
		{"second", []string{`\Seen`}, base.Add(time.Hour)},
		{"third", nil, base.Add(2 * time.Hour)},
	} {
		m := msgs[i]
		r, err := mb.Open(ctx, storage.Inbox, m.UID)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(r)
		r.Close()
		if !bytes.Contains(raw, []byte("Subject: "+want.subject)) {
			t.Errorf("UID %d: %q, want subject %s", m.UID, raw, want.subject)
		}
		if !slices.Equal(m.Flags, want.flags) && !(len(m.Flags) == 0 && len(want.flags) == 0) {
			t.Errorf("UID %d flags %q, want %q", m.UID, m.Flags, want.flags)
		}
		if !m.InternalDate.Equal(want.date) {
			t.Errorf("UID %d internal date %v, want %v", m.UID, m.InternalDate, want.date)
		}
	}
}

func TestImportMaildirUnknownUser(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Server.DataDir = dir
	cfg.Server.LocalDomains = []string{"khanhhoa.gov.vn"}
	cfgPath := filepath.Join(dir, "congvu.toml")
	config.Write(cfgPath, cfg)
	md := filepath.Join(dir, "Maildir")
	os.MkdirAll(filepath.Join(md, "cur"), 0o700)
	var out, errb bytes.Buffer
	err := run([]string{"storage", "import-maildir", "--config", cfgPath, "--user", "nobody@khanhhoa.gov.vn", md}, &out, &errb)
	if err == nil {
		t.Fatal("import into an unknown account succeeded")
	}
	if _, statErr := os.Stat(filepath.Join(dir, cfg.Storage.Path, "users", "khanhhoa.gov.vn", "nobody")); statErr == nil {
		t.Error("a mailbox was created for an unknown account")
	}
}
