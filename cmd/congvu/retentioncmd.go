package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"congvu/policy"
)

// printRetention tells the operator what retiring address means: locked
// at once (the running server ends its open sessions within
// policy.session_check_seconds) and the mailbox kept by rank.
func printRetention(ctx context.Context, p *policyTools, address string, stdout io.Writer) error {
	a, err := p.dir.Lookup(ctx, address)
	if err != nil {
		return err
	}
	months := policy.RetentionOf(p.cfg.Policy, *a)
	fmt.Fprintf(stdout, "%s: đã khoá, máy chủ ngắt các phiên đang mở trong vài giây / locked, the server ends its open sessions within seconds\n", a.Address)
	if months <= 0 {
		fmt.Fprintf(stdout, "hộp thư được giữ / the mailbox is kept (%q)\n", a.Title)
		return nil
	}
	fmt.Fprintf(stdout, "hộp thư giữ %d tháng đến / mailbox kept %d months until %s (%q)\n",
		months, months, a.StateChanged.AddDate(0, months, 0).In(p.loc).Format(time.DateOnly), a.Title)
	return nil
}

// cmdAccountRetention lists the retired accounts and when the server's
// lifecycle job deletes their mailboxes (a dry run: nothing is deleted).
func cmdAccountRetention(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("account retention", "congvu account retention --config FILE [--all]", stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	all := fs.Bool("all", false, "also list mailboxes already deleted")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	p, err := openPolicyTools(*path, stderr)
	if err != nil {
		return err
	}
	defer p.Close()
	list, err := policy.RetentionSchedule(context.Background(), p.db, p.dir, p.cfg.Policy)
	if err != nil {
		return err
	}
	now := time.Now()
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ĐỊA CHỈ/ADDRESS\tCHỨC VỤ/TITLE\tNGHỈ/RETIRED\tTHÁNG/MONTHS\tXOÁ/DELETE\tTÌNH TRẠNG/STATUS")
	for _, r := range list {
		status, due := "chờ / waiting", r.Due.In(p.loc).Format(time.DateOnly)
		switch {
		case !r.Deleted.IsZero():
			if !*all {
				continue
			}
			status = "đã xoá / deleted " + r.Deleted.In(p.loc).Format(time.DateOnly)
		case r.Months <= 0:
			status, due = "giữ / kept", "-"
		case r.IsDue(now):
			status = "đến hạn, xoá ở lần chạy tới / due, deleted at the next run"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", r.Account.Address, r.Account.Title,
			r.Account.StateChanged.In(p.loc).Format(time.DateOnly), r.Months, due, status)
	}
	return tw.Flush()
}
