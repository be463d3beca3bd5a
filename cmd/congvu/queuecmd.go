package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"congvu/internal/config"
	"congvu/queue"
)

const queueUsage = `usage:
  congvu queue list --config FILE           messages waiting, and why
  congvu queue show --config FILE ID        one message: envelope, recipients, header
  congvu queue retry --config FILE ID|--all try again now
  congvu queue delete --config FILE ID      remove without notifying the sender
`

// cmdQueue inspects and changes the outbound queue. It works while the
// server runs (the index is SQLite in WAL mode); the server picks up a retry
// within a few seconds.
func cmdQueue(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, queueUsage)
		return flag.ErrHelp
	}
	sub := args[0]
	fs := newFlags("queue "+sub, "congvu queue "+sub+" --config FILE"+map[string]string{"show": " ID", "retry": " ID|--all", "delete": " ID"}[sub], stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	all := new(bool)
	if sub == "retry" {
		all = fs.Bool("all", false, "every message instead of one ID")
	}
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	id := strings.ToUpper(fs.Arg(0))
	switch {
	case sub == "list" && fs.NArg() == 0:
	case sub == "retry" && (fs.NArg() == 1) != *all:
	case (sub == "show" || sub == "delete") && fs.NArg() == 1:
	default:
		fmt.Fprint(stderr, queueUsage)
		return flag.ErrHelp
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	adm, err := queue.OpenAdmin(cfg.Path(cfg.Outbound.QueuePath))
	if err != nil {
		if !cfg.SMTP.Outbound {
			return fmt.Errorf("%w (outbound delivery is off: smtp.outbound = false)", err)
		}
		return err
	}
	defer adm.Close()
	ctx := context.Background()
	notFound := func(err error) error {
		if errors.Is(err, queue.ErrNotFound) {
			return fmt.Errorf("không có thư %s trong hàng đợi / no message %s in the queue", id, id)
		}
		return err
	}
	switch sub {
	case "list":
		es, err := adm.List(ctx)
		if err != nil {
			return err
		}
		printQueue(stdout, es, time.Now())
	case "show":
		e, err := adm.Show(ctx, id)
		if err != nil {
			return notFound(err)
		}
		printQueue(stdout, []queue.Entry{*e}, time.Now())
		if h, err := adm.Header(ctx, id); err == nil {
			fmt.Fprintf(stdout, "\nTiêu đề thư / message header:\n%s", h)
		}
	case "retry":
		n, err := adm.Retry(ctx, id)
		if err != nil {
			return notFound(err)
		}
		fmt.Fprintf(stdout, "%d người nhận sẽ được gửi lại ngay / %d recipient(s) due now\n", n, n)
	case "delete":
		if err := adm.Delete(ctx, id); err != nil {
			return notFound(err)
		}
		fmt.Fprintf(stdout, "đã xoá / deleted %s\n", id)
	}
	return nil
}

// printQueue writes a line per recipient with its state, then, for those
// tried already, the last attempt: which server, how the connection was
// protected and what it answered.
func printQueue(w io.Writer, es []queue.Entry, now time.Time) {
	if len(es) == 0 {
		fmt.Fprintln(w, "Hàng đợi trống / queue is empty")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAGE\tSIZE\tFROM\tRECIPIENT\tSTATE\tATTEMPTS\tNEXT")
	waiting := 0
	var details []string
	for _, e := range es {
		from := e.From
		if from == "" {
			from = "<> (notification)"
		}
		for i, r := range e.Rcpts {
			id, age, size, f := e.ID, round(now.Sub(e.Created)), fmt.Sprint(e.Size), from
			if i > 0 {
				id, age, size, f = "", "", "", ""
			}
			next := "-"
			if r.State == queue.StateQueued {
				waiting++
				next = "now"
				if d := r.NextAttempt.Sub(now); d > 0 {
					next = "in " + round(d)
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", id, age, size, f, r.Rcpt, stateLabel(r), r.Attempts, next)
			if r.LastError != "" {
				via := ""
				if r.RemoteMTA != "" {
					via = " via " + r.RemoteMTA
				}
				if r.Security != "" {
					via += " (" + r.Security + ")"
				}
				details = append(details, fmt.Sprintf("  %s <%s>: %s ago%s:\n      %s", e.ID, r.Rcpt, round(now.Sub(r.LastAttempt)), via, r.LastError))
			}
		}
	}
	tw.Flush()
	if len(details) > 0 {
		fmt.Fprintln(w, "\nLần thử gần nhất / last attempts:")
		for _, d := range details {
			fmt.Fprintln(w, d)
		}
	}
	fmt.Fprintf(w, "%d thư, %d người nhận đang chờ / %d message(s), %d recipient(s) waiting\n", len(es), waiting, len(es), waiting)
}

func stateLabel(r queue.RecipientStatus) string {
	switch {
	case r.State == queue.StateDelivered:
		return "đã gửi/delivered"
	case r.State == queue.StateFailed:
		return "lỗi/failed"
	case r.Attempts > 0:
		return "hoãn/deferred"
	default:
		return "chờ/waiting"
	}
}

func round(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return d.Round(time.Minute).String()
	default:
		return d.Round(time.Hour).String()
	}
}
