package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"congvu/queue"
)

// The operator reads from `queue list` why a message waits and when it is
// tried next.
func TestPrintQueueExplainsDeferredMail(t *testing.T) {
	now := time.Now()
	var b bytes.Buffer
	printQueue(&b, []queue.Entry{{
		ID: "0123456789ABCDEF", From: "thanhnn.skhcn@khanhhoa.gov.vn", Created: now.Add(-2 * time.Hour), Size: 1234,
		Rcpts: []queue.RecipientStatus{
			{Rcpt: "vanthu@angiang.gov.vn", State: queue.StateDelivered, Attempts: 0, LastAttempt: now.Add(-time.Hour), RemoteMTA: "mx.angiang.gov.vn"},
			{Rcpt: "busy@angiang.gov.vn", State: queue.StateQueued, Attempts: 3, NextAttempt: now.Add(27 * time.Minute),
				LastAttempt: now.Add(-3 * time.Minute), RemoteMTA: "mx.angiang.gov.vn", Security: "STARTTLS TLS1.3, certificate verified",
				LastError: "451 4.7.1 Please try again later"},
		},
	}}, now)
	out := b.String()
	for _, want := range []string{"0123456789ABCDEF", "2h", "đã gửi/delivered", "hoãn/deferred", "in 27m",
		"<busy@angiang.gov.vn>: 3m0s ago via mx.angiang.gov.vn (STARTTLS TLS1.3, certificate verified):", "451 4.7.1 Please try again later",
		"1 recipient(s) waiting"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	printQueue(&b, nil, now)
	if !strings.Contains(b.String(), "queue is empty") {
		t.Errorf("empty queue: %q", b.String())
	}
}
