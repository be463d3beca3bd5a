package storage

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// nested builds a message of n multipart/mixed parts each inside the last.
func nested(n int) string {
	var b strings.Builder
	b.WriteString("From: a@b.vn\r\nSubject: nest\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed;\r\n boundary=\"b%d\"\r\n\r\n", i-1, i)
	}
	fmt.Fprintf(&b, "--b%d\r\nContent-Type: text/plain\r\n\r\nhello\r\n", n-1)
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return b.String()
}

func TestCheckMIMEStructure(t *testing.T) {
	forwarded := "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nxem\r\n--x\r\n" +
		"Content-Type: message/rfc822\r\n\r\nSubject: fw\r\nContent-Type: multipart/alternative; boundary=y\r\n\r\n" +
		"--y\r\n\r\na\r\n--y\r\nContent-Type: text/html\r\n\r\n<p>a</p>\r\n--y--\r\n--x--\r\n"
	many := func(n int) string {
		var b strings.Builder
		b.WriteString("Content-Type: multipart/mixed; boundary=m\r\n\r\n")
		for range n {
			b.WriteString("--m\r\n\r\nx\r\n")
		}
		b.WriteString("--m--\r\n")
		return b.String()
	}
	for _, tc := range []struct {
		name string
		msg  string
		ok   bool
	}{
		{"plain", "Subject: x\r\n\r\nhello\r\n", true},
		{"forwarded", forwarded, true},
		{"depth 100", nested(100), true},
		{"depth 101", nested(101), false},
		{"depth 10000", nested(10000), false},
		{"10000 parts", many(10000), true},
		{"10001 parts", many(10001), false},
		{"unterminated", "Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n\r\nhalf", true},
		{"bare LF", strings.ReplaceAll(nested(101), "\r\n", "\n"), false},
		{"delimiter after a 70 KB line", "Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n\r\n" + strings.Repeat("x", 70<<10) +
			"\r\n--q\r\nContent-Type: message/rfc822\r\n\r\n" + nested(101) + "\r\n--q--\r\n", false},
		{"boundary prefix of another", "Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=ab\r\n\r\n--ab\r\n\r\nx\r\n--ab--\r\n--a--\r\n", true},
	} {
		// A reader that tells its length gets a buffer of that size; one
		// that does not, the 64 KiB one: the verdict is the same.
		for _, r := range []io.Reader{strings.NewReader(tc.msg), struct{ io.Reader }{strings.NewReader(tc.msg)}} {
			err := CheckMIMEStructure(r)
			if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrMIMEStructure) {
				t.Errorf("%s (%T): %v", tc.name, r, err)
			}
		}
	}
}

// TestCheckMIMEStructureLinear: checking 10,000 parts costs about ten
// times what 1,000 cost (a quadratic check would cost a hundred times).
func TestCheckMIMEStructureLinear(t *testing.T) {
	many := func(n int) string {
		var b strings.Builder
		b.WriteString("Content-Type: multipart/mixed; boundary=m\r\n\r\n")
		for i := range n {
			fmt.Fprintf(&b, "--m\r\nContent-Type: multipart/alternative; boundary=n%d\r\n\r\n--n%d\r\n\r\nx\r\n--n%d--\r\n", i, i, i)
		}
		b.WriteString("--m--\r\n")
		return b.String()
	}
	cost := func(n int) time.Duration {
		msg := many(n)
		best := time.Hour
		for range 5 {
			t0 := time.Now()
			if err := CheckMIMEStructure(strings.NewReader(msg)); err != nil {
				t.Fatal(err)
			}
			best = min(best, time.Since(t0))
		}
		return best
	}
	// Each entry is two parts (an alternative inside the mixed one).
	small, large := cost(400), cost(4000)
	t.Logf("800 parts: %v; 8,000 parts: %v", small, large)
	// Ten times the parts: ten times the time, with room for a loaded
	// machine; a quadratic check would take a hundred times.
	if large > 40*small+20*time.Millisecond || large > 2*time.Second {
		t.Errorf("not linear: %v for 8,000 parts vs %v for 800", large, small)
	}
}

func FuzzCheckMIMEStructure(f *testing.F) {
	f.Add(nested(3))
	f.Add("Content-Type: message/rfc822\r\n\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n\r\n--q--\r\n")
	f.Fuzz(func(t *testing.T, msg string) {
		err := CheckMIMEStructure(strings.NewReader(msg))
		if err != nil && !errors.Is(err, ErrMIMEStructure) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// TestReadersLinearInDepth: the store's parse, text filter and search of
// the same message nested 5,000 deep cost about ten times what 500 deep
// cost, not a hundred times (10,000 deep took 34 s before the depth cap).
func TestReadersLinearInDepth(t *testing.T) {
	once := func(msg string) time.Duration {
		t0 := time.Now()
		parseMessage(strings.NewReader(msg))
		buildTextFilter(strings.NewReader(msg), nil)
		ContainsText([]byte(msg), "hello", true)
		return time.Since(t0)
	}
	// Best of three, the sizes alternating, so that a burst of other work
	// on a shared machine (under -race) hits both sizes alike. Ten times
	// the depth costs about ten times the time when linear, a hundred
	// times when quadratic; 50× separates them.
	smallMsg, largeMsg := nested(500), nested(5000)
	small, large := time.Hour, time.Hour
	for range 3 {
		small = min(small, once(smallMsg))
		large = min(large, once(largeMsg))
	}
	t.Logf("parse + text filter + search: 500 nested %v; 5,000 nested %v", small, large)
	if large > 50*small+20*time.Millisecond {
		t.Errorf("not linear: %v for 5,000 vs %v for 500", large, small)
	}
}

// TestAppendRefusesDeepMIME: APPEND (IMAP, web drafts) refuses what SMTP
// refuses, and stores nothing.
func TestAppendRefusesDeepMIME(t *testing.T) {
	s, _ := newStore(t)
	mb, err := s.Mailbox(t.Context(), "thanhnn.skhcn@khanhhoa.gov.vn", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Append(t.Context(), Inbox, strings.NewReader(nested(5000)), nil, time.Time{}); !errors.Is(err, ErrMIMEStructure) {
		t.Fatalf("APPEND of 5,000 nested parts: %v", err)
	}
	if _, err := mb.Append(t.Context(), Inbox, strings.NewReader(nested(50)), nil, time.Time{}); err != nil {
		t.Fatalf("APPEND of 50 nested parts: %v", err)
	}
	if msgs, _ := mb.Messages(t.Context(), Inbox); len(msgs) != 1 {
		t.Errorf("%d messages in INBOX, want 1", len(msgs))
	}
}
