package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// idleResult is how much memory a server needs for many clients sitting in
// IDLE on their INBOX.
type idleResult struct {
	Target    string  `json:"target"`
	Wanted    int     `json:"wanted"`
	Held      int     `json:"held"`    // connections in IDLE when memory was read
	Checked   int     `json:"checked"` // of a sample, answered DONE with OK afterwards
	SetupS    float64 `json:"setup_seconds"`
	Before    procMem `json:"before"`
	After     procMem `json:"after"`
	PerGiB    float64 `json:"idle_per_gib"`   // held ÷ memory growth (RSS for one process, PSS for a tree)
	KiBPerCon float64 `json:"kib_per_conn"`   // memory growth per connection
	Measure   string  `json:"memory_measure"` // "RSS" or "PSS"
	// For congvu, from its /metrics (Go collector), per connection: live
	// heap (estimated from the GC's heap goal: live × (1 + GOGC/100)),
	// stacks and goroutines: what the RSS figure is made of.
	HeapKiBPerConn  float64 `json:"go_live_heap_kib_per_conn,omitempty"`
	StackKiBPerConn float64 `json:"go_stack_kib_per_conn,omitempty"`
	GoroutinesPer   float64 `json:"goroutines_per_conn,omitempty"`
	FirstErr        string  `json:"first_error,omitempty"`
}

// idleSettleMax bounds the wait, in seconds, for memory to stop shrinking.
const idleSettleMax = 30

// idleConn is one raw IMAP connection left in IDLE.
type idleConn struct {
	conn net.Conn
	br   *bufio.Reader
}

// command writes a tagged line and reads until its tagged answer (or, for
// IDLE, the continuation request).
func (ic *idleConn) command(tag, line string, untilCont bool) error {
	ic.conn.SetDeadline(time.Now().Add(60 * time.Second))
	defer ic.conn.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(ic.conn, "%s %s\r\n", tag, line); err != nil {
		return err
	}
	return ic.waitFor(tag, untilCont)
}

func (ic *idleConn) waitFor(tag string, untilCont bool) error {
	for {
		l, err := ic.br.ReadString('\n')
		if err != nil {
			return err
		}
		if untilCont && strings.HasPrefix(l, "+") {
			return nil
		}
		if strings.HasPrefix(l, tag+" ") {
			if strings.HasPrefix(l, tag+" OK") {
				return nil
			}
			return fmt.Errorf("%s", strings.TrimSpace(l))
		}
	}
}

func dialIdle(addr string, u benchUser) (*idleConn, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 30 * time.Second}, "tcp", addr, clientTLS())
	if err != nil {
		return nil, err
	}
	ic := &idleConn{conn: conn, br: bufio.NewReaderSize(conn, 1024)}
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := ic.br.ReadString('\n'); err != nil { // greeting
		conn.Close()
		return nil, err
	}
	steps := []struct{ tag, line string }{
		{"a", fmt.Sprintf("LOGIN %s %s", quoteIMAP(u.Address), quoteIMAP(u.Password))},
		{"b", "SELECT INBOX"},
		{"c", "IDLE"},
	}
	for _, s := range steps {
		if err := ic.command(s.tag, s.line, s.tag == "c"); err != nil {
			conn.Close()
			return nil, fmt.Errorf("%s: %w", strings.Fields(s.line)[0], err)
		}
	}
	// Only a reader of 1 KiB stays allocated per connection on our side.
	return ic, nil
}

func quoteIMAP(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// measureIdle opens n IDLE connections to addr (users round-robin), reads
// the memory of the server's process tree before and after, checks that a
// sample still answers, and closes them all.
func measureIdle(target, addr string, users []benchUser, n int, serverPID int, measure, metricsURL string) idleResult {
	res := idleResult{Target: target, Wanted: n, Measure: measure}
	var goBefore, goAfter map[string]float64
	// Memory is read once it stopped shrinking: a garbage-collected server
	// hands freed memory back to the kernel over seconds, and Dovecot's
	// processes calm down too. Both get the same treatment.
	settle := func(into *map[string]float64) procMem {
		m := treeMem(serverPID)
		for i := 0; i < idleSettleMax; i++ {
			time.Sleep(time.Second)
			next := treeMem(serverPID)
			shrunk := m.RSSKiB - next.RSSKiB
			m = next
			if i >= 2 && shrunk < m.RSSKiB/200 {
				break
			}
		}
		if metricsURL != "" {
			*into = scrapeGoMetrics(metricsURL)
		}
		return m
	}
	res.Before = settle(&goBefore)
	conns := make([]*idleConn, n)
	var next atomic.Int64
	var mu sync.Mutex
	start := time.Now()
	var wg sync.WaitGroup
	for range 16 { // login is a KDF: a few at a time keep both cores busy
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				ic, err := dialIdle(addr, users[i%len(users)])
				if err != nil {
					mu.Lock()
					if res.FirstErr == "" {
						res.FirstErr = fmt.Sprintf("connection %d: %v", i, err)
					}
					mu.Unlock()
					continue
				}
				conns[i] = ic
			}
		})
	}
	wg.Wait()
	res.SetupS = time.Since(start).Seconds()
	for _, c := range conns {
		if c != nil {
			res.Held++
		}
	}
	res.After = settle(&goAfter)
	if res.Held > 0 && goBefore != nil && goAfter != nil {
		per := func(k string, unit float64) float64 { return (goAfter[k] - goBefore[k]) / unit / float64(res.Held) }
		gogc := max(goAfter["go_gc_gogc_percent"], 1)
		res.HeapKiBPerConn = per("go_memstats_next_gc_bytes", 1024) / (1 + gogc/100)
		res.StackKiBPerConn = per("go_memstats_stack_inuse_bytes", 1024)
		res.GoroutinesPer = per("go_goroutines", 1)
	}
	grow := res.After.RSSKiB - res.Before.RSSKiB
	if measure == "PSS" {
		grow = res.After.PSSKiB - res.Before.PSSKiB
	}
	if res.Held > 0 && grow > 0 {
		res.KiBPerCon = float64(grow) / float64(res.Held)
		res.PerGiB = float64(res.Held) / (float64(grow) / (1 << 20))
	}
	// The sessions must be real: a sample ends IDLE and gets its OK.
	step := max(1, n/20)
	for i := 0; i < n; i += step {
		c := conns[i]
		if c == nil {
			continue
		}
		c.conn.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.conn.Write([]byte("DONE\r\n")); err == nil && c.waitFor("c", false) == nil {
			res.Checked++
		}
	}
	for _, c := range conns {
		if c != nil {
			c.conn.Close()
		}
	}
	return res
}

// scrapeGoMetrics reads the Go runtime gauges of a Prometheus /metrics page.
func scrapeGoMetrics(url string) map[string]float64 {
	resp, err := http.Get(url)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || !strings.HasPrefix(name, "go_") {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			out[name] = v
		}
	}
	return out
}
