package server

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"congvu/internal/config"
)

// TestWebListeners starts the whole server on free ports: the plain HTTP
// listener redirects the private pages to the HTTPS listener, which serves
// the login page with TLS 1.2 as the minimum and the mail certificate.
func TestWebListeners(t *testing.T) {
	cfg := config.Default()
	cfg.Server.DataDir = t.TempDir()
	cfg.Server.LocalDomains = []string{"khanhhoa.gov.vn"}
	l := &cfg.Listen
	for _, a := range []*string{&l.SMTP, &l.Submission, &l.Submissions, &l.IMAP, &l.IMAPS, &l.POP3, &l.POP3S, &l.HTTP, &l.HTTPS, &l.Admin, &l.LDAP, &l.LDAPS, &l.ManageSieve} {
		*a = "127.0.0.1:0"
	}
	r, err := Start(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pem, err := os.ReadFile(r.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	res, err := client.Get("http://" + r.Addrs["http"] + "/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if want := "https://" + r.Addrs["https"] + "/login"; res.StatusCode != http.StatusPermanentRedirect || res.Header.Get("Location") != want {
		t.Errorf("http /login: %s → %q, want 308 → %s", res.Status, res.Header.Get("Location"), want)
	}
	res, err = client.Post("http://"+r.Addrs["http"]+"/login", "application/x-www-form-urlencoded", strings.NewReader("password=x"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("POST over plain HTTP: %s", res.Status)
	}

	res, err = client.Get("https://" + r.Addrs["https"] + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "Đăng nhập") || res.ProtoMajor != 2 {
		t.Errorf("https /login: %s %s", res.Status, res.Proto)
	}
	for _, path := range []string{"/danhba", "/"} {
		res, err = client.Get("http://" + r.Addrs["http"] + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("http %s: %s", path, res.Status)
		}
	}

	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS11}}}
	if res, err := old.Get("https://" + r.Addrs["https"] + "/login"); err == nil {
		res.Body.Close()
		t.Error("TLS 1.1 accepted")
	}
}
