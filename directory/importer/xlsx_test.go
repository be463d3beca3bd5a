package importer

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

func TestReadXLSX(t *testing.T) {
	f := excelize.NewFile()
	sheet := f.GetSheetName(0)
	f.SetSheetRow(sheet, "A1", &[]any{"Họ và tên", "Đơn vị", "Chức vụ", "Điện thoại"})
	f.SetSheetRow(sheet, "A2", &[]any{"Nguyễn Ngọc Thành", "Sở Khoa học và Công nghệ", "Giám đốc", "0912 345 678"})
	// Decomposed Unicode (as some keyboards type it) and a phone stored as a number.
	f.SetSheetRow(sheet, "A3", &[]any{"Tra\u0302\u0300n Thi\u0323 Hoa", "skhcn", "Chuyên viên", 84912345678})
	// Row 4 left empty, as spreadsheets often have.
	f.SetSheetRow(sheet, "A5", &[]any{"Lê Văn Tám", "", "Văn thư"})
	f.SetSheetRow(sheet, "A6", &[]any{"Phạm Thị Lan", "Phường Nha Trang"})
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}

	rows, err := ReadXLSX(&buf)
	var bad LineErrors
	if !errors.As(err, &bad) || len(bad) != 1 || bad[0].Line != 5 || !strings.Contains(bad[0].Reason, "missing unit") {
		t.Fatalf("want one LineError on sheet row 5 (missing unit), got %v", err)
	}
	if len(rows) != 3 {
		t.Fatalf("got %d rows, want 3: %+v", len(rows), rows)
	}
	want := []Row{
		{Line: 2, FullName: "Nguyễn Ngọc Thành", Unit: "Sở Khoa học và Công nghệ", Title: "Giám đốc", Phone: "0912 345 678"},
		{Line: 3, FullName: "Trần Thị Hoa", Unit: "skhcn", Title: "Chuyên viên", Phone: "84912345678"},
		{Line: 6, FullName: "Phạm Thị Lan", Unit: "Phường Nha Trang"},
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], want[i])
		}
	}
}

func TestReadXLSXRefusesGarbageAndMissingColumns(t *testing.T) {
	if _, err := ReadXLSX(strings.NewReader("not a zip file")); err == nil {
		t.Error("garbage accepted as a workbook")
	}
	f := excelize.NewFile()
	f.SetSheetRow(f.GetSheetName(0), "A1", &[]any{"Họ và tên", "Chức vụ"})
	var buf bytes.Buffer
	f.Write(&buf)
	if _, err := ReadXLSX(&buf); err == nil || !strings.Contains(err.Error(), "don_vi") {
		t.Errorf("missing unit column: %v", err)
	}
}
