package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"congvu/internal/config"
	"congvu/internal/demo"
	"congvu/internal/server"
)

// cmdDirectory runs directory administration. `demo` seeds the demo province
// into the configured directory (SQLite or LDAP) and writes the generated
// credentials to a CSV file (mode 0600); it is how a test or an evaluator
// fills a fresh OpenLDAP with realistic officials.
func cmdDirectory(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "demo" {
		fmt.Fprint(stderr, "usage: congvu directory demo --config FILE --out accounts.csv [--province CODE] [--domain DOMAIN]\n")
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("directory demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	out := fs.String("out", "demo-accounts.csv", "where to write address,password,role")
	province := fs.String("province", demo.DefaultProvinceCode, "province code from the 2025 unit list")
	domain := fs.String("domain", "", "mail domain (default: the first of server.local_domains)")
	if err := fs.Parse(args[1:]); err != nil {
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
