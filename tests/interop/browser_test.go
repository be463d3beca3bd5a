package interop

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// chromium runs Debian's headless Chromium with the flags this closed
// network needs, plus extra, and returns what it printed.
func chromium(t *testing.T, extra ...string) string {
	t.Helper()
	requireTool(t, "chromium")
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}, extra...)
	out, err := run(t, nil, "chromium", args...)
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	return out
}

// TestDanhbaInBrowser opens the public directory in a real browser, as a
// citizen would: a search for an official finds their address, and the page
// renders (a screenshot is produced) without any private attribute.
func TestDanhbaInBrowser(t *testing.T) {
	s := startSystem(t, "")
	u := s.user(0)
	local, _, _ := strings.Cut(u.Address, "@")
	page := "http://" + s.addrs["http"] + "/danhba?q=" + url.QueryEscape(local)

	dom := chromium(t, "--dump-dom", page)
	if !strings.Contains(dom, "Danh bạ thư điện tử công vụ") || !strings.Contains(dom, u.Address) {
		t.Fatalf("browser DOM of %s lacks the title or %s:\n%.2000s", page, u.Address, dom)
	}
	for _, private := range []string{"argon2", "quota", "locked", u.Password} {
		if strings.Contains(dom, private) {
			t.Errorf("public page shows private data %q", private)
		}
	}

	shot := filepath.Join(t.TempDir(), "danhba.png")
	chromium(t, "--screenshot="+shot, "--window-size=1200,900", page)
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10_000 {
		t.Errorf("no usable screenshot of the page: %v", err)
	}
}
