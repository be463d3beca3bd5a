package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"sort"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// largeResult is one target's large-mailbox figures. Times are medians of
// largeRepeats runs on one connection, after the first SELECT (timed on its
// own: it is when Dovecot builds its index of a Maildir it has never seen).
type largeResult struct {
	Target        string  `json:"target"`
	Messages      uint32  `json:"messages"`
	FirstSelectMs float64 `json:"first_select_ms"`
	SelectMs      float64 `json:"select_ms"`
	FetchEnvMs    float64 `json:"fetch_100_envelopes_ms"`
	SearchBodyMs  float64 `json:"search_body_ms"`
	SearchTextMs  float64 `json:"search_text_ms"`
	SearchSinceMs float64 `json:"search_since_ms"`
	BodyHits      uint32  `json:"search_body_hits"`
	TextHits      uint32  `json:"search_text_hits"`
	SinceHits     uint32  `json:"search_since_hits"`
	Err           string  `json:"error,omitempty"`
}

const largeRepeats = 3

// measureLarge times the large-mailbox commands for u's INBOX on addr.
func measureLarge(target, addr string, u benchUser, since time.Time) largeResult {
	res := largeResult{Target: target}
	if err := measureLargeInto(&res, addr, u, since); err != nil {
		res.Err = err.Error()
	}
	return res
}

func measureLargeInto(res *largeResult, addr string, u benchUser, since time.Time) error {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 30 * time.Second}, "tcp", addr, clientTLS())
	if err != nil {
		return err
	}
	c := imapclient.New(conn, nil)
	defer c.Close()
	if err := c.Login(u.Address, u.Password).Wait(); err != nil {
		return fmt.Errorf("LOGIN: %w", err)
	}
	var n uint32
	selectInbox := func() error {
		d, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
		if err == nil {
			n = d.NumMessages
		}
		return err
	}
	d, err := timed(selectInbox)
	if err != nil {
		return fmt.Errorf("SELECT: %w", err)
	}
	res.FirstSelectMs, res.Messages = d, n
	if res.SelectMs, err = median(selectInbox); err != nil {
		return fmt.Errorf("SELECT: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("INBOX is empty")
	}
	if res.FetchEnvMs, err = median(func() error {
		var set imap.SeqSet
		set.AddRange(uint32(max(1, int(n)-99)), n)
		msgs, err := c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, Envelope: true}).Collect()
		if err == nil && len(msgs) != int(min(n, 100)) {
			err = fmt.Errorf("%d envelopes, want %d", len(msgs), min(n, 100))
		}
		return err
	}); err != nil {
		return fmt.Errorf("FETCH ENVELOPE: %w", err)
	}
	search := func(crit *imap.SearchCriteria, hits *uint32) func() error {
		return func() error {
			data, err := c.UIDSearch(crit, nil).Wait()
			if err == nil {
				*hits = uint32(len(data.AllUIDs()))
			}
			return err
		}
	}
	if res.SearchBodyMs, err = median(search(&imap.SearchCriteria{Body: []string{rareWord}}, &res.BodyHits)); err != nil {
		return fmt.Errorf("SEARCH BODY: %w", err)
	}
	if res.SearchTextMs, err = median(search(&imap.SearchCriteria{Text: []string{rareWord}}, &res.TextHits)); err != nil {
		return fmt.Errorf("SEARCH TEXT: %w", err)
	}
	if res.SearchSinceMs, err = median(search(&imap.SearchCriteria{Since: since}, &res.SinceHits)); err != nil {
		return fmt.Errorf("SEARCH SINCE: %w", err)
	}
	c.Logout().Wait()
	return nil
}

func timed(f func() error) (float64, error) {
	t0 := time.Now()
	err := f()
	return float64(time.Since(t0).Microseconds()) / 1000, err
}

// median runs f largeRepeats times and returns the median time in ms.
func median(f func() error) (float64, error) {
	var ms []float64
	for range largeRepeats {
		d, err := timed(f)
		if err != nil {
			return 0, err
		}
		ms = append(ms, d)
	}
	sort.Float64s(ms)
	return ms[len(ms)/2], nil
}
