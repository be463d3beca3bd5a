package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"congvu/internal/config"
)

// TestOutboundKill9DuringDelivery submits a stream of messages for the
// other province, kills congvu with SIGKILL while the queue is delivering
// them to Postfix, restarts it on the same data and checks that every
// message answered 250 reaches Postfix, and that the only duplicates are
// the ones SMTP itself cannot avoid: messages Postfix had accepted when
// congvu died before recording it (at most one per connection in flight).
func TestOutboundKill9DuringDelivery(t *testing.T) {
	const perDomain = 2
	p := startProvince(t, func(c *config.Config) { c.Outbound.MaxPerDomain = perDomain })
	s := p.congvu
	sender := s.user(0)

	var mu sync.Mutex
	acked := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtp.DialStartTLS(s.addrs["submission"], s.tlsConfig())
			if err != nil {
				return
			}
			defer c.Close()
			if c.Auth(sasl.NewPlainClient("", sender.Address, sender.Password)) != nil {
				return
			}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("outcrash-%d-%d", g, i)
				if c.Mail(sender.Address, nil) != nil || c.Rcpt(otherUser, nil) != nil {
					return
				}
				w, err := c.Data()
				if err != nil {
					return
				}
				w.Write(simpleMessage(sender.Address, otherUser, id, "Noi dung"))
				if w.Close() != nil {
					return // no 250: may or may not be delivered
				}
				mu.Lock()
				acked[id] = true
				mu.Unlock()
			}
		}()
	}
	// Kill once Postfix is receiving: deliveries are in progress.
	p.waitPostfixMail(otherUser, 8, 30*time.Second)
	s.kill9()
	close(stop)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no message acknowledged before the kill")
	}
	atKill := len(p.postfixMail(otherUser))
	t.Logf("%d messages acknowledged, %d at Postfix when congvu was killed", len(acked), atKill)
	if atKill >= len(acked) {
		t.Logf("the queue had drained before the kill; the restart then proves less")
	}

	p.serve()
	waitQueueEmpty(t, p)
	subject := regexp.MustCompile(`(?m)^Subject: (outcrash-\d+-\d+)\r?$`)
	count := map[string]int{}
	for _, m := range p.postfixMail(otherUser) {
		if sm := subject.FindStringSubmatch(m); sm != nil {
			count[sm[1]]++
		}
	}
	dups := 0
	for id, n := range count {
		dups += n - 1
		if n > 2 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
	for id := range acked {
		if count[id] == 0 {
			t.Errorf("acknowledged message %s lost", id)
		}
	}
	if dups > perDomain {
		t.Errorf("%d duplicates, more than the %d deliveries that can be in flight", dups, perDomain)
	}
	t.Logf("after restart: %d distinct messages at Postfix, %d duplicate(s)", len(count), dups)
	left, _ := os.ReadDir(filepath.Join(p.dir, "demo", "queue", "msg"))
	if len(left) != 0 {
		t.Errorf("%d files left in the queue after it drained", len(left))
	}
}
