package textextract

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"congvu/pdf/pdftest"
)

// zipOf writes a zip container with the given entries, in order.
func zipOf(t testing.TB, entries ...string) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for i := 0; i+1 < len(entries); i += 2 {
		method := zip.Deflate
		if entries[i] == "mimetype" {
			method = zip.Store
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: entries[i], Method: method})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, entries[i+1])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const wNS = `xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"`

// docx is shaped like Word's output: the stamp "MẬT" in a text box
// anchored in the first paragraph, the title split over runs.
func docx(t testing.TB, stamp string) []byte {
	doc := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document ` + wNS + `><w:body>` +
		`<w:p><w:r><w:t>ỦY BAN NHÂN DÂN</w:t></w:r><w:r><mc:AlternateContent xmlns:mc="x"><mc:Choice><w:drawing><wps:wsp><wps:txbx><w:txbxContent>` +
		`<w:p><w:r><w:t>` + stamp + `</w:t></w:r></w:p></w:txbxContent></wps:txbx></wps:wsp></w:drawing></mc:Choice></mc:AlternateContent></w:r></w:p>` +
		`<w:p><w:r><w:t xml:space="preserve">KẾ HOẠCH </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>bảo vệ bí mật nhà nước</w:t></w:r></w:p>` +
		`<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Số: 12/KH-UBND</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Khánh Hòa, ngày 2 tháng 6 năm 2025</w:t></w:r></w:p></w:tc></w:tr></w:tbl>` +
		`</w:body></w:document>`
	return zipOf(t, "[Content_Types].xml", `<Types/>`, "word/document.xml", doc,
		"word/header1.xml", `<w:hdr `+wNS+`><w:p><w:r><w:t>Độ mật: Thường</w:t></w:r></w:p></w:hdr>`)
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func TestFormats(t *testing.T) {
	ctx := context.Background()
	// Windows-1258 writes tones as combining marks: "Kính gửi Sở Y tế"
	// as an old mail client sends it.
	w1258 := "K\xednh g\xfd\xd2i S\xf5\xd2 Y t\xea\xec"
	_ = charmap.Windows1258
	odt := zipOf(t, "mimetype", "application/vnd.oasis.opendocument.text", "content.xml",
		`<office:document-content xmlns:office="o" xmlns:text="t"><office:body><office:text><text:h>TUYỆT MẬT</text:h>`+
			`<text:p>Kính<text:s/>gửi <text:span>Ban Chỉ đạo</text:span></text:p></office:text></office:body></office:document-content>`)
	xlsx := zipOf(t, "xl/sharedStrings.xml", `<sst><si><t>Danh sách</t></si><si><r><t>TỐI </t></r><r><t>MẬT</t></r></si></sst>`,
		"xl/worksheets/sheet1.xml", `<worksheet><sheetData><row><c t="inlineStr"><is><t>Ghi chú</t></is></c></row></sheetData></worksheet>`)
	tests := []struct {
		name, mt, file, cs string
		data               []byte
		want               []string
	}{
		{"plain windows-1258", "text/plain", "", "windows-1258", []byte(w1258), []string{"Kính gửi Sở Y tế"}},
		{"html", "text/html", "", "utf-8", []byte(`<html><head><style>p{}</style><script>var MAT=1</script></head><body><p>Kính gửi</p><div><b>TỐI</b> MẬT</div>x &amp; y</body></html>`),
			[]string{"Kính gửi", "TỐI MẬT", "x & y"}},
		{"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Kế hoạch.docx", "", docx(t, "MẬT"),
			[]string{"ỦY BAN NHÂN DÂN", "MẬT", "KẾ HOẠCH bảo vệ bí mật nhà nước", "Số: 12/KH-UBND", "Khánh Hòa, ngày 2 tháng 6 năm 2025", "Độ mật: Thường"}},
		{"odt by name", "application/octet-stream", "bao-cao.odt", "", odt, []string{"TUYỆT MẬT", "Kính gửi Ban Chỉ đạo"}},
		{"xlsx", "", "ds.xlsx", "", xlsx, []string{"Danh sách", "TỐI MẬT", "Ghi chú"}},
		{"pdf", "application/pdf", "cv.pdf", "", pdftest.Document([]string{"TỐI MẬT", "Công văn"}), []string{"TỐI MẬT", "Công văn"}},
	}
	for _, tc := range tests {
		text, err := Extract(ctx, KindOf(tc.mt, tc.file), tc.cs, tc.data, Limits{})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if got := lines(text); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: lines %q, want %q", tc.name, got, tc.want)
		}
	}
	if _, err := Extract(ctx, KindOf("image/png", "scan.png"), "", []byte{0x89, 'P'}, Limits{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("png: %v", err)
	}
}

func TestZipBomb(t *testing.T) {
	// 100 MB of XML in a DOCX of 100 kilobytes (made once, kept in
	// testdata: compressing it under -race takes long).
	bomb, err := os.ReadFile("testdata/bomb-100mb.docx")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	text, err := Extract(context.Background(), Office, "", bomb, Limits{})
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("zip bomb: err %v", err)
	}
	// Generous for -race on a loaded 2-core machine; without the limits
	// it reads 200 MB of XML.
	t.Logf("zip bomb stopped after %v", time.Since(start))
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("zip bomb took %v", d)
	}
	if len(text) > 4<<20 {
		t.Fatalf("zip bomb gave %d bytes of text", len(text))
	}
	// Too many entries (stored, so the test builds them fast).
	var many bytes.Buffer
	zw := zip.NewWriter(&many)
	for i := range 5000 {
		zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("x/%d.xml", i), Method: zip.Store})
	}
	zw.Close()
	if _, err := Extract(context.Background(), Office, "", many.Bytes(), Limits{}); !errors.Is(err, ErrLimit) {
		t.Fatalf("5000 entries: %v", err)
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(byte(0), docx(f, "MẬT"))
	f.Add(byte(1), []byte(`<p>a<br>b<script>x</script>`))
	f.Add(byte(2), pdftest.Document([]string{"MẬT"}))
	f.Add(byte(3), []byte("plain\r\ntext"))
	kinds := []Kind{Office, HTML, PDF, Plain}
	f.Fuzz(func(t *testing.T, k byte, data []byte) {
		text, _ := Extract(context.Background(), kinds[int(k)%len(kinds)], "utf-8", data, Limits{MaxText: 1 << 16, MaxZipBytes: 1 << 22, Timeout: time.Second})
		if len(text) > 1<<16 {
			t.Fatalf("%d bytes of text", len(text))
		}
	})
}
