package interop

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// smtpLoad sends messages from several MX sessions until stop is closed,
// recording every message answered 250.
type smtpLoad struct {
	mu    sync.Mutex
	acked map[string]bool
	stop  chan struct{}
	wg    sync.WaitGroup
}

func startSMTPLoad(s *system, prefix string, sessions int, rcpts []account) *smtpLoad {
	l := &smtpLoad{acked: map[string]bool{}, stop: make(chan struct{})}
	for g := range sessions {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			c, err := smtp.DialStartTLS(s.addrs["smtp"], s.tlsConfig())
			if err != nil {
				return
			}
			defer c.Close()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				id := fmt.Sprintf("%s-%d-%d", prefix, g, i)
				to := rcpts[i%len(rcpts)].Address
				m := simpleMessage("bot@test.gov.vn", to, id, strings.Repeat(strings.Repeat("y", 76)+"\r\n", 5+rand.IntN(100)))
				if c.Mail("bot@test.gov.vn", nil) != nil || c.Rcpt(to, nil) != nil {
					return
				}
				w, err := c.Data()
				if err != nil {
					return
				}
				w.Write(m)
				if w.Close() != nil {
					return
				}
				l.mu.Lock()
				l.acked[id] = true
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// snapshot returns the messages acknowledged so far.
func (l *smtpLoad) snapshot() map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]bool, len(l.acked))
	for k := range l.acked {
		out[k] = true
	}
	return out
}

func (l *smtpLoad) finish() {
	close(l.stop)
	l.wg.Wait()
}

// flagSome sets \Flagged on every third message and \Seen on every other
// one of a's INBOX over IMAP.
func (s *system) flagSome(t *testing.T, a account) {
	t.Helper()
	c, err := imapclient.DialTLS(s.addrs["imaps"], &imapclient.Options{TLSConfig: s.tlsConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(a.Address, a.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	found, err := c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	var flagged, seen imap.UIDSet
	for _, uid := range found.AllUIDs() {
		if uid%3 == 0 {
			flagged.AddNum(uid)
		}
		if uid%2 == 0 {
			seen.AddNum(uid)
		}
	}
	for _, st := range []struct {
		set  imap.UIDSet
		flag imap.Flag
	}{{flagged, imap.FlagFlagged}, {seen, imap.FlagSeen}} {
		if len(st.set) == 0 {
			continue
		}
		if err := c.Store(st.set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{st.flag}}, nil).Close(); err != nil {
			t.Fatal(err)
		}
	}
}

type uidFlags struct {
	uid   int
	flags string
}

// bySubject lists a's INBOX as subject → UID and flags.
func (s *system) bySubject(a account, re *regexp.Regexp) map[string]uidFlags {
	out := map[string]uidFlags{}
	for _, m := range s.fetchAll(a, "INBOX") {
		sm := re.FindSubmatch(m.Raw)
		if sm == nil {
			continue
		}
		var flags []string
		for _, f := range m.Flags {
			if f != `\Recent` {
				flags = append(flags, f)
			}
		}
		slices.Sort(flags)
		out[string(sm[1])] = uidFlags{m.UID, strings.Join(flags, " ")}
	}
	return out
}

// TestBackupUnderLoadRestores takes `congvu backup` while SMTP sessions
// keep delivering, destroys the whole data directory (configuration
// included), runs `congvu restore` and serves again: every message
// answered 250 before the backup began is there with the UID and flags it
// had, and the restore's storage check is clean. A second, incremental
// backup copies only what is new.
func TestBackupUnderLoadRestores(t *testing.T) {
	dir := t.TempDir()
	s := startSystem(t, dir)
	rcpts := []account{s.user(0), s.user(1)}
	load := startSMTPLoad(s, "bk", 4, rcpts)
	time.Sleep(time.Second)
	for _, a := range rcpts {
		s.flagSome(t, a)
	}
	before := load.snapshot()
	backups := filepath.Join(t.TempDir(), "backups")
	out, err := s.congvu("backup", "--to", backups)
	if err != nil {
		load.finish()
		t.Fatalf("congvu backup: %v\n%s", err, out)
	}
	t.Logf("backup under load:\n%s", out)
	time.Sleep(300 * time.Millisecond)
	load.finish()
	if len(before) < 20 {
		t.Fatalf("only %d messages acknowledged before the backup: the load proves nothing", len(before))
	}
	if n := len(load.snapshot()) - len(before); n == 0 {
		t.Fatal("no message was acknowledged while the backup ran: it was not taken under load")
	}

	// The state clients saw: messages acknowledged before the backup do
	// not change afterwards (nobody touches them).
	subject := regexp.MustCompile(`(?m)^Subject: (bk-\d+-\d+)\r$`)
	live := map[string]uidFlags{}
	flagged := 0
	for _, a := range rcpts {
		for k, v := range s.bySubject(a, subject) {
			live[a.Address+" "+k] = v
			if strings.Contains(v.flags, `\Flagged`) {
				flagged++
			}
		}
	}
	if flagged == 0 {
		t.Fatal("no message was flagged before the backup")
	}
	// An incremental backup right after links every unchanged message.
	incOut, err := s.congvu("backup", "--to", backups, "--incremental")
	if err != nil {
		t.Fatalf("incremental backup: %v\n%s", err, incOut)
	}
	if !strings.Contains(incOut, "incremental from") {
		t.Errorf("second backup was not incremental:\n%s", incOut)
	}
	s.stop()

	// Disaster: the data directory (and the configuration in it) is gone.
	demo := filepath.Join(dir, "demo")
	if err := os.RemoveAll(demo); err != nil {
		t.Fatal(err)
	}
	first, _ := filepath.Glob(filepath.Join(backups, "2*"))
	if len(first) != 2 {
		t.Fatalf("backups: %v, want 2", first)
	}
	slices.Sort(first)
	out, err = run(t, nil, binaryPath, "restore", "--config", filepath.Join(demo, "congvu.toml"), "--from", first[0])
	if err != nil {
		t.Fatalf("congvu restore: %v\n%s", err, out)
	}
	s2 := startServe(t, dir)
	restored := map[string]uidFlags{}
	for _, a := range rcpts {
		for k, v := range s2.bySubject(a, subject) {
			restored[a.Address+" "+k] = v
		}
	}
	missing := 0
	for _, a := range rcpts {
		for id := range before {
			key := a.Address + " " + id
			want, wasThere := live[key]
			if !wasThere {
				continue // sent to the other recipient
			}
			got, ok := restored[key]
			switch {
			case !ok:
				missing++
				t.Errorf("%s acknowledged before the backup, missing after restore", id)
			case got != want:
				t.Errorf("%s: restored UID %d flags %q, before the backup UID %d flags %q", id, got.uid, got.flags, want.uid, want.flags)
			}
		}
	}
	found := 0
	for id := range before {
		if _, ok := live[rcpts[0].Address+" "+id]; ok {
			found++
		} else if _, ok := live[rcpts[1].Address+" "+id]; ok {
			found++
		}
	}
	if found != len(before) {
		t.Errorf("%d of %d acknowledged messages were not in the live mailboxes either", len(before)-found, len(before))
	}
	t.Logf("%d messages acknowledged before the backup, %d restored with UID and flags, %d missing",
		len(before), len(before)-missing, missing)
}
