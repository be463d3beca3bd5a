package policy

import (
	"time"

	"congvu/directory"
)

// History gives the directory as it was at an instant: the units and the
// membership recorded by reorganisations (directory/orgdb.DB). Reports of
// a past period group officials by the unit they belonged to then, so a
// commune merged since still shows with its officials.
type History interface {
	AsOf(dir directory.Directory, at time.Time) directory.Directory
}

// DirectoryAt is dir as it was on the last day of a report period ending
// on day last (its final instant in loc): the directory of that period.
// A period that has not ended yet (last is today or later), or no
// history, is today's directory.
func DirectoryAt(dir directory.Directory, h History, last Day, now time.Time, loc *time.Location) directory.Directory {
	if h == nil || last >= DayOf(now, loc) {
		return dir
	}
	return h.AsOf(dir, (last + 1).Start(loc).Add(-time.Nanosecond))
}
