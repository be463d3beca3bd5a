package main

import (
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// loadPoint is one SMTP load configuration.
type loadPoint struct {
	Sessions  int `json:"sessions"`
	SizeBytes int `json:"size_bytes"`
}

func (p loadPoint) String() string {
	return fmt.Sprintf("c=%d %dKB", p.Sessions, p.SizeBytes/1024)
}

// loadResult is what one target did at one load point.
type loadResult struct {
	Target    string    `json:"target"`
	Point     loadPoint `json:"point"`
	Attempted int       `json:"attempted"`
	Accepted  int       `json:"accepted"` // transactions answered 250 after DATA
	Failed    int       `json:"failed"`
	FirstErr  string    `json:"first_error,omitempty"`
	Seconds   float64   `json:"seconds"`
	MsgsPerS  float64   `json:"msgs_per_s"` // accepted / seconds
	P50Ms     float64   `json:"p50_ms"`
	P99Ms     float64   `json:"p99_ms"`
	// DeliveredPerS is messages per second until the last one was on disk
	// in the recipient's mailbox (only for targets that deliver after the
	// 250, i.e. Postfix→Dovecot; congvu replies only after the fsync).
	DeliveredPerS float64 `json:"delivered_per_s,omitempty"`
	// CPUMsPerMsg is the server's CPU time per accepted message (the
	// S/MIME row only).
	CPUMsPerMsg     float64 `json:"cpu_ms_per_msg,omitempty"`
	DeliveredSecond float64 `json:"delivered_seconds,omitempty"`
}

// loadSpec bounds one run: at most Messages messages, at most Duration.
type loadSpec struct {
	Addr       string
	Target     string
	Point      loadPoint
	Messages   int
	Duration   time.Duration
	From       string
	Recipients []string
	// Make builds message seq for to; nil is makeMessage.
	Make func(seq int64, to string) []byte
}

// makeMessage builds an RFC 5322 message of about size bytes.
func makeMessage(seq int64, from, to string, size int) []byte {
	return newMessageMaker(size).append(nil, seq, from, to)
}

// loadBodyLine is the line a load message's body repeats.
const loadBodyLine = "Cong van so 123/UBND-VP ve viec trien khai he thong thu dien tu cong vu.\r\n"

// messageMaker builds load messages of one size. The body is built once:
// building every message line by line in a growing buffer was a tenth of
// the load driver's CPU, which shares the machine's cores with the server
// it measures.
type messageMaker struct {
	size int
	body []byte // enough lines for a message with an empty header
}

func newMessageMaker(size int) *messageMaker {
	lines := (size + len(loadBodyLine) - 1) / len(loadBodyLine)
	return &messageMaker{size: size, body: []byte(strings.Repeat(loadBodyLine, lines))}
}

// append appends message seq to dst: the header, then whole body lines
// until the message has at least size bytes.
func (m *messageMaker) append(dst []byte, seq int64, from, to string) []byte {
	start := len(dst)
	now := time.Now()
	dst = fmt.Appendf(dst, "From: <%s>\r\nTo: <%s>\r\nSubject: Bench message %d\r\n", from, to, seq)
	dst = fmt.Appendf(dst, "Date: %s\r\nMessage-ID: <bench-%d-%d@bench.example>\r\n", now.Format(time.RFC1123Z), now.UnixNano(), seq)
	dst = append(dst, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"...)
	if short := m.size - (len(dst) - start); short > 0 {
		lines := (short + len(loadBodyLine) - 1) / len(loadBodyLine)
		dst = append(dst, m.body[:lines*len(loadBodyLine)]...)
	}
	return dst
}

// runLoad drives spec.Point.Sessions SMTP sessions, each sending one
// transaction after the other on one connection, until the message budget
// or the time budget is used up.
func runLoad(spec loadSpec) loadResult {
	res := loadResult{Target: spec.Target, Point: spec.Point}
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	deadline := time.Now().Add(spec.Duration)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < spec.Point.Sessions; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			attempted, failed := 0, 0
			var firstErr error
			c, err := dialLoadSMTP(spec.Addr, nil, nil)
			maker := newMessageMaker(spec.Point.SizeBytes)
			var buf []byte // reused: send keeps nothing of the message
			for err == nil && time.Now().Before(deadline) {
				seq := next.Add(1)
				if seq > int64(spec.Messages) {
					break
				}
				to := spec.Recipients[int(seq)%len(spec.Recipients)]
				var msg []byte
				if spec.Make != nil {
					msg = spec.Make(seq, to)
				} else {
					buf = maker.append(buf[:0], seq, spec.From, to)
					msg = buf
				}
				attempted++
				t0 := time.Now()
				if e := c.send(spec.From, to, msg); e != nil {
					failed++
					if firstErr == nil {
						firstErr = e
					}
					// A failed transaction may leave the session unusable:
					// start a fresh one.
					c.Close()
					c, err = dialLoadSMTP(spec.Addr, nil, nil)
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if c != nil {
				c.quit()
			}
			mu.Lock()
			lat = append(lat, mine...)
			res.Attempted += attempted
			res.Failed += failed
			if firstErr != nil && res.FirstErr == "" {
				res.FirstErr = firstErr.Error()
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	res.Accepted = len(lat)
	if res.Seconds > 0 {
		res.MsgsPerS = float64(res.Accepted) / res.Seconds
	}
	res.P50Ms, res.P99Ms = percentileMs(lat, 0.50), percentileMs(lat, 0.99)
	return res
}

func dialSMTP(addr string) (*smtp.Client, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c := smtp.NewClient(conn)
	c.CommandTimeout = 60 * time.Second
	c.SubmissionTimeout = 120 * time.Second
	if err := c.Hello("bench.example"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func percentileMs(d []time.Duration, q float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q*float64(len(s)-1) + 0.5)
	return float64(s[i].Microseconds()) / 1000
}
