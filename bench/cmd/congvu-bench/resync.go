package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// resyncResult is what a client that was away pays to catch up with the
// large folder after resyncChanges flag changes and as many expunges made
// by another client: bytes the server sends for SELECT plus
// UID FETCH 1:* (FLAGS) (a client without CONDSTORE), against SELECT with
// QRESYNC (RFC 7162 §3.2.5), which sends only what changed.
type resyncResult struct {
	Target       string  `json:"target"`
	Messages     int     `json:"messages"`
	Changes      int     `json:"flag_changes"`
	Expunges     int     `json:"expunges"`
	FullBytes    int64   `json:"full_resync_bytes"`
	FullMs       float64 `json:"full_resync_ms"`
	QresyncBytes int64   `json:"qresync_bytes"`
	QresyncMs    float64 `json:"qresync_ms"`
	Err          string  `json:"error,omitempty"`
}

const resyncChanges = 100

// countingConn counts the bytes read from the server.
type countingConn struct {
	net.Conn
	n int64
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.n += int64(n)
	return n, err
}

// lineClient is a minimal IMAP client that reads responses line by line
// (FLAGS and VANISHED responses carry no literals).
type lineClient struct {
	cc  *countingConn
	br  *bufio.Reader
	tag int
}

func dialLine(addr string, u benchUser) (*lineClient, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 30 * time.Second}, "tcp", addr, clientTLS())
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(5 * time.Minute))
	cc := &countingConn{Conn: conn}
	c := &lineClient{cc: cc, br: bufio.NewReaderSize(cc, 64<<10)}
	if _, err := c.br.ReadString('\n'); err != nil {
		conn.Close()
		return nil, err
	}
	if _, err := c.do(fmt.Sprintf("LOGIN %s %s", quoteIMAP(u.Address), quoteIMAP(u.Password))); err != nil {
		conn.Close()
		return nil, fmt.Errorf("LOGIN: %w", err)
	}
	return c, nil
}

// do sends one command and returns its untagged lines.
func (c *lineClient) do(cmd string) ([]string, error) {
	c.tag++
	tag := "r" + strconv.Itoa(c.tag)
	if _, err := io.WriteString(c.cc, tag+" "+cmd+"\r\n"); err != nil {
		return nil, err
	}
	var lines []string
	for {
		l, err := c.br.ReadString('\n')
		if err != nil {
			return lines, err
		}
		l = strings.TrimRight(l, "\r\n")
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l[len(tag)+1:], "OK") {
				return lines, fmt.Errorf("%s: %s", strings.Fields(cmd)[0], l)
			}
			return lines, nil
		}
		lines = append(lines, l)
	}
}

var (
	reUIDValidity = regexp.MustCompile(`\[UIDVALIDITY (\d+)\]`)
	reHighest     = regexp.MustCompile(`\[HIGHESTMODSEQ (\d+)\]`)
	reFetchUID    = regexp.MustCompile(`UID (\d+)`)
)

func measureResync(target, addr string, u benchUser) resyncResult {
	res := resyncResult{Target: target}
	if err := measureResyncInto(&res, addr, u); err != nil {
		res.Err = err.Error()
	}
	return res
}

func measureResyncInto(res *resyncResult, addr string, u benchUser) error {
	// The client's last session: it remembers UIDVALIDITY and MODSEQ.
	a, err := dialLine(addr, u)
	if err != nil {
		return err
	}
	if _, err := a.do("ENABLE QRESYNC"); err != nil {
		return err
	}
	lines, err := a.do("SELECT INBOX")
	if err != nil {
		return err
	}
	var validity, modseq string
	for _, l := range lines {
		if m := reUIDValidity.FindStringSubmatch(l); m != nil {
			validity = m[1]
		}
		if m := reHighest.FindStringSubmatch(l); m != nil {
			modseq = m[1]
		}
	}
	if validity == "" || modseq == "" {
		return fmt.Errorf("SELECT gave no UIDVALIDITY or HIGHESTMODSEQ")
	}
	// Meanwhile another client flags and expunges scattered messages.
	lines, err = a.do("UID SEARCH ALL")
	if err != nil {
		return err
	}
	var uids []string
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 2 && f[1] == "SEARCH" {
			uids = append(uids, f[2:]...)
		}
	}
	if len(uids) < 4*resyncChanges {
		return fmt.Errorf("%d messages, need %d", len(uids), 4*resyncChanges)
	}
	step := len(uids) / (2 * resyncChanges)
	var flag, gone []string
	for i := range 2 * resyncChanges {
		if i%2 == 0 {
			flag = append(flag, uids[i*step])
		} else {
			gone = append(gone, uids[i*step])
		}
	}
	for _, uid := range flag {
		if _, err := a.do("UID STORE " + uid + " +FLAGS.SILENT (\\Flagged)"); err != nil {
			return err
		}
	}
	set := strings.Join(gone, ",")
	if _, err := a.do("UID STORE " + set + " +FLAGS.SILENT (\\Deleted)"); err != nil {
		return err
	}
	if _, err := a.do("UID EXPUNGE " + set); err != nil {
		return err
	}
	a.do("LOGOUT")
	a.cc.Close()
	res.Changes, res.Expunges = len(flag), len(gone)
	res.Messages = len(uids) - len(gone)

	// Full resync: SELECT, then the UIDs and flags of every message.
	full, err := dialLine(addr, u)
	if err != nil {
		return err
	}
	defer full.cc.Close()
	start, t0 := full.cc.n, time.Now()
	if _, err := full.do("SELECT INBOX"); err != nil {
		return err
	}
	lines, err = full.do("UID FETCH 1:* (FLAGS)")
	if err != nil {
		return err
	}
	res.FullMs = float64(time.Since(t0).Microseconds()) / 1000
	res.FullBytes = full.cc.n - start
	if len(lines) < res.Messages {
		return fmt.Errorf("full resync: %d FETCH lines for %d messages", len(lines), res.Messages)
	}

	// QRESYNC: one SELECT.
	q, err := dialLine(addr, u)
	if err != nil {
		return err
	}
	defer q.cc.Close()
	if _, err := q.do("ENABLE QRESYNC"); err != nil {
		return err
	}
	start, t0 = q.cc.n, time.Now()
	lines, err = q.do(fmt.Sprintf("SELECT INBOX (QRESYNC (%s %s))", validity, modseq))
	if err != nil {
		return err
	}
	res.QresyncMs = float64(time.Since(t0).Microseconds()) / 1000
	res.QresyncBytes = q.cc.n - start
	fetched, vanished := 0, false
	for _, l := range lines {
		if strings.Contains(l, " FETCH ") && reFetchUID.MatchString(l) {
			fetched++
		}
		vanished = vanished || strings.HasPrefix(l, "* VANISHED (EARLIER)")
	}
	if fetched < res.Changes || !vanished {
		return fmt.Errorf("QRESYNC SELECT: %d FETCH, VANISHED %v; want %d and the expunged", fetched, vanished, res.Changes)
	}
	return nil
}
