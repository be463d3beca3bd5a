package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"congvu/directory/sqldir"
	"congvu/internal/config"
	"congvu/internal/demo"
	"congvu/internal/server"
)

const (
	demoDomain   = "khanhhoa.gov.vn"
	demoHostname = "mail.khanhhoa.gov.vn"
)

// cmdQuickstart creates (or reuses) a demo installation in a directory and
// serves it: configuration, self-signed certificate, SQLite directory seeded
// with the demo province, mail store.
func cmdQuickstart(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("quickstart", "congvu quickstart [--dir DIR] [listener flags] [--ready-file FILE]", stderr)
	dir := fs.String("dir", "congvu-demo", "directory for the demo's configuration, certificate, directory and mail")
	lf := addListenFlags(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(abs, "congvu.toml")
	fresh := false
	if _, err := os.Stat(cfgPath); errors.Is(err, os.ErrNotExist) {
		if err := createDemo(abs, cfgPath, stdout); err != nil {
			return err
		}
		fresh = true
	}
	cfg, err := lf.load(cfgPath)
	if err != nil {
		return err
	}
	return serveUntilSignal(cfg, stderr, func(r *server.Running) error {
		printWelcome(stdout, abs, cfgPath, r, fresh)
		return writeReadyFile(*lf.readyFile, r)
	}, func() (config.Config, error) { return lf.load(cfgPath) })
}

func createDemo(dir, cfgPath string, stdout io.Writer) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	cfg := config.Default()
	cfg.Server.Hostname = demoHostname
	cfg.Server.DataDir = "."
	cfg.Server.LocalDomains = []string{demoDomain}
	// A demo has no real DNS: no SPF/DKIM/DMARC lookups (anti-spoofing of
	// the demo domain and its lookalikes still works without DNS).
	cfg.Inbound.Authenticate = false
	// Every demo listener is on loopback, so every client shares one
	// address: the per-address cap would only get in the way of trying
	// many clients (and of the benchmark). A real deployment keeps it.
	cfg.Limits.ExemptNetworks = []string{"127.0.0.0/8", "::1/128"}
	// The demo accounts' initial passwords are printed so that people can
	// try mail clients at once; accounts created later (web, import) must
	// change theirs on the web before a client may use them.
	cfg.Policy.ExpiredPasswordExemptFile = "demo-accounts.csv"
	// Show what a reorganisation does for senders of old addresses.
	cfg.Directory.OldAddressNotice = true
	fmt.Fprintf(stdout, "Đang tạo hệ thống thư demo tại %s / Creating demo installation in %s\n", dir, dir)

	db, err := sqldir.Open(filepath.Join(dir, cfg.Directory.SQLitePath), sqldir.Options{})
	if err != nil {
		return err
	}
	creds, err := demo.Seed(context.Background(), db, demo.Options{Domain: demoDomain})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("seeding demo province: %w", err)
	}
	if err := writeCredentials(filepath.Join(dir, "demo-accounts.csv"), creds); err != nil {
		return err
	}
	// Signature trust anchors besides the built-in Government root G2
	// (signing.trust_dir); `congvu reload` rereads the directory.
	if err := os.MkdirAll(filepath.Join(dir, cfg.Signing.TrustDir), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, cfg.Signing.TrustDir, "README.txt"), []byte(trustReadme), 0o600); err != nil {
		return err
	}
	// The config is written last: its presence marks a complete demo, so an
	// interrupted first run starts over instead of reusing half a setup.
	return config.Write(cfgPath, cfg)
}

// trustReadme explains the trust directory to the operator.
const trustReadme = `Chứng thư số gốc tin cậy / Trusted signing roots

Đặt tại đây các tệp PEM (*.pem, *.crt) của CA gốc được tin cậy để kiểm tra chữ
ký số, bên cạnh "RootCA chuyên dùng Chính phủ G2" đã có sẵn trong congvu; CA
trung gian đặt ở đây cũng được dùng để dựng chuỗi. Chạy "congvu reload" để
nạp lại.

Put PEM files of trusted root CAs here, besides the built-in Government root
G2; intermediate CAs here help build chains. Run "congvu reload" to reread.
`

func writeCredentials(path string, creds []demo.Credential) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"address", "password", "role"})
	for _, c := range creds {
		w.Write([]string{c.Address, c.Password, c.Role})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readCredentials(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 1 {
		return nil, err
	}
	return rows[1:], nil
}

func printWelcome(w io.Writer, dir, cfgPath string, r *server.Running, fresh bool) {
	if !fresh {
		fmt.Fprintf(w, "Dùng lại hệ thống demo tại %s / Reusing demo installation in %s\n", dir, dir)
	}
	fmt.Fprintf(w, "\ncongvu đang chạy / is running. Cấu hình / config: %s\n", cfgPath)
	fmt.Fprintf(w, "Chứng chỉ TLS tự ký / self-signed TLS certificate (trust it in clients): %s\n\n", r.CertPEM)
	names := make([]string, 0, len(r.Addrs))
	for n := range r.Addrs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, r.Addrs[n])
	}
	if a := r.Addrs["https"]; a != "" {
		fmt.Fprintf(w, "\nĐăng nhập web / web sign-in: https://%s/login\n", a)
		fmt.Fprintf(w, "Cài đặt phần mềm thư / mail client set-up: https://%s/setup/ (máy chủ / host %s; see README to make it resolve here)\n", a, demoHostname)
	}
	credPath := filepath.Join(dir, "demo-accounts.csv")
	rows, err := readCredentials(credPath)
	var written time.Time
	if fi, err := os.Stat(credPath); err == nil {
		written = fi.ModTime()
	}
	// The file holds the passwords as created; an official may have
	// changed theirs on the web since. Say so rather than print a password
	// that no longer works.
	changed := func(address string) bool {
		a, err := r.Dir.Lookup(context.Background(), address)
		return err == nil && a.PasswordChanged.After(written.Add(time.Second))
	}
	example := -1
	if err == nil {
		fmt.Fprintf(w, "\nTài khoản demo / demo accounts (%d, all in %s):\n", len(rows), credPath)
		for i, row := range rows {
			if i == 5 {
				fmt.Fprintf(w, "  … %d more\n", len(rows)-5)
				break
			}
			pw := row[1]
			if changed(row[0]) {
				pw = "(đã đổi mật khẩu / password changed since)"
			} else if example < 0 {
				example = i
			}
			fmt.Fprintf(w, "  %-40s %-20s %s\n", row[0], pw, row[2])
		}
	}
	if example >= 0 {
		row := rows[example]
		fmt.Fprintf(w, "\nVí dụ / example:\n  swaks --server %s --tls --tls-ca-path %s --auth-user %s --auth-password '%s' --from %s --to %s\n",
			r.Addrs["submission"], r.CertPEM, row[0], row[1], row[0], row[0])
	}
	fmt.Fprintln(w, "\nNhấn Ctrl+C để dừng / press Ctrl+C to stop.")
}
