package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"congvu/directory"
	"congvu/directory/orgdb"
	"congvu/internal/config"
	"congvu/internal/server"
	"congvu/policy"
	"congvu/reorg"
	"congvu/sieve"
	"congvu/storage"
	"congvu/web/webdb"
)

const unitUsage = `usage:
  congvu unit list   --config FILE
  congvu unit merge  --config FILE FROM INTO
  congvu unit rename --config FILE [--name NAME] [--abbr ABBR] CODE
  congvu unit move   --config FILE [--kind division] CODE NEWPARENT
  congvu unit set-headcount --config FILE CODE N
  congvu unit dissolve --config FILE [--reason TEXT] CODE
`

const domainUsage = `usage:
  congvu domain alias add    --config FILE OLD NEW
  congvu domain alias remove --config FILE OLD
  congvu domain alias list   --config FILE [--days N] [--by day|week]
`

// cmdUnit reorganises units: merge, rename, move (issue 14).
func cmdUnit(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, unitUsage)
		return flag.ErrHelp
	}
	verb := args[0]
	synopsis := map[string]string{"list": "", "merge": " FROM INTO", "rename": " [--name NAME] [--abbr ABBR] CODE",
		"move": " [--kind division] CODE NEWPARENT", "set-headcount": " CODE N", "dissolve": " [--reason TEXT] CODE"}
	syn, ok := synopsis[verb]
	if !ok {
		fmt.Fprint(stderr, unitUsage)
		return fmt.Errorf("unknown unit command %q", verb)
	}
	fs := newFlags("unit "+verb, "congvu unit "+verb+" --config FILE"+syn, stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	var name, abbr, kind, reason *string
	switch verb {
	case "dissolve":
		reason = fs.String("reason", "", "the decision dissolving the unit (kept with each account's retirement)")
	case "rename":
		name = fs.String("name", "", "the unit's new official name")
		abbr = fs.String("abbr", "", "its new address abbreviation (addresses under it change; the old ones stay aliases)")
	case "move":
		kind = fs.String("kind", "", "its kind under the new parent: department, commune or division (default unchanged)")
	}
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	want := map[string]int{"list": 0, "merge": 2, "rename": 1, "move": 2, "set-headcount": 2, "dissolve": 1}[verb]
	if fs.NArg() != want {
		fmt.Fprint(stderr, unitUsage)
		return flag.ErrHelp
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	switch verb {
	case "list":
		return listUnits(cfg, stdout, stderr)
	case "set-headcount":
		return setHeadcount(cfg, fs.Arg(0), fs.Arg(1), stdout, stderr)
	case "dissolve":
		return runReorg(cfg, reorg.KindDissolveUnit, reorg.Args{Unit: fs.Arg(0), Reason: *reason}, stdout, stderr)
	case "merge":
		return runReorg(cfg, reorg.KindMergeUnits, reorg.Args{From: fs.Arg(0), Into: fs.Arg(1)}, stdout, stderr)
	case "rename":
		if *name == "" && *abbr == "" {
			return errors.New("give --name or --abbr")
		}
		return runReorg(cfg, reorg.KindRenameUnit, reorg.Args{Unit: fs.Arg(0), Name: *name, Abbr: *abbr}, stdout, stderr)
	default:
		return runReorg(cfg, reorg.KindMoveUnit, reorg.Args{Unit: fs.Arg(0), Parent: fs.Arg(1), Kind: *kind}, stdout, stderr)
	}
}

// listUnits prints the organisation tree with each unit's accounts.
func listUnits(cfg config.Config, stdout, stderr io.Writer) error {
	dir, err := server.OpenDirectory(cfg, server.NewLogger(config.Log{Format: "text", Level: "warn"}, stderr))
	if err != nil {
		return err
	}
	defer dir.Close()
	ctx := context.Background()
	units, err := dir.Units(ctx)
	if err != nil {
		return err
	}
	all, err := dir.Accounts(ctx, "")
	if err != nil {
		return err
	}
	count := map[string]int{}
	for _, a := range all {
		if a.State != directory.StateRetired {
			count[a.UnitCode]++
		}
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MÃ/CODE\tTÊN/NAME\tVIẾT TẮT/ABBR\tLOẠI/KIND\tTÀI KHOẢN/ACCOUNTS")
	directory.NewTree(units).Walk("", func(u directory.Unit, depth int) {
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%d\n", strings.Repeat("  ", depth), u.Code, u.Name, u.Abbr, u.Kind, count[u.Code])
	})
	return tw.Flush()
}

// cmdDomain manages domain aliases.
func cmdDomain(args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "alias" {
		fmt.Fprint(stderr, domainUsage)
		return flag.ErrHelp
	}
	verb := args[1]
	synopsis := map[string]string{"add": " OLD NEW", "remove": " OLD", "list": " [--days N] [--by day|week]"}
	syn, ok := synopsis[verb]
	if !ok {
		fmt.Fprint(stderr, domainUsage)
		return fmt.Errorf("unknown domain alias command %q", verb)
	}
	fs := newFlags("domain alias "+verb, "congvu domain alias "+verb+" --config FILE"+syn, stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	days, by := new(int), new(string)
	if verb == "list" {
		days = fs.Int("days", 30, "show the mail that still reached old addresses in the last N days")
		by = fs.String("by", "week", "per-domain counts by day or week")
	}
	if err := parseFlags(fs, args[2:], stdout); err != nil {
		return err
	}
	if fs.NArg() != map[string]int{"add": 2, "remove": 1, "list": 0}[verb] {
		fmt.Fprint(stderr, domainUsage)
		return flag.ErrHelp
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	switch verb {
	case "add":
		return runReorg(cfg, reorg.KindDomainAliasAdd, reorg.Args{Old: fs.Arg(0), New: fs.Arg(1)}, stdout, stderr)
	case "remove":
		return runReorg(cfg, reorg.KindDomainAliasRemove, reorg.Args{Old: fs.Arg(0)}, stdout, stderr)
	}
	step := map[string]int{"day": 1, "week": 7}[*by]
	if step == 0 || *days <= 0 || *days > 3660 {
		return fmt.Errorf("--by is day or week and --days 1 to 3660")
	}
	return listDomainAliases(cfg, *days, step, stdout, stderr)
}

// listDomainAliases prints the domain aliases, then the old addresses
// (alias domains and transitional addresses) that still receive mail.
func listDomainAliases(cfg config.Config, days, step int, stdout, stderr io.Writer) error {
	dir, err := server.OpenDirectory(cfg, server.NewLogger(config.Log{Format: "text", Level: "warn"}, stderr))
	if err != nil {
		return err
	}
	defer dir.Close()
	org := server.OrgDB(dir)
	ctx := context.Background()
	aliases, err := org.DomainAliases(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TÊN MIỀN CŨ/OLD\tTÊN MIỀN MỚI/NEW\tTỪ/SINCE\tBỞI/BY")
	for _, a := range aliases {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Old, a.New, a.Created.Local().Format("2006-01-02"), a.Actor)
	}
	tw.Flush()
	traffic, err := org.TrafficSince(ctx, time.Now().AddDate(0, 0, -days))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nThư còn gửi đến địa chỉ cũ trong %d ngày / mail still reaching old addresses in the last %d days:\n", days, days)
	byDomain := map[string]int64{}
	tw = tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ĐỊA CHỈ CŨ/OLD ADDRESS\tTHƯ/MESSAGES\tGẦN NHẤT/LAST")
	for _, t := range traffic {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", t.Address, t.Messages, t.Last.Format("2006-01-02"))
		byDomain[directory.Domain(t.Address)] += t.Messages
	}
	tw.Flush()
	to := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	per, err := org.TrafficByDomain(ctx, to.AddDate(0, 0, -days), to, step)
	if err != nil {
		return err
	}
	vi, en := map[int]string{1: "ngày", 7: "tuần"}[step], map[int]string{1: "day", 7: "week"}[step]
	fmt.Fprintf(stdout, "\nTheo tên miền, số thư (người gửi khác nhau) mỗi %s / per domain, messages (distinct senders) per %s:\n", vi, en)
	tw = tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprint(tw, "TÊN MIỀN CŨ/OLD DOMAIN\tCHUYỂN ĐẾN/TO")
	if len(per) > 0 {
		for _, p := range per[0].Periods {
			fmt.Fprintf(tw, "\t%s", p.From.Format("01-02"))
		}
	}
	fmt.Fprintln(tw, "\tTỔNG/TOTAL\tĐỊA CHỈ CŨ/OLD ADDRESSES")
	for _, d := range per {
		fmt.Fprintf(tw, "%s\t%s", d.Domain, cmpOr(d.Alias, "(địa chỉ chuyển tiếp/transitional)"))
		for _, p := range d.Periods {
			fmt.Fprintf(tw, "\t%d (%d)", p.Messages, p.Senders)
		}
		fmt.Fprintf(tw, "\t%d (%d)\t%d\n", d.Messages, d.Senders, d.Addresses)
	}
	tw.Flush()
	for _, a := range aliases {
		fmt.Fprintf(stdout, "@%s: %d thư/messages\n", a.Old, byDomain[a.Old])
	}
	return nil
}

// cmdAccountMove transfers an official to another unit.
func cmdAccountMove(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("account move", "congvu account move --config FILE [--reason TEXT] ADDRESS UNIT", stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	reason := fs.String("reason", "điều động / transfer", "why (kept in the audit log)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return flag.ErrHelp
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	return runReorg(cfg, reorg.KindMoveAccount, reorg.Args{Address: fs.Arg(0), Unit: fs.Arg(1), Reason: *reason}, stdout, stderr)
}

// runReorg carries out a reorganisation. Only the process that owns the
// mail store may rename mailboxes: with the server running, the operation
// is handed to it as a job and this command waits for its result;
// otherwise it runs here.
func runReorg(cfg config.Config, kind string, args reorg.Args, stdout, stderr io.Writer) error {
	log := server.NewLogger(config.Log{Format: "text", Level: "warn"}, stderr)
	dir, err := server.OpenDirectory(cfg, log)
	if err != nil {
		return err
	}
	defer dir.Close()
	ctx := context.Background()
	if serverRunning(cfg) {
		return handToServer(ctx, server.OrgDB(dir), kind, args, stdout)
	}
	mail, err := storage.Open(cfg.Path(cfg.Storage.Path), storage.Options{DefaultQuotaBytes: cfg.Storage.DefaultQuotaBytes, Logger: log})
	if err != nil {
		return err
	}
	defer mail.Close()
	pdb, err := policy.OpenDB(cfg.Path(cfg.Policy.DBPath))
	if err != nil {
		return err
	}
	defer pdb.Close()
	sv, err := sieve.OpenStore(cfg.Path(cfg.Sieve.Path), sieve.Limits{})
	if err != nil {
		return err
	}
	web, err := webdb.Open(cfg.Path(cfg.Web.DBPath))
	if err != nil {
		return err
	}
	defer web.Close()
	svc, err := server.NewReorg(cfg, dir, mail, server.ReorgStores{Policy: pdb, Sieve: sv, Web: web}, nil, log)
	if err != nil {
		return err
	}
	res, err := svc.Run(ctx, kind, actor(), args)
	if res != nil {
		fmt.Fprint(stdout, res)
	}
	return err
}

// handToServer enqueues the operation and waits for the server's result.
func handToServer(ctx context.Context, org *orgdb.DB, kind string, args reorg.Args, stdout io.Writer) error {
	id, err := org.EnqueueJob(ctx, kind, args, actor())
	if err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		j, err := org.GetJob(ctx, id)
		if err != nil {
			return err
		}
		switch j.State {
		case orgdb.JobDone:
			fmt.Fprint(stdout, j.Result)
			return nil
		case orgdb.JobFailed:
			return errors.New(strings.TrimSpace(j.Result))
		}
	}
	return fmt.Errorf("the server has not finished job %d after 10 minutes; see its log", id)
}

// serverRunning reports whether the process in data_dir/congvu.pid lives.
func serverRunning(cfg config.Config) bool {
	b, err := os.ReadFile(filepath.Join(cfg.Server.DataDir, pidFileName))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return err == nil && pid > 1 && syscall.Kill(pid, 0) == nil
}

// setHeadcount records a unit's officials (biên chế) for the access
// report's coverage figure; 0 forgets it.
func setHeadcount(cfg config.Config, code, count string, stdout, stderr io.Writer) error {
	n, err := strconv.Atoi(count)
	if err != nil || n < 0 {
		return fmt.Errorf("biên chế phải là số người / the headcount must be a number of people: %q", count)
	}
	dir, err := server.OpenDirectory(cfg, server.NewLogger(config.Log{Format: "text", Level: "warn"}, stderr))
	if err != nil {
		return err
	}
	defer dir.Close()
	ctx := context.Background()
	units, err := dir.Units(ctx)
	if err != nil {
		return err
	}
	u, ok := directory.NewTree(units).Units[code]
	if !ok {
		return fmt.Errorf("không có đơn vị %q / no unit %q", code, code)
	}
	org := server.OrgDB(dir)
	if org == nil {
		return errors.New("the directory has no organisation store")
	}
	if err := org.SetHeadcount(ctx, code, n, actor()); err != nil {
		return err
	}
	db, err := policy.OpenDB(cfg.Path(cfg.Policy.DBPath))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.AppendAudit(ctx, policy.AuditEntry{At: time.Now(), Actor: actor(), Subject: code, Action: policy.ActionUnitChange,
		Rule: policy.RuleAdmin, Detail: fmt.Sprintf("biên chế / headcount %d", n)}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s (%s): biên chế / headcount %d\n", u.Name, code, n)
	return nil
}

// addCoverage adds the accounts issued / headcount figure to an access
// report where the organisation store knows headcounts.
func addCoverage(ctx context.Context, rep *policy.AccessReport, dir directory.Directory) error {
	org := server.OrgDB(dir)
	if org == nil {
		return nil
	}
	hc, err := org.Headcounts(ctx)
	if err != nil {
		return err
	}
	return policy.AddCoverage(ctx, rep, dir, hc)
}
