// Package pdftest writes small but realistic PDF files for tests: a page
// whose text is set in a Type0 (Identity-H) font with a ToUnicode map, as
// Word and LibreOffice write Vietnamese, restructured by qpdf (object
// streams, compressed streams) when asked, and signed the way signing
// tools do it: an incremental update with a signature field whose
// /Contents holds a detached CMS over the /ByteRange. Nothing here is
// part of the server.
package pdftest

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Document returns a one-page PDF showing lines, each in its own text
// block (as a stamp box or a paragraph is).
func Document(lines []string) []byte {
	// Glyph ids: one per distinct rune, mapped back by the ToUnicode CMap.
	gid := map[rune]int{}
	var runes []rune
	for _, l := range lines {
		for _, r := range l {
			if _, ok := gid[r]; !ok {
				gid[r] = len(runes) + 1
				runes = append(runes, r)
			}
		}
	}
	var content strings.Builder
	y := 780
	for _, l := range lines {
		fmt.Fprintf(&content, "BT /F1 12 Tf 72 %d Td <", y)
		for _, r := range l {
			fmt.Fprintf(&content, "%04X", gid[r])
		}
		content.WriteString("> Tj ET\n")
		y -= 18
	}
	var cmap strings.Builder
	cmap.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	fmt.Fprintf(&cmap, "%d beginbfchar\n", len(runes))
	for i, r := range runes {
		fmt.Fprintf(&cmap, "<%04X> <%s>\n", i+1, utf16Hex(r))
	}
	cmap.WriteString("endbfchar\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
		stream("", content.String()),
		"<< /Type /Font /Subtype /Type0 /BaseFont /DejaVuSans /Encoding /Identity-H /DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
		"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /DejaVuSans /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 600 >>",
		stream("", cmap.String()),
	}
	return write(objs)
}

func utf16Hex(r rune) string {
	if r < 0x10000 {
		return fmt.Sprintf("%04X", r)
	}
	r -= 0x10000
	return fmt.Sprintf("%04X%04X", 0xD800+(r>>10), 0xDC00+(r&0x3ff))
}

func stream(dict, data string) string {
	return fmt.Sprintf("<< %s/Length %d >>\nstream\n%sendstream", dict, len(data), data)
}

// write lays out numbered objects with a classic cross-reference table.
func write(objs []string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// QPDF rewrites pdf with qpdf into object streams and compressed
// streams, the structure of files produced by current office software.
func QPDF(t testing.TB, pdf []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "out.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("qpdf", "--object-streams=generate", "--compress-streams=y", "--recompress-flate", in, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("qpdf: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Check runs `qpdf --check` and fails the test if qpdf finds the file
// damaged.
func Check(t testing.TB, pdf []byte) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "check.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("qpdf", "--check", f).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --check: %v\n%s", err, b)
	}
}

// contentsSize is the room reserved for the CMS object (bytes).
const contentsSize = 16384

// Sign appends to pdf (any valid PDF whose catalog is object catalog) an
// incremental update with a signature field, and fills /Contents with
// sign(signed bytes): a detached CMS in DER, as from `openssl cms -sign
// -binary -outform DER`.
func Sign(t testing.TB, pdf []byte, name string, sign func(signed []byte) []byte) []byte {
	t.Helper()
	root, size, prev := trailerInfo(t, pdf)
	sigNum, fieldNum := size, size+1
	var b bytes.Buffer
	b.Write(pdf)
	if !bytes.HasSuffix(pdf, []byte("\n")) {
		b.WriteByte('\n')
	}
	catalogOff := b.Len()
	// The new catalog revision gets the AcroForm (written as a fresh
	// object version; the page is untouched).
	catalog := readCatalog(t, pdf, root)
	fmt.Fprintf(&b, "%d 0 obj\n<< %s /AcroForm << /Fields [%d 0 R] /SigFlags 3 >> >>\nendobj\n", root, catalog, fieldNum)
	sigOff := b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /Name (%s) /Reason (Ky ban hanh) /M (D:20250602091500+07'00') /ByteRange [0 ", sigNum, name)
	brPos := b.Len()
	b.WriteString(strings.Repeat(" ", 30) + "] /Contents <")
	contentsStart := b.Len() - 1
	b.WriteString(strings.Repeat("0", 2*contentsSize))
	b.WriteString("> >>\nendobj\n")
	contentsEnd := b.Len() - len(" >>\nendobj\n")
	fieldOff := b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n<< /FT /Sig /T (Chu ky so) /V %d 0 R /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /F 132 >>\nendobj\n", fieldNum, sigNum)
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 1\n0000000000 65535 f \n%d 1\n%010d 00000 n \n%d 2\n%010d 00000 n \n%010d 00000 n \n",
		root, catalogOff, sigNum, sigOff, fieldOff)
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", size+2, root, prev, xref)
	out := b.Bytes()
	ranges := fmt.Sprintf("%d %d %d", contentsStart, contentsEnd, len(out)-contentsEnd)
	copy(out[brPos:], ranges)
	signed := append(append([]byte{}, out[:contentsStart]...), out[contentsEnd:]...)
	cms := sign(signed)
	if 2*len(cms) > 2*contentsSize {
		t.Fatalf("CMS of %d bytes does not fit", len(cms))
	}
	copy(out[contentsStart+1:], strings.ToUpper(hex.EncodeToString(cms)))
	return out
}

// trailerInfo finds the root object number, /Size and the last
// startxref of a PDF (classic trailer or cross-reference stream).
func trailerInfo(t testing.TB, pdf []byte) (root, size, prev int) {
	t.Helper()
	i := bytes.LastIndex(pdf, []byte("startxref"))
	if i < 0 {
		t.Fatal("no startxref")
	}
	if _, err := fmt.Sscan(string(pdf[i+len("startxref"):]), &prev); err != nil {
		t.Fatalf("no startxref: %v", err)
	}
	find := func(key string) int {
		j := bytes.LastIndex(pdf, []byte(key))
		if j < 0 {
			t.Fatalf("no %s", key)
		}
		var n int
		if _, err := fmt.Sscan(string(pdf[j+len(key):]), &n); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		return n
	}
	return find("/Root"), find("/Size"), prev
}

// readCatalog returns the inner entries of the catalog object (without
// << >>), using qpdf's JSON-free way: run qpdf to show the object.
func readCatalog(t testing.TB, pdf []byte, root int) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "cat.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := exec.Command("qpdf", "--show-object="+fmt.Sprint(root), f).Output()
	if err != nil {
		t.Fatalf("qpdf --show-object: %v", err)
	}
	s := strings.TrimSpace(string(b))
	s = strings.TrimPrefix(s, "<<")
	s = strings.TrimSuffix(s, ">>")
	return s
}
