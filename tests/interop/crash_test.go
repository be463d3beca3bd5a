package interop

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// TestKill9KeepsEveryAcknowledgedMessage delivers continuously from several
// sessions, kills the server with SIGKILL at a random moment, restarts it on
// the same data, and checks that every message answered 250 is present
// exactly once and that `storage check` finds the files and index in step.
func TestKill9KeepsEveryAcknowledgedMessage(t *testing.T) {
	dir := t.TempDir()
	s := startSystem(t, dir)
	rcpts := []account{s.user(0), s.user(1)}

	var mu sync.Mutex
	acked := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtp.DialStartTLS(s.addrs["smtp"], s.tlsConfig())
			if err != nil {
				return
			}
			defer c.Close()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("crash-%d-%d", g, i)
				to := rcpts[i%2].Address
				msg := simpleMessage("bot@test.gov.vn", to, id, strings.Repeat(strings.Repeat("x", 76)+"\r\n", 10+rand.IntN(260)))
				if c.Mail("bot@test.gov.vn", nil) != nil || c.Rcpt(to, nil) != nil {
					return
				}
				w, err := c.Data()
				if err != nil {
					return
				}
				w.Write(msg)
				if err := w.Close(); err != nil {
					return // no 250: the message may or may not be there
				}
				mu.Lock()
				acked[id] = true
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Duration(800+rand.IntN(1500)) * time.Millisecond)
	s.kill9()
	close(stop)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no message was acknowledged before the kill; the test proves nothing")
	}
	t.Logf("%d messages acknowledged before kill -9", len(acked))

	s2 := startSystem(t, dir)
	subject := regexp.MustCompile(`(?m)^Subject: (crash-\d+-\d+)\r$`)
	count := map[string]int{}
	for _, a := range rcpts {
		for _, m := range s2.fetchAll(a, "INBOX") {
			if sm := subject.FindSubmatch(m.Raw); sm != nil {
				count[string(sm[1])]++
			}
		}
	}
	for id := range acked {
		if count[id] != 1 {
			t.Errorf("acknowledged message %s present %d times after restart, want exactly 1", id, count[id])
		}
	}
	for id, n := range count {
		if n > 1 {
			t.Errorf("message %s present %d times", id, n)
		}
	}
	s2.stop()
	out, err := run(t, nil, binaryPath, "storage", "check", "--config", filepath.Join(dir, "demo", "congvu.toml"))
	if err != nil {
		t.Errorf("storage check after crash: %v\n%s", err, out)
	}
}
