package pdf_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"congvu/pdf"
	"congvu/pdf/pdftest"
	"congvu/smime"
	"congvu/smime/smimetest"
)

var lines = []string{"ỦY BAN NHÂN DÂN TỈNH KHÁNH HÒA", "TỐI MẬT", "Số: 12/KH-UBND", "KẾ HOẠCH bảo vệ bí mật nhà nước năm 2025"}

func TestText(t *testing.T) {
	plain := pdftest.Document(lines)
	for name, doc := range map[string][]byte{"plain": plain, "qpdf object streams": pdftest.QPDF(t, plain)} {
		f := pdf.Open(context.Background(), doc, pdf.Limits{})
		text, err := f.Text()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := strings.Split(strings.TrimSpace(text), "\n")
		if strings.Join(got, "|") != strings.Join(lines, "|") {
			t.Errorf("%s: text lines %q, want %q", name, got, lines)
		}
	}
}

func TestManyObjectsBounded(t *testing.T) {
	// 100,000 objects, each a small dictionary, and a page tree that
	// refers to them all: indexing and reading stay bounded.
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [")
	for i := 3; i < 100_003; i++ {
		fmt.Fprintf(&b, "%d 0 R ", i)
	}
	b.WriteString("] >> endobj\n")
	for i := 3; i < 100_003; i++ {
		fmt.Fprintf(&b, "%d 0 obj << /Type /Page /Contents %d 0 R >> endobj\n", i, i)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f := pdf.Open(ctx, b.Bytes(), pdf.Limits{MaxPages: 500})
	_, err := f.Text()
	if !errors.Is(err, pdf.ErrLimit) || !f.Truncated {
		t.Fatalf("100k pages: err %v, truncated %v; want the page limit to stop it", err, f.Truncated)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("100k objects took %v", d)
	}
	if n := len(f.Objects()); n != 100_002 {
		t.Fatalf("indexed %d objects", n)
	}
	// The object limit stops indexing too.
	f = pdf.Open(context.Background(), b.Bytes(), pdf.Limits{MaxObjects: 1000})
	if !f.Truncated || len(f.Objects()) != 1000 {
		t.Fatalf("object limit: truncated %v, %d objects", f.Truncated, len(f.Objects()))
	}
}

func TestSignatures(t *testing.T) {
	pki := smimetest.New(t)
	agency := pki.Issue(smimetest.Spec{CommonName: "Ủy ban nhân dân tỉnh Khánh Hòa", Organization: "UBND tỉnh Khánh Hòa"})
	dir := t.TempDir()
	root, _ := os.ReadFile(pki.RootPEM)
	os.WriteFile(filepath.Join(dir, "root.pem"), root, 0o644)
	ts, err := smime.NewTrustStore(smime.TrustConfig{Dir: dir, NoDefaults: true})
	if err != nil {
		t.Fatal(err)
	}
	v := smime.NewVerifier(smime.VerifierConfig{Trust: ts})

	base := pdftest.QPDF(t, pdftest.Document(lines))
	for _, pss := range []bool{false, true} {
		signed := pdftest.Sign(t, base, "UBND tinh Khanh Hoa", func(b []byte) []byte { return pki.SignDetachedDER(agency, b, pss) })
		pdftest.Check(t, signed)
		f := pdf.Open(context.Background(), signed, pdf.Limits{})
		sigs := f.Signatures()
		if len(sigs) != 1 || sigs[0].Err != "" || !sigs[0].WholeFile || sigs[0].SubFilter != "adbe.pkcs7.detached" {
			t.Fatalf("signatures: %#v", sigs)
		}
		r := v.Verify(context.Background(), sigs[0].Contents, sigs[0].Signed, nil)
		if r.Status != smime.Pass || r.SignerName != "Ủy ban nhân dân tỉnh Khánh Hòa" || r.Organization != "UBND tỉnh Khánh Hòa" {
			t.Fatalf("pss=%v: %s %s %#v", pss, r.Status, r.Reason, r.Result)
		}
		text, _ := f.Text()
		if !strings.Contains(text, "TỐI MẬT") {
			t.Errorf("signed file text: %q", text)
		}
		// One changed byte in the signed ranges breaks it.
		bad := bytes.Replace(signed, []byte("/Count 1"), []byte("/Count 2"), 1)
		if bytes.Equal(bad, signed) {
			bad = append([]byte{}, signed...)
			bad[20] ^= 1
		}
		sigs = pdf.Open(context.Background(), bad, pdf.Limits{}).Signatures()
		if r := v.Verify(context.Background(), sigs[0].Contents, sigs[0].Signed, nil); r.Status != smime.Fail {
			t.Fatalf("tampered PDF: %s", r.Status)
		}
		// Bytes appended after signing are outside the ranges.
		appended := append(append([]byte{}, signed...), "\n% edited\n"...)
		if sigs := pdf.Open(context.Background(), appended, pdf.Limits{}).Signatures(); sigs[0].WholeFile {
			t.Fatal("appended data not noticed")
		}
	}
}

func FuzzPDF(f *testing.F) {
	f.Add(pdftest.Document([]string{"MẬT", "abc"}))
	f.Add([]byte("%PDF-1.4\n1 0 obj << /Type /Sig /ByteRange [0 10 20 5] /Contents <3080> >> endobj\n"))
	f.Add([]byte("1 0 obj << /Type /ObjStm /N 2 /First 5 >> stream\n1 0 2 3 <<>> [ ] endstream"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		file := pdf.Open(ctx, data, pdf.Limits{MaxStreamBytes: 1 << 20, MaxDecodedBytes: 4 << 20})
		file.Text()
		for _, s := range file.Signatures() {
			if s.Err == "" && len(s.Signed) > len(data) {
				t.Fatal("signed ranges longer than the file")
			}
		}
	})
}
