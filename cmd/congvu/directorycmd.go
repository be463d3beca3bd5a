package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"congvu/directory/importer"
	"congvu/internal/config"
	"congvu/internal/demo"
	"congvu/internal/server"
	"congvu/policy"
	"congvu/reorg"
)

const directoryUsage = `usage:
  congvu directory demo --config FILE --out accounts.csv [--province CODE] [--domain DOMAIN]
  congvu directory import --config FILE --passwords-out FILE [--dry-run] [--units units.csv] [--domain DOMAIN] officials.csv|officials.xlsx
  congvu directory generate --province CODE|all [--seed N] [--min 20] [--max 40] --out officials.csv [--units-out units.csv]
`

// cmdDirectory runs directory administration:
//
//   - demo seeds the demo province into the configured directory (SQLite or
//     LDAP) and writes the generated credentials to a CSV file (mode 0600);
//     it is how a test or an evaluator fills a fresh OpenLDAP with
//     realistic officials.
//   - import loads officials from a CSV or XLSX (first sheet) file by the provincial address
//     convention (directory/importer); re-running it is safe.
//   - generate writes a realistic province (or all 34) as an import file.
func cmdDirectory(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, directoryUsage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "demo":
		return cmdDirectoryDemo(args[1:], stdout, stderr)
	case "import":
		return cmdDirectoryImport(args[1:], stdout, stderr)
	case "generate":
		return cmdDirectoryGenerate(args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, directoryUsage)
	return flag.ErrHelp
}

func cmdDirectoryDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("directory demo", "congvu directory demo --config FILE [--out FILE]", stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	out := fs.String("out", "demo-accounts.csv", "where to write address,password,role")
	province := fs.String("province", demo.DefaultProvinceCode, "province code from the 2025 unit list")
	domain := fs.String("domain", "", "mail domain (default: the first of server.local_domains)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if *domain == "" {
		*domain = cfg.Server.LocalDomains[0]
	}
	dir, err := server.OpenDirectory(cfg, server.NewLogger(cfg.Log, stderr))
	if err != nil {
		return err
	}
	creds, err := demo.Seed(context.Background(), dir, demo.Options{ProvinceCode: *province, Domain: *domain})
	if cerr := dir.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("seeding demo province: %w", err)
	}
	if err := writeCredentials(*out, creds); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d accounts seeded into the %s directory; credentials in %s\n", len(creds), cfg.Directory.Backend, *out)
	return nil
}

func cmdDirectoryImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("directory import", "congvu directory import --config FILE [--dry-run] FILE.csv|FILE.xlsx", stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	dryRun := fs.Bool("dry-run", false, "show what would be done without writing")
	pwOut := fs.String("passwords-out", "", "where to write address,password,role of new accounts (mode 0600)")
	unitsFile := fs.String("units", "", "units file (from `directory generate --units-out`): create the units that do not exist yet")
	domain := fs.String("domain", "", "mail domain (default: the first of server.local_domains)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, directoryUsage)
		return flag.ErrHelp
	}
	if *pwOut == "" && !*dryRun {
		return errors.New("--passwords-out is required: initial passwords are shown only once / cần --passwords-out để lưu mật khẩu ban đầu")
	}
	rows, readErr := readRows(fs.Arg(0))
	var bad importer.LineErrors
	if readErr != nil && !errors.As(readErr, &bad) {
		return fmt.Errorf("%s: %w", fs.Arg(0), readErr)
	}
	opts := importer.Options{DryRun: *dryRun}
	if *unitsFile != "" {
		f, err := os.Open(*unitsFile)
		if err != nil {
			return err
		}
		opts.Units, err = importer.ReadUnitsCSV(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *unitsFile, err)
		}
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	opts.Domain = cmp.Or(*domain, cfg.Server.LocalDomains[0])
	dir, err := server.OpenDirectory(cfg, server.NewLogger(cfg.Log, stderr))
	if err != nil {
		return err
	}
	ctx := context.Background()
	org := server.OrgDB(dir)
	if org != nil {
		if opts.Keys, err = org.PersonKeys(ctx); err != nil {
			dir.Close()
			return err
		}
	}
	rep, err := importer.Import(ctx, dir, rows, opts)
	if err == nil && rep != nil && !*dryRun && org != nil {
		// The keys of people matched or created; moved people's keys
		// follow them when the move renames them (reorg).
		for _, b := range rep.Keys {
			if err = org.SetPersonKey(ctx, b.Key, b.Address); err != nil {
				break
			}
		}
		for code, n := range rep.Headcounts {
			if err == nil {
				err = org.SetHeadcount(ctx, code, n, actor())
			}
		}
	}
	if cerr := dir.Close(); err == nil {
		err = cerr
	}
	if rep != nil {
		rep.Skipped = append(rep.Skipped, bad...)
		slices.SortStableFunc(rep.Skipped, func(a, b importer.LineError) int { return cmp.Compare(a.Line, b.Line) })
		// Written even after a directory error: the accounts written so far
		// exist with these passwords.
		if !*dryRun && len(rep.Created) > 0 {
			creds := make([]demo.Credential, len(rep.Created))
			for i, e := range rep.Created {
				creds[i] = demo.Credential{Address: e.Address, Password: e.Password, Role: string(e.Role)}
			}
			if werr := writeCredentials(*pwOut, creds); werr != nil && err == nil {
				err = werr
			}
		}
		printReport(stdout, rep, *dryRun, *pwOut)
	}
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if *dryRun {
		return nil
	}
	if err := auditImport(cfg, rep, filepath.Base(fs.Arg(0))); err != nil {
		return fmt.Errorf("import: audit log: %w", err)
	}
	// Transfers found by stable key: the same operation as `congvu account
	// move` (mailbox, password and history kept, old address an alias).
	for _, m := range rep.Moves {
		if err := runReorg(cfg, reorg.KindMoveAccount, reorg.Args{Address: m.Address, Unit: m.ToUnit,
			Reason: fmt.Sprintf("nhập danh sách / import %s, dòng/line %d", filepath.Base(fs.Arg(0)), m.Line)}, stdout, stderr); err != nil {
			return fmt.Errorf("import: moving %s to %s: %w", m.Address, m.ToUnit, err)
		}
	}
	return nil
}

func readRows(path string) ([]importer.Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return importer.ReadList(path, f)
}

// printReport shows the outcome of an import, Vietnamese first.
func printReport(w io.Writer, rep *importer.Report, dryRun bool, pwOut string) {
	const maxListed = 50
	if dryRun {
		fmt.Fprintln(w, "Chạy thử, không ghi gì vào danh bạ / dry run, nothing written")
	}
	fmt.Fprintf(w, "Đơn vị tạo mới / units created:       %d\n", len(rep.UnitsCreated))
	fmt.Fprintf(w, "Tài khoản tạo mới / accounts created: %d\n", len(rep.Created))
	fmt.Fprintf(w, "Cập nhật / updated:                   %d\n", len(rep.Updated))
	fmt.Fprintf(w, "Không đổi / unchanged:                %d\n", len(rep.Unchanged))
	fmt.Fprintf(w, "Bỏ qua / skipped:                     %d\n", len(rep.Skipped))
	fmt.Fprintf(w, "Trùng địa chỉ / address collisions:   %d\n", len(rep.Collisions))
	fmt.Fprintf(w, "Chuyển đơn vị / moves:                %d\n", len(rep.Moves))
	fmt.Fprintf(w, "Không còn trong danh sách / departures: %d\n", len(rep.Departures))
	for i, m := range rep.Moves {
		if i == maxListed {
			fmt.Fprintf(w, "  … %d người nữa / more moves\n", len(rep.Moves)-maxListed)
			break
		}
		fmt.Fprintf(w, "  chuyển / move dòng/line %d: %s <%s> %s → %s\n", m.Line, m.FullName, m.Address, m.FromUnit, m.ToUnit)
	}
	if dryRun {
		listed := 0
		for _, e := range rep.Created {
			if e.Line == 0 {
				continue
			}
			if listed == maxListed {
				fmt.Fprintln(w, "  … (tạo mới / new)")
				break
			}
			listed++
			fmt.Fprintf(w, "  tạo mới / new dòng/line %d: %s (%s): %s\n", e.Line, e.FullName, e.UnitCode, e.Address)
		}
	}
	for i, e := range rep.Departures {
		if i == maxListed {
			fmt.Fprintf(w, "  … %d người nữa / more departures\n", len(rep.Departures)-maxListed)
			break
		}
		fmt.Fprintf(w, "  không còn trong danh sách / departure: %s <%s> (%s)\n", e.FullName, e.Address, e.UnitCode)
	}
	if len(rep.Departures) > 0 {
		fmt.Fprintln(w, "  (không tự khoá; người đã nghỉ: congvu account lock --reason … ĐỊA_CHỈ / not locked; for those who left: congvu account lock --reason … ADDRESS)")
	}
	for i, s := range rep.Skipped {
		if i == maxListed {
			fmt.Fprintf(w, "  … %d dòng nữa / more lines\n", len(rep.Skipped)-maxListed)
			break
		}
		fmt.Fprintf(w, "  bỏ qua / skipped %v\n", s)
	}
	for i, c := range rep.Collisions {
		if i == maxListed {
			fmt.Fprintf(w, "  … %d địa chỉ nữa / more collisions\n", len(rep.Collisions)-maxListed)
			break
		}
		fmt.Fprintf(w, "  dòng/line %d: %s (%s): %s đã có, cấp / taken, assigned %s\n", c.Line, c.FullName, c.UnitCode, c.Wanted, c.Assigned)
	}
	if !dryRun && len(rep.Created) > 0 {
		fmt.Fprintf(w, "Mật khẩu ban đầu (phải đổi khi đăng nhập lần đầu) / initial passwords (must be changed at first login): %s\n", pwOut)
	}
}

func cmdDirectoryGenerate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("directory generate", "congvu directory generate [--province CODE|all] [--seed N] ...", stderr)
	province := fs.String("province", demo.DefaultProvinceCode, `province code from the 2025 unit list, or "all"`)
	seed := fs.Int64("seed", 1, "seed: the same seed gives the same officials")
	perMin := fs.Int("min", 20, "fewest officials per unit")
	perMax := fs.Int("max", 40, "most officials per unit")
	out := fs.String("out", "officials.csv", "import file to write")
	unitsOut := fs.String("units-out", "", "also write the units, for `directory import --units`")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	rows, units := importer.Generate(*province, *seed, *perMin, *perMax)
	if len(rows) == 0 {
		return fmt.Errorf("không có tỉnh %q / no province %q in the 2025 unit list", *province, *province)
	}
	if err := writeFile(*out, func(w io.Writer) error { return importer.WriteCSV(w, rows) }); err != nil {
		return err
	}
	if *unitsOut != "" {
		if err := writeFile(*unitsOut, func(w io.Writer) error { return importer.WriteUnitsCSV(w, units) }); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "%d cán bộ trong %d đơn vị / %d officials in %d units: %s\n", len(rows), len(units), len(rows), len(units), *out)
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// auditImport records what an import wrote: each account created or
// edited, and the import itself (moves are audited by reorg).
func auditImport(cfg config.Config, rep *importer.Report, file string) error {
	db, err := policy.OpenDB(cfg.Path(cfg.Policy.DBPath))
	if err != nil {
		return err
	}
	defer db.Close()
	now, who := time.Now(), actor()
	entries := []policy.AuditEntry{{At: now, Actor: who, Subject: file, Action: policy.ActionImport, Rule: policy.RuleAdmin,
		Detail: fmt.Sprintf("%d tạo mới/created, %d cập nhật/updated, %d chuyển/moves, %d bỏ qua/skipped, %d không còn/departures",
			len(rep.Created), len(rep.Updated), len(rep.Moves), len(rep.Skipped), len(rep.Departures))}}
	for _, e := range rep.Created {
		entries = append(entries, policy.AuditEntry{At: now, Actor: who, Subject: e.Address, Action: policy.ActionCreate, Rule: policy.RuleAdmin,
			Detail: fmt.Sprintf("nhập/import %s: %s, %s, %s", file, e.FullName, e.UnitCode, e.Role)})
	}
	for _, e := range rep.Updated {
		entries = append(entries, policy.AuditEntry{At: now, Actor: who, Subject: e.Address, Action: policy.ActionEdit, Rule: policy.RuleAdmin,
			Detail: fmt.Sprintf("nhập/import %s: chức vụ, điện thoại / title, phone", file)})
	}
	return db.AppendAudit(context.Background(), entries...)
}
