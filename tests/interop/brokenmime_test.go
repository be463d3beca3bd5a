package interop

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

// TestBrokenMIMEThroughEveryReader sends the broken-MIME corpus
// (testdata/brokenmime: unterminated boundaries, bad base64/QP, unknown
// charsets, 8-bit headers…) over SMTP into a server that runs its whole
// inbound pipeline — MIME limits, signature verification, the state-secret
// guard and the store's parser and text filter — then reads every message
// back over IMAP (Python imaplib: ENVELOPE, BODYSTRUCTURE, SEARCH TEXT).
// Every message is accepted, no IMAP answer is NO or BAD, and the text that
// can be read is found (issue 15 §2; the webmail view runs the same corpus
// in web/mail).
func TestBrokenMIMEThroughEveryReader(t *testing.T) {
	s := startSystem(t, "")
	u := s.user(2)
	files, err := filepath.Glob("../../testdata/brokenmime/*.eml")
	if err != nil || len(files) < 10 {
		t.Fatalf("corpus: %d files, %v", len(files), err)
	}
	c, err := smtp.DialStartTLS(s.addrs["smtp"], s.tlsConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	markerRE := regexp.MustCompile(`MARKER-[a-z0-9]+`)
	accepted := len(files)
	var markers []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// From another province: mail claiming our own domain from
		// outside is refused on MX before any parser runs.
		raw = bytes.ReplaceAll(raw, []byte("@khanhhoa.gov.vn"), []byte("@angiang.gov.vn"))
		if err := c.Mail("sender@bocongan.gov.vn", nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt(u.Address, nil); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		w.Write(raw)
		err = w.Close()
		if filepath.Base(f) == "deep-nesting.eml" {
			// 200 nested multiparts: over the limit (100), refused at
			// DATA in linear time rather than parsed by every reader.
			if err == nil || !strings.Contains(err.Error(), "554") {
				t.Errorf("deep-nesting.eml: %v, want 554 5.6.0", err)
			}
			accepted--
		} else if err != nil {
			t.Errorf("%s: refused: %v", filepath.Base(f), err)
		}
		if m := markerRE.Find(raw); m != nil && !bytes.Contains(raw, []byte("base64")) {
			markers = append(markers, string(m))
		}
	}
	args := []string{"imap-inspect", "--addr", s.addrs["imaps"], "--user", u.Address, "--password", u.Password}
	for _, m := range markers {
		args = append(args, "--marker", m)
	}
	var res struct {
		Count int
		Fetch []struct {
			UID    int
			Status string
			Data   string
		}
		Search map[string]struct {
			Status string
			UIDs   []string
		}
	}
	s.pyJSON(&res, args...)
	if res.Count != accepted {
		t.Errorf("%d messages in INBOX, want %d", res.Count, accepted)
	}
	for _, f := range res.Fetch {
		if f.Status != "OK" || !strings.Contains(f.Data, "ENVELOPE") || !strings.Contains(f.Data, "BODYSTRUCTURE") {
			t.Errorf("uid %d: FETCH %s %.300s", f.UID, f.Status, f.Data)
		}
	}
	for _, m := range markers {
		r := res.Search[m]
		if r.Status != "OK" || len(r.UIDs) != 1 {
			t.Errorf("SEARCH TEXT %s: %s %v, want one message", m, r.Status, r.UIDs)
		}
	}
}
