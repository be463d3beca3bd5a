// Command congvu-soak runs the soak test (bench/soak): steady mixed load
// with a kill -9 every few minutes, then checks that nothing acknowledged
// was lost or duplicated and that the store is consistent. `make soak`
// runs it for 30 minutes.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"time"

	"congvu/bench/soak"
)

func main() {
	dur := flag.Duration("duration", 30*time.Minute, "load time")
	kill := flag.Duration("kill-every", 5*time.Minute, "kill -9 period (0: never)")
	rate := flag.Float64("rate", 20, "SMTP messages per second")
	imapN := flag.Int("imap", 20, "IMAP sessions")
	pop3N := flag.Int("pop3", 5, "POP3 sessions")
	webN := flag.Int("web", 4, "web clients")
	bin := flag.String("congvu", "", "congvu binary (default: build ./cmd/congvu)")
	dir := flag.String("dir", "", "working directory (default: a new temporary one)")
	flag.Parse()
	if err := run(*dur, *kill, *rate, *imapN, *pop3N, *webN, *bin, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "congvu-soak:", err)
		os.Exit(1)
	}
}

func run(dur, kill time.Duration, rate float64, imapN, pop3N, webN int, bin, dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "congvu-soak-")
		if err != nil {
			return err
		}
		dir = d
	}
	if bin == "" {
		bin = filepath.Join(dir, "congvu")
		build := exec.Command("go", "build", "-o", bin, "./cmd/congvu")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		build.Env = append(os.Environ(), "CGO_ENABLED=1")
		if err := build.Run(); err != nil {
			return fmt.Errorf("building congvu: %w", err)
		}
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	cfg := soak.Config{Bin: bin, Dir: dir, Duration: dur, KillEvery: kill, Rate: rate, IMAP: imapN, POP3: pop3N, Web: webN, Log: os.Stderr}
	fmt.Fprintf(os.Stderr, "soak in %s for %v\n", dir, dur)
	res, err := soak.Run(ctx, cfg)
	if res != nil {
		res.Report(os.Stdout, cfg)
		if !res.StorageClean {
			fmt.Println(res.StorageCheck)
		}
	}
	if err != nil {
		return err
	}
	if !res.Healthy() {
		return fmt.Errorf("lost %d, duplicated %d, storage clean %v", res.Lost, res.Duplicates, res.StorageClean)
	}
	return nil
}
