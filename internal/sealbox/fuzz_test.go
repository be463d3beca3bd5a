package sealbox

import (
	"bytes"
	"testing"
)

// Open and OpenString take whatever a database row holds: never a panic,
// and nothing but a value this box sealed for this purpose opens.
func FuzzOpen(f *testing.F) {
	b, err := New(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b.Seal("webdb/totp", []byte("12345678901234567890")))
	f.Add([]byte("cvs\x01"))
	f.Add([]byte("sealed:v1:AAAA"))
	f.Fuzz(func(t *testing.T, v []byte) {
		if plain, err := b.Open("webdb/totp", v); err == nil && !IsSealed(v) {
			t.Fatalf("unsealed %x opened to %q", v, plain)
		}
		if _, err := b.Open("other", v); err == nil {
			t.Fatalf("%x opened for another purpose", v)
		}
		b.OpenString("webdb/totp", string(v))
	})
}
