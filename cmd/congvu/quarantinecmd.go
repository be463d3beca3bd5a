package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"congvu/directory"
	"congvu/policy"
	"congvu/storage"
)

const quarantineUsage = `usage:
  congvu quarantine list --config FILE               messages the state-secret guard held
  congvu quarantine show --config FILE ID            the message's header and envelope
  congvu quarantine release --config FILE --reason TEXT ID
                                                     deliver to the local recipients after all (a false alarm)
  congvu quarantine delete --config FILE --reason TEXT ID
`

// cmdQuarantine lets operators see and decide on inbound messages held
// for a classification stamp. Release and delete are audited with the
// reason; release delivers to the local recipients only (mail with a
// state-secret stamp never leaves for other servers from here).
func cmdQuarantine(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, quarantineUsage)
		return flag.ErrHelp
	}
	verb := args[0]
	synopsis := map[string]string{"list": "", "show": " ID", "release": " --reason TEXT ID", "delete": " --reason TEXT ID"}
	syn, ok := synopsis[verb]
	if !ok {
		fmt.Fprint(stderr, quarantineUsage)
		return fmt.Errorf("unknown quarantine command %q", verb)
	}
	fs := newFlags("quarantine "+verb, "congvu quarantine "+verb+" --config FILE"+syn, stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	reason := new(string)
	if verb == "release" || verb == "delete" {
		reason = fs.String("reason", "", "why (required; kept in the audit log)")
	}
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	if (verb == "list") != (fs.NArg() == 0) || fs.NArg() > 1 {
		fs.Usage()
		return flag.ErrHelp
	}
	if (verb == "release" || verb == "delete") && *reason == "" {
		return fmt.Errorf("quarantine %s needs --reason", verb)
	}
	p, err := openPolicyTools(*path, stderr)
	if err != nil {
		return err
	}
	defer p.Close()
	dir := p.cfg.Path(p.cfg.Policy.SecretGuard.QuarantineDir)
	ctx := context.Background()
	switch verb {
	case "list":
		list, err := policy.ListQuarantine(dir)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "MÃ/ID\tTHỜI GIAN/TIME\tNGƯỜI GỬI/FROM\tNGƯỜI NHẬN/TO\tBYTE")
		for _, q := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d người nhận/rcpts\t%d\n", q.ID, q.At.In(p.loc).Format("2006-01-02 15:04"), q.From, len(q.Rcpts), q.Size)
		}
		return tw.Flush()
	case "show":
		q, err := policy.ShowQuarantine(dir, fs.Arg(0))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Mã/ID: %s\nThời gian/time: %s\nNgười gửi/from: %s\nNgười nhận/to: %v\n\n", q.ID,
			q.At.In(p.loc).Format("2006-01-02 15:04:05"), q.From, q.Rcpts)
		f, err := os.Open(q.Path)
		if err != nil {
			return err
		}
		defer f.Close()
		// The header only: the body may carry what the stamp protects.
		br := bufio.NewReader(f)
		for {
			line, err := br.ReadBytes('\n')
			if len(bytes.TrimRight(line, "\r\n")) == 0 || err != nil {
				break
			}
			stdout.Write(line)
		}
		return nil
	case "release":
		return releaseQuarantined(ctx, p, dir, fs.Arg(0), *reason, stdout)
	default:
		if err := policy.RemoveQuarantined(ctx, p.db, dir, fs.Arg(0), actor(), "quarantine-delete", *reason); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "đã xoá/deleted %s\n", fs.Arg(0))
		return nil
	}
}

// releaseQuarantined delivers a held message to its local recipients,
// then removes it from the quarantine with an audit entry.
func releaseQuarantined(ctx context.Context, p *policyTools, dir, id, reason string, stdout io.Writer) error {
	q, err := policy.ShowQuarantine(dir, id)
	if err != nil {
		return err
	}
	var rcpts []storage.Recipient
	for _, r := range q.Rcpts {
		a, err := p.dir.Lookup(ctx, directory.NormalizeAddress(r))
		if err != nil || a.State == directory.StateRetired {
			fmt.Fprintf(stdout, "bỏ qua/skipped %s: không phải hộp thư đang dùng ở đây / not a mailbox in use here\n", r)
			continue
		}
		rcpts = append(rcpts, storage.Recipient{User: a.Address, QuotaBytes: a.QuotaBytes})
	}
	if len(rcpts) == 0 {
		return fmt.Errorf("quarantine %s: no local recipient to deliver to", id)
	}
	st, err := storage.Open(p.cfg.Path(p.cfg.Storage.Path), storage.Options{DefaultQuotaBytes: p.cfg.Storage.DefaultQuotaBytes})
	if err != nil {
		return err
	}
	defer st.Close()
	f, err := os.Open(q.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	trace := fmt.Sprintf("X-Congvu-Released: %s by %s, %s\r\n", id, actor(), time.Now().Format(time.RFC1123Z))
	results, err := st.Deliver(ctx, io.MultiReader(bytes.NewReader([]byte(trace)), f), rcpts)
	if err != nil {
		return err
	}
	for i, r := range results {
		if r.Err != nil {
			return fmt.Errorf("delivering to %s: %w (the message stays in the quarantine)", rcpts[i].User, r.Err)
		}
		fmt.Fprintf(stdout, "đã chuyển/delivered to %s\n", rcpts[i].User)
	}
	return policy.RemoveQuarantined(ctx, p.db, dir, id, actor(), "quarantine-release", reason)
}
