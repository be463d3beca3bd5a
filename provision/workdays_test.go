package provision

import (
	"testing"
	"time"
)

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, vietnam)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDueCountsWorkingDays(t *testing.T) {
	c, err := NewCalendar(DefaultHolidays)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ filed, due string }{
		// An ordinary week: filed Monday, due at the end of Thursday.
		{"2026-03-02 09:00", "2026-03-06 00:00"},
		// Filed Friday afternoon: Mon, Tue, Wed.
		{"2026-03-06 16:30", "2026-03-12 00:00"},
		// Filed on a Saturday or a Sunday: counting starts Monday.
		{"2026-03-07 10:00", "2026-03-12 00:00"},
		{"2026-03-08 23:59", "2026-03-12 00:00"},
		// Filed at the last minute of Friday (Vietnamese time).
		{"2026-03-06 23:59", "2026-03-12 00:00"},
		// Tết Bính Ngọ: the week of 16–20/02/2026 is off. Filed Thursday
		// 12/02: Fri 13, then Mon 23 and Tue 24.
		{"2026-02-12 10:00", "2026-02-25 00:00"},
		// Filed Friday 13/02 just before Tết: Mon 23, Tue 24, Wed 25.
		{"2026-02-13 17:00", "2026-02-26 00:00"},
		// Filed during Tết (Wednesday 18/02, a holiday).
		{"2026-02-18 08:00", "2026-02-26 00:00"},
		// Filed on the last working day of Tết's eve week... and on the
		// first working day after it (Mon 23/02): Tue, Wed, Thu.
		{"2026-02-23 08:00", "2026-02-27 00:00"},
		// Giỗ Tổ (Mon 27/04, moved from Sunday), 30/4 and 1/5: filed Friday
		// 24/04: Tue 28, Wed 29, Mon 04/05.
		{"2026-04-24 10:00", "2026-05-05 00:00"},
		// New year: filed Wed 31/12/2025, 1/1 is off: Fri 2, Mon 5, Tue 6.
		{"2025-12-31 10:00", "2026-01-07 00:00"},
		// Tết Đinh Mùi 2027 (04–10/02): filed Wed 03/02: Thu 11, Fri 12, Mon 15.
		{"2027-02-03 10:00", "2027-02-16 00:00"},
	} {
		got := c.Due(at(tc.filed), 3)
		if want := at(tc.due); !got.Equal(want) {
			t.Errorf("filed %s: due %s, want %s", tc.filed, got.In(vietnam).Format("2006-01-02 15:04 Mon"), want.Format("2006-01-02 15:04 Mon"))
		}
	}
}

func TestDueUsesVietnamTime(t *testing.T) {
	c, _ := NewCalendar(nil)
	// 17:30 UTC on Friday is 00:30 Saturday in Vietnam: counting starts
	// on Monday as for a request filed on Saturday.
	filed := time.Date(2026, 3, 6, 17, 30, 0, 0, time.UTC)
	if got, want := c.Due(filed, 3), at("2026-03-12 00:00"); !got.Equal(want) {
		t.Errorf("due %s, want %s", got.In(vietnam), want)
	}
	// 16:59 UTC Friday is still Friday: Mon, Tue, Wed as well.
	filed = time.Date(2026, 3, 6, 16, 59, 0, 0, time.UTC)
	if got, want := c.Due(filed, 3), at("2026-03-12 00:00"); !got.Equal(want) {
		t.Errorf("due %s, want %s", got.In(vietnam), want)
	}
	// 16:59 UTC Thursday: Fri, Mon, Tue.
	filed = time.Date(2026, 3, 5, 16, 59, 0, 0, time.UTC)
	if got, want := c.Due(filed, 3), at("2026-03-11 00:00"); !got.Equal(want) {
		t.Errorf("due %s, want %s", got.In(vietnam), want)
	}
}

func TestWorkingDayBoundaries(t *testing.T) {
	c, _ := NewCalendar(DefaultHolidays)
	for day, want := range map[string]bool{
		"2026-02-13 23:59": true,  // Friday before Tết
		"2026-02-14 00:00": false, // Saturday
		"2026-02-16 00:00": false, // Tết
		"2026-02-20 23:59": false, // last day of Tết
		"2026-02-23 00:00": true,  // back to work
		"2026-04-27 12:00": false, // Giỗ Tổ, moved
		"2026-09-02 12:00": false, // Quốc khánh
		"2026-09-03 12:00": true,
	} {
		if got := c.IsWorkingDay(at(day)); got != want {
			t.Errorf("%s: working day %v, want %v", day, got, want)
		}
	}
	if _, err := NewCalendar([]string{"2026-13-01"}); err == nil {
		t.Error("a bad holiday was accepted")
	}
}

func TestWorkingDaysLeft(t *testing.T) {
	c, _ := NewCalendar(DefaultHolidays)
	due := c.Due(at("2026-02-12 10:00"), 3) // end of Tue 24/02
	for now, want := range map[string]int{
		"2026-02-12 10:00": 3, "2026-02-13 10:00": 2, "2026-02-18 10:00": 2,
		"2026-02-23 10:00": 1, "2026-02-24 10:00": 0, "2026-02-25 10:00": 0,
	} {
		if got := c.WorkingDaysLeft(at(now), due); got != want {
			t.Errorf("at %s: %d working days left, want %d", now, got, want)
		}
	}
}
