package policy

import (
	"fmt"
	"time"
)

// Day is a civil date in the engine's time zone (Asia/Ho_Chi_Minh by
// default), counted in days since 1970-01-01. "Accessed on a day" always
// means that local calendar day, whatever the server's own zone.
type Day int32

// DayOf returns the local date of t in loc.
func DayOf(t time.Time, loc *time.Location) Day {
	y, m, d := t.In(loc).Date()
	return DayFromDate(y, m, d)
}

// DayFromDate returns the Day of a calendar date.
func DayFromDate(y int, m time.Month, d int) Day {
	return Day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// ParseDay reads YYYY-MM-DD.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return DayFromDate(t.Date()), nil
}

// Date returns the calendar date of d.
func (d Day) Date() (int, time.Month, int) {
	return time.Unix(int64(d)*86400, 0).UTC().Date()
}

// Start returns the first instant of d in loc.
func (d Day) Start(loc *time.Location) time.Time {
	y, m, dd := d.Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, loc)
}

// String is YYYY-MM-DD.
func (d Day) String() string {
	y, m, dd := d.Date()
	return fmt.Sprintf("%04d-%02d-%02d", y, m, dd)
}

// VN is the Vietnamese way of writing the date: 02/06/2025.
func (d Day) VN() string {
	y, m, dd := d.Date()
	return fmt.Sprintf("%02d/%02d/%04d", dd, m, y)
}

// Weekday of d.
func (d Day) Weekday() time.Weekday { return time.Weekday((int64(d) + 4) % 7) }

// Month is a calendar month, counted as year*12 + month-1.
type Month int32

// MonthOf returns the month containing d.
func MonthOf(d Day) Month {
	y, m, _ := d.Date()
	return Month(y*12 + int(m) - 1)
}

// First returns the first day of the month.
func (m Month) First() Day { return DayFromDate(int(m)/12, time.Month(int(m)%12+1), 1) }

// Last returns the last day of the month.
func (m Month) Last() Day { return (m + 1).First() - 1 }

// String is YYYY-MM.
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", int(m)/12, int(m)%12+1) }

// secondsOfDay returns how far into its local day t is, in seconds.
func secondsOfDay(t time.Time, loc *time.Location) int {
	t = t.In(loc)
	y, m, d := t.Date()
	return int(t.Sub(time.Date(y, m, d, 0, 0, 0, 0, loc)) / time.Second)
}

// LoadLocation is time.LoadLocation with a fallback for Asia/Ho_Chi_Minh
// (UTC+7 since 1975, no daylight saving) on systems without zoneinfo.
func LoadLocation(name string) (*time.Location, error) {
	loc, err := time.LoadLocation(name)
	if err != nil && (name == "Asia/Ho_Chi_Minh" || name == "Asia/Saigon") {
		return time.FixedZone("ICT", 7*3600), nil
	}
	return loc, err
}
