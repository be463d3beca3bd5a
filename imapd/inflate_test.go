package imapd

import (
	"bufio"
	"bytes"
	"compress/flate"
	"io"
	"testing"
	"testing/iotest"
)

// inflateAll decodes a raw DEFLATE stream fed one byte per read, as a
// slow network would.
func inflateAll(data []byte) ([]byte, error) {
	f := newInflater(bufio.NewReaderSize(iotest.OneByteReader(bytes.NewReader(data)), 16))
	return io.ReadAll(f)
}

func TestInflateMatchesCompressFlate(t *testing.T) {
	texts := [][]byte{
		[]byte(""),
		[]byte("a NOOP\r\n"),
		bytes.Repeat([]byte("Công văn số 123/UBND về việc báo cáo. "), 3000),
	}
	noise := make([]byte, 70000)
	for i := range noise {
		noise[i] = byte(i*7919 ^ i>>3)
	}
	texts = append(texts, noise)
	for _, text := range texts {
		for _, level := range []int{flate.NoCompression, flate.BestSpeed, flate.DefaultCompression, flate.HuffmanOnly} {
			var buf bytes.Buffer
			w, _ := flate.NewWriter(&buf, level)
			w.Write(text[:len(text)/2])
			w.Flush() // a sync flush in the middle
			w.Write(text[len(text)/2:])
			w.Close()
			got, err := inflateAll(buf.Bytes())
			if err != nil || !bytes.Equal(got, text) {
				t.Fatalf("level %d, %d bytes: got %d bytes, %v", level, len(text), len(got), err)
			}
		}
	}
}

// FuzzInflate: compressible input round-trips; arbitrary input never
// panics or loops (it decodes or fails).
func FuzzInflate(f *testing.F) {
	f.Add([]byte("a LOGIN x y\r\n"), []byte{0x4a, 0x56, 0xf0, 0x73})
	f.Add([]byte{}, []byte{0x01, 0x00, 0x00, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, text, junk []byte) {
		var buf bytes.Buffer
		w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
		w.Write(text)
		w.Close()
		got, err := inflateAll(buf.Bytes())
		if err != nil || !bytes.Equal(got, text) {
			t.Fatalf("round trip of %d bytes: %d bytes, %v", len(text), len(got), err)
		}
		inflateAll(junk)
	})
}
