package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"congvu/internal/config"
	"congvu/msgauth"
)

const dkimUsage = "usage: congvu dkim keygen --config FILE [--algorithm rsa|ed25519] [--selector NAME] DOMAIN\n"

// cmdDkim makes DKIM keys. The server loads keys when it starts: restart it
// after publishing the record.
func cmdDkim(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "keygen" {
		fmt.Fprint(stderr, dkimUsage)
		return flag.ErrHelp
	}
	fs := newFlags("dkim keygen", "congvu dkim keygen --config FILE [--algorithm rsa|ed25519] [--selector NAME] DOMAIN", stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	alg := fs.String("algorithm", msgauth.AlgRSA, "rsa (rsa-sha256, 2048 bits) or ed25519 (ed25519-sha256)")
	selector := fs.String("selector", "", "DKIM selector (default: ALGORITHM-YYYYMM)")
	if err := parseFlags(fs, args[1:], stdout); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, dkimUsage)
		return flag.ErrHelp
	}
	domain := strings.ToLower(fs.Arg(0))
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if !slices.Contains(cfg.Server.LocalDomains, domain) && aliasTarget(cfg, domain) == "" {
		fmt.Fprintf(stderr, "cảnh báo / warning: %s is not in server.local_domains nor a domain alias\n", domain)
	}
	sel := *selector
	if sel == "" {
		sel = *alg + "-" + time.Now().Format("200601")
	}
	keyPath, record, err := msgauth.Keygen(cfg.Path(cfg.DKIM.KeysPath), domain, sel, *alg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# Khoá riêng / private key: %s\n", keyPath)
	fmt.Fprintf(stdout, "# Thêm bản ghi DNS này, rồi chạy congvu reload / publish this DNS record, then run congvu reload:\n")
	fmt.Fprintln(stdout, msgauth.ZoneLine(domain, sel, record))
	return nil
}
