package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"congvu/internal/config"
	"congvu/internal/server"
)

// pidFileName is written into data_dir by serve and quickstart, for
// `congvu reload`.
const pidFileName = "congvu.pid"

// writePIDFile records this process in the data directory (write, rename:
// never a partial file) and returns a function that removes it.
func writePIDFile(cfg config.Config) (func(), error) {
	path := filepath.Join(cfg.Server.DataDir, pidFileName)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	return func() {
		if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(os.Getpid()) {
			os.Remove(path)
		}
	}, nil
}

// handleReload applies the configuration again on every SIGHUP until ctx
// ends. A configuration that does not load is refused and logged; the
// running one stays.
func handleReload(ctx context.Context, r *server.Running, reload func() (config.Config, error), log *slog.Logger) func() {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				cfg, err := reload()
				if err == nil {
					err = r.Reload(cfg)
				}
				if err != nil {
					log.Error("reload refused, keeping the running configuration", "err", err)
					continue
				}
				log.Info("configuration reloaded", "applied", server.ReloadApplies)
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		<-done
	}
}

// cmdReload checks the configuration, then asks the running server (its
// PID is in data_dir/congvu.pid) to apply it with SIGHUP.
func cmdReload(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("reload", "congvu reload --config FILE", stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return fmt.Errorf("not reloading: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(cfg.Server.DataDir, pidFileName))
	if err != nil {
		return fmt.Errorf("is congvu running? %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("bad pid file %s", pidFileName)
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("congvu (pid %d) is not running", pid)
		}
		return err
	}
	fmt.Fprintf(stdout, "Đã yêu cầu tải lại cấu hình / reload requested (pid %d)\n", pid)
	return nil
}
