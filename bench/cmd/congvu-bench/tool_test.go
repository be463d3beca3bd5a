package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gomessage "github.com/emersion/go-message"
)

// These test the bench tool's own logic; the benchmarks themselves are
// run on demand with `make bench`, never as tests.

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(101-i)*time.Millisecond)
	}
	if p := percentileMs(d, 0.50); p < 50 || p > 51 {
		t.Errorf("p50 %v", p)
	}
	if p := percentileMs(d, 0.99); p != 99 {
		t.Errorf("p99 %v", p)
	}
	if percentileMs(nil, 0.99) != 0 {
		t.Error("empty")
	}
}

func TestParseKiB(t *testing.T) {
	status := []byte("Name:\tdovecot\nVmPeak:\t  9000 kB\nVmRSS:\t    5120 kB\n")
	if got := parseKiB(status, "VmRSS"); got != 5120 {
		t.Errorf("VmRSS %d", got)
	}
	if got := parseKiB(status, "Pss"); got != 0 {
		t.Errorf("missing key %d", got)
	}
	m := treeMem(os.Getpid())
	if m.Processes < 1 || m.RSSKiB <= 0 {
		t.Errorf("own process: %+v", m)
	}
}

// The corpus is reproducible, parses as MIME, and puts the rare word in
// exactly the messages writeMaildir counts.
func TestCorpus(t *testing.T) {
	c := &corpus{seed: 9, domain: "khanhhoa.gov.vn", people: []string{"a.b@khanhhoa.gov.vn", "c.d@khanhhoa.gov.vn"}, rareEvery: 10}
	date := time.Date(2025, 5, 1, 8, 0, 0, 0, time.UTC)
	if !bytes.Equal(c.message(3, date), c.message(3, date)) {
		t.Fatal("not reproducible")
	}
	dir := t.TempDir()
	st, err := writeMaildir(dir, c, 40, date.AddDate(0, -1, 0), date)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "cur", "*"))
	rare := 0
	var total int64
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		total += int64(len(raw))
		if !strings.Contains(f, ",S="+strconv.Itoa(len(raw))+":2,") {
			t.Errorf("%s: size in name does not match %d", f, len(raw))
		}
		e, err := gomessage.Read(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if e.Header.Get("Message-Id") == "" {
			t.Errorf("%s: no Message-ID", f)
		}
		if bytes.Contains(raw, []byte(rareWord)) {
			rare++
		}
	}
	if len(files) != 40 || st.Messages != 40 || st.Bytes != total || rare != st.Rare || rare != 4 {
		t.Errorf("%d files, stats %+v, %d with the rare word", len(files), st, rare)
	}
	linked := filepath.Join(t.TempDir(), "copy")
	if err := linkMaildir(dir, linked); err != nil {
		t.Fatal(err)
	}
	if got, _ := filepath.Glob(filepath.Join(linked, "cur", "*")); len(got) != 40 {
		t.Errorf("linked copy has %d files", len(got))
	}
}

func TestReportFormatting(t *testing.T) {
	if got := thousands(1234567); got != "1,234,567" {
		t.Errorf("thousands %q", got)
	}
	if got := ratioStr(3, 2); got != "1.50×" {
		t.Errorf("ratio %q", got)
	}
	if got := ratioStr(0, 2); got != "–" {
		t.Errorf("ratio with no figure %q", got)
	}
	if got := fmtMs(12345); got != "12.3 s" {
		t.Errorf("fmtMs %q", got)
	}
}

func TestArgon2idPHC(t *testing.T) {
	h := argon2idPHC("Mật-khẩu-1")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=1,p=1$") || strings.Count(h, "$") != 5 {
		t.Errorf("hash %q", h)
	}
}
