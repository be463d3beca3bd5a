package policy

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"congvu/directory"
	"congvu/directory/importer"
	"congvu/internal/mailerr"
)

// memDir is a read-only directory in memory for the simulated province
// (hashing thousands of passwords would dominate the test otherwise).
type memDir struct {
	units    []directory.Unit
	accounts []directory.Account
}

func (d *memDir) Lookup(context.Context, string) (*directory.Account, error) {
	return nil, mailerr.ErrUnknownUser
}

func (d *memDir) Authenticate(context.Context, string, string) (*directory.Account, error) {
	return nil, mailerr.ErrAuthFailed
}

func (d *memDir) Units(context.Context) ([]directory.Unit, error) { return d.units, nil }

func (d *memDir) Accounts(_ context.Context, unit string) ([]directory.Account, error) {
	if unit == "" {
		return d.accounts, nil
	}
	var out []directory.Account
	for _, a := range d.accounts {
		if a.UnitCode == unit {
			out = append(out, a)
		}
	}
	return out, nil
}

// province is a generated province (directory/importer, Khánh Hòa) with a
// year (2025) of simulated daily access: each official accesses on a given
// day with a probability of their own (40–99 %), at office hours, over one
// or more protocols.
type province struct {
	dir      *memDir
	db       *DB
	loc      *time.Location
	from, to Day
	// accessed[d] is the number of officials that accessed on day from+d.
	accessed []int
}

func newProvince(tb testing.TB) *province {
	tb.Helper()
	rows, units := importer.Generate("56", 2025, 20, 40)
	p := &province{dir: &memDir{units: directory.SortUnits(units)}, loc: ict(tb),
		from: DayFromDate(2025, 1, 1), to: DayFromDate(2025, 12, 31)}
	for i, r := range rows {
		p.dir.accounts = append(p.dir.accounts, directory.Account{Address: fmt.Sprintf("canbo%05d@khanhhoa.gov.vn", i),
			DisplayName: r.FullName, UnitCode: r.Unit, Title: r.Title, Role: directory.RoleOfficial, State: directory.StateActive})
	}
	db, err := OpenDB(filepath.Join(tb.TempDir(), "policy.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	p.db = db
	p.accessed = make([]int, p.to-p.from+1)
	rng := rand.New(rand.NewPCG(56, 2025))
	cache := map[string]int64{}
	ctx := context.Background()
	// One batch per month, as the engine would have written them over
	// many flushes.
	for m := MonthOf(p.from); m <= MonthOf(p.to); m++ {
		pending := map[accessKey]accessSlot{}
		for i, a := range p.dir.accounts {
			diligence := 0.4 + 0.59*float64(i%97)/96
			for d := m.First(); d <= m.Last(); d++ {
				if rng.Float64() >= diligence {
					continue
				}
				first := uint32(7*3600 + rng.IntN(4*3600))
				pending[accessKey{a.Address, d}] = accessSlot{first: first, last: first + uint32(rng.IntN(9*3600)),
					protos: uint8(1 + rng.IntN(15)), count: uint16(1 + rng.IntN(20))}
				p.accessed[d-p.from]++
			}
		}
		if err := db.write(ctx, func(tx *sql.Tx) error { return writeAccess(ctx, tx, cache, pending) }); err != nil {
			tb.Fatal(err)
		}
	}
	return p
}

func (p *province) report(tb testing.TB) *AccessReport {
	tb.Helper()
	rep, err := BuildAccessReport(context.Background(), p.db, p.dir, AccessQuery{From: p.from, To: p.to, InactiveDays: 3}, p.loc)
	if err != nil {
		tb.Fatal(err)
	}
	return rep
}

// TestProvinceYearReport builds the yearly access report of a whole
// generated province and checks it against the simulation. Its time is
// logged; the bound is only a generous regression guard (the requirement
// is under 2 s; BenchmarkProvinceYearReport measures it).
func TestProvinceYearReport(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a year of data for a province")
	}
	start := time.Now()
	p := newProvince(t)
	t.Logf("simulated %d officials in %d units over %d days in %s", len(p.dir.accounts), len(p.dir.units), len(p.accessed),
		time.Since(start).Round(time.Millisecond))
	start = time.Now()
	rep := p.report(t)
	took := time.Since(start)
	var csvBuf, htmlBuf countingWriter
	RenderAccessCSV(&csvBuf, rep)
	RenderAccessPage(&htmlBuf, rep)
	all := time.Since(start)
	t.Logf("yearly report: %d rows, %d inactive officials, built in %s, with CSV (%d KB) and HTML (%d KB) in %s",
		len(rep.Rows), len(rep.Inactive), took.Round(time.Millisecond), csvBuf.n>>10, htmlBuf.n>>10, all.Round(time.Millisecond))
	if all > 30*time.Second {
		t.Errorf("yearly report took %s: a regression far beyond the 2 s requirement", all)
	}
	if rep.Total.Mailboxes != len(p.dir.accounts) {
		t.Errorf("total mailboxes %d, want %d", rep.Total.Mailboxes, len(p.dir.accounts))
	}
	for i, want := range p.accessed {
		if rep.Total.Accessed[i] != want {
			t.Fatalf("day %s: %d accessed, simulated %d", p.from+Day(i), rep.Total.Accessed[i], want)
		}
	}
	var size int64
	if err := p.db.ro.QueryRow(`SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()`).Scan(&size); err == nil {
		t.Logf("access records: %d KB for %d official-years (%.0f bytes per official and year)",
			size>>10, len(p.dir.accounts), float64(size)/float64(len(p.dir.accounts)))
	}
}

// BenchmarkProvinceYearReport: the yearly access report of a generated
// province, CSV included (go test ./policy -run '^$' -bench Province).
func BenchmarkProvinceYearReport(b *testing.B) {
	p := newProvince(b)
	b.ResetTimer()
	for b.Loop() {
		rep := p.report(b)
		if err := RenderAccessCSV(io.Discard, rep); err != nil {
			b.Fatal(err)
		}
	}
}

type countingWriter struct{ n int }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }
