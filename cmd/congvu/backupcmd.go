package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"congvu/backup"
	"congvu/internal/config"
)

// cmdBackup takes an online backup beside the running server.
func cmdBackup(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backup", "congvu backup --config FILE --to DIR [--incremental] [--link]", stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	to := fs.String("to", "", "backup directory; each backup is a new DIR/<UTC time> in it")
	incremental := fs.Bool("incremental", false, "hard-link files the newest backup in DIR holds unchanged, copy only new ones")
	link := fs.Bool("link", false, "hard-link message files from the live store (same file system; no protection against losing the disk)")
	workers := fs.Int("workers", 4, "mailboxes copied in parallel")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *to == "" || fs.NArg() != 0 {
		fs.Usage()
		return flag.ErrHelp
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	res, err := backup.Run(ctx, backup.Options{Config: cfg, ConfigPath: *path, To: *to,
		Incremental: *incremental, LinkStore: *link, Workers: *workers, Version: version})
	if err != nil {
		return err
	}
	m := res.Manifest
	fmt.Fprintf(stdout, "sao lưu / backup: %s\n", res.Path)
	if m.Base != "" {
		fmt.Fprintf(stdout, "gia tăng từ / incremental from: %s\n", m.Base)
	}
	fmt.Fprintf(stdout, "hộp thư / mailboxes: %d, thư mục / folders: %d, thư / messages: %d (%d bytes)\n",
		m.Store.Users, m.Store.Folders, m.Store.Messages, m.Store.Bytes)
	if m.Store.Vanished > 0 {
		fmt.Fprintf(stdout, "xoá trong lúc sao lưu / expunged while the backup ran: %d\n", m.Store.Vanished)
	}
	fmt.Fprintf(stdout, "tệp / files: %d, chép / copied: %d (%d bytes), liên kết / hard-linked: %d, %s\n",
		m.Files, m.Copied, m.Bytes, m.Files-m.Copied, time.Since(start).Round(time.Millisecond))
	return nil
}

// cmdRestore rebuilds a node's data from a backup; the server must be
// stopped.
func cmdRestore(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("restore", "congvu restore --config FILE --from BACKUP [--force]", stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration of the node to restore (written from the backup when missing)")
	from := fs.String("from", "", "one backup (DIR/<time>), or a backup directory DIR (its newest backup)")
	force := fs.Bool("force", false, "move data already at a restored path aside (NAME.before-restore-TIME) instead of refusing")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *from == "" || fs.NArg() != 0 {
		fs.Usage()
		return flag.ErrHelp
	}
	res, err := backup.Restore(context.Background(), backup.RestoreOptions{From: *from, ConfigPath: *path, Force: *force})
	if res != nil {
		for _, p := range res.MovedOut {
			fmt.Fprintf(stdout, "để sang bên / moved aside: %s\n", p)
		}
		for _, p := range res.Restored {
			fmt.Fprintf(stdout, "phục hồi / restored: %s\n", p)
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "từ / from: %s (%s, %s)\n", res.From, res.Manifest.Hostname, res.Manifest.Created.Format(time.RFC3339))
	fmt.Fprint(stdout, res.Check.String())
	if !res.Check.Clean() {
		return fmt.Errorf("storage check found %d problem(s) after the restore", len(res.Check.Problems))
	}
	return nil
}
