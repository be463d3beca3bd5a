package smtpd

import (
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"congvu/internal/mailerr"
	"congvu/storage"
)

// TestSettle pins the reply policy for per-recipient delivery results.
func TestSettle(t *testing.T) {
	ok := storage.DeliveryResult{UID: 1}
	quota := storage.DeliveryResult{Err: mailerr.ErrOverQuota}
	temp := storage.DeliveryResult{Err: mailerr.ErrInternal}
	for _, c := range []struct {
		name    string
		results []storage.DeliveryResult
		err     error
		partial []int
		reply   error
	}{
		{"all ok", []storage.DeliveryResult{ok, ok}, nil, nil, nil},
		{"store failed", nil, mailerr.ErrInternal, nil, mailerr.ErrInternal},
		{"all permanent", []storage.DeliveryResult{quota, quota}, nil, nil, mailerr.ErrOverQuota},
		// Nobody has it: prefer the temporary error so everybody is retried.
		{"permanent and temporary", []storage.DeliveryResult{quota, temp}, nil, nil, mailerr.ErrInternal},
		// Somebody has it: 250 and a notification for the others.
		{"partial", []storage.DeliveryResult{quota, ok, temp}, nil, []int{0, 2}, nil},
	} {
		partial, reply := settle(c.results, c.err, max(len(c.results), 1))
		if !errors.Is(reply, c.reply) || (reply == nil) != (c.reply == nil) {
			t.Errorf("%s: reply %v, want %v", c.name, reply, c.reply)
		}
		if len(partial) != len(c.partial) {
			t.Errorf("%s: partial %v, want %v", c.name, partial, c.partial)
		}
		for i := range partial {
			if partial[i] != c.partial[i] {
				t.Errorf("%s: partial %v, want %v", c.name, partial, c.partial)
			}
		}
	}
}

func TestQuotePathAndHelo(t *testing.T) {
	for in, want := range map[string]string{
		"":                              "",
		"thanhnn.skhcn@khanhhoa.gov.vn": "thanhnn.skhcn@khanhhoa.gov.vn",
		"văn.thư@bộcôngan.vn":           "văn.thư@bộcôngan.vn",
		"a b@example.org":               `"a b"@example.org`,
		`x"y@example.org`:               `"x\"y"@example.org`,
		".dot@example.org":              `".dot"@example.org`,
	} {
		if got := quotePath(in); got != want {
			t.Errorf("quotePath(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"mail.bocongan.gov.vn": "mail.bocongan.gov.vn",
		"[192.0.2.1]":          "[192.0.2.1]",
		"evil)\tby (x":         "evilbyx",
		"()":                   "unknown",
	} {
		if got := heloDomain(in); got != want {
			t.Errorf("heloDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestByteScanner finds the first NUL and the end of the header however
// the message is split into reads.
func TestByteScanner(t *testing.T) {
	for _, tc := range []struct {
		msg            string
		nul, headerEnd int64
	}{
		{"Subject: a\r\n\r\nbody\x00x", 18, 14},
		{"Subject: a\x00\r\n\r\nbody", 10, 15},
		{"Subject: a\n\nbody", -1, 12},
		{"Subject: a\r\nFrom: b\r\n", -1, -1},
		{"\r\n\r\n", -1, 2},
		{"A: b\r\n\r\n\x00", 8, 8},
	} {
		for _, step := range []int{1, 2, 3, 5, 1 << 10} {
			sc := newByteScanner(&chunked{s: tc.msg, step: step})
			if _, err := io.ReadAll(sc); err != nil {
				t.Fatal(err)
			}
			if sc.nulAt != tc.nul || sc.headerEnd != tc.headerEnd {
				t.Errorf("%q in reads of %d: NUL at %d, header end %d; want %d, %d", tc.msg, step, sc.nulAt, sc.headerEnd, tc.nul, tc.headerEnd)
			}
		}
	}
	// Every split of every short run of CR, LF and text gives the header
	// end that one search of the whole message gives.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		b := make([]byte, 1+rng.IntN(12))
		for i := range b {
			b[i] = "\r\nx"[rng.IntN(3)]
		}
		want := int64(headerEndIn(append([]byte("\r\n"), b...)))
		if want >= 0 {
			want -= 2
		}
		for step := 1; step <= len(b); step++ {
			sc := newByteScanner(&chunked{s: string(b), step: step})
			io.ReadAll(sc)
			if sc.headerEnd != want {
				t.Fatalf("%q in reads of %d: header end %d, want %d", b, step, sc.headerEnd, want)
			}
		}
	}
}

// chunked returns s in reads of at most step bytes.
type chunked struct {
	s    string
	step int
}

func (c *chunked) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.step)], c.s)
	c.s = c.s[n:]
	return n, nil
}
