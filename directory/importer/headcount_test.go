package importer

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// The optional bien_che column gives each unit's headcount, keyed by the
// resolved unit code (a name or code cell); a bad number is a line error.
func TestHeadcountColumn(t *testing.T) {
	d := newDir(t)
	rows := readString(t, "ho_ten,don_vi,bien_che\n"+
		"Nguyễn Ngọc Thành,Sở Khoa học và Công nghệ,42\n"+
		"Trần Thị Đào,22366,\n"+
		"Lê Văn Ẩn,22366,1.200\n")
	rep, err := Import(context.Background(), d, rows, Options{Domain: "khanhhoa.gov.vn", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Headcounts) != 2 || rep.Headcounts["56.skhcn"] != 42 || rep.Headcounts["22366"] != 1200 {
		t.Errorf("headcounts %v", rep.Headcounts)
	}
	_, err = ReadCSV(strings.NewReader("ho_ten,don_vi,bien_che\nNguyễn Ngọc Thành,56.skhcn,bốn mươi\n"))
	var bad LineErrors
	if !errors.As(err, &bad) || len(bad) != 1 || !strings.Contains(bad[0].Error(), "biên chế") {
		t.Errorf("bad headcount: %v", err)
	}
}
