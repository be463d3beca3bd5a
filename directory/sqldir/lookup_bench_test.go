package sqldir

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkLookup resolves a recipient the way every SMTP RCPT does, in a
// directory of 150 accounts.
func BenchmarkLookup(b *testing.B) {
	d, err := Open(filepath.Join(b.TempDir(), "directory.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	ctx := b.Context()
	for i := range 150 {
		if err := d.PutAccount(ctx, account(fmt.Sprintf("u%d@khanhhoa.gov.vn", i)), ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		if _, err := d.Lookup(ctx, fmt.Sprintf("U%d@khanhhoa.gov.vn", i%150)); err != nil {
			b.Fatal(err)
		}
	}
}
