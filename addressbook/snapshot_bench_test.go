package addressbook_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"congvu/addressbook"
	"congvu/directory"
	"congvu/directory/sqldir"
)

// BenchmarkSnapshot50k measures one refresh of the address book (what the
// LDAP listener, CardDAV and the danh bạ pay once per TTL) for a province of
// 50,000 officials in 500 units, without and with published certificates
// (one official in ten, 1.2 KB each — the review asked what reading them on
// every refresh costs at this size). Seeding takes a minute; run with
//
//	go test -run '^$' -bench Snapshot50k -benchtime 5x ./addressbook/
func BenchmarkSnapshot50k(b *testing.B) {
	ctx := context.Background()
	dir, err := sqldir.Open(filepath.Join(b.TempDir(), "dir.db"), sqldir.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer dir.Close()
	const units, people = 500, 50000
	if err := dir.PutUnit(ctx, directory.Unit{Code: "KH", Name: "Tỉnh Khánh Hòa", Kind: directory.UnitProvince}); err != nil {
		b.Fatal(err)
	}
	for u := range units {
		if err := dir.PutUnit(ctx, directory.Unit{Code: fmt.Sprintf("U%03d", u), Name: fmt.Sprintf("Ủy ban nhân dân xã số %d", u),
			Kind: directory.UnitCommune, ParentCode: "KH"}); err != nil {
			b.Fatal(err)
		}
	}
	writes := make([]directory.AccountWrite, people)
	for i := range writes {
		writes[i].Account = directory.Account{Address: fmt.Sprintf("canbo%05d@khanhhoa.gov.vn", i),
			DisplayName: fmt.Sprintf("Nguyễn Văn Cán Bộ %d", i), Title: "Chuyên viên",
			Phone: "0258 3822 000", UnitCode: fmt.Sprintf("U%03d", i%units)}
	}
	if err := directory.PutAccounts(ctx, dir, writes); err != nil {
		b.Fatal(err)
	}
	measure := func(b *testing.B) {
		book := addressbook.New(dir, addressbook.Options{TTL: time.Nanosecond})
		var snap *addressbook.Snapshot
		for b.Loop() {
			if snap, err = book.Snapshot(ctx); err != nil {
				b.Fatal(err)
			}
		}
		if len(snap.Entries) != people {
			b.Fatalf("%d entries, want %d", len(snap.Entries), people)
		}
	}
	b.Run("no-certificates", measure)
	der := make([]byte, 1200)
	rand.Read(der)
	for i := 0; i < people; i += 10 {
		if err := dir.PutCertificate(ctx, writes[i].Account.Address, der); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("certificates-10pct", measure)
}
