package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"congvu/storage"
)

// mimeResult is the cost of one nesting depth (issue 15 §1): the linear
// structure check every message gets at DATA and APPEND, and, for depths
// within the limit, the store's whole delivery (parse, text filter,
// fsync, index).
type mimeResult struct {
	Depth       int     `json:"depth"`
	Bytes       int     `json:"bytes"`
	CheckMicros float64 `json:"check_us"`
	Refused     bool    `json:"refused"`
	DeliverMs   float64 `json:"deliver_ms,omitempty"`
}

// nestedMessage is n multipart/mixed parts, each inside the last.
func nestedMessage(n int) []byte {
	var b strings.Builder
	b.WriteString("From: a@bocongan.gov.vn\r\nTo: thanhnn.skhcn@khanhhoa.gov.vn\r\nSubject: nest\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i-1, i)
	}
	fmt.Fprintf(&b, "--b%d\r\nContent-Type: text/plain\r\n\r\nhello\r\n", n-1)
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return []byte(b.String())
}

// runMIMEPart times the structure check and delivery by nesting depth, in
// process (no reference server does this check).
func runMIMEPart(tmp string) ([]mimeResult, error) {
	st, err := storage.Open(filepath.Join(tmp, "mime-store"), storage.Options{})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	ctx := context.Background()
	var out []mimeResult
	for _, depth := range []int{10, 25, 50, 100, 1000, 10000} {
		msg := nestedMessage(depth)
		r := mimeResult{Depth: depth, Bytes: len(msg)}
		best := time.Hour
		for range 5 {
			t0 := time.Now()
			err := storage.CheckMIMEStructure(bytes.NewReader(msg))
			best = min(best, time.Since(t0))
			r.Refused = err != nil
		}
		r.CheckMicros = float64(best.Microseconds())
		if !r.Refused {
			best = time.Hour
			for range 3 {
				t0 := time.Now()
				res, err := st.Deliver(ctx, bytes.NewReader(msg), []storage.Recipient{{User: "thanhnn.skhcn@khanhhoa.gov.vn"}})
				if err == nil {
					err = res[0].Err
				}
				if err != nil {
					return out, err
				}
				best = min(best, time.Since(t0))
			}
			r.DeliverMs = float64(best.Microseconds()) / 1000
		}
		out = append(out, r)
		logf("MIME depth %d (%d KB): check %.0f µs, refused %v, deliver %.2f ms", depth, len(msg)>>10, r.CheckMicros, r.Refused, r.DeliverMs)
	}
	return out, nil
}

// mimeRows prints one row per depth: the check's cost per KB should stay
// flat as depth grows (linear), and depths over 100 are refused at once.
func mimeRows(r *results, row func(measure, cv, ref, rat string)) {
	if len(r.MIME) == 0 {
		return
	}
	base := r.MIME[0]
	perKB := func(m mimeResult) float64 { return m.CheckMicros / (float64(m.Bytes) / 1024) }
	for _, m := range r.MIME {
		what := fmt.Sprintf("delivered in %.2f ms", m.DeliverMs)
		if m.Refused {
			what = "refused (554 5.6.0)"
		}
		row(fmt.Sprintf("MIME nesting depth %d (%d KB): structure check, %s", m.Depth, m.Bytes>>10, what),
			fmt.Sprintf("%.0f µs", m.CheckMicros), fmt.Sprintf("depth %d: %.1f µs/KB", base.Depth, perKB(base)),
			fmt.Sprintf("%.2f× per KB", perKB(m)/perKB(base)))
	}
}
