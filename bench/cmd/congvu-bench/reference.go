package main

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// smtpSink runs Postfix's smtp-sink: the SMTP protocol with no storage, the
// ceiling any server could reach on this machine and client.
func startSmtpSink() (*process, string, error) {
	bin, err := exec.LookPath("smtp-sink")
	if err != nil {
		return nil, "", fmt.Errorf("smtp-sink not installed (Debian package postfix)")
	}
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// -u: the user to run as when started as root; -c: count; backlog 256 so 100 sessions connect at once.
	p, err := startProcess("smtp-sink", exec.Command(bin, "-u", "nobody", "-c", addr, "256"))
	if err != nil {
		return nil, "", err
	}
	if err := waitListening(addr, 10*time.Second); err != nil {
		p.stop()
		return nil, "", fmt.Errorf("%v\n%s", err, p.stderr)
	}
	return p, addr, nil
}

// postfixDovecot is Debian Postfix receiving on loopback and delivering
// through Dovecot LMTP into Maildir, each with its own configuration in a
// temporary directory so the system's own instances are never touched.
type postfixDovecot struct {
	dir      string
	smtpAddr string
	mailDir  string
	dovecot  *process
	started  bool // postfix started: must run `postfix stop`
}

// mailUID is the owner of the Dovecot mailboxes: nobody, as mail users may
// not be root (Dovecot's first_valid_uid).
func mailUID() (int, int, error) {
	u, err := user.Lookup("nobody")
	if err != nil {
		return 0, 0, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid, nil
}

// With ld set, Postfix looks recipients up in the LDAP directory (an ldap:
// table, Debian package postfix-ldap) instead of a text file.
func startPostfixDovecot(dir string, domain string, recipients []string, ld *ldapServer) (*postfixDovecot, error) {
	for _, b := range []string{"postfix", "dovecot"} {
		if _, err := exec.LookPath(b); err != nil {
			return nil, fmt.Errorf("%s not installed (apt-get install postfix dovecot-core dovecot-lmtpd)", b)
		}
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("starting a private Postfix needs root")
	}
	uid, gid, err := mailUID()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &postfixDovecot{dir: dir, smtpAddr: fmt.Sprintf("127.0.0.1:%d", port), mailDir: filepath.Join(dir, "mail")}
	pfConf, dvRun := filepath.Join(dir, "postfix"), filepath.Join(dir, "dovecot-run")
	for _, d := range []string{pfConf, filepath.Join(dir, "postfix-data"), dvRun, filepath.Join(dir, "dovecot-state"), filepath.Join(dir, "postfix-queue"), r.mailDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	// The temp dir itself must be traversable by the postfix and nobody users.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chown(r.mailDir, uid, gid); err != nil {
		return nil, err
	}
	if err := os.Chown(filepath.Join(dir, "postfix-data"), pfUID(), -1); err != nil {
		return nil, err
	}

	var users, vmailbox strings.Builder
	for _, rcpt := range recipients {
		fmt.Fprintf(&users, "%s::%d:%d::%s/%s::\n", rcpt, uid, gid, r.mailDir, rcpt)
		fmt.Fprintf(&vmailbox, "%s ok\n", rcpt)
	}
	dovecotConf := fmt.Sprintf(`# congvu bench: private Dovecot, LMTP only.
base_dir = %[1]s/dovecot-run
state_dir = %[1]s/dovecot-state
log_path = %[1]s/dovecot.log
instance_name = congvu-bench-%[2]d
protocols = lmtp
listen = 127.0.0.1
ssl = no
mail_location = maildir:~/Maildir
mail_fsync = optimized
first_valid_uid = %[3]d
last_valid_uid = 0
passdb {
  driver = passwd-file
  args = %[1]s/dovecot-users
}
userdb {
  driver = passwd-file
  args = %[1]s/dovecot-users
}
service lmtp {
  process_limit = 100
  unix_listener lmtp {
    mode = 0666
  }
}
`, dir, port, uid)
	mainCf := fmt.Sprintf(`# congvu bench: private Postfix instance.
compatibility_level = 3.6
queue_directory = %[1]s/postfix-queue
data_directory = %[1]s/postfix-data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = bench-reference.localdomain
mydestination =
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = %[2]s
virtual_mailbox_maps = texthash:%[1]s/postfix/vmailbox
virtual_transport = lmtp:unix:%[1]s/dovecot-run/lmtp
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_peername_lookup = no
smtpd_client_connection_count_limit = 0
smtpd_client_event_limit_exceptions = 127.0.0.0/8
default_process_limit = 250
smtputf8_enable = no
biff = no
maillog_file = %[1]s/postfix.log
maillog_file_prefixes = %[1]s
alias_maps =
alias_database =
message_size_limit = 31457280
`, dir, domain)
	masterCf := fmt.Sprintf(`# congvu bench: only the services a loopback receive + LMTP delivery needs.
%s inet n - n - - smtpd
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
`, r.smtpAddr)
	if ld != nil {
		if !postfixHasLDAP() {
			return nil, fmt.Errorf("Postfix has no ldap: tables (apt-get install postfix-ldap)")
		}
		mainCf = strings.Replace(mainCf, "virtual_mailbox_maps = texthash:"+dir+"/postfix/vmailbox",
			"virtual_mailbox_maps = ldap:"+dir+"/postfix/ldap-vmailbox.cf", 1)
	}
	files := map[string]string{
		filepath.Join(dir, "dovecot.conf"):  dovecotConf,
		filepath.Join(dir, "dovecot-users"): users.String(),
		filepath.Join(pfConf, "main.cf"):    mainCf,
		filepath.Join(pfConf, "master.cf"):  masterCf,
		filepath.Join(pfConf, "vmailbox"):   vmailbox.String(),
		filepath.Join(dir, "postfix.log"):   "",
		filepath.Join(dir, "dovecot.log"):   "",
	}
	if ld != nil {
		files[filepath.Join(pfConf, "ldap-vmailbox.cf")] = fmt.Sprintf(`server_host = %s
version = 3
search_base = %s
query_filter = (&(objectClass=congvuAccount)(|(mail=%%s)(congvuMailAlias=%%s)))
result_attribute = mail
bind = yes
bind_dn = %s
bind_pw = %s
`, ld.url, ld.base, ld.bindDN, ld.bindPW)
	}
	for path, content := range files {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return nil, err
		}
	}

	// Dovecot in the foreground (-F) so it is our child and we stop it by pid.
	r.dovecot, err = startProcess("dovecot", exec.Command("dovecot", "-F", "-c", filepath.Join(dir, "dovecot.conf")))
	if err != nil {
		return nil, err
	}
	if err := waitFile(filepath.Join(dvRun, "lmtp"), 15*time.Second); err != nil {
		msg := r.dovecot.stderr.String()
		r.stop()
		return nil, fmt.Errorf("dovecot: %v\n%s%s", err, msg, readTail(filepath.Join(dir, "dovecot.log")))
	}
	out, err := exec.Command("postfix", "-c", pfConf, "start").CombinedOutput()
	r.started = true
	if err != nil {
		r.stop()
		return nil, fmt.Errorf("postfix start: %v\n%s%s", err, out, readTail(filepath.Join(dir, "postfix.log")))
	}
	if err := waitListening(r.smtpAddr, 20*time.Second); err != nil {
		r.stop()
		return nil, fmt.Errorf("postfix: %v\n%s", err, readTail(filepath.Join(dir, "postfix.log")))
	}
	return r, nil
}

func pfUID() int {
	u, err := user.Lookup("postfix")
	if err != nil {
		return -1
	}
	id, _ := strconv.Atoi(u.Uid)
	return id
}

// stop stops both servers; safe to call more than once.
func (r *postfixDovecot) stop() {
	if r == nil {
		return
	}
	if r.started {
		exec.Command("postfix", "-c", filepath.Join(r.dir, "postfix"), "stop").Run()
		r.started = false
		// postfix stop returns before master has exited; wait for its pid file to go.
		waitGone(filepath.Join(r.dir, "postfix-queue", "pid", "master.pid"), 10*time.Second)
	}
	if r.dovecot != nil {
		r.dovecot.stop()
		r.dovecot = nil
	}
}

// countDelivered counts messages in the new/ and cur/ folders of every
// Maildir under the mail root.
func (r *postfixDovecot) countDelivered() int {
	n := 0
	filepath.WalkDir(r.mailDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if !d.IsDir() {
			base := filepath.Base(filepath.Dir(path))
			if base == "new" || base == "cur" {
				n++
			}
		}
		return nil
	})
	return n
}

// waitDelivered waits until want messages are in the Maildirs, and returns
// when the count was reached (or an error after d).
func (r *postfixDovecot) waitDelivered(want int, d time.Duration) (time.Time, error) {
	deadline := time.Now().Add(d)
	for {
		got := r.countDelivered()
		if got >= want {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("only %d of %d messages delivered after %v", got, want, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitFile(path string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not appear after %v", path, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitGone(path string, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(path)
		if err != nil {
			return
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func readTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// postfixHasLDAP tells whether Postfix's ldap: table type is installed.
// `postconf -m` cannot say so here: it reads /etc/postfix/main.cf, which
// a machine that never configured Postfix lacks (the bench runs Postfix
// from its own configuration directory); the dynamic map registry is
// what postfix-ldap adds.
func postfixHasLDAP() bool {
	files, _ := filepath.Glob("/etc/postfix/dynamicmaps.cf.d/*")
	for _, f := range append([]string{"/etc/postfix/dynamicmaps.cf"}, files...) {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if fields := strings.Fields(line); len(fields) > 1 && fields[0] == "ldap" {
				return true
			}
		}
	}
	return false
}
