package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// dovecotIMAP is a private Debian Dovecot serving IMAP over implicit TLS on
// a free loopback port, with its own configuration in a temporary
// directory: Maildir under home/<address>/Maildir, the users of the bench
// with argon2id hashes of the same cost as congvu's (so a login costs the
// same KDF on both sides), and the same kind of certificate as congvu's
// self-signed one (ECDSA P-256).
type dovecotIMAP struct {
	dir  string
	addr string
	proc *process
}

// dovecotOptions varies the private Dovecot.
type dovecotOptions struct {
	// LDAP, when set, authenticates against the directory (auth_bind)
	// instead of the passwd-file, with a static userdb.
	LDAP *ldapServer
	// MaxClients sizes the process and client limits.
	MaxClients int
}

// argon2idPHC hashes pw as congvu's SQLite directory does (m=19 MiB, t=1,
// p=1) in the PHC string form that Dovecot's ARGON2ID scheme (libsodium)
// verifies.
func argon2idPHC(pw string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, 1, 19*1024, 1, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=1,p=1$%s$%s", argon2.Version, 19*1024,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// writeSelfSigned writes an ECDSA P-256 certificate for 127.0.0.1.
func writeSelfSigned(certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "bench-reference.localdomain"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}

// homeOf is a user's Dovecot home under the mail root.
func (d *dovecotIMAP) homeOf(address string) string {
	return filepath.Join(d.dir, "home", address)
}

// maildirOf is a user's INBOX Maildir.
func (d *dovecotIMAP) maildirOf(address string) string {
	return filepath.Join(d.homeOf(address), "Maildir")
}

// prepareDovecot writes the configuration and the users; fill the
// Maildirs (maildirOf) before start.
func prepareDovecot(dir string, users []benchUser, opts dovecotOptions) (*dovecotIMAP, error) {
	if _, err := exec.LookPath("dovecot"); err != nil {
		return nil, fmt.Errorf("dovecot not installed (apt-get install dovecot-imapd)")
	}
	if _, err := os.Stat("/usr/lib/dovecot/imap"); err != nil {
		return nil, fmt.Errorf("dovecot-imapd not installed")
	}
	if opts.LDAP != nil {
		if _, err := os.Stat("/usr/lib/dovecot/modules/auth/libauthdb_ldap.so"); err != nil {
			return nil, fmt.Errorf("dovecot-ldap not installed")
		}
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("a private Dovecot needs root (it switches to the mail user)")
	}
	uid, gid, err := mailUID()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	d := &dovecotIMAP{dir: dir, addr: fmt.Sprintf("127.0.0.1:%d", port)}
	for _, sub := range []string{"run", "state", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chown(filepath.Join(dir, "home"), uid, gid); err != nil {
		return nil, err
	}
	if err := writeSelfSigned(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")); err != nil {
		return nil, err
	}
	var pw strings.Builder
	for _, u := range users {
		fmt.Fprintf(&pw, "%s:{ARGON2ID}%s:%d:%d::%s::\n", u.Address, argon2idPHC(u.Password), uid, gid, d.homeOf(u.Address))
	}
	maxClients := max(opts.MaxClients, 200)
	auth := fmt.Sprintf(`passdb {
  driver = passwd-file
  args = %[1]s/users
}
userdb {
  driver = passwd-file
  args = %[1]s/users
}
# Both servers remember a verified password for 5 minutes, so a client
# that reconnects skips the argon2id (congvu: internal/authcache; Dovecot
# keeps a SHA1 of it). Not with LDAP, where congvu has no such cache.
auth_cache_size = 10M
auth_cache_ttl = 5 mins
`, dir)
	if l := opts.LDAP; l != nil {
		// Search as the service account, then bind as the user (auth_bind),
		// as congvu's LDAP directory does.
		ldapConf := fmt.Sprintf(`uris = %s
dn = %s
dnpass = %s
auth_bind = yes
base = %s
scope = subtree
pass_filter = (&(objectClass=congvuAccount)(|(mail=%%u)(congvuMailAlias=%%u)))
pass_attrs = mail=user
`, l.url, l.bindDN, l.bindPW, l.base)
		if err := os.WriteFile(filepath.Join(dir, "dovecot-ldap.conf.ext"), []byte(ldapConf), 0o600); err != nil {
			return nil, err
		}
		auth = fmt.Sprintf(`passdb {
  driver = ldap
  args = %[1]s/dovecot-ldap.conf.ext
}
userdb {
  driver = static
  args = uid=%[2]d gid=%[3]d home=%[1]s/home/%%u allow_all_users=yes
}
`, dir, uid, gid)
	}
	conf := fmt.Sprintf(`# congvu bench: private Dovecot, IMAP over implicit TLS only.
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
instance_name = congvu-bench-imap-%[2]d
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <%[1]s/cert.pem
ssl_key = <%[1]s/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
mail_fsync = optimized
first_valid_uid = %[3]d
last_valid_uid = 0
default_process_limit = %[4]d
default_client_limit = %[5]d
default_vsz_limit = 1G
%[6]s
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = %[2]d
    ssl = yes
  }
  # High-performance mode: a few long-lived login processes proxy TLS for
  # many clients (the Dovecot documentation's advice for large sites).
  service_count = 0
  process_min_avail = 2
  client_limit = %[5]d
}
service imap {
  process_limit = %[4]d
}
protocol imap {
  # Default 10 per user and IP: the idle test logs the same users in many
  # times from 127.0.0.1.
  mail_max_userip_connections = %[5]d
}
service auth {
  client_limit = %[5]d
}
service anvil {
  client_limit = %[5]d
}
`, dir, port, uid, maxClients+100, 2*maxClients+500, auth)
	if err := os.WriteFile(filepath.Join(dir, "dovecot.conf"), []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "users"), []byte(pw.String()), 0o644); err != nil {
		return nil, err
	}
	return d, nil
}

// start runs Dovecot in the foreground (so it is our child) once the
// Maildirs are in place and owned by the mail user.
func (d *dovecotIMAP) start() error {
	uid, gid, err := mailUID()
	if err != nil {
		return err
	}
	if err := chownTree(filepath.Join(d.dir, "home"), uid, gid); err != nil {
		return err
	}
	d.proc, err = startProcess("dovecot", exec.Command("dovecot", "-F", "-c", filepath.Join(d.dir, "dovecot.conf")))
	if err != nil {
		return err
	}
	if err := waitListening(d.addr, 20*time.Second); err != nil {
		msg := d.proc.stderr.String()
		d.stop()
		return fmt.Errorf("dovecot: %v\n%s%s", err, msg, readTail(filepath.Join(d.dir, "dovecot.log")))
	}
	return nil
}

func (d *dovecotIMAP) stop() {
	if d != nil && d.proc != nil {
		d.proc.stop()
		d.proc = nil
	}
}

// pid is the Dovecot master's process id (0 when not running).
func (d *dovecotIMAP) pid() int {
	if d == nil || d.proc == nil {
		return 0
	}
	return d.proc.cmd.Process.Pid
}

func chownTree(root string, uid, gid int) error {
	return filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}
