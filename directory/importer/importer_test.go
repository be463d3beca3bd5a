package importer

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"congvu/directory"
	"congvu/directory/sqldir"
)

const domain = "khanhhoa.gov.vn"

// newDir returns an SQLite directory with a province, Sở KH&CN and one
// commune.
func newDir(t *testing.T) *sqldir.DB {
	t.Helper()
	d, err := sqldir.Open(filepath.Join(t.TempDir(), "dir.db"), sqldir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ctx := context.Background()
	for _, u := range []directory.Unit{
		{Code: "56", Name: "Ủy ban nhân dân tỉnh Khánh Hòa", Abbr: "ubnd", Kind: directory.UnitProvince},
		{Code: "56.skhcn", Name: "Sở Khoa học và Công nghệ", Abbr: "skhcn", Kind: directory.UnitDepartment, ParentCode: "56"},
		{Code: "22366", Name: "Phường Nha Trang", Abbr: "nhatrang", Kind: directory.UnitCommune, ParentCode: "56"},
	} {
		if err := d.PutUnit(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func readString(t *testing.T, s string) []Row {
	t.Helper()
	rows, err := ReadCSV(strings.NewReader(s))
	if err != nil {
		t.Fatalf("ReadCSV: %v", err)
	}
	return rows
}

const sample = "ho_ten,don_vi,chuc_vu,dien_thoai\n" +
	"Nguyễn Ngọc Thành,Sở Khoa học và Công nghệ,Giám đốc,0901 234 567\n" +
	"Nguyễn Ngọc Thành,56.skhcn,Chuyên viên,\n" +
	"Trần Thị Đào,phường nha trang,Văn thư,0912 000 111\n" +
	"Lê Văn Ẩn,Sở Không Có,Chuyên viên,\n"

func TestImport(t *testing.T) {
	ctx := context.Background()
	d := newDir(t)
	rows := readString(t, sample)
	rep, err := Import(ctx, d, rows, Options{Domain: domain})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range rep.Created {
		got = append(got, e.Address)
		if directory.CheckPassword(e.Password, &directory.Account{Address: e.Address, DisplayName: e.FullName}) != nil {
			t.Errorf("%s: initial password violates the policy", e.Address)
		}
	}
	want := []string{"thanhnn.skhcn@" + domain, "thanhnn2.skhcn@" + domain, "daott.nhatrang@" + domain}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("created %v, want %v", got, want)
	}
	if len(rep.Collisions) != 1 || rep.Collisions[0].Line != 3 || rep.Collisions[0].Wanted != want[0] || rep.Collisions[0].Assigned != want[1] {
		t.Errorf("collisions = %+v", rep.Collisions)
	}
	if len(rep.Skipped) != 1 || rep.Skipped[0].Line != 5 || !strings.Contains(rep.Skipped[0].Reason, "unknown unit") {
		t.Errorf("skipped = %+v", rep.Skipped)
	}
	a, err := d.Authenticate(ctx, want[0], rep.Created[0].Password)
	if err != nil || !a.MustChangePassword || a.Title != "Giám đốc" || a.UnitCode != "56.skhcn" || a.DisplayName != "Nguyễn Ngọc Thành" {
		t.Fatalf("Authenticate: %+v, %v", a, err)
	}

	// The same file again creates nothing and changes nothing.
	rep2, err := Import(ctx, d, rows, Options{Domain: domain})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep2.Created) != 0 || len(rep2.Updated) != 0 || len(rep2.Unchanged) != 3 || len(rep2.Collisions) != 0 {
		t.Errorf("re-run: %+v", rep2)
	}
	if _, err := d.Authenticate(ctx, want[0], rep.Created[0].Password); err != nil {
		t.Errorf("re-run changed a password: %v", err)
	}
	// A changed title updates the existing person in place.
	rows[1].Title = "Phó Giám đốc"
	rep3, err := Import(ctx, d, rows, Options{Domain: domain})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep3.Created) != 0 || len(rep3.Updated) != 1 || rep3.Updated[0].Address != want[1] {
		t.Errorf("update run: %+v", rep3)
	}
	if a, _ := d.Lookup(ctx, want[1]); a == nil || a.Title != "Phó Giám đốc" {
		t.Errorf("after update: %+v", a)
	}
	all, _ := d.Accounts(ctx, "")
	if len(all) != 3 {
		t.Errorf("%d accounts in the directory, want 3", len(all))
	}
}

func TestImportDryRunAndUnits(t *testing.T) {
	ctx := context.Background()
	d := newDir(t)
	units := []directory.Unit{{Code: "56.syt", Name: "Sở Y tế", Abbr: "syt", Kind: directory.UnitDepartment, ParentCode: "56"}}
	rows := []Row{{Line: 2, FullName: "Phạm Minh Đức", Unit: "56.syt"}}
	rep, err := Import(ctx, d, rows, Options{Domain: domain, DryRun: true, Units: units})
	if err != nil || len(rep.Created) != 2 || len(rep.UnitsCreated) != 1 {
		t.Fatalf("dry run: %+v, %v", rep, err)
	}
	if all, _ := d.Accounts(ctx, ""); len(all) != 0 {
		t.Fatalf("dry run wrote %d accounts", len(all))
	}
	rep, err = Import(ctx, d, rows, Options{Domain: domain, Units: units})
	if err != nil || len(rep.Created) != 2 || rep.Created[0].Address != "syt@"+domain || rep.Created[1].Address != "ducpm.syt@"+domain {
		t.Fatalf("import: %+v, %v", rep, err)
	}
	if u, err := d.Units(ctx); err != nil || len(u) != 4 {
		t.Errorf("units: %v, %v", u, err)
	}
}

func TestReadCSV(t *testing.T) {
	// BOM, semicolons (Excel, Vietnamese locale), Vietnamese header names,
	// decomposed Unicode (NFD), and bad rows with their line numbers.
	nfd := "Nguye\u0302\u0303n Ngo\u0323c Tha\u0300nh" // Nguyễn Ngọc Thành, decomposed
	in := "\uFEFFHọ và tên;Đơn vị;Chức vụ;Điện thoại;Email\n" +
		nfd + ";Sở Khoa học và Công nghệ;Giám đốc;0901;\n" +
		";56.skhcn;;;\n" +
		"\n" +
		"Lê Lợi;56;;;not-an-address\n" +
		"Lê  Lai ;56;;;lelai@khanhhoa.gov.vn\n"
	rows, err := ReadCSV(strings.NewReader(in))
	var le LineErrors
	if !errors.As(err, &le) || len(le) != 2 || le[0].Line != 3 || le[1].Line != 5 {
		t.Fatalf("errors = %v", err)
	}
	if len(rows) != 2 {
		t.Fatalf("rows = %+v", rows)
	}
	if rows[0].FullName != "Nguyễn Ngọc Thành" || rows[0].Line != 2 || rows[0].Title != "Giám đốc" {
		t.Errorf("row 0 = %+v (%q)", rows[0], rows[0].FullName)
	}
	if rows[1].FullName != "Lê Lai" || rows[1].Line != 6 || rows[1].Address != "lelai@khanhhoa.gov.vn" {
		t.Errorf("row 1 = %+v", rows[1])
	}

	// The decomposed name is the same person as the precomposed one.
	d := newDir(t)
	ctx := context.Background()
	rep, err := Import(ctx, d, rows[:1], Options{Domain: domain})
	if err != nil || len(rep.Created) != 1 || rep.Created[0].Address != "thanhnn.skhcn@"+domain {
		t.Fatalf("import: %+v, %v", rep, err)
	}
	rep, err = Import(ctx, d, readString(t, sample)[:1], Options{Domain: domain})
	if err != nil || len(rep.Created) != 0 || len(rep.Updated) != 1 {
		t.Fatalf("precomposed re-import: %+v, %v", rep, err)
	}

	if _, err := ReadCSV(strings.NewReader("name,title\nA,B\n")); err == nil {
		t.Error("missing unit column accepted")
	}
}

func TestGenerate(t *testing.T) {
	rows, units := Generate("56", 1, 20, 40)
	if len(units) != 2+len(departments)+65 { // Khánh Hòa has 65 communes
		t.Errorf("%d units", len(units))
	}
	if len(rows) < 20*len(units) || len(rows) > 40*len(units) {
		t.Errorf("%d rows for %d units", len(rows), len(units))
	}
	again, _ := Generate("56", 1, 20, 40)
	if len(again) != len(rows) || again[len(rows)-1] != rows[len(rows)-1] {
		t.Error("Generate is not deterministic")
	}
	var sb strings.Builder
	if err := WriteCSV(&sb, rows[:50]); err != nil {
		t.Fatal(err)
	}
	back := readString(t, sb.String())
	if len(back) != 50 || back[49] != rows[49] {
		t.Errorf("CSV round trip: %+v vs %+v", back[49], rows[49])
	}
	sb.Reset()
	WriteUnitsCSV(&sb, units)
	if us, err := ReadUnitsCSV(strings.NewReader(sb.String())); err != nil || len(us) != len(units) || us[5] != units[5] {
		t.Errorf("units round trip: %v", err)
	}

	// One small import of generated rows goes through without skips.
	d, err := sqldir.Open(filepath.Join(t.TempDir(), "dir.db"), sqldir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	small, smallUnits := Generate("56", 2, 1, 1)
	rep, err := Import(context.Background(), d, small[:10], Options{Domain: domain, Units: smallUnits[:12]})
	if err != nil || len(rep.Skipped) != 0 || len(rep.Created) != 22 {
		t.Errorf("import of generated rows: created %d, skipped %v, %v", len(rep.Created), rep.Skipped, err)
	}

	all, allUnits := Generate(AllProvinces, 1, 20, 40)
	if len(allUnits) != 34*(2+len(departments))+3321 || len(all) < 100_000 || len(all) > 200_000 {
		t.Errorf("all provinces: %d units, %d rows", len(allUnits), len(all))
	}
}

func TestImportExplicitAddress(t *testing.T) {
	ctx := context.Background()
	d := newDir(t)
	rows := []Row{
		{Line: 2, FullName: "Lê Lai", Unit: "56", Address: "lelai@other.gov.vn"},
		{Line: 3, FullName: "Lê Lợi", Unit: "56", Address: "lelai@other.gov.vn"},
		{Line: 4, FullName: "Lê Văn Lai", Unit: "56"},
	}
	rep, err := Import(ctx, d, rows, Options{Domain: domain})
	if err != nil || len(rep.Created) != 2 || len(rep.Skipped) != 1 || rep.Skipped[0].Line != 3 {
		t.Fatalf("%+v, %v", rep, err)
	}
	if rep.Created[0].Address != "lelai@other.gov.vn" || rep.Created[1].Address != "lailv.ubnd@"+domain {
		t.Errorf("created %+v", rep.Created)
	}
}

// TestImportNewPeople: with NewPeople a namesake in the same unit is a new
// account with the next address, as the admin web needs.
func TestImportNewPeople(t *testing.T) {
	ctx := context.Background()
	d := newDir(t)
	row := []Row{{FullName: "Nguyễn Ngọc Thành", Unit: "56.skhcn", Title: "Chuyên viên"}}
	for i, want := range []string{"thanhnn.skhcn@" + domain, "thanhnn2.skhcn@" + domain} {
		rep, err := Import(ctx, d, row, Options{Domain: domain, NewPeople: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Created) != 1 || rep.Created[0].Address != want || rep.Created[0].Password == "" {
			t.Fatalf("run %d: created %+v, want %s", i, rep.Created, want)
		}
	}
	rep, err := Import(ctx, d, row, Options{Domain: domain})
	if err != nil || len(rep.Created) != 0 || len(rep.Unchanged) != 1 {
		t.Errorf("without NewPeople the import stays idempotent: %+v, %v", rep, err)
	}
}

// TestImportStableKey: a re-import after a reorganisation finds people by
// their stable key (or their address column) wherever they now work and
// lists them as moves, not new accounts; the people of the file's units
// that no row names are listed as departures; nothing of it is written.
func TestImportStableKey(t *testing.T) {
	ctx := context.Background()
	d := newDir(t)
	first := "ho_ten,don_vi,chuc_vu,ma_can_bo\n" +
		"Nguyễn Ngọc Thành,56.skhcn,Chuyên viên,CB-001\n" +
		"Trần Thị Đào,56.skhcn,Văn thư,CB 002\n" +
		"Lê Văn Khỏe,56.skhcn,Chuyên viên,\n"
	rep, err := Import(ctx, d, readString(t, first), Options{Domain: domain})
	if err != nil || len(rep.Created) != 3 || len(rep.Keys) != 2 || len(rep.Moves) != 0 || len(rep.Departures) != 0 {
		t.Fatalf("first import: %+v, %v", rep, err)
	}
	keys := map[string]string{}
	for _, b := range rep.Keys {
		keys[normalizeKey(b.Key)] = b.Address
	}
	thanh, dao := rep.Created[0].Address, rep.Created[1].Address

	// Thành moved to the commune (by key, a new spelling of it), Đào too
	// (by her address, no key), Khỏe left; a namesake of Thành with
	// another key is a new person.
	second := "ho_ten,don_vi,chuc_vu,ma_can_bo,email\n" +
		"Nguyễn Ngọc Thành,22366,Chủ tịch, cb-001 ,\n" +
		"Trần Thị Đào,22366,Văn thư,," + dao + "\n" +
		"Nguyễn Ngọc Thành,56.skhcn,Chuyên viên,CB-777,\n"
	rep, err = Import(ctx, d, readString(t, second), Options{Domain: domain, Keys: keys, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Moves) != 2 || rep.Moves[0].Address != thanh || rep.Moves[0].ToUnit != "22366" || rep.Moves[0].FromUnit != "56.skhcn" ||
		rep.Moves[1].Address != dao {
		t.Errorf("moves: %+v", rep.Moves)
	}
	if len(rep.Created) != 1 || rep.Created[0].Address == thanh || len(rep.Collisions) != 1 {
		t.Errorf("created %+v, collisions %+v: want the namesake as a new account with the next address", rep.Created, rep.Collisions)
	}
	if len(rep.Departures) != 1 || !strings.HasPrefix(rep.Departures[0].Address, "khoelv.skhcn@") {
		t.Errorf("departures: %+v", rep.Departures)
	}
	// A dry run writes nothing.
	if a, err := d.Lookup(ctx, thanh); err != nil || a.UnitCode != "56.skhcn" || a.Title != "Chuyên viên" {
		t.Errorf("dry run changed %s: %+v, %v", thanh, a, err)
	}
	if all, _ := d.Accounts(ctx, ""); len(all) != 3 {
		t.Errorf("dry run created accounts: %d", len(all))
	}
}
