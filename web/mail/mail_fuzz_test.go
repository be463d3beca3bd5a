package mail

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"testing"
)

// addBrokenCorpus seeds a fuzzer with the broken-MIME corpus.
func addBrokenCorpus(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/brokenmime/*.eml")
	if len(files) == 0 {
		f.Fatal("no seed corpus in testdata/brokenmime")
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzReadContent: any bytes open as a message without a panic or an
// error (the source is in memory, so nothing can fail to read), within the
// part limit.
func FuzzReadContent(f *testing.F) {
	addBrokenCorpus(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		mc, err := readContent(bytes.NewReader(raw), true)
		if err != nil {
			t.Fatalf("readContent: %v", err)
		}
		if len(mc.Parts) > maxMIMEParts {
			t.Fatalf("%d parts", len(mc.Parts))
		}
		mc.attachments()
	})
}

// FuzzTransferDecoding: what Go's encoders write, the lenient decoders
// read back exactly; anything else decodes without a panic.
func FuzzTransferDecoding(f *testing.F) {
	f.Add([]byte("Phần đầu = =ZZ =\r\n tail \t\r\n"))
	f.Add([]byte{0, 1, 2, '=', '\r', '\n', 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		var qp bytes.Buffer
		w := quotedprintable.NewWriter(&qp)
		w.Binary = true // line breaks as =0D=0A, so the round trip is exact
		w.Write(data)
		w.Close()
		got, _ := io.ReadAll(decodeTransfer("quoted-printable", bytes.NewReader(qp.Bytes())))
		if !bytes.Equal(got, data) {
			t.Errorf("quoted-printable round trip: %q → %q → %q", data, qp.Bytes(), got)
		}
		enc := base64.StdEncoding.EncodeToString(data)
		var lines bytes.Buffer
		for len(enc) > 76 {
			lines.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		lines.WriteString(enc + "\r\n")
		got, _ = io.ReadAll(decodeTransfer("base64", &lines))
		if !bytes.Equal(got, data) {
			t.Errorf("base64 round trip: %q → %q", data, got)
		}
		io.ReadAll(decodeTransfer("quoted-printable", bytes.NewReader(data)))
		io.ReadAll(decodeTransfer("base64", bytes.NewReader(data)))
	})
}
