package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"congvu/directory"
	"congvu/directory/sqldir"
)

func TestEmbeddedCSVMatchesShared(t *testing.T) {
	shared, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "data", "dvhc-2025.csv"))
	if err != nil {
		t.Skipf("shared data not beside the repository: %v", err)
	}
	if string(shared) != dvhcCSV {
		t.Error("internal/demo/dvhc-2025.csv differs from shared/data/dvhc-2025.csv")
	}
}

func TestCommunes(t *testing.T) {
	c, err := Communes("56")
	if err != nil {
		t.Fatal(err)
	}
	if len(c) != 65 || c[0].ProvinceName != "Tỉnh Khánh Hòa" {
		t.Errorf("Khánh Hòa: %d communes, province %q", len(c), c[0].ProvinceName)
	}
	if i := slices.IndexFunc(c, func(c Commune) bool { return c.Code == "22736" }); i < 0 || c[i].Name != "Đặc khu Trường Sa" || c[i].Kind != "dac_khu" {
		t.Errorf("Đặc khu Trường Sa missing: %+v", c)
	}
	if _, err := Communes("00"); err == nil {
		t.Error("Communes(00) succeeded")
	}
}

// TestPlanAllProvinces plans every province (no hashing) and checks that
// units and addresses are unique and well-formed, including the provinces
// whose commune names differ only by diacritics.
func TestPlanAllProvinces(t *testing.T) {
	seen := map[string]bool{}
	for _, line := range strings.Split(dvhcCSV, "\n")[1:] {
		code, _, _ := strings.Cut(line, ",")
		if code == "" || seen[code] {
			continue
		}
		seen[code] = true
		units, accounts, err := plan(Options{ProvinceCode: code, OfficialsPerUnit: 1})
		if err != nil {
			t.Fatalf("province %s: %v", code, err)
		}
		communes, _ := Communes(code)
		if len(units) != len(communes)+8 {
			t.Errorf("province %s: %d units for %d communes", code, len(units), len(communes))
		}
		abbrs, addrs := map[string]bool{}, map[string]bool{}
		for _, u := range units {
			if abbrs[u.Abbr] || u.Abbr == "" {
				t.Errorf("province %s: duplicate or empty abbr %q (%s)", code, u.Abbr, u.Name)
			}
			abbrs[u.Abbr] = true
		}
		for _, a := range accounts {
			if addrs[a.account.Address] {
				t.Errorf("province %s: duplicate address %s", code, a.account.Address)
			}
			addrs[a.account.Address] = true
			if err := directory.CheckAddress(a.account.Address); err != nil {
				t.Errorf("province %s: %v", code, err)
			}
		}
	}
	if len(seen) != 34 {
		t.Errorf("%d provinces in the list, want 34", len(seen))
	}
	// Thái Nguyên has Xã Văn Lang and Xã Văn Lăng: the second gets a number.
	units, _, _ := plan(Options{ProvinceCode: "19"})
	var got []string
	for _, u := range units {
		if strings.HasPrefix(u.Abbr, "vanlang") {
			got = append(got, u.Name+"="+u.Abbr)
		}
	}
	if !slices.Equal(got, []string{"Xã Văn Lang=vanlang", "Xã Văn Lăng=vanlang2"}) {
		t.Errorf("Văn Lang / Văn Lăng = %v", got)
	}
}

func TestPlanDeterministic(t *testing.T) {
	summary := func(seed int64) string {
		_, accounts, err := plan(Options{ProvinceCode: "56", Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, a := range accounts {
			fmt.Fprintf(&b, "%s|%s|%s|%s\n", a.account.Address, a.account.DisplayName, a.account.Title, a.account.Phone)
		}
		return b.String()
	}
	a, b, c := summary(7), summary(7), summary(8)
	if a != b {
		t.Error("same seed, different demo")
	}
	if a == c {
		t.Error("different seeds, same demo")
	}
}

func TestPasswordsFollowPolicy(t *testing.T) {
	rng := newPasswordSource()
	a := &directory.Account{Address: "thanhnn.skhcn@khanhhoa.gov.vn", DisplayName: "Nguyễn Ngọc Thành"}
	seen := map[string]bool{}
	for range 2000 {
		pw := newPassword(rng, a)
		if err := directory.CheckPassword(pw, a); err != nil || len(pw) != pwLength || seen[pw] {
			t.Fatalf("password %q: %v (or repeated)", pw, err)
		}
		seen[pw] = true
	}
}

// TestSeedKhanhHoa seeds the default demo into the SQLite directory and
// checks the tree, the addresses and that every credential logs in.
func TestSeedKhanhHoa(t *testing.T) {
	d, err := sqldir.Open(filepath.Join(t.TempDir(), "directory.db"), sqldir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := t.Context()
	start := time.Now()
	creds, err := Seed(ctx, d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d accounts in %v", len(creds), time.Since(start))

	units, err := d.Units(ctx)
	if err != nil {
		t.Fatal(err)
	}
	communes, _ := Communes("56")
	byCode := map[string]directory.Unit{}
	pos := map[string]int{}
	for i, u := range units {
		byCode[u.Code] = u
		pos[u.Code] = i
	}
	for _, c := range communes {
		u, ok := byCode[c.Code]
		if !ok || u.Kind != directory.UnitCommune || u.ParentCode != "56" || u.Name != c.Name {
			t.Errorf("commune %s %s: got %+v", c.Code, c.Name, u)
		}
	}
	for _, u := range units {
		if p, ok := pos[u.ParentCode]; u.ParentCode != "" && (!ok || p > pos[u.Code]) {
			t.Errorf("unit %s before its parent %s", u.Code, u.ParentCode)
		}
	}
	for code, want := range map[string]string{
		"56":        "ubnd@khanhhoa.gov.vn",
		"56.vpubnd": "vpubnd@khanhhoa.gov.vn",
		"56.snv":    "snv@khanhhoa.gov.vn",
		"56.stc":    "stc@khanhhoa.gov.vn",
		"56.skhcn":  "skhcn@khanhhoa.gov.vn",
		"56.sgddt":  "sgddt@khanhhoa.gov.vn",
		"56.syt":    "syt@khanhhoa.gov.vn",
		"56.sxd":    "sxd@khanhhoa.gov.vn",
		"22366":     "nhatrang@khanhhoa.gov.vn",
		"22333":     "bacnhatrang@khanhhoa.gov.vn",
		"22736":     "truongsa@khanhhoa.gov.vn",
	} {
		if byCode[code].Address != want {
			t.Errorf("unit %s address %q, want %q", code, byCode[code].Address, want)
		}
	}
	if len(units) != len(communes)+8 {
		t.Errorf("%d units, want %d", len(units), len(communes)+8)
	}

	accounts, err := d.Accounts(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(accounts) != len(creds) || len(creds) != 1+len(units)*5 {
		t.Errorf("%d accounts, %d credentials, want %d", len(accounts), len(creds), 1+len(units)*5)
	}
	roles := map[string]int{}
	seen := map[string]bool{}
	for _, c := range creds {
		if seen[c.Address] {
			t.Errorf("duplicate address %s", c.Address)
		}
		seen[c.Address] = true
		roles[c.Role]++
	}
	wantRoles := map[string]int{"operator": 1, "unit": len(units), "unitadmin": len(units), "clerk": len(units), "official": 2 * len(units)}
	if fmt.Sprint(roles) != fmt.Sprint(wantRoles) {
		t.Errorf("roles %v, want %v", roles, wantRoles)
	}
	perUnit := map[string]int{}
	for _, a := range accounts {
		perUnit[a.UnitCode]++
		if !a.MustChangePassword || a.State != directory.StateActive || !norm.NFC.IsNormalString(a.DisplayName) || a.DisplayName == "" {
			t.Errorf("account %+v", a)
		}
		if a.Role != directory.RoleUnit && a.Role != directory.RoleOperator {
			if u := byCode[a.UnitCode]; !strings.HasSuffix(a.Address, "."+u.Abbr+"@khanhhoa.gov.vn") {
				t.Errorf("%s is not <person>.%s@khanhhoa.gov.vn", a.Address, u.Abbr)
			}
		}
	}
	if perUnit["22366"] != 5 || perUnit["56.skhcn"] != 6 { // skhcn also hosts the operator
		t.Errorf("accounts per unit: nhatrang %d, skhcn %d", perUnit["22366"], perUnit["56.skhcn"])
	}
	leaders, _ := d.Accounts(ctx, "22366")
	titles := map[string]bool{}
	for _, a := range leaders {
		titles[a.Title] = true
	}
	for _, want := range []string{"Chủ tịch UBND phường", "Phó Chủ tịch UBND phường", "Văn thư", "Quản trị mạng"} {
		if !titles[want] {
			t.Errorf("Phường Nha Trang lacks a %q: %v", want, titles)
		}
	}

	// Every credential logs in, with the role it was given.
	start = time.Now()
	var wg sync.WaitGroup
	jobs := make(chan Credential)
	var mu sync.Mutex
	var failures []string
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for c := range jobs {
				a, err := d.Authenticate(ctx, c.Address, c.Password)
				if err != nil || string(a.Role) != c.Role || directory.CheckPassword(c.Password, a) != nil {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s (%s): %v", c.Address, c.Role, err))
					mu.Unlock()
				}
			}
		})
	}
	for _, c := range creds {
		jobs <- c
	}
	close(jobs)
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	t.Logf("authenticated %d credentials in %v", len(creds), time.Since(start))
}

func TestSeedErrors(t *testing.T) {
	d, err := sqldir.Open(filepath.Join(t.TempDir(), "directory.db"), sqldir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := Seed(t.Context(), d, Options{ProvinceCode: "99"}); err == nil {
		t.Error("unknown province accepted")
	}
	if _, err := Seed(t.Context(), d, Options{Domain: "not a domain"}); err == nil {
		t.Error("bad domain accepted")
	}
}
