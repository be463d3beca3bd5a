package maildate

import (
	"net/mail"
	"testing"
)

var samples = []string{
	"Sun, 06 Dec 2026 09:30:00 +0700",
	"Sun, 6 Dec 2026 09:30:00 +0700",
	"6 Dec 2026 09:30:00 -0000",
	"  Mon, 07 Dec 2026 23:59:59 +0000  ",
	"Mon, 07 Dec 2026 23:59:59 +0000 (UTC)",
	"Mon, 07 Dec 26 23:59:59 +0000",
	"Mon, 07 Dec 2026 23:59 +0000",
	"Mon, 07 Dec 2026 23:59:59 GMT",
	"Mon, 07 DEC 2026 23:59:59 +0000",
	"Xyz, 07 Dec 2026 23:59:59 +0000",
	"Mon, 07 Dec 2026 25:59:59 +0000",
	"Mon, 31 Feb 2026 10:00:00 +0000",
	"Mon,\r\n 07 Dec 2026 10:00:00 +0700",
	"Mon 07 Dec 2026 10:00:00 +0700",
	"Thứ hai, 07 Dec 2026 10:00:00 +0700",
	"",
	"garbage",
}

// Parse must agree with net/mail.ParseDate on everything.
func check(t *testing.T, s string) {
	got, gotErr := Parse(s)
	want, wantErr := mail.ParseDate(s)
	if (gotErr == nil) != (wantErr == nil) || !got.Equal(want) || got.Location().String() != want.Location().String() {
		t.Fatalf("Parse(%q) = %v, %v; net/mail: %v, %v", s, got, gotErr, want, wantErr)
	}
	_, wantOff := want.Zone()
	if _, off := got.Zone(); off != wantOff {
		t.Fatalf("Parse(%q) zone offset %d, net/mail %d", s, off, wantOff)
	}
}

func TestAgreesWithNetMail(t *testing.T) {
	for _, s := range samples {
		check(t, s)
	}
}

// The common form is parsed without net/mail's failed tries.
func TestCanonicalFormDoesNotAllocate(t *testing.T) {
	for _, s := range []string{"Sun, 06 Dec 2026 09:30:00 +0700", "6 Dec 2026 09:30:00 -0000"} {
		if _, ok := parseCanonical(s); !ok {
			t.Fatalf("%q not taken by the fast path", s)
		}
		if n := testing.AllocsPerRun(100, func() { Parse(s) }); n != 0 {
			t.Errorf("Parse(%q): %v allocations, want 0", s, n)
		}
	}
	// net/mail itself allocates for the weekday form: what the fast path saves.
	if n := testing.AllocsPerRun(10, func() { mail.ParseDate("Sun, 06 Dec 2026 09:30:00 +0700") }); n < 10 {
		t.Logf("net/mail.ParseDate allocates %v times; the fast path matters less", n)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	f.Fuzz(check)
}
