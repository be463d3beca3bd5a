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

// FuzzReadCSV: any input gives rows with a name and a unit and a
// headcount within bounds, or an error; never a panic.
func FuzzReadCSV(f *testing.F) {
	for _, seed := range []string{
		sample,
		"ho_ten,don_vi,bien_che\nNguyễn Ngọc Thành,56.skhcn,42\nLê Văn Ẩn,22366,1.200\n",
		"ho_ten;don_vi;so_bien_che\nA;B;-3\n",
		"\uFEFFHọ và tên,Đơn vị,Biên chế,Mã cán bộ\n\"Trần \"\"Thị\"\" Đào\",Phường Nha Trang,99999999999,079\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rows, _ := ReadCSV(strings.NewReader(in))
		for _, r := range rows {
			if r.FullName == "" || r.Unit == "" || r.Headcount < 0 || r.Headcount > maxHeadcount {
				t.Fatalf("row %+v from %q", r, in)
			}
		}
	})
}
