package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"congvu/directory"
	"congvu/directory/orgdb"
	"congvu/internal/config"
	"congvu/internal/server"
	"congvu/policy"
	"congvu/provision"
	"congvu/reorg"
)

const requestUsage = `usage:
  congvu request list      --config FILE [--all]
  congvu request show      --config FILE ID
  congvu request approve   --config FILE [--passwords-out FILE] ID
  congvu request reject    --config FILE --reason TEXT ID
  congvu request passwords --config FILE --out FILE ID
`

// cmdRequest lists and decides provisioning requests (package provision)
// as a provincial operator: the same service the admin web uses.
func cmdRequest(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, requestUsage)
		return flag.ErrHelp
	}
	verb := args[0]
	synopsis := map[string]string{"list": " [--all]", "show": " ID", "approve": " [--passwords-out FILE] ID",
		"reject": " --reason TEXT ID", "passwords": " --out FILE ID"}
	syn, ok := synopsis[verb]
	if !ok {
		fmt.Fprint(stderr, requestUsage)
		return fmt.Errorf("unknown request command %q", verb)
	}
	fs := newFlags("request "+verb, "congvu request "+verb+" --config FILE"+syn, stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	all := fs.Bool("all", false, "list decided requests too")
	reason := fs.String("reason", "", "why the request is rejected (the unit reads it)")
	out := fs.String("out", "", "where to write the initial passwords (mode 0600)")
	fs.StringVar(out, "passwords-out", "", "where to write the initial passwords of new accounts (mode 0600)")
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	want := 1
	if verb == "list" {
		want = 0
	}
	if fs.NArg() != want {
		fmt.Fprint(stderr, requestUsage)
		return flag.ErrHelp
	}
	var id int64
	if want == 1 {
		n, err := strconv.ParseInt(strings.TrimPrefix(fs.Arg(0), "#"), 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("%q is not a request number", fs.Arg(0))
		}
		id = n
	}
	if verb == "passwords" && *out == "" {
		return errors.New("--out is required: initial passwords are handed over once / cần --out")
	}
	p, err := openPolicyTools(*path, stderr)
	if err != nil {
		return err
	}
	defer p.Close()
	log := server.NewLogger(config.Log{Format: "text", Level: "warn"}, stderr)
	svc, err := server.NewRequests(p.cfg, p.dir, p.db, cliStates{p}, cliReorg{cfg: p.cfg, stderr: stderr}, log)
	if err != nil {
		return err
	}
	ctx := context.Background()
	by := provision.Actor{Address: actor(), Operator: true}
	switch verb {
	case "list":
		q := orgdb.RequestQuery{States: []string{orgdb.RequestPending}}
		if *all {
			q.States = nil
		}
		list, err := svc.List(ctx, q)
		if err != nil {
			return err
		}
		now := time.Now()
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SỐ/ID\tLOẠI/KIND\tĐƠN VỊ/UNIT\tNGƯỜI GỬI/FILED BY\tHẠN/DUE\tTRẠNG THÁI/STATE")
		for _, r := range list {
			state := r.State
			if r.Overdue(now) {
				state += " QUÁ HẠN/OVERDUE"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Kind, r.UnitCode, r.FiledBy,
				r.Due.Add(-time.Second).In(provision.Location()).Format(time.DateOnly), state)
		}
		return tw.Flush()
	case "show":
		r, err := svc.Get(ctx, id)
		if err != nil {
			return err
		}
		printRequest(stdout, r)
		return nil
	case "reject":
		return svc.Reject(ctx, by, id, *reason)
	case "approve":
		r, err := svc.Get(ctx, id)
		if err != nil {
			return err
		}
		if r.Kind == provision.KindNew && r.Delivery == provision.DeliverFile && *out == "" {
			return errors.New("the unit asked for the initial passwords as a file: give --passwords-out FILE / đơn vị chọn nhận mật khẩu bằng tệp: cần --passwords-out")
		}
		outcome, err := svc.Approve(ctx, by, id)
		if outcome != nil {
			fmt.Fprintln(stdout, outcome.Result)
		}
		if outcome != nil && len(outcome.Created) > 0 && *out != "" {
			if werr := writePasswords(ctx, svc, by, id, *out); werr != nil && err == nil {
				err = werr
			} else if werr == nil {
				fmt.Fprintf(stdout, "Mật khẩu ban đầu / initial passwords: %s (0600)\n", *out)
			}
		}
		return err
	}
	if err := writePasswords(ctx, svc, by, id, *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Mật khẩu ban đầu / initial passwords: %s (0600)\n", *out)
	return nil
}

// writePasswords takes a request's initial passwords (once) into a new
// mode-0600 file.
func writePasswords(ctx context.Context, svc *provision.Service, by provision.Actor, id int64, path string) error {
	csv, ok, err := svc.TakePasswords(ctx, by, id)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("no initial passwords wait for this request (none, or handed over already) / không còn mật khẩu ban đầu")
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("%w (the passwords are lost: reset the accounts' passwords)", err)
	}
	if _, err := io.WriteString(f, csv); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func printRequest(w io.Writer, r *provision.Request) {
	fmt.Fprintf(w, "Đề nghị/request #%d: %s, đơn vị/unit %s\n", r.ID, r.Kind, r.UnitCode)
	fmt.Fprintf(w, "Gửi/filed: %s %s từ/from %s\n", r.FiledBy, r.Filed.In(provision.Location()).Format("2006-01-02 15:04"), r.FiledIP)
	fmt.Fprintf(w, "Hạn/due: hết ngày/end of %s\n", r.Due.Add(-time.Second).In(provision.Location()).Format(time.DateOnly))
	fmt.Fprintf(w, "Trạng thái/state: %s", r.State)
	if r.DecidedBy != "" {
		fmt.Fprintf(w, " bởi/by %s %s", r.DecidedBy, r.Decided.In(provision.Location()).Format("2006-01-02 15:04"))
	}
	fmt.Fprintln(w)
	if r.Reason != "" {
		fmt.Fprintf(w, "Lý do/reason: %s\n", r.Reason)
	}
	if r.Note != "" {
		fmt.Fprintf(w, "Ghi chú/note: %s\n", r.Note)
	}
	for _, row := range r.Body.Rows {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", row.FullName, row.Unit, row.Title, row.Phone)
	}
	if len(r.Body.Rows) == 0 {
		fmt.Fprintln(w, "  "+r.Describe())
	}
	if r.Result != "" {
		fmt.Fprintf(w, "Kết quả/result:\n%s\n", r.Result)
	}
}

// cliStates is `congvu account lock`'s audited state change.
type cliStates struct{ p *policyTools }

func (s cliStates) SetAccountState(ctx context.Context, actor, address string, st directory.State, reason string) error {
	return policy.SetAccountState(ctx, s.p.dir, s.p.db, actor, address, st, reason)
}

// cliReorg runs a transfer as `congvu account move` does (handed to the
// running server, or run here when none runs).
type cliReorg struct {
	cfg    config.Config
	stderr io.Writer
}

func (c cliReorg) Run(ctx context.Context, kind, _ string, a reorg.Args) (*reorg.Result, error) {
	var out strings.Builder
	err := runReorg(c.cfg, kind, a, &out, c.stderr)
	return &reorg.Result{Notes: []string{strings.TrimSpace(out.String())}}, err
}
