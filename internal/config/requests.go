package config

import (
	"fmt"
	"time"
)

// Requests configures provisioning requests (package provision): unit
// administrators file them, provincial operators decide them within
// WorkingDays Vietnamese working days.
type Requests struct {
	// WorkingDays is the time allowed to carry out a request (the rules'
	// "within 3 working days"); a pending request is overdue after it.
	WorkingDays int `toml:"working_days"`
	// Holidays are the days, besides Saturdays and Sundays, that are not
	// working days (YYYY-MM-DD): Tết, the public holidays and the days
	// the Prime Minister's yearly decision moves next to them.
	Holidays []string `toml:"holidays"`
}

// defaultHolidays are the weekdays off of 2026 and 2027 (provision
// keeps the same list with their names).
var defaultHolidays = []string{
	"2026-01-01", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20",
	"2026-04-27", "2026-04-30", "2026-05-01", "2026-09-01", "2026-09-02",
	"2027-01-01", "2027-02-04", "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10",
	"2027-04-16", "2027-04-30", "2027-05-03", "2027-09-02", "2027-09-03",
}

func defaultRequests() Requests {
	return Requests{WorkingDays: 3, Holidays: append([]string(nil), defaultHolidays...)}
}

func (r Requests) validate() error {
	if r.WorkingDays < 1 || r.WorkingDays > 60 {
		return fmt.Errorf("requests.working_days must be between 1 and 60")
	}
	for _, h := range r.Holidays {
		if _, err := time.Parse(time.DateOnly, h); err != nil {
			return fmt.Errorf("requests.holidays: %q is not YYYY-MM-DD", h)
		}
	}
	return nil
}
