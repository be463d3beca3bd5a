package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"congvu/internal/config"
)

const mailboxUsage = "usage: congvu mailbox move --config FILE ADDRESS NODE\n"

// cmdMailbox moves a mailbox to another node of the cluster. The running
// server of the mailbox's home node does the work (it must freeze the
// mailbox it serves); this command asks it on its admin listener and
// prints its progress.
func cmdMailbox(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "move" {
		fmt.Fprint(stderr, mailboxUsage)
		return flag.ErrHelp
	}
	fs := newFlags("mailbox move", "congvu mailbox move --config FILE ADDRESS NODE", stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration of the node that holds the mailbox now")
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fmt.Fprint(stderr, mailboxUsage)
		return flag.ErrHelp
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if cfg.Cluster.Node == "" || cfg.Listen.Admin == "" {
		return errors.New("mailbox move needs [cluster] node and listen.admin (a node of a cluster)")
	}
	secret, err := os.ReadFile(cfg.Path(cfg.Cluster.SecretFile))
	if err != nil {
		return fmt.Errorf("cluster.secret_file: %w", err)
	}
	host, port, err := net.SplitHostPort(cfg.Listen.Admin)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	form := url.Values{"user": {fs.Arg(0)}, "to": {fs.Arg(1)}}
	req, err := http.NewRequest("POST", "http://"+net.JoinHostPort(host, port)+"/cluster/move", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+string(bytes.TrimSpace(secret)))
	res, err := (&http.Client{Timeout: 24 * time.Hour}).Do(req)
	if err != nil {
		return fmt.Errorf("the server of this node (%s): %w", cfg.Listen.Admin, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		return fmt.Errorf("the server answered %s: %s", res.Status, strings.TrimSpace(string(b)))
	}
	sc := bufio.NewScanner(res.Body)
	last := ""
	for sc.Scan() {
		last = sc.Text()
		if last != "OK" && !strings.HasPrefix(last, "ERROR: ") {
			fmt.Fprintln(stdout, last)
		}
	}
	switch {
	case last == "OK":
		fmt.Fprintf(stdout, "%s → %s: đã chuyển / moved\n", fs.Arg(0), fs.Arg(1))
		return nil
	case strings.HasPrefix(last, "ERROR: "):
		return errors.New(strings.TrimPrefix(last, "ERROR: "))
	}
	return fmt.Errorf("the server stopped answering during the move (%v); check `congvu account show` for the mailbox's node", sc.Err())
}
