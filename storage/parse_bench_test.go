package storage

import (
	"bytes"
	"strings"
	"testing"
)

// Hot paths of every delivery and of FETCH/SEARCH, per test message:
// go test ./storage -run '^$' -bench 'Parse|Wire|TextFilter|ContainsText' -benchmem

func benchMessages(b *testing.B) map[string][]byte {
	msgs := readTestMessages(b)
	msgs["10KB"] = msg10KB()
	// The text congvu-bench sends: unaccented ASCII.
	ascii := strings.Repeat("Cong van so 123/UBND-VP ve viec trien khai he thong thu dien tu cong vu.\r\n", 140)
	msgs["10KB-ascii"] = []byte(testMsg("bench", ascii[:10<<10-200]))
	return msgs
}

// BenchmarkParseMessage: raw header, envelope and body structure, as at
// delivery.
func BenchmarkParseMessage(b *testing.B) {
	for name, raw := range benchMessages(b) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				parseMessage(bytes.NewReader(raw))
			}
		})
	}
}

// BenchmarkWire encodes the cache row at delivery and decodes it for FETCH
// ENVELOPE/BODYSTRUCTURE when the memory cache misses.
func BenchmarkWire(b *testing.B) {
	raw := readTestMessages(b)["multipart-attachment.eml"]
	p := parseMessage(bytes.NewReader(raw))
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeParsed(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	parsed, _ := encodeParsed(p)
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeCached(p.Header, parsed); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkTextFilter builds the SEARCH text filter, as at delivery.
func BenchmarkTextFilter(b *testing.B) {
	for name, raw := range benchMessages(b) {
		b.Run(name, func(b *testing.B) {
			bufs := newFilterBuffers() // as the store's deliveries share
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				buildTextFilter(bytes.NewReader(raw), bufs)
			}
		})
	}
}

// BenchmarkContainsText is the per-message cost of SEARCH BODY when the
// filter lets a message through (or it has none).
func BenchmarkContainsText(b *testing.B) {
	raw := msg10KB()
	word := FoldText("tuyetmat7931")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		ContainsText(raw, word, true)
	}
}

// BenchmarkTextQuery checks a query against one filter (SEARCH cost per
// message of a large folder).
func BenchmarkTextQuery(b *testing.B) {
	f := buildTextFilter(bytes.NewReader(msg10KB()), nil)
	q := newTextQuery([]string{FoldText("tuyetmat7931")})
	b.ReportAllocs()
	for b.Loop() {
		q.mayMatch(f)
	}
}
