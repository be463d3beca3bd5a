package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"congvu/internal/server"
	"congvu/policy"
)

const reportUsage = `usage:
  congvu report access --config FILE [--unit CODE] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--inactive-days N] [--format csv|html|svg|png] [--out FILE]
  congvu report usage --config FILE [--unit CODE] [--period YYYY|YYYY-Qn|YYYY-MM] [--format csv|html] [--out FILE]
`

// reportSynopsis is each report's usage line.
var reportSynopsis = map[string]string{
	"access": "congvu report access --config FILE [--unit CODE] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--inactive-days N] [--format csv|html|svg|png] [--out FILE]",
	"usage":  "congvu report usage --config FILE [--unit CODE] [--period YYYY|YYYY-Qn|YYYY-MM] [--format csv|html] [--out FILE]",
}

// cmdReport writes access and usage reports.
func cmdReport(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "access" && args[0] != "usage") {
		fmt.Fprint(stderr, reportUsage)
		return flag.ErrHelp
	}
	kind := args[0]
	fs := newFlags("report "+kind, reportSynopsis[kind], stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	unit := fs.String("unit", "", "unit code (its sub-units included); default every unit")
	from, to, period := new(string), new(string), new(string)
	inactive := new(int)
	var format *string
	if kind == "access" {
		from = fs.String("from", "", "first day, YYYY-MM-DD (default today)")
		to = fs.String("to", "", "last day, YYYY-MM-DD (default --from)")
		inactive = fs.Int("inactive-days", 0, "list officials without access for this many days (default policy.rules.inactive_days)")
		format = fs.String("format", "csv", "csv, html, svg or png")
	} else {
		period = fs.String("period", "", "YYYY, YYYY-Qn or YYYY-MM (default this month)")
		format = fs.String("format", "csv", "csv or html")
	}
	out := fs.String("out", "", "output file (default stdout)")
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	p, err := openPolicyTools(*path, stderr)
	if err != nil {
		return err
	}
	defer p.Close()
	w := stdout
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	ctx := context.Background()
	if kind == "usage" {
		pf, pt := policy.MonthOf(policy.DayOf(time.Now(), p.loc)), policy.MonthOf(policy.DayOf(time.Now(), p.loc))
		if *period != "" {
			if pf, pt, err = policy.ParsePeriod(*period); err != nil {
				return err
			}
		}
		dir := policy.DirectoryAt(p.dir, server.History(p.dir), pt.Last(), time.Now(), p.loc)
		rep, err := policy.BuildUsageReport(ctx, p.db, dir, *unit, pf, pt)
		if err != nil {
			return err
		}
		switch *format {
		case "csv":
			err = policy.RenderUsageCSV(bw, rep)
		case "html":
			err = policy.RenderUsagePage(bw, rep)
		default:
			return fmt.Errorf("usage reports are csv or html, not %q", *format)
		}
		if err != nil {
			return err
		}
		return bw.Flush()
	}
	q := policy.AccessQuery{Unit: *unit, InactiveDays: *inactive}
	if q.InactiveDays <= 0 {
		q.InactiveDays = p.cfg.Policy.Rules.InactiveDays
	}
	q.From = policy.DayOf(time.Now(), p.loc)
	if *from != "" {
		if q.From, err = policy.ParseDay(*from); err != nil {
			return err
		}
	}
	q.To = q.From
	if *to != "" {
		if q.To, err = policy.ParseDay(*to); err != nil {
			return err
		}
	}
	start := time.Now()
	// A past period: officials in the units they belonged to then.
	rep, err := policy.BuildAccessReport(ctx, p.db, policy.DirectoryAt(p.dir, server.History(p.dir), q.To, time.Now(), p.loc), q, p.loc)
	if err != nil {
		return err
	}
	if err := addCoverage(ctx, rep, p.dir); err != nil {
		return err
	}
	switch *format {
	case "csv":
		err = policy.RenderAccessCSV(bw, rep)
	case "html":
		err = policy.RenderAccessPage(bw, rep)
	case "svg":
		err = policy.RenderAccessSVG(bw, rep)
	case "png":
		err = policy.RenderAccessPNG(bw, rep)
	default:
		return fmt.Errorf("--format must be csv, html, svg or png, not %q", *format)
	}
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "report: %d rows, %d days, %d officials listed, built in %s\n",
		len(rep.Rows), len(rep.Days), len(rep.Inactive), time.Since(start).Round(time.Millisecond))
	return nil
}
