package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"congvu/export"
	"congvu/internal/config"
	"congvu/internal/durable"
	"congvu/internal/server"
	"congvu/storage"
)

const exportUsage = "usage: congvu export --config FILE --format mbox|maildir [--out PATH] [--folder NAME]... ADDRESS\n"

// folderList collects repeated --folder flags.
type folderList []string

func (f *folderList) String() string     { return fmt.Sprint([]string(*f)) }
func (f *folderList) Set(v string) error { *f = append(*f, v); return nil }

// cmdExport writes one official's mailbox as mbox (to standard output
// without --out) or as a Maildir++ tree (--out DIR). It works beside the
// running server.
func cmdExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", "congvu export --config FILE --format mbox|maildir [--out PATH] [--folder NAME]... ADDRESS", stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	format := fs.String("format", "mbox", "mbox (mboxrd, one file) or maildir (Dovecot's Maildir++ tree)")
	out := fs.String("out", "", "file (mbox) or new directory (maildir); mbox goes to standard output without it")
	var folders folderList
	fs.Var(&folders, "folder", "export only this folder (repeatable); default every folder")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() != 1 || (*format != "mbox" && *format != "maildir") || (*format == "maildir" && *out == "") {
		fmt.Fprint(stderr, exportUsage)
		return flag.ErrHelp
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	log := server.NewLogger(cfg.Log, stderr)
	dir, err := server.OpenDirectory(cfg, log)
	if err != nil {
		return err
	}
	ctx := context.Background()
	acct, err := dir.Lookup(ctx, fs.Arg(0))
	dir.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	st, err := storage.Open(cfg.Path(cfg.Storage.Path), storage.Options{DefaultQuotaBytes: cfg.Storage.DefaultQuotaBytes, Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	mb, err := st.Mailbox(ctx, acct.Address, acct.QuotaBytes)
	if err != nil {
		return err
	}
	var stats export.Stats
	switch {
	case *format == "maildir":
		stats, err = export.Maildir(ctx, *out, mb, folders)
	case *out == "":
		stats, err = export.Mbox(ctx, stdout, mb, folders)
	default:
		stats, err = exportMboxFile(ctx, *out, mb, folders)
	}
	if err != nil {
		return err
	}
	if *out != "" {
		fmt.Fprintf(stdout, "xuất / exported %s: %d thư mục / folders, %d thư / messages (%d bytes) → %s\n",
			acct.Address, stats.Folders, stats.Messages, stats.Bytes, *out)
	}
	return nil
}

// exportMboxFile writes the mbox next to path and renames it into place
// once synced, so a half-written export never has the final name.
func exportMboxFile(ctx context.Context, path string, mb storage.Mailbox, folders []string) (export.Stats, error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".export-*.mbox")
	if err != nil {
		return export.Stats{}, err
	}
	tmp := f.Name()
	stats, err := export.Mbox(ctx, f, mb, folders)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return stats, err
	}
	return stats, durable.SyncDir(filepath.Dir(path))
}
