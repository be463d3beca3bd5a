package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"congvu/directory"
	"congvu/internal/config"
	"congvu/internal/server"
	"congvu/smime/smimetest"
)

func TestCertImport(t *testing.T) {
	pki := smimetest.New(t)
	dir := t.TempDir()
	addr := "thanhnn.skhcn@khanhhoa.gov.vn"
	cfgPath := filepath.Join(dir, "congvu.toml")
	os.WriteFile(cfgPath, []byte("[server]\ndata_dir = \".\"\nlocal_domains = [\"khanhhoa.gov.vn\"]\n"), 0o600)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "trust"), 0o700)
	root, _ := os.ReadFile(pki.RootPEM)
	os.WriteFile(filepath.Join(dir, "trust", "root.pem"), root, 0o600)
	// The Government publishes its intermediates: the operator drops them
	// in the trust directory too (cert show checks a lone certificate).
	inter, _ := os.ReadFile(pki.IntermediatePEM)
	os.WriteFile(filepath.Join(dir, "trust", "intermediate.pem"), inter, 0o600)
	w, err := server.OpenDirectory(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w.PutUnit(ctx, directory.Unit{Code: "56", Name: "Tỉnh", Abbr: "kh", Kind: directory.UnitProvince})
	if err := w.PutAccount(ctx, directory.Account{Address: addr, DisplayName: "Nguyễn Ngọc Thành", UnitCode: "56", State: directory.StateActive}, "Mat-khau-9!x"); err != nil {
		t.Fatal(err)
	}
	w.Close()

	chainFile := func(c *smimetest.Cert) string {
		a, _ := os.ReadFile(c.CertPEM)
		b, _ := os.ReadFile(c.ChainPEM)
		f := filepath.Join(t.TempDir(), "chain.pem")
		os.WriteFile(f, append(a, b...), 0o600)
		return f
	}
	importCert := func(file string) (string, error) {
		var out, errOut bytes.Buffer
		err := run([]string{"cert", "import", "--config", cfgPath, addr, file}, &out, &errOut)
		return out.String(), err
	}
	revoked := pki.Issue(smimetest.Spec{CommonName: "Nguyễn Ngọc Thành", Email: addr})
	pki.Revoke(revoked)
	for name, c := range map[string]struct {
		cert *smimetest.Cert
		want string
	}{
		"expired":     {pki.Issue(smimetest.Spec{CommonName: "x", Email: addr, Expired: true}), "hết hạn"},
		"revoked":     {revoked, "thu hồi"},
		"wrong EKU":   {pki.Issue(smimetest.Spec{CommonName: "x", Email: addr, EKU: "serverAuth"}), "không dùng để ký thư"},
		"other owner": {pki.Issue(smimetest.Spec{CommonName: "x", Email: "lanpt.syt@khanhhoa.gov.vn"}), "khác địa chỉ"},
		"untrusted":   {smimetest.New(t).Issue(smimetest.Spec{CommonName: "x", Email: addr}), "tin cậy"},
	} {
		if _, err := importCert(chainFile(c.cert)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	good := pki.Issue(smimetest.Spec{CommonName: "Nguyễn Ngọc Thành", Organization: "Sở KH&CN", Email: addr})
	out, err := importCert(chainFile(good))
	if err != nil || !strings.Contains(out, "đã công bố") {
		t.Fatalf("valid certificate: %v\n%s", err, out)
	}
	var show bytes.Buffer
	if err := run([]string{"cert", "show", "--config", cfgPath, addr}, &show, &show); err != nil || !strings.Contains(show.String(), "hợp lệ") {
		t.Fatalf("show: %v %s", err, show.String())
	}
	// Revoked after publishing: show says so.
	pki.Revoke(good)
	show.Reset()
	if err := run([]string{"cert", "show", "--config", cfgPath, addr}, &show, &show); err != nil || !strings.Contains(show.String(), "thu hồi") {
		t.Fatalf("show revoked: %v %s", err, show.String())
	}
}
