// Command congvu-bench measures congvu side by side with the servers users
// would otherwise pick (Debian Postfix delivering through Dovecot LMTP into
// Maildir, and Postfix's smtp-sink as the protocol-only ceiling) and with the
// disk's own limit, in one run on one machine (issue 4).
//
//	congvu-bench [--quick] [--congvu BIN] [--json FILE]
//
// It is a tool, not a test: it starts every server on 127.0.0.1 free ports
// in a temporary directory and stops them all before it exits. Without
// --congvu it builds ./cmd/congvu from the current module.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// results is the JSON written with --json, kept stable so runs compare.
type results struct {
	Started time.Time    `json:"started"`
	Mode    string       `json:"mode"`
	Machine machine      `json:"machine"`
	Disk    []diskResult `json:"disk"`
	SMTP    []loadResult `json:"smtp"`
	IMAP    *imapResults `json:"imap,omitempty"`
	LDAP    *ldapResults `json:"ldap,omitempty"`
	// SMIME compares signed with unsigned 10 KB messages (smime.go).
	SMIME []loadResult `json:"smime,omitempty"`
	// MIME times the structure check by nesting depth (mime.go).
	MIME []mimeResult `json:"mime,omitempty"`
	// Nginx compares congvu through nginx's mail proxy with direct (nginx.go).
	Nginx *nginxResults `json:"nginx,omitempty"`
	// FileLimit is RLIMIT_NOFILE after raising it (servers inherit it).
	FileLimit uint64 `json:"file_limit"`
	// NotMeasured says, per target, why it was skipped.
	NotMeasured map[string]string `json:"not_measured,omitempty"`
}

type machine struct {
	CPUs       int    `json:"cpus"`
	Kernel     string `json:"kernel"`
	TempDir    string `json:"temp_dir"`
	Filesystem string `json:"filesystem"`
	Go         string `json:"go"`
	Congvu     string `json:"congvu"`
	Postfix    string `json:"postfix"`
	Dovecot    string `json:"dovecot"`
}

const (
	targetCongvu  = "congvu"
	targetPostfix = "postfix+dovecot"
	targetSink    = "smtp-sink"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "congvu-bench:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("congvu-bench", flag.ContinueOnError)
	quick := fs.Bool("quick", true, "quick mode (< 5 minutes): fewer messages per point")
	congvuBin := fs.String("congvu", "", "congvu binary (default: build ./cmd/congvu)")
	jsonOut := fs.String("json", "", "write raw figures as JSON to this file")
	perPoint := fs.Duration("point-time", 0, "time budget per load point (default 6s quick, 30s full)")
	keep := fs.Bool("keep", false, "keep the temporary directory (for debugging)")
	only := fs.String("only", "smtp,imap,ldap,smime,mime,nginx", "parts to run (comma-separated: smtp, imap, ldap, smime, mime, nginx)")
	imapTime := fs.Duration("imap-time", 0, "time per IMAP mixed-workload point (default 8s quick, 30s full)")
	largeN := fs.Int("large", 0, "messages in the large folder (default 20000 quick, 100000 full)")
	importN := fs.Int("import", -1, "messages in the separate import test (default 0 quick, 200000 full)")
	idleN := fs.Int("idle", 0, "idle IMAP connections per server (default 1000 quick, 10000 full)")
	ldapScripts := fs.String("ldap-scripts", "deploy/ldap", "directory with start-slapd.sh and stop-slapd.sh")
	mailboxN := fs.Int("mailbox", 0, "messages in each mixed-workload INBOX (default 200 quick, 1000 full)")
	reprint := fs.String("report", "", "print the table of an earlier run's JSON file and exit")
	// nginx shares the machine with the node and the load here, which is
	// where the README's operator guide advises one worker; auto (one per
	// core, Debian's nginx.conf) is what a proxy tier of its own runs.
	nginxWorkers := fs.String("nginx-workers", "1", "nginx worker_processes in the nginx part (1, as the README advises when nginx shares a machine with a node; auto, as Debian's nginx.conf, for a proxy tier of its own)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkNginxWorkers(*nginxWorkers); err != nil {
		return err
	}
	if *reprint != "" {
		return printSaved(*reprint, stdout)
	}
	parts := map[string]bool{}
	for _, p := range strings.Split(*only, ",") {
		parts[strings.TrimSpace(p)] = true
	}
	sizes := imapSizes{MailboxMessages: 1000, Clients: []int{10, 100}, PointTime: 30 * time.Second,
		LargeMessages: 100000, ImportMessages: 200000, IdleConns: 10000, WebRequests: 200}
	if *quick {
		sizes = imapSizes{MailboxMessages: 200, Clients: []int{10, 100}, PointTime: 8 * time.Second,
			LargeMessages: 20000, IdleConns: 1000, WebRequests: 50}
	}
	for _, o := range []struct {
		flag int
		dst  *int
	}{{*largeN, &sizes.LargeMessages}, {*idleN, &sizes.IdleConns}, {*mailboxN, &sizes.MailboxMessages}} {
		if o.flag > 0 {
			*o.dst = o.flag
		}
	}
	if *importN >= 0 {
		sizes.ImportMessages = *importN
	}
	if *imapTime > 0 {
		sizes.PointTime = *imapTime
	}
	// Full: a province of about 50,000 officials (190 units × 240–286).
	// Recipients per pass stay within congvu's LDAP lookup cache (10,000
	// entries by default), or the warm pass would not be warm.
	dirSizes := ldapSizes{Province: "79", Min: "240", Max: "286", Logins: 3000, Clients: 20, Rcpts: 5000}
	if *quick {
		dirSizes = ldapSizes{Province: "56", Min: "10", Max: "15", Logins: 300, Clients: 10, Rcpts: 1000}
	}
	budget, maxMsgs := 30*time.Second, 20000
	if *quick {
		budget, maxMsgs = 6*time.Second, 3000
	}
	if *perPoint > 0 {
		budget = *perPoint
	}

	waitOutRecentCleanup()
	tmp, err := os.MkdirTemp("", "congvu-bench-")
	if err != nil {
		return err
	}
	// The private Postfix and Dovecot run as their own users and must reach
	// their directories below this one.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if *keep {
		fmt.Fprintln(os.Stderr, "keeping", tmp)
	} else {
		defer func() {
			os.RemoveAll(tmp)
			markCleanup()
		}()
	}
	// Stop what we started on ^C too: cancel by closing stopCh; every
	// server is also stopped by the defers below.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	var cleanups []func()
	cleanupAll := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		cleanups = nil
	}
	defer cleanupAll()
	go func() {
		if _, ok := <-sigs; ok {
			fmt.Fprintln(os.Stderr, "congvu-bench: interrupted, stopping servers")
			// The main goroutine's defers do not run on os.Exit: stop here.
			cleanupAll()
			os.RemoveAll(tmp)
			markCleanup()
			os.Exit(130)
		}
	}()

	if *congvuBin == "" {
		*congvuBin = filepath.Join(tmp, "congvu-binary")
		logf("building congvu")
		build := exec.Command("go", "build", "-o", *congvuBin, "./cmd/congvu")
		build.Env = append(os.Environ(), "CGO_ENABLED=1")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building congvu: %w", err)
		}
	}

	res := results{Started: time.Now().UTC(), Mode: "full", NotMeasured: map[string]string{}}
	if *quick {
		res.Mode = "quick"
	}
	res.Machine = machineFacts(tmp, *congvuBin)
	res.FileLimit = raiseFileLimit(1 << 20)

	points := []loadPoint{{1, 10 << 10}, {20, 10 << 10}, {100, 10 << 10}, {1, 100 << 10}, {20, 100 << 10}, {100, 100 << 10}}
	if *quick {
		points = []loadPoint{{1, 10 << 10}, {20, 10 << 10}, {100, 10 << 10}, {20, 100 << 10}}
	}
	if parts["smtp"] {
		if err := runSMTPPart(&res, tmp, *congvuBin, points, budget, maxMsgs, &cleanups); err != nil {
			return err
		}
	}
	if parts["smime"] {
		if err := runSMIMEPart(&res, tmp, *congvuBin, budget, maxMsgs, &cleanups); err != nil {
			res.NotMeasured["smime"] = firstLine(err.Error())
			fmt.Fprintln(os.Stderr, "S/MIME part stopped:", err)
		}
	}
	if parts["mime"] {
		var err error
		if res.MIME, err = runMIMEPart(tmp); err != nil {
			res.NotMeasured["mime"] = firstLine(err.Error())
		}
	}
	if parts["imap"] {
		var err error
		res.IMAP, err = runIMAPPart(imapEnv{tmp: tmp, congvuBin: *congvuBin, sizes: sizes, notes: res.NotMeasured, cleanups: &cleanups})
		if err != nil {
			// Keep what was measured; say why the rest is missing.
			res.NotMeasured["imap"] = firstLine(err.Error())
			fmt.Fprintln(os.Stderr, "IMAP part stopped:", err)
		}
	}

	if parts["ldap"] {
		var err error
		res.LDAP, err = runLDAPPart(ldapEnv{tmp: tmp, congvuBin: *congvuBin, scripts: *ldapScripts, sizes: dirSizes,
			notes: res.NotMeasured, cleanups: &cleanups})
		if err != nil {
			res.NotMeasured["directory"] = firstLine(err.Error())
			fmt.Fprintln(os.Stderr, "directory part stopped:", err)
		}
	}

	if parts["nginx"] {
		var err error
		if res.Nginx, err = runNginxPart(tmp, *congvuBin, *nginxWorkers, sizes, budget, &cleanups); err != nil {
			res.NotMeasured["nginx"] = firstLine(err.Error())
			fmt.Fprintln(os.Stderr, "nginx part stopped:", err)
		}
	}

	printReport(stdout, &res, points)
	if *jsonOut != "" {
		b, err := json.MarshalIndent(&res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
		logf("raw figures written to %s", *jsonOut)
	}
	return nil
}

// runSMTPPart measures the disk ceiling and durable SMTP delivery.
func runSMTPPart(res *results, tmp, congvuBin string, points []loadPoint, budget time.Duration, maxMsgs int, cleanups *[]func()) error {
	logf("disk ceiling in %s (%s)", tmp, res.Machine.Filesystem)
	for _, batch := range []int{1, 16} {
		d, err := measureDisk(filepath.Join(tmp, fmt.Sprintf("disk-%d", batch)), batch, 50000, budget/2)
		if err != nil {
			return fmt.Errorf("disk ceiling: %w", err)
		}
		res.Disk = append(res.Disk, d)
	}

	const from = "bench@bench.example"

	// congvu.
	logf("starting congvu quickstart")
	cv, err := startCongvu(congvuBin, filepath.Join(tmp, "congvu"))
	if err != nil {
		return err
	}
	*cleanups = append(*cleanups, cv.proc.stop)
	recipients := cv.recipients
	domain := recipients[0][strings.LastIndexByte(recipients[0], '@')+1:]
	for _, p := range points {
		logf("congvu %v", p)
		cpu0 := processCPU(cv.pid())
		lr := runLoad(loadSpec{Addr: cv.smtpAddr, Target: targetCongvu, Point: p,
			Messages: maxMsgs, Duration: budget, From: from, Recipients: recipients})
		// CPU per message depends much less than rates on what else the
		// disk is doing (issue 16: the path was CPU-bound on a quiet machine).
		if cpu := processCPU(cv.pid()) - cpu0; lr.Accepted > 0 && cpu > 0 {
			lr.CPUMsPerMsg = 1000 * cpu / float64(lr.Accepted)
		}
		res.SMTP = append(res.SMTP, lr)
	}
	cv.proc.stop()

	// smtp-sink: the protocol-only ceiling.
	if sink, addr, err := startSmtpSink(); err != nil {
		res.NotMeasured[targetSink] = err.Error()
	} else {
		*cleanups = append(*cleanups, sink.stop)
		for _, p := range points {
			logf("smtp-sink %v", p)
			res.SMTP = append(res.SMTP, runLoad(loadSpec{Addr: addr, Target: targetSink, Point: p,
				Messages: maxMsgs, Duration: budget, From: from, Recipients: recipients}))
		}
		sink.stop()
	}

	// Postfix → Dovecot LMTP → Maildir.
	logf("starting private Postfix + Dovecot")
	if ref, err := startPostfixDovecot(filepath.Join(tmp, "reference"), domain, recipients, nil); err != nil {
		res.NotMeasured[targetPostfix] = firstLine(err.Error())
		fmt.Fprintln(os.Stderr, "reference not started:", err)
	} else {
		*cleanups = append(*cleanups, ref.stop)
		for _, p := range points {
			logf("postfix+dovecot %v", p)
			before := ref.countDelivered()
			start := time.Now()
			lr := runLoad(loadSpec{Addr: ref.smtpAddr, Target: targetPostfix, Point: p,
				Messages: maxMsgs, Duration: budget, From: from, Recipients: recipients})
			// Postfix answers 250 once the message is in its queue; wait
			// until Dovecot has it in the Maildir to count durable delivery.
			if at, err := ref.waitDelivered(before+lr.Accepted, 120*time.Second); err != nil {
				lr.FirstErr = strings.TrimSpace(lr.FirstErr + "; " + err.Error())
			} else {
				lr.DeliveredSecond = at.Sub(start).Seconds()
				lr.DeliveredPerS = float64(lr.Accepted) / lr.DeliveredSecond
			}
			res.SMTP = append(res.SMTP, lr)
		}
		ref.stop()
	}
	return nil
}

// printSaved prints the table of a results JSON file.
func printSaved(path string, w io.Writer) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var res results
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var points []loadPoint
	for _, l := range res.SMTP {
		if l.Target == targetCongvu {
			points = append(points, l.Point)
		}
	}
	printReport(w, &res, points)
	return nil
}

// cleanupQuiet is how long a run waits after an earlier run removed its
// files. On ext4 without a journal (this VM's disk) the inode allocator
// skips every inode freed in the last 30–35 s, reading its inode table
// block each time: a run started right after another's cleanup of tens of
// thousands of files paid that in its first server's CPU (congvu at one
// session: 2.25 against 1.75 ms a message), which the reference servers,
// measured later, did not.
const cleanupQuiet = 40 * time.Second

// cleanupMark is the file whose time says when a run last removed its
// temporary directory.
func cleanupMark() string { return filepath.Join(os.TempDir(), "congvu-bench.cleaned") }

func markCleanup() {
	os.WriteFile(cleanupMark(), nil, 0o644)
	now := time.Now()
	os.Chtimes(cleanupMark(), now, now)
}

// waitOutRecentCleanup sleeps until cleanupQuiet has passed since an
// earlier run's cleanup.
func waitOutRecentCleanup() {
	st, err := os.Stat(cleanupMark())
	if err != nil {
		return
	}
	if wait := cleanupQuiet - time.Since(st.ModTime()); wait > 0 && wait <= cleanupQuiet {
		logf("waiting %.0f s after the last run's cleanup (ext4 without a journal skips recently freed inodes)", wait.Seconds())
		time.Sleep(wait)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// machineFacts collects what a reader needs to compare runs.
func machineFacts(tmp, congvuBin string) machine {
	m := machine{CPUs: runtime.NumCPU(), TempDir: tmp, Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	// df prints a header line, then "fstype source".
	if out := cmdOut("df", "--output=fstype,source", tmp); out != "" {
		lines := strings.Split(out, "\n")
		m.Filesystem = strings.Join(strings.Fields(lines[len(lines)-1]), " on ")
	}
	m.Congvu = strings.TrimPrefix(cmdOut(congvuBin, "version"), "congvu ")
	if rev := cmdOut("git", "rev-parse", "--short", "HEAD"); rev != "" {
		if cmdOut("git", "status", "--porcelain", "--untracked-files=no") != "" {
			rev += "+changes"
		}
		m.Congvu += " (" + rev + ")"
	}
	m.Postfix = strings.TrimPrefix(cmdOut("postconf", "-d", "-h", "mail_version"), "mail_version = ")
	m.Dovecot = cmdOut("dovecot", "--version")
	for _, p := range []*string{&m.Congvu, &m.Postfix, &m.Dovecot} {
		if *p == "" {
			*p = "not installed"
		}
	}
	return m
}

func cmdOut(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
