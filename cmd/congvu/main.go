// Command congvu is the official e-mail platform for Vietnamese state
// agencies: SMTP, IMAP and POP3 servers with a directory of officials.
//
//	congvu serve --config FILE [listener flags]
//	congvu quickstart [--dir DIR] [listener flags]
//	congvu storage check|rebuild --config FILE
//	congvu storage import-maildir --config FILE --user ADDRESS [--folder NAME] MAILDIR
//	congvu directory demo --config FILE --out accounts.csv
//	congvu queue list|show|retry|delete --config FILE [ID|--all]
//	congvu dkim keygen --config FILE [--algorithm rsa|ed25519] [--selector S] DOMAIN
//	congvu dns [check] --config FILE DOMAIN
//	congvu export --config FILE --format mbox|maildir [--out PATH] ADDRESS
//	congvu backup --config FILE --to DIR [--incremental] [--link]
//	congvu mailbox move --config FILE ADDRESS NODE
//	congvu restore --config FILE --from BACKUP [--force]
//	congvu version
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"congvu/internal/config"
	"congvu/internal/server"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		switch {
		case errors.Is(err, errHelpRequested):
			return
		case errors.Is(err, flag.ErrHelp):
			// Misuse: the usage was printed on stderr.
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "congvu:", sentence(err))
		os.Exit(1)
	}
}

const usage = `usage:
  congvu serve --config FILE [listener flags]
  congvu quickstart [--dir DIR] [listener flags]
  congvu storage check|rebuild --config FILE
  congvu storage import-maildir --config FILE --user ADDRESS [--folder NAME] MAILDIR
  congvu reload --config FILE
  congvu audit --config FILE [filters]
  congvu report access|usage --config FILE [options]
  congvu digest send --config FILE [--day YYYY-MM-DD]
  congvu account lock|unlock|retire|lock-sending|unlock-sending|show --config FILE ADDRESS
  congvu account move --config FILE [--reason TEXT] ADDRESS UNIT
  congvu unit list|merge|rename|move|dissolve|set-headcount --config FILE ...
  congvu request list|show|approve|reject|passwords --config FILE [ID]
  congvu domain alias add|remove|list --config FILE ...
  congvu group add|remove|list|show|member add|member remove|set-policy --config FILE ...
  congvu danhba withhold|publish|list --config FILE [--unit CODE] [phone|title|entry [ADDRESS]]
  congvu forward set|clear|list --config FILE [ADDRESS [TARGET]]
  congvu queue list|show|retry|delete --config FILE [ID|--all]
  congvu dkim keygen --config FILE [--algorithm rsa|ed25519] [--selector S] DOMAIN
  congvu dns [check] --config FILE DOMAIN
  congvu export --config FILE --format mbox|maildir [--out PATH] [--folder NAME]... ADDRESS
  congvu backup --config FILE --to DIR [--incremental] [--link]
  congvu mailbox move --config FILE ADDRESS NODE
  congvu restore --config FILE --from BACKUP [--force]
  congvu cert import|show|remove --config FILE ADDRESS [CERT.pem]
  congvu quarantine list|show|release|delete --config FILE [--reason TEXT] [ID]
  congvu version

listener flags (override the [listen] section; "" disables a listener):
  --smtp-addr --submission-addr --submissions-addr --imap-addr --imaps-addr
  --pop3-addr --pop3s-addr --http-addr --https-addr --admin-addr --ldap-addr
  --ldaps-addr --managesieve-addr --imap-proxy-addr --pop3-proxy-addr
  --submission-proxy-addr --relay-addr
`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	if len(args) >= 2 && isHelpFlag(args[1]) {
		if u, ok := groupUsage[args[0]]; ok {
			fmt.Fprint(stdout, u)
			return errHelpRequested
		}
	}
	switch args[0] {
	case "serve":
		return cmdServe(args[1:], stdout, stderr)
	case "quickstart":
		return cmdQuickstart(args[1:], stdout, stderr)
	case "storage":
		return cmdStorage(args[1:], stdout, stderr)
	case "directory":
		return cmdDirectory(args[1:], stdout, stderr)
	case "reload":
		return cmdReload(args[1:], stdout, stderr)
	case "audit":
		return cmdAudit(args[1:], stdout, stderr)
	case "report":
		return cmdReport(args[1:], stdout, stderr)
	case "digest":
		return cmdDigest(args[1:], stdout, stderr)
	case "account":
		return cmdAccount(args[1:], stdout, stderr)
	case "forward":
		return cmdForward(args[1:], stdout, stderr)
	case "queue":
		return cmdQueue(args[1:], stdout, stderr)
	case "dkim":
		return cmdDkim(args[1:], stdout, stderr)
	case "cert":
		return cmdCert(args[1:], stdout, stderr)
	case "unit":
		return cmdUnit(args[1:], stdout, stderr)
	case "request":
		return cmdRequest(args[1:], stdout, stderr)
	case "domain":
		return cmdDomain(args[1:], stdout, stderr)
	case "group":
		return cmdGroup(args[1:], stdout, stderr)
	case "danhba":
		return cmdDanhba(args[1:], stdout, stderr)
	case "quarantine":
		return cmdQuarantine(args[1:], stdout, stderr)
	case "dns":
		return cmdDNS(args[1:], stdout, stderr)
	case "export":
		return cmdExport(args[1:], stdout, stderr)
	case "mailbox":
		return cmdMailbox(args[1:], stdout, stderr)
	case "backup":
		return cmdBackup(args[1:], stdout, stderr)
	case "restore":
		return cmdRestore(args[1:], stdout, stderr)
	case "version", "--version":
		printVersion(stdout)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

// groupUsage is the usage of each command with subcommands, printed for
// "congvu GROUP --help".
var groupUsage = map[string]string{
	"account": accountUsage, "queue": queueUsage, "report": reportUsage, "forward": forwardUsage,
	"digest": digestUsage, "dkim": dkimUsage, "directory": directoryUsage, "storage": storageUsage,
	"mailbox": mailboxUsage, "unit": unitUsage, "domain": domainUsage, "request": requestUsage, "quarantine": quarantineUsage,
	"group": groupCmdUsage, "danhba": danhbaCmdUsage,
}

func isHelpFlag(a string) bool { return a == "-h" || a == "-help" || a == "--help" || a == "--h" }

// listenerNames are the listeners as the [listen] section names them.
var listenerNames = []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s", "http", "https",
	"admin", "ldap", "ldaps", "managesieve", "imap_proxy", "pop3_proxy", "submission_proxy", "relay"}

// flagName is a listener's flag: --imap-proxy-addr for imap_proxy.
func flagName(listener string) string { return strings.ReplaceAll(listener, "_", "-") + "-addr" }

// listenFlags registers the per-listener address flags. Only flags the user
// actually set override the configuration.
type listenFlags struct {
	fs        *flag.FlagSet
	values    map[string]*string
	readyFile *string
}

func addListenFlags(fs *flag.FlagSet) *listenFlags {
	lf := &listenFlags{fs: fs, values: map[string]*string{}}
	for _, name := range listenerNames {
		lf.values[name] = fs.String(flagName(name), "", "listen address for "+name+` (host:port, "" disables)`)
	}
	lf.readyFile = fs.String("ready-file", "", "once every listener is bound, write their addresses here as JSON (for scripts and tests)")
	return lf
}

func (lf *listenFlags) apply(l *config.Listen) {
	fields := map[string]*string{
		"smtp": &l.SMTP, "submission": &l.Submission, "submissions": &l.Submissions,
		"imap": &l.IMAP, "imaps": &l.IMAPS, "pop3": &l.POP3, "pop3s": &l.POP3S, "http": &l.HTTP,
		"https": &l.HTTPS, "admin": &l.Admin, "ldap": &l.LDAP, "ldaps": &l.LDAPS, "managesieve": &l.ManageSieve,
		"imap_proxy": &l.IMAPProxy, "pop3_proxy": &l.POP3Proxy, "submission_proxy": &l.SubmissionProxy, "relay": &l.Relay,
	}
	lf.fs.Visit(func(f *flag.Flag) {
		for name, v := range lf.values {
			if f.Name == flagName(name) {
				*fields[name] = *v
			}
		}
	})
}

// load reads the configuration file and applies the listener flags.
func (lf *listenFlags) load(path string) (config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return cfg, err
	}
	lf.apply(&cfg.Listen)
	return cfg, cfg.Validate()
}

func cmdServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "congvu serve --config FILE [listener flags] [--ready-file FILE]", stderr)
	path := fs.String("config", "/etc/congvu/congvu.toml", "configuration file")
	lf := addListenFlags(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	cfg, err := lf.load(*path)
	if err != nil {
		return err
	}
	return serveUntilSignal(cfg, stderr, func(r *server.Running) error {
		return writeReadyFile(*lf.readyFile, r)
	}, func() (config.Config, error) { return lf.load(*path) })
}

// serveUntilSignal starts congvu and blocks until SIGINT/SIGTERM. ready runs
// once every listener is bound; SIGHUP (`congvu reload`) re-reads the
// configuration with reload and applies its [policy] section.
func serveUntilSignal(cfg config.Config, logOut io.Writer, ready func(*server.Running) error, reload func() (config.Config, error)) error {
	log := server.NewLogger(cfg.Log, logOut)
	if procs, raised := raiseProcs(); raised {
		log.Info("scheduler threads raised for blocking file and SQLite calls", "gomaxprocs", procs)
	}
	r, err := server.Start(cfg, log)
	if err != nil {
		return err
	}
	if err := ready(r); err != nil {
		return errors.Join(err, r.Close())
	}
	removePID, err := writePIDFile(cfg)
	if err != nil {
		return errors.Join(err, r.Close())
	}
	defer removePID()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopHUP := handleReload(ctx, r, reload, log)
	defer stopHUP()
	werr := r.Wait(ctx)
	log.Info("shutting down")
	return errors.Join(werr, r.Close())
}

// raiseProcs gives the Go scheduler twice the CPUs it would use, unless the
// operator set GOMAXPROCS. A delivery makes about a dozen SQLite calls
// (cgo) and three fsyncs; each holds its scheduler slot until the runtime's
// monitor hands the slot on, at least 20 µs later and more when it backs
// off, so with one slot per core the cores idled a fifth of the time under
// 100 SMTP sessions while deliveries waited to run (issue 16: perf showed
// 20 % idle; 4 slots on 2 cores gave 12–17 % more messages a second at the
// same CPU per message). CPU-bound work still runs on the cores there are.
func raiseProcs() (int, bool) {
	if os.Getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0), false
	}
	n := 2 * runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(n)
	return n, true
}

// writeReadyFile publishes the bound addresses atomically (write, rename), so
// a reader never sees a partial file.
func writeReadyFile(path string, r *server.Running) error {
	if path == "" {
		return nil
	}
	b, err := json.Marshal(struct {
		Addrs   map[string]string `json:"addrs"`
		CertPEM string            `json:"cert_pem"`
		PID     int               `json:"pid"`
	}{r.Addrs, r.CertPEM, os.Getpid()})
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
