package soak

import (
	"fmt"
	"io"
	"slices"
)

// Report prints the result as the Markdown rows the README keeps.
func (r *Result) Report(w io.Writer, cfg Config) {
	fmt.Fprintf(w, "| soak: %v, %.0f msg/s SMTP, %d IMAP + %d POP3 + %d web clients, kill -9 every %v | |\n|---|---|\n",
		cfg.Duration, cfg.Rate, cfg.IMAP, cfg.POP3, cfg.Web, cfg.KillEvery)
	fmt.Fprintf(w, "| messages answered 250 | %d |\n| found once | %d |\n| lost | %d |\n| duplicated | %d |\n", r.Acked, r.Found, r.Lost, r.Duplicates)
	fmt.Fprintf(w, "| kill -9 and restarts | %d |\n", r.Kills)
	clean := "clean"
	if !r.StorageClean {
		clean = "PROBLEMS"
	}
	fmt.Fprintf(w, "| storage check | %s |\n", clean)
	fmt.Fprintf(w, "| IMAP / POP3 / web operations | %d / %d / %d |\n| client errors (around kills) | %d |\n",
		r.IMAPOps, r.POP3Ops, r.WebOps, r.ClientErrors)
	for seg := 0; seg <= r.Kills; seg++ {
		var rss []int64
		var fds []int
		for _, s := range r.Samples {
			if s.Segment == seg {
				rss = append(rss, s.RSSBytes)
				fds = append(fds, s.OpenFDs)
			}
		}
		if len(rss) < 2 {
			continue
		}
		// The first minute warms caches; what matters is the rest.
		skip := min(len(rss)/4, 12)
		rss, fds = rss[skip:], fds[skip:]
		fmt.Fprintf(w, "| segment %d: RSS min–max (MiB), open files min–max | %.0f–%.0f, %d–%d |\n", seg,
			float64(slices.Min(rss))/(1<<20), float64(slices.Max(rss))/(1<<20), slices.Min(fds), slices.Max(fds))
	}
}

// Healthy reports whether the run kept every promise: nothing lost,
// nothing duplicated, a clean store.
func (r *Result) Healthy() bool {
	return r.Acked > 0 && r.Lost == 0 && r.Duplicates == 0 && r.StorageClean
}
