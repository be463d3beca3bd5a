// Package demo seeds a directory with a demonstration province: the
// provincial People's Committee, its office, six departments and every
// commune of the province from the official 2025 list, each with a shared
// unit mailbox, a unit administrator and a few officials with realistic
// Vietnamese names, plus one provincial operator. Addresses follow
// directory/addr (QĐ 162/2025 convention); passwords are random and
// returned to the caller, who shows them once.
package demo

import (
	"context"
	_ "embed"
	"encoding/csv"
	"fmt"
	mrand "math/rand/v2"
	"strings"

	"congvu/directory"
	"congvu/directory/addr"
)

// dvhcCSV is the list of the 34 provinces and 3,321 communes in force since
// 1 July 2025 (province_code, province_name, unit_code, unit_name,
// unit_kind = xa | phuong | dac_khu).
//
//go:embed dvhc-2025.csv
var dvhcCSV string

// Defaults of Options.
const (
	DefaultProvinceCode     = "56" // Tỉnh Khánh Hòa in dvhc-2025.csv
	DefaultOfficialsPerUnit = 3
)

// Options chooses the demo province.
type Options struct {
	// ProvinceCode is the official province code; default "56" (Khánh Hòa).
	ProvinceCode string
	// Domain is the mail domain; default derived from the province name,
	// "khanhhoa.gov.vn" for Khánh Hòa.
	Domain string
	// OfficialsPerUnit is the number of named officials per unit besides the
	// unit mailbox and the unit administrator; 0 means 3 (leader, deputy,
	// văn thư), more adds chuyên viên.
	OfficialsPerUnit int
	// Seed makes names, titles and phone numbers reproducible. Passwords
	// are always random.
	Seed int64
}

// Credential is one seeded login, to be shown to the demo user.
type Credential struct {
	Address  string
	Password string
	Role     string // a directory.Role
}

// Commune is one commune-level unit of the official list.
type Commune struct {
	Code         string // official code, e.g. "22366"
	Name         string // "Phường Nha Trang"
	Kind         string // "xa", "phuong" or "dac_khu"
	ProvinceName string // "Tỉnh Khánh Hòa"
}

// Communes returns the communes of a province from the embedded official
// list, in the list's order (by code).
func Communes(provinceCode string) ([]Commune, error) {
	r := csv.NewReader(strings.NewReader(dvhcCSV))
	r.FieldsPerRecord = 5
	records, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("demo: dvhc-2025.csv: %w", err)
	}
	var out []Commune
	for _, rec := range records[1:] {
		if rec[0] == provinceCode {
			out = append(out, Commune{Code: rec[2], Name: rec[3], Kind: rec[4], ProvinceName: rec[1]})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("demo: no province with code %q in dvhc-2025.csv", provinceCode)
	}
	return out, nil
}

// provincePlace strips "Tỉnh " or "Thành phố " from a province name.
func provincePlace(provinceName string) (kind, place string) {
	for _, p := range []string{"Thành phố ", "Tỉnh "} {
		if rest, ok := strings.CutPrefix(provinceName, p); ok {
			return strings.ToLower(strings.TrimSpace(p)), rest
		}
	}
	return "tỉnh", provinceName
}

// unitSpec is one unit of the demo with the titles of its officials.
type unitSpec struct {
	unit   directory.Unit
	titles []string // leader, deputy; then văn thư and chuyên viên are added
}

// communeWord is how a commune kind is named in titles ("Chủ tịch UBND xã").
func communeWord(kind string) string {
	switch kind {
	case "phuong":
		return "phường"
	case "dac_khu":
		return "đặc khu"
	default:
		return "xã"
	}
}

// seededAccount is an account with the password it is created with.
type seededAccount struct {
	account  directory.Account
	password string
}

// plan builds the units and accounts of the demo without touching any
// directory: deterministic in everything but the passwords.
func plan(opts Options) ([]directory.Unit, []seededAccount, error) {
	communes, err := Communes(opts.ProvinceCode)
	if err != nil {
		return nil, nil, err
	}
	provKind, place := provincePlace(communes[0].ProvinceName)
	if opts.Domain == "" {
		opts.Domain = addr.Slug(place) + ".gov.vn"
	}
	opts.Domain = strings.ToLower(strings.TrimSpace(opts.Domain))
	if err := directory.CheckAddress("quantri@" + opts.Domain); err != nil {
		return nil, nil, fmt.Errorf("demo: domain %q: %w", opts.Domain, err)
	}
	if opts.OfficialsPerUnit <= 0 {
		opts.OfficialsPerUnit = DefaultOfficialsPerUnit
	}

	// Addresses RFC 5321 4.5.1 and RFC 2142 reserve, and the operator's.
	alloc := addr.NewAllocator("postmaster", "abuse", "hostmaster", "webmaster", "quantri")
	pc := opts.ProvinceCode
	mk := func(code, name, abbr string, kind directory.UnitKind, parent string, titles ...string) unitSpec {
		abbr = alloc.Unit(abbr)
		return unitSpec{directory.Unit{Code: code, Name: name, Abbr: abbr, Kind: kind, ParentCode: parent,
			Address: abbr + "@" + opts.Domain}, titles}
	}
	specs := []unitSpec{
		mk(pc, "Ủy ban nhân dân "+provKind+" "+place, "ubnd", directory.UnitProvince, "",
			"Chủ tịch UBND "+provKind, "Phó Chủ tịch UBND "+provKind),
		mk(pc+".vpubnd", "Văn phòng UBND "+provKind, "vpubnd", directory.UnitDepartment, pc,
			"Chánh Văn phòng", "Phó Chánh Văn phòng"),
	}
	departments := []struct{ name, abbr string }{
		{"Sở Nội vụ", "snv"},
		{"Sở Tài chính", "stc"},
		{"Sở Khoa học và Công nghệ", "skhcn"},
		{"Sở Giáo dục và Đào tạo", "sgddt"},
		{"Sở Y tế", "syt"},
		{"Sở Xây dựng", "sxd"},
	}
	for _, d := range departments {
		specs = append(specs, mk(pc+"."+d.abbr, d.name, d.abbr, directory.UnitDepartment, pc, "Giám đốc", "Phó Giám đốc"))
	}
	for _, c := range communes {
		w := communeWord(c.Kind)
		specs = append(specs, mk(c.Code, c.Name, addr.UnitAbbr(c.Name), directory.UnitCommune, pc,
			"Chủ tịch UBND "+w, "Phó Chủ tịch UBND "+w))
	}

	names := nameGen{rng: mrand.New(mrand.NewPCG(uint64(opts.Seed), 0x636f6e677675))} // "congvu"
	pwRand := newPasswordSource()
	var accounts []seededAccount
	add := func(a directory.Account) {
		a.State = directory.StateActive
		// As for imported officials: the first web login forces a change.
		// IMAP, POP3 and SMTP accept the initial password meanwhile.
		a.MustChangePassword = true
		accounts = append(accounts, seededAccount{a, newPassword(pwRand, &a)})
	}
	add(directory.Account{Address: "quantri@" + opts.Domain, DisplayName: "Quản trị hệ thống thư điện tử công vụ",
		UnitCode: pc + ".skhcn", Title: "Quản trị hệ thống", Role: directory.RoleOperator})
	units := make([]directory.Unit, 0, len(specs))
	for _, s := range specs {
		u := s.unit
		units = append(units, u)
		add(directory.Account{Address: u.Address, DisplayName: u.Name, UnitCode: u.Code, Role: directory.RoleUnit})
		person := func(title string, role directory.Role) {
			name := names.name()
			add(directory.Account{Address: alloc.Person(name, u.Abbr) + "@" + opts.Domain, DisplayName: name,
				UnitCode: u.Code, Title: title, Phone: names.phone(), Role: role})
		}
		for i := range opts.OfficialsPerUnit {
			switch {
			case i < len(s.titles):
				person(s.titles[i], directory.RoleOfficial)
			case i == len(s.titles):
				person("Văn thư", directory.RoleClerk)
			default:
				person("Chuyên viên", directory.RoleOfficial)
			}
		}
		person("Quản trị mạng", directory.RoleAdmin)
	}
	return units, accounts, nil
}

// Seed creates the demo province in w and returns one credential per
// account, in creation order (operator first). Seeding is meant for an empty
// directory; seeding again with the same options resets the demo accounts'
// passwords. Passwords are hashed by w; accounts are written by parallel
// workers, so a directory that hashes before locking (like sqldir) spreads
// the KDF over all cores.
func Seed(ctx context.Context, w directory.Writer, opts Options) ([]Credential, error) {
	if opts.ProvinceCode == "" {
		opts.ProvinceCode = DefaultProvinceCode
	}
	units, accounts, err := plan(opts)
	if err != nil {
		return nil, err
	}
	for _, u := range units { // parents first: plan lists them so
		if err := w.PutUnit(ctx, u); err != nil {
			return nil, fmt.Errorf("demo: unit %s: %w", u.Code, err)
		}
	}
	writes := make([]directory.AccountWrite, len(accounts))
	for i, a := range accounts {
		writes[i] = directory.AccountWrite{Account: a.account, Password: a.password}
	}
	if err := directory.PutAccounts(ctx, w, writes); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	creds := make([]Credential, len(accounts))
	for i, a := range accounts {
		creds[i] = Credential{Address: a.account.Address, Password: a.password, Role: string(a.account.Role)}
	}
	return creds, nil
}
