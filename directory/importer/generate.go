package importer

import (
	"fmt"
	"strings"

	"congvu/directory"
	"congvu/directory/addr"
	"congvu/internal/demo"
)

// AllProvinces selects every province of the official list in Generate.
const AllProvinces = "all"

// departments are the provincial agencies after the 2025 reorganisation
// (Nghị định 45/2025/NĐ-CP), with their usual address abbreviations. The
// first six have the codes internal/demo gives them, so a generated file
// imports into a demo directory without creating units.
var departments = []struct{ name, abbr string }{
	{"Sở Nội vụ", "snv"},
	{"Sở Tài chính", "stc"},
	{"Sở Khoa học và Công nghệ", "skhcn"},
	{"Sở Giáo dục và Đào tạo", "sgddt"},
	{"Sở Y tế", "syt"},
	{"Sở Xây dựng", "sxd"},
	{"Sở Tư pháp", "stp"},
	{"Sở Công Thương", "sct"},
	{"Sở Nông nghiệp và Môi trường", "snnmt"},
	{"Sở Văn hóa, Thể thao và Du lịch", "svhttdl"},
	{"Sở Dân tộc và Tôn giáo", "sdttg"},
	{"Thanh tra tỉnh", "ttt"},
	{"Văn phòng Đoàn ĐBQH và HĐND tỉnh", "vpdbqh"},
	{"Ban Quản lý các khu công nghiệp", "bqlkcn"},
	{"Ban Quản lý dự án đầu tư xây dựng", "bqlda"},
	{"Trường Chính trị tỉnh", "tct"},
	{"Đài Phát thanh và Truyền hình", "ptth"},
	{"Trung tâm Phục vụ hành chính công", "ttpvhcc"},
	{"Quỹ Đầu tư phát triển", "qdtpt"},
	{"Liên minh Hợp tác xã", "lmhtx"},
}

// Generate builds a realistic province for tests and load tests: the
// provincial People's Committee, its office, twenty departments and every
// commune of the province from the official 2025 list, each with between
// perUnitMin and perUnitMax officials (realistic names, titles and phone
// numbers). provinceCode "all" (AllProvinces) builds all 34 provinces
// (about 120–150k officials with the default 20–40). The result depends
// only on the arguments. Rows name their unit by code, which is unique
// even across provinces; units are listed parents first. Unit addresses
// are left empty (Import allocates them in its domain). An unknown
// province code gives no rows and no units.
func Generate(provinceCode string, seed int64, perUnitMin, perUnitMax int) ([]Row, []directory.Unit) {
	perUnitMin = max(perUnitMin, 1)
	perUnitMax = max(perUnitMax, perUnitMin)
	names := demo.NewNames(seed)
	codes := []string{provinceCode}
	if provinceCode == AllProvinces {
		codes = nil
		for i := 1; i < 100; i++ {
			codes = append(codes, fmt.Sprintf("%02d", i))
		}
	}
	var rows []Row
	var units []directory.Unit
	for _, pc := range codes {
		communes, err := demo.Communes(pc)
		if err != nil {
			continue // not a province code of the list
		}
		us, titles := provinceUnits(pc, communes)
		units = append(units, us...)
		for i, u := range us {
			n := perUnitMin + names.Intn(perUnitMax-perUnitMin+1)
			for j := range n {
				title := "Chuyên viên"
				if j < len(titles[i]) {
					title = titles[i][j]
				}
				rows = append(rows, Row{FullName: names.Name(), Unit: u.Code, Title: title, Phone: names.Phone()})
			}
		}
	}
	for i := range rows {
		rows[i].Line = i + 2 // as in the file WriteCSV writes
	}
	return rows, units
}

// provinceUnits lists a province's units with the titles of their first
// officials (the rest are chuyên viên).
func provinceUnits(pc string, communes []demo.Commune) ([]directory.Unit, [][]string) {
	provKind, place := "tỉnh", communes[0].ProvinceName
	for _, p := range []string{"Thành phố ", "Tỉnh "} {
		if rest, ok := strings.CutPrefix(place, p); ok {
			provKind, place = strings.ToLower(strings.TrimSpace(p)), rest
			break
		}
	}
	alloc := addr.NewAllocator(reservedLocals...)
	var units []directory.Unit
	var titles [][]string
	add := func(code, name, abbr string, kind directory.UnitKind, parent string, t ...string) {
		units = append(units, directory.Unit{Code: code, Name: name, Abbr: alloc.Unit(abbr), Kind: kind, ParentCode: parent})
		titles = append(titles, t)
	}
	add(pc, "Ủy ban nhân dân "+provKind+" "+place, "ubnd", directory.UnitProvince, "",
		"Chủ tịch UBND "+provKind, "Phó Chủ tịch UBND "+provKind, "Phó Chủ tịch UBND "+provKind, "Phó Chủ tịch UBND "+provKind)
	add(pc+".vpubnd", "Văn phòng UBND "+provKind, "vpubnd", directory.UnitDepartment, pc,
		"Chánh Văn phòng", "Phó Chánh Văn phòng", "Phó Chánh Văn phòng", "Văn thư", "Trưởng phòng Tổng hợp", "Trưởng phòng Hành chính - Tổ chức")
	for _, d := range departments {
		head, deputy := "Giám đốc", "Phó Giám đốc"
		if !strings.HasPrefix(d.name, "Sở ") {
			head, deputy = "Thủ trưởng", "Phó Thủ trưởng"
		}
		add(pc+"."+d.abbr, strings.ReplaceAll(d.name, "tỉnh", provKind), d.abbr, directory.UnitDepartment, pc,
			head, deputy, deputy, "Chánh Văn phòng", "Văn thư", "Kế toán", "Trưởng phòng", "Trưởng phòng", "Phó Trưởng phòng")
	}
	for _, c := range communes {
		w := map[string]string{"phuong": "phường", "dac_khu": "đặc khu"}[c.Kind]
		if w == "" {
			w = "xã"
		}
		add(c.Code, c.Name, addr.UnitAbbr(c.Name), directory.UnitCommune, pc,
			"Chủ tịch UBND "+w, "Phó Chủ tịch UBND "+w, "Phó Chủ tịch UBND "+w, "Chánh Văn phòng HĐND và UBND",
			"Văn thư", "Trưởng phòng Kinh tế", "Trưởng phòng Văn hóa - Xã hội", "Công chức Tư pháp - Hộ tịch", "Kế toán")
	}
	return units, titles
}
