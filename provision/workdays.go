package provision

import (
	"fmt"
	"time"
)

// Vietnam observes no daylight saving time: UTC+7 all year.
var vietnam = time.FixedZone("ICT", 7*3600)

// Location is the zone working days are counted in (Asia/Ho_Chi_Minh).
func Location() *time.Location { return vietnam }

// DefaultHolidays are the weekdays of the public holidays of 2026 and 2027
// that state agencies close (Bộ luật Lao động 2019 điều 112, with the
// Prime Minister's yearly decisions on Tết and on days moved next to a
// holiday). Weekends are never listed: they are not working days anyway.
// Tết 2027 and the second day of Quốc khánh are the usual pattern until
// the year's decision is published; the list is `[requests] holidays` in
// the configuration, to be corrected there when a decision differs.
var DefaultHolidays = []string{
	// 2026
	"2026-01-01",                                                         // Tết Dương lịch
	"2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", // Tết Bính Ngọ (14–22/02)
	"2026-04-27",               // Giỗ Tổ Hùng Vương (10/3 âm lịch, Chủ nhật 26/04), nghỉ bù
	"2026-04-30", "2026-05-01", // Giải phóng miền Nam, Quốc tế Lao động
	"2026-09-01", "2026-09-02", // Quốc khánh
	// 2027
	"2027-01-01",                                                         // Tết Dương lịch
	"2027-02-04", "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10", // Tết Đinh Mùi (mùng 1 = 06/02)
	"2027-04-16",               // Giỗ Tổ Hùng Vương (10/3 âm lịch)
	"2027-04-30", "2027-05-03", // 30/4; 1/5 là thứ Bảy, nghỉ bù thứ Hai
	"2027-09-02", "2027-09-03", // Quốc khánh
}

// Calendar counts Vietnamese working days: Monday to Friday except the
// listed holidays.
type Calendar struct {
	holidays map[civilDay]bool
}

type civilDay struct {
	y int
	m time.Month
	d int
}

func dayOf(t time.Time) civilDay {
	y, m, d := t.In(vietnam).Date()
	return civilDay{y, m, d}
}

// NewCalendar parses holidays written as YYYY-MM-DD.
func NewCalendar(holidays []string) (*Calendar, error) {
	c := &Calendar{holidays: map[civilDay]bool{}}
	for _, h := range holidays {
		t, err := time.ParseInLocation(time.DateOnly, h, vietnam)
		if err != nil {
			return nil, fmt.Errorf("holiday %q: want YYYY-MM-DD", h)
		}
		c.holidays[dayOf(t)] = true
	}
	return c, nil
}

// IsWorkingDay tells whether the Vietnamese calendar day of t is one.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	t = t.In(vietnam)
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	return !c.holidays[dayOf(t)]
}

// Due is the end of the n-th working day after filed: the day of filing
// does not count (a request filed on Friday afternoon with n = 3 is due
// at the end of Wednesday), and a request filed on a weekend or holiday
// starts counting on the next working day. The result is the first
// instant after the due day (midnight, Vietnamese time), so a request is
// overdue when now is not before it.
func (c *Calendar) Due(filed time.Time, n int) time.Time {
	y, m, d := filed.In(vietnam).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, vietnam)
	for counted := 0; counted < n; {
		day = day.AddDate(0, 0, 1)
		if c.IsWorkingDay(day) {
			counted++
		}
	}
	return day.AddDate(0, 0, 1)
}

// WorkingDaysLeft counts the working days from now to due (0 when due
// today or past).
func (c *Calendar) WorkingDaysLeft(now, due time.Time) int {
	y, m, d := now.In(vietnam).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, vietnam).AddDate(0, 0, 1)
	n := 0
	for ; day.Before(due); day = day.AddDate(0, 0, 1) {
		if c.IsWorkingDay(day) {
			n++
		}
	}
	return n
}
