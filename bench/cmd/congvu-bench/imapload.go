package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// benchUser is an account that exists with the same password on every
// target.
type benchUser struct {
	Address  string
	Password string
}

// imapTarget is a server the IMAP load generator talks to (implicit TLS).
type imapTarget struct {
	Name  string
	Addr  string
	Users []benchUser
}

// The IMAP commands of the mixed workload, in the order one cycle runs them.
const (
	opConnect      = "connect+TLS"
	opLogin        = "LOGIN"
	opList         = "LIST"
	opStatus       = "STATUS"
	opSelect       = "SELECT"
	opFetchHeaders = "FETCH 50 headers"
	opFetchBody    = "FETCH full body"
	opStore        = "STORE flags"
	opSearch       = "SEARCH"
	opAppend       = "APPEND"
	opExpunge      = "UID EXPUNGE"
	opIdle         = "IDLE+DONE"
	opLogout       = "LOGOUT"
)

var imapOps = []string{opConnect, opLogin, opList, opStatus, opSelect, opFetchHeaders, opFetchBody,
	opStore, opSearch, opAppend, opExpunge, opIdle, opLogout}

// opStats is one command's figures in one IMAP load run.
type opStats struct {
	Count  int     `json:"count"`
	Errors int     `json:"errors"`
	PerS   float64 `json:"per_s"`
	P50Ms  float64 `json:"p50_ms"`
	P99Ms  float64 `json:"p99_ms"`
}

// imapLoadResult is one target at one client count.
type imapLoadResult struct {
	Target   string             `json:"target"`
	Clients  int                `json:"clients"`
	Seconds  float64            `json:"seconds"`
	Ops      int                `json:"ops"`
	OpsPerS  float64            `json:"ops_per_s"`
	Errors   int                `json:"errors"`
	FirstErr string             `json:"first_error,omitempty"`
	PerOp    map[string]opStats `json:"per_op"`
	// CPUSeconds is the server's CPU time (its whole process tree)
	// during the run.
	CPUSeconds float64 `json:"cpu_seconds,omitempty"`
}

// cyclesPerSession is how many workload cycles a client runs before it
// logs out and connects again: mail clients keep their connection, so
// logins are a minority of the commands.
const cyclesPerSession = 5

// clientTLS is the client side of every TLS connection the bench makes: no
// verification (private servers on loopback) and X25519 key exchange, so
// congvu (Go, which would otherwise pick the hybrid post-quantum group) and
// Dovecot (OpenSSL) do the same handshake work.
func clientTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, CurvePreferences: []tls.CurveID{tls.X25519}, MinVersion: tls.VersionTLS12}
}

// recorder collects latencies per command for one client.
type recorder struct {
	lat      map[string][]time.Duration
	errs     map[string]int
	firstErr error
}

func newRecorder() *recorder {
	return &recorder{lat: map[string][]time.Duration{}, errs: map[string]int{}}
}

// fail counts an error of command op that f did not return.
func (r *recorder) fail(op string, err error) {
	r.errs[op]++
	if r.firstErr == nil {
		r.firstErr = fmt.Errorf("%s: %w", op, err)
	}
}

// do times f as command op; it returns f's error.
func (r *recorder) do(op string, f func() error) error {
	t0 := time.Now()
	err := f()
	if err != nil {
		r.errs[op]++
		if r.firstErr == nil {
			r.firstErr = fmt.Errorf("%s: %w", op, err)
		}
		return err
	}
	r.lat[op] = append(r.lat[op], time.Since(t0))
	return nil
}

// runIMAPLoad runs clients concurrent clients against t for d; client i logs
// in as user i (mod the number of users).
func runIMAPLoad(t imapTarget, clients int, d time.Duration, seed uint64) imapLoadResult {
	recs := newRecorders(clients)
	secs := driveIMAPLoad(t, recs, d, seed)
	return summarizeIMAPLoad(t.Name, recs, secs)
}

func newRecorders(n int) []*recorder {
	recs := make([]*recorder, n)
	for i := range recs {
		recs[i] = newRecorder()
	}
	return recs
}

// driveIMAPLoad runs one client per recorder against t for d, adding to
// the recorders (so alternating runs against two targets can be summed);
// it returns the seconds it took.
func driveIMAPLoad(t imapTarget, recs []*recorder, d time.Duration, seed uint64) float64 {
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range recs {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			u := t.Users[i%len(t.Users)]
			for time.Now().Before(deadline) {
				if err := imapSession(t.Addr, u, recs[i], rng, deadline); err != nil {
					time.Sleep(100 * time.Millisecond) // a refused connection must not spin
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start).Seconds()
}

// summarizeIMAPLoad turns recorders that ran for secs into figures.
func summarizeIMAPLoad(name string, recs []*recorder, secs float64) imapLoadResult {
	res := imapLoadResult{Target: name, Clients: len(recs), PerOp: map[string]opStats{}, Seconds: secs}
	for _, op := range imapOps {
		var all []time.Duration
		st := opStats{}
		for _, r := range recs {
			all = append(all, r.lat[op]...)
			st.Errors += r.errs[op]
		}
		st.Count = len(all)
		st.PerS = float64(st.Count) / res.Seconds
		st.P50Ms, st.P99Ms = percentileMs(all, 0.50), percentileMs(all, 0.99)
		res.PerOp[op] = st
		res.Ops += st.Count
		res.Errors += st.Errors
	}
	for _, r := range recs {
		if r.firstErr != nil {
			res.FirstErr = r.firstErr.Error()
			break
		}
	}
	res.OpsPerS = float64(res.Ops) / res.Seconds
	return res
}

// benchAppendMessage is what APPEND stores in the mixed workload (10 KB).
var benchAppendMessage = makeMessage(0, "vanthu@bench.example", "nhan@bench.example", 10<<10)

// imapSession is one connection: connect, log in, run cycles until the
// session's quota or the deadline, log out.
func imapSession(addr string, u benchUser, rec *recorder, rng *rand.Rand, deadline time.Time) error {
	var c *imapclient.Client
	err := rec.do(opConnect, func() error {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 30 * time.Second}, "tcp", addr, clientTLS())
		if err != nil {
			return err
		}
		c = imapclient.New(conn, nil)
		if err := c.WaitGreeting(); err != nil {
			c.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := rec.do(opLogin, func() error { return c.Login(u.Address, u.Password).Wait() }); err != nil {
		return err
	}
	for range cyclesPerSession {
		if time.Now().After(deadline) {
			break
		}
		if err := imapCycle(c, rec, rng); err != nil {
			return err
		}
	}
	return rec.do(opLogout, func() error { return c.Logout().Wait() })
}

// imapCycle is one round of what a desktop client does when the user
// opens the INBOX, reads a message, flags it, searches, files a draft and
// deletes it, then waits for new mail.
func imapCycle(c *imapclient.Client, rec *recorder, rng *rand.Rand) error {
	if err := rec.do(opList, func() error { _, err := c.List("", "*", nil).Collect(); return err }); err != nil {
		return err
	}
	if err := rec.do(opStatus, func() error {
		_, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true, UIDNext: true, NumUnseen: true}).Wait()
		return err
	}); err != nil {
		return err
	}
	var n uint32
	if err := rec.do(opSelect, func() error {
		d, err := c.Select("INBOX", nil).Wait()
		if err == nil {
			n = d.NumMessages
		}
		return err
	}); err != nil {
		return err
	}
	if n == 0 {
		// The workload needs mail: count it, or a run against an empty
		// INBOX would look like a fast server.
		err := errors.New("INBOX is empty")
		rec.fail(opSelect, err)
		return err
	}
	if err := rec.do(opFetchHeaders, func() error {
		var set imap.SeqSet
		set.AddRange(uint32(max(1, int(n)-49)), n)
		_, err := c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, RFC822Size: true, InternalDate: true, Envelope: true,
			BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierHeader, Peek: true,
				HeaderFields: []string{"Date", "From", "To", "Cc", "Subject", "Message-ID", "Content-Type", "References"}}}}).Collect()
		return err
	}); err != nil {
		return err
	}
	seq := uint32(1 + rng.IntN(int(n)))
	if err := rec.do(opFetchBody, func() error {
		msgs, err := c.Fetch(imap.SeqSetNum(seq), &imap.FetchOptions{UID: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err == nil && (len(msgs) != 1 || len(msgs[0].BodySection) != 1) {
			err = fmt.Errorf("no body for message %d", seq)
		}
		return err
	}); err != nil {
		return err
	}
	if err := rec.do(opStore, func() error {
		op := imap.StoreFlagsAdd
		if rng.IntN(2) == 0 {
			op = imap.StoreFlagsDel
		}
		_, err := c.Store(imap.SeqSetNum(seq), &imap.StoreFlags{Op: op, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Collect()
		return err
	}); err != nil {
		return err
	}
	if err := rec.do(opSearch, func() error {
		crit := &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: subjectWords[rng.IntN(len(subjectWords))]}}}
		if rng.IntN(2) == 0 {
			crit = &imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}
		}
		_, err := c.UIDSearch(crit, nil).Wait()
		return err
	}); err != nil {
		return err
	}
	var uid imap.UID
	if err := rec.do(opAppend, func() error {
		cmd := c.Append("INBOX", int64(len(benchAppendMessage)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}})
		if _, err := cmd.Write(benchAppendMessage); err != nil {
			cmd.Close()
			return err
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		d, err := cmd.Wait()
		if err == nil {
			uid = d.UID
			if uid == 0 {
				err = fmt.Errorf("no APPENDUID")
			}
		}
		return err
	}); err != nil {
		return err
	}
	if err := rec.do(opStore, func() error {
		_, err := c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect()
		return err
	}); err != nil {
		return err
	}
	if err := rec.do(opExpunge, func() error { _, err := c.UIDExpunge(imap.UIDSetNum(uid)).Collect(); return err }); err != nil {
		return err
	}
	return rec.do(opIdle, func() error {
		cmd, err := c.Idle()
		if err != nil {
			return err
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		return cmd.Wait()
	})
}

// subjectWords are searched in Subject headers (some match, some do not).
var subjectWords = []string{"giao ban", "ngân sách", "tập huấn", "khẩn", "quyết định", "không có"}

// sortedOps returns the op names of r that ran, in workload order.
func sortedOps(r imapLoadResult) []string {
	var out []string
	for _, op := range imapOps {
		if r.PerOp[op].Count > 0 || r.PerOp[op].Errors > 0 {
			out = append(out, op)
		}
	}
	return out
}
