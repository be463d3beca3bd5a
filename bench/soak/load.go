package soak

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"congvu/internal/config"
	"congvu/storage"
)

// load drives the clients against whichever server is current.
type load struct {
	cfg Config
	srv *atomic.Pointer[server]
	res *Result

	mu    sync.Mutex
	acked map[string]string // message id → recipient, answered 250
	seq   atomic.Int64
}

func (l *load) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

func (l *load) fail() { atomic.AddInt64(&l.res.ClientErrors, 1) }

// pause waits d or until ctx ends; it reports whether to go on.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// startClients starts the SMTP senders (recipients: the first 20
// officials), IMAP readers and POP3 readers on other officials, and web
// clients.
func (l *load) startClients(ctx context.Context, wg *sync.WaitGroup, accts []account) {
	rcpts := accts[:20]
	const senders = 4
	interval := time.Duration(float64(time.Second) * senders / max(l.cfg.Rate, 0.1))
	for g := range senders {
		wg.Add(1)
		go func() { defer wg.Done(); l.smtpSender(ctx, g, rcpts, interval) }()
	}
	for i := range l.cfg.IMAP {
		a := rcpts[i%len(rcpts)]
		wg.Add(1)
		go func() { defer wg.Done(); l.imapReader(ctx, a) }()
	}
	for i := range l.cfg.POP3 {
		a := accts[20+i%(len(accts)-20)]
		wg.Add(1)
		go func() { defer wg.Done(); l.pop3Reader(ctx, a) }()
	}
	for range l.cfg.Web {
		wg.Add(1)
		go func() { defer wg.Done(); l.webClient(ctx) }()
	}
}

// smtpSender delivers on the MX listener at a steady rate, one session
// reused while it lasts; every 250 is recorded.
func (l *load) smtpSender(ctx context.Context, g int, rcpts []account, interval time.Duration) {
	var c *smtp.Client
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if c == nil {
			s := l.srv.Load()
			var err error
			if c, err = smtp.DialStartTLS(s.addrs["smtp"], s.tlsCfg); err != nil {
				c = nil
				l.fail()
				continue
			}
		}
		n := l.seq.Add(1)
		id := fmt.Sprintf("soak-%d-%d", g, n)
		to := rcpts[rand.IntN(len(rcpts))].Address
		body := strings.Repeat(strings.Repeat("Báo cáo giao ban tuần. ", 3)+"\r\n", 5+rand.IntN(150))
		msg := "From: <bot@bocongan.gov.vn>\r\nTo: <" + to + ">\r\nSubject: " + id + "\r\nMessage-ID: <" + id +
			"@bocongan.gov.vn>\r\nDate: " + time.Now().Format(time.RFC1123Z) +
			"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body
		if err := send(c, to, msg); err != nil {
			c.Close()
			c = nil
			l.fail()
			continue
		}
		l.mu.Lock()
		l.acked[id] = to
		l.mu.Unlock()
	}
}

func send(c *smtp.Client, to, msg string) error {
	if err := c.Mail("bot@bocongan.gov.vn", nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, msg); err != nil {
		w.Close()
		return err
	}
	return w.Close() // nil only on 250: the message is durable
}

// imapReader signs in, selects INBOX, fetches the newest envelopes, marks
// one message seen, idles a moment, and starts over after an error.
func (l *load) imapReader(ctx context.Context, a account) {
	for ctx.Err() == nil {
		s := l.srv.Load()
		c, err := imapclient.DialTLS(s.addrs["imaps"], &imapclient.Options{TLSConfig: s.tlsCfg})
		if err != nil {
			l.fail()
			pause(ctx, time.Second)
			continue
		}
		err = c.Login(a.Address, a.Password).Wait()
		for err == nil && ctx.Err() == nil {
			var sel *imap.SelectData
			if sel, err = c.Select("INBOX", nil).Wait(); err != nil || sel.NumMessages == 0 {
				break
			}
			from := max(1, int(sel.NumMessages)-9)
			var set imap.SeqSet
			set.AddRange(uint32(from), sel.NumMessages)
			if _, err = c.Fetch(set, &imap.FetchOptions{Envelope: true, Flags: true, UID: true}).Collect(); err != nil {
				break
			}
			one := imap.SeqSetNum(uint32(from + rand.IntN(int(sel.NumMessages)-from+1)))
			if err = c.Store(one, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
				break
			}
			atomic.AddInt64(&l.res.IMAPOps, 3)
			if !pause(ctx, time.Duration(200+rand.IntN(800))*time.Millisecond) {
				break
			}
		}
		if err != nil && ctx.Err() == nil {
			l.fail()
		}
		c.Close()
	}
}

// pop3Reader signs in over implicit TLS, STAT, RETR the newest, QUIT —
// without DELE, so what the soak checks stays in place.
func (l *load) pop3Reader(ctx context.Context, a account) {
	for ctx.Err() == nil {
		s := l.srv.Load()
		if err := pop3Once(s, a); err != nil {
			l.fail()
		} else {
			atomic.AddInt64(&l.res.POP3Ops, 1)
		}
		pause(ctx, time.Duration(500+rand.IntN(1000))*time.Millisecond)
	}
}

func pop3Once(s *server, a account) error {
	c, err := tls.Dial("tcp", s.addrs["pop3s"], s.tlsCfg)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	cmd := func(line string) (string, error) {
		if line != "" {
			if _, err := io.WriteString(c, line+"\r\n"); err != nil {
				return "", err
			}
		}
		resp, err := r.ReadString('\n')
		if err == nil && !strings.HasPrefix(resp, "+OK") {
			err = fmt.Errorf("pop3: %q", strings.TrimSpace(resp))
		}
		return resp, err
	}
	if _, err := cmd(""); err != nil {
		return err
	}
	if _, err := cmd("USER " + a.Address); err != nil {
		return err
	}
	if _, err := cmd("PASS " + a.Password); err != nil {
		return err
	}
	stat, err := cmd("STAT")
	if err != nil {
		return err
	}
	var n int
	fmt.Sscanf(stat, "+OK %d", &n)
	if n > 0 {
		if _, err := cmd(fmt.Sprintf("RETR %d", n)); err != nil {
			return err
		}
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return err
			}
			if line == ".\r\n" {
				break
			}
		}
	}
	_, err = cmd("QUIT")
	return err
}

// webClient loads the public danh bạ and the sign-in page over HTTPS.
func (l *load) webClient(ctx context.Context) {
	for ctx.Err() == nil {
		s := l.srv.Load()
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: s.tlsCfg}}
		ok := true
		for _, path := range []string{"/danhba", "/login"} {
			res, err := client.Get("https://" + s.addrs["https"] + path)
			if err != nil {
				ok = false
				break
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			ok = ok && res.StatusCode == 200
		}
		client.CloseIdleConnections()
		if ok {
			atomic.AddInt64(&l.res.WebOps, 2)
		} else {
			l.fail()
		}
		pause(ctx, time.Duration(300+rand.IntN(700))*time.Millisecond)
	}
}

var soakSubject = regexp.MustCompile(`(?m)^Subject: (soak-\d+-\d+)\r?$`)

// countSubjects reads every INBOX of the first 20 officials from the store
// (the server is stopped) and counts the soak messages in each.
func countSubjects(bin, demo string, accts []account) (map[string]map[string]int, error) {
	cfg, err := config.Load(filepath.Join(demo, "congvu.toml"))
	if err != nil {
		return nil, err
	}
	st, err := storage.Open(cfg.Path(cfg.Storage.Path), storage.Options{})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	ctx := context.Background()
	out := map[string]map[string]int{}
	for _, a := range accts[:20] {
		mb, err := st.Mailbox(ctx, a.Address, 0)
		if err != nil {
			return nil, err
		}
		msgs, err := mb.Messages(ctx, storage.Inbox)
		if err != nil {
			return nil, err
		}
		count := map[string]int{}
		for _, m := range msgs {
			c, err := mb.Cached(ctx, storage.Inbox, m.UID)
			if err != nil {
				return nil, err
			}
			if sm := soakSubject.FindSubmatch(c.Header); sm != nil {
				count[string(sm[1])]++
			}
		}
		out[a.Address] = count
	}
	return out, nil
}
