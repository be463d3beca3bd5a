package interop

import (
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-message/mail"
)

// The regulation's 30 MB attachment, sent with Python's email package and
// smtplib (base64, 76-character lines: about 41 MB on the wire), passes
// with the default limits and reads back byte for byte over IMAP; one byte
// more is refused at DATA with 552 5.3.4 naming the file and its size.
func TestAttachmentOf30MB(t *testing.T) {
	s := startSystem(t, "")
	from, to := s.user(0), s.user(1)
	html := filepath.Join(s.dir, "body.html")
	os.WriteFile(html, []byte("<p>Hồ sơ kèm theo</p>"), 0o600)
	send := func(size int, name string) (map[string]any, []byte) {
		t.Helper()
		data := make([]byte, size)
		rand.Read(data)
		file := filepath.Join(s.dir, "attachment.bin")
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var res map[string]any
		s.pyJSON(&res, "smtp-compose", "--addr", s.addrs["submission"], "--user", from.Address, "--password", from.Password,
			"--sender", from.Address, "--from-name", "Chuyên viên", "--rcpt", to.Address, "--subject", name,
			"--text", "Gửi kèm hồ sơ.", "--html", html, "--attach", file, "--attach-name", name)
		return res, data
	}
	res, data := send(30<<20, "ho-so-30MB.pdf")
	if _, ok := res["refused"]; !ok {
		t.Fatalf("30 MiB attachment: %v", res)
	}
	res, _ = send(30<<20+1, "hồ sơ lớn.pdf")
	if code, _ := res["code"].(float64); code != 552 || !strings.Contains(res["error"].(string), `5.3.4 Tep dinh kem "ho so lon.pdf" vuot qua 30 MB / Attachment "ho so lon.pdf" is 30.0 MB after decoding, over the limit of 30 MB per attachment`) {
		t.Errorf("30 MiB + 1 attachment: %v", res)
	}
	got := s.fetchAll(to, "INBOX")
	if len(got) != 1 {
		t.Fatalf("INBOX has %d messages, want the 30 MiB one", len(got))
	}
	if len(got[0].Raw) < 40<<20 {
		t.Errorf("stored message is %d bytes", len(got[0].Raw))
	}
	mr, err := mail.CreateReader(bytes.NewReader(got[0].Raw))
	if err != nil {
		t.Fatal(err)
	}
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no attachment found: %v", err)
		}
		if h, ok := p.Header.(*mail.AttachmentHeader); ok {
			name, _ := h.Filename()
			b, _ := io.ReadAll(p.Body)
			if name != "ho-so-30MB.pdf" || !bytes.Equal(b, data) {
				t.Errorf("attachment %q: %d bytes, equal %v", name, len(b), bytes.Equal(b, data))
			}
			break
		}
	}
}
