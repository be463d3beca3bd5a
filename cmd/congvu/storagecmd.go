package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"congvu/internal/config"
	"congvu/storage"
)

// cmdStorage runs maintenance of the mail store: `check` compares message
// files with the index, `rebuild` recreates the index from the files (stop
// the server first: rebuild replaces indexes that a running server holds),
// `import-maildir` copies a Maildir folder into an account.
const storageUsage = "usage: congvu storage check|rebuild --config FILE\n" + importMaildirUsage

func cmdStorage(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "import-maildir" {
		return cmdImportMaildir(args[1:], stdout, stderr)
	}
	if len(args) == 0 || (args[0] != "check" && args[0] != "rebuild") {
		fmt.Fprint(stderr, storageUsage)
		return flag.ErrHelp
	}
	fs := newFlags("storage "+args[0], "congvu storage "+args[0]+" --config FILE", stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	st, err := storage.Open(cfg.Path(cfg.Storage.Path), storage.Options{DefaultQuotaBytes: cfg.Storage.DefaultQuotaBytes})
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	if args[0] == "rebuild" {
		if err := st.Rebuild(ctx); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "index rebuilt from message files")
	}
	rep, err := st.Check(ctx)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, rep.String())
	if !rep.Clean() {
		return fmt.Errorf("storage check found %d problem(s)", len(rep.Problems))
	}
	return nil
}
