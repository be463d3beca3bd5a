package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"congvu/directory"
	"congvu/groups"
	"congvu/internal/config"
	"congvu/internal/server"
	"congvu/policy"
	"congvu/storage"
	"congvu/web/twofactor"
	"congvu/web/webdb"
)

// Admin commands of the policy engine. They run beside the server: they
// open the policy database (SQLite, WAL), the directory and, for digests,
// the mail store, all of which tolerate a second process.

// policyTools is what the admin commands open.
type policyTools struct {
	cfg config.Config
	db  *policy.DB
	dir directory.Writer
	loc *time.Location
}

func openPolicyTools(path string, stderr io.Writer) (*policyTools, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	loc, err := policy.LoadLocation(cfg.Policy.TimeZone)
	if err != nil {
		return nil, err
	}
	db, err := policy.OpenDB(cfg.Path(cfg.Policy.DBPath))
	if err != nil {
		return nil, err
	}
	dir, err := server.OpenDirectory(cfg, server.NewLogger(config.Log{Format: "text", Level: "warn"}, stderr))
	if err != nil {
		db.Close()
		return nil, err
	}
	return &policyTools{cfg: cfg, db: db, dir: dir, loc: loc}, nil
}

func (p *policyTools) Close() error { return errors.Join(p.dir.Close(), p.db.Close()) }

// actor names who ran an admin command in the audit log.
func actor() string {
	u := os.Getenv("SUDO_USER")
	if u == "" {
		u = os.Getenv("USER")
	}
	if u == "" {
		u = "unknown"
	}
	return "cli:" + u
}

const auditUsage = `usage:
  congvu audit --config FILE [--subject ADDRESS|IP] [--action A] [--rule R] [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--limit N] [--format text|csv]
`

// cmdAudit lists audit entries, newest first.
func cmdAudit(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("audit", "congvu audit --config FILE [filters]", stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	var q policy.AuditQuery
	fs.StringVar(&q.Subject, "subject", "", "account address or client IP")
	fs.StringVar(&q.Action, "action", "", "reject, defer, lock, unlock, retire, send-lock, ...")
	fs.StringVar(&q.Rule, "rule", "", "lockout, ip-throttle, send-rate, ...")
	since := fs.String("since", "", "first day (YYYY-MM-DD, local time)")
	until := fs.String("until", "", "last day (YYYY-MM-DD, local time)")
	fs.IntVar(&q.Limit, "limit", 100, "at most this many entries")
	format := fs.String("format", "text", "text or csv")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	p, err := openPolicyTools(*path, stderr)
	if err != nil {
		return err
	}
	defer p.Close()
	if *since != "" {
		d, err := policy.ParseDay(*since)
		if err != nil {
			return err
		}
		q.Since = d.Start(p.loc)
	}
	if *until != "" {
		d, err := policy.ParseDay(*until)
		if err != nil {
			return err
		}
		q.Until = (d + 1).Start(p.loc)
	}
	list, err := p.db.Audit(context.Background(), q)
	if err != nil {
		return err
	}
	if *format == "csv" {
		io.WriteString(stdout, "\ufeff")
		cw := csv.NewWriter(stdout)
		cw.UseCRLF = true
		cw.Write([]string{"time", "actor", "subject", "action", "rule", "protocol", "ip", "detail"})
		for _, e := range list {
			cw.Write([]string{e.At.In(p.loc).Format(time.RFC3339), e.Actor, e.Subject, e.Action, e.Rule, string(e.Protocol), e.IP, e.Detail})
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "THỜI GIAN/TIME\tAI/ACTOR\tĐỐI TƯỢNG/SUBJECT\tHÀNH ĐỘNG/ACTION\tQUY TẮC/RULE\tGIAO THỨC\tIP\tCHI TIẾT/DETAIL")
	for _, e := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.In(p.loc).Format("2006-01-02 15:04:05"), e.Actor, e.Subject,
			e.Action, e.Rule, e.Protocol, e.IP, e.Detail)
	}
	return tw.Flush()
}

const accountUsage = `usage:
  congvu account show --config FILE ADDRESS
  congvu account lock|unlock|retire|leave --config FILE [--reason TEXT] ADDRESS
  congvu account retention --config FILE [--all]
  congvu account lock-sending|unlock-sending --config FILE [--reason TEXT] ADDRESS
  congvu account move --config FILE [--reason TEXT] ADDRESS UNIT
  congvu account twofactor-off --config FILE --reason TEXT ADDRESS
`

// accountSynopsis completes "congvu account VERB" in each verb's usage.
var accountSynopsis = map[string]string{
	"show": " --config FILE ADDRESS", "lock": " --config FILE [--reason TEXT] ADDRESS",
	"unlock": " --config FILE [--reason TEXT] ADDRESS", "retire": " --config FILE [--reason TEXT] ADDRESS",
	"leave":        " --config FILE [--reason TEXT] ADDRESS",
	"lock-sending": " --config FILE [--reason TEXT] ADDRESS", "unlock-sending": " --config FILE [--reason TEXT] ADDRESS",
	"twofactor-off": " --config FILE --reason TEXT ADDRESS",
}

// cmdAccount changes account lifecycle states with an audit entry.
func cmdAccount(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, accountUsage)
		return flag.ErrHelp
	}
	verb := args[0]
	switch verb {
	case "move":
		return cmdAccountMove(args[1:], stdout, stderr)
	case "retention":
		return cmdAccountRetention(args[1:], stdout, stderr)
	}
	fs := newFlags("account "+verb, "congvu account "+verb+accountSynopsis[verb], stderr)
	if _, ok := accountSynopsis[verb]; !ok {
		fmt.Fprint(stderr, accountUsage)
		return fmt.Errorf("unknown account command %q", verb)
	}
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	reason := new(string)
	if verb != "show" {
		reason = fs.String("reason", "", "why (kept with the state and in the audit log)")
	}
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, accountUsage)
		return flag.ErrHelp
	}
	address := directory.NormalizeAddress(fs.Arg(0))
	p, err := openPolicyTools(*path, stderr)
	if err != nil {
		return err
	}
	defer p.Close()
	ctx := context.Background()
	state := map[string]directory.State{"lock": directory.StateLocked, "unlock": directory.StateActive,
		"retire": directory.StateRetired, "leave": directory.StateRetired}
	switch verb {
	case "show":
		a, err := p.dir.Lookup(ctx, address)
		if err != nil {
			return fmt.Errorf("%s: %w", address, err)
		}
		fmt.Fprintf(stdout, "%s\t%s\ttrạng thái/state: %s", a.Address, a.DisplayName, a.State)
		if a.StateReason != "" {
			fmt.Fprintf(stdout, " (%s)", a.StateReason)
		}
		if !a.StateChanged.IsZero() {
			fmt.Fprintf(stdout, " từ/since %s", a.StateChanged.In(p.loc).Format("2006-01-02 15:04"))
		}
		fmt.Fprintln(stdout)
		if l, err := p.db.SendLocked(ctx, a.Address); err != nil {
			return err
		} else if l != nil {
			fmt.Fprintf(stdout, "khoá gửi thư/sending locked %s: %s\n", l.At.In(p.loc).Format("2006-01-02 15:04"), l.Reason)
		}
		return nil
	case "lock", "unlock", "retire", "leave":
		if verb == "leave" && *reason == "" {
			*reason = "nghỉ việc / left"
		}
		if err := policy.SetAccountState(ctx, p.dir, p.db, actor(), address, state[verb], *reason); err != nil {
			return err
		}
		if state[verb] == directory.StateRetired {
			return printRetention(ctx, p, address, stdout)
		}
	case "lock-sending":
		if _, err := p.dir.Lookup(ctx, address); err != nil {
			return err
		}
		if err := policy.LockSendingCLI(ctx, p.db, actor(), address, cmpOr(*reason, "khoá bởi quản trị / locked by an administrator")); err != nil {
			return err
		}
	case "unlock-sending":
		if err := policy.UnlockSending(ctx, p.db, actor(), address, *reason); err != nil {
			return err
		}
	case "twofactor-off":
		if err := twoFactorOff(ctx, p, address, *reason); err != nil {
			return err
		}
	default:
		fmt.Fprint(stderr, accountUsage)
		return flag.ErrHelp
	}
	fmt.Fprintf(stdout, "%s: %s — xong / done\n", address, verb)
	return nil
}

// twoFactorOff turns an official's two-step sign-in off — the way back
// for one who lost both the authenticator and the recovery codes, after
// the operator has checked who is asking. App passwords go with it, as
// when the official turns it off; the reason is required and audited.
func twoFactorOff(ctx context.Context, p *policyTools, address, reason string) error {
	if reason == "" {
		return errors.New("--reason is required: say who asked and how they were identified")
	}
	if _, err := p.dir.Lookup(ctx, address); err != nil {
		return fmt.Errorf("%s: %w", address, err)
	}
	box, err := server.OpenSealBox(p.cfg)
	if err != nil {
		return err
	}
	web, err := webdb.Open(p.cfg.Path(p.cfg.Web.DBPath))
	if err != nil {
		return err
	}
	defer web.Close()
	tf, err := twofactor.New(web, box, nil)
	if err != nil {
		return err
	}
	on, err := tf.Enabled(ctx, address)
	if err != nil {
		return err
	}
	if !on {
		return fmt.Errorf("%s: %w", address, twofactor.ErrNotEnabled)
	}
	if err := tf.Disable(ctx, address); err != nil {
		return err
	}
	return p.db.AppendAudit(ctx, policy.AuditEntry{At: time.Now(), Actor: actor(), Subject: address,
		Action: policy.ActionTwoFactorOff, Detail: reason})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

const forwardUsage = `usage:
  congvu forward set --config FILE ADDRESS TARGET
  congvu forward clear --config FILE ADDRESS
  congvu forward list --config FILE
A running server applies a change made here within 5 seconds
(máy chủ đang chạy áp dụng thay đổi trong vòng 5 giây).
`

// cmdForward manages auto-forwarding; targets outside the state mail
// system (policy.state_domains and the local domains) are refused.
func cmdForward(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, forwardUsage)
		return flag.ErrHelp
	}
	verb := args[0]
	fs := newFlags("forward "+verb, "congvu forward "+verb+" --config FILE"+map[string]string{"set": " ADDRESS TARGET", "clear": " ADDRESS", "list": ""}[verb], stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	want := map[string]int{"set": 2, "clear": 1, "list": 0}
	if n, ok := want[verb]; !ok || fs.NArg() != n {
		fmt.Fprint(stderr, forwardUsage)
		return flag.ErrHelp
	}
	p, err := openPolicyTools(*path, stderr)
	if err != nil {
		return err
	}
	defer p.Close()
	ctx := context.Background()
	fw, err := policy.ForwardingFor(p.db, p.cfg.Policy, p.cfg.Server.LocalDomains)
	if err != nil {
		return err
	}
	if org := server.OrgDB(p.dir); org != nil {
		// A group target is checked as delivery will (groups.Expander).
		fw.WithGroups(p.dir, groups.New(p.dir, org, fw.IsStateDomain, nil))
	}
	switch verb {
	case "set":
		a, err := p.dir.Lookup(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		if err := fw.Set(ctx, actor(), a, fs.Arg(1)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s → %s\n", a.Address, directory.NormalizeAddress(fs.Arg(1)))
	case "clear":
		return fw.Clear(ctx, actor(), directory.NormalizeAddress(fs.Arg(0)))
	case "list":
		list, err := p.db.Forwards(ctx)
		if err != nil {
			return err
		}
		for _, f := range list {
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", f.Address, f.Target, f.Updated.In(p.loc).Format("2006-01-02 15:04"), f.Actor)
		}
	}
	return nil
}

const digestUsage = `usage:
  congvu digest send --config FILE [--day YYYY-MM-DD]   (default: yesterday)
`

// cmdDigest sends the daily digest now (the server sends it by itself at
// policy.digest_hour). Deliveries go into the store like the server's.
func cmdDigest(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "send" {
		fmt.Fprint(stderr, digestUsage)
		return flag.ErrHelp
	}
	fs := newFlags("digest send", "congvu digest send --config FILE [--day YYYY-MM-DD]", stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	dayFlag := fs.String("day", "", "the day to report (YYYY-MM-DD); default yesterday")
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	p, err := openPolicyTools(*path, stderr)
	if err != nil {
		return err
	}
	defer p.Close()
	day := policy.DayOf(time.Now(), p.loc) - 1
	if *dayFlag != "" {
		if day, err = policy.ParseDay(*dayFlag); err != nil {
			return err
		}
	}
	st, err := storage.Open(p.cfg.Path(p.cfg.Storage.Path), storage.Options{DefaultQuotaBytes: p.cfg.Storage.DefaultQuotaBytes})
	if err != nil {
		return err
	}
	defer st.Close()
	from := p.cfg.Policy.DigestFrom
	if from == "" {
		from = policy.DefaultSender(p.cfg.Server.LocalDomains)
	}
	d := policy.Digest{DB: p.db, Dir: p.dir, Store: st, Location: p.loc, From: from, Hostname: p.cfg.Server.Hostname}
	if reqs, err := server.NewRequests(p.cfg, p.dir, p.db, nil, nil, server.NewLogger(config.Log{Format: "text", Level: "warn"}, stderr)); err == nil {
		d.Overdue = reqs.OverdueLines
	}
	res, err := policy.SendDigests(context.Background(), d, day)
	for _, r := range res {
		fmt.Fprintf(stdout, "%s\t%s\tchưa truy cập/not accessed: %d\tđề nghị quá hạn/overdue requests: %d\tgửi tới/sent to: %s\n", day, r.Unit.Name,
			len(r.NotAccess), len(r.Overdue), strings.Join(r.Admins, ", "))
	}
	return err
}
