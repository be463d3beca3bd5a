package policy

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"image/png"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSlotEncoding(t *testing.T) {
	s := accessSlot{first: 86399, last: 86399, protos: BitIMAP | BitWeb, count: 65535}
	b := make([]byte, slotSize)
	encodeSlot(b, s)
	if got := decodeSlot(b); got != s {
		t.Errorf("round trip %+v → %+v", s, got)
	}
	s.merge(accessSlot{first: 0, last: 10, protos: BitPOP3, count: 5})
	if s.first != 0 || s.last != 86399 || s.protos != BitIMAP|BitWeb|BitPOP3 || s.count != 65535 {
		t.Errorf("merge: %+v", s)
	}
	days := mergeDays(nil, map[int]accessSlot{2: {first: 5, last: 5, count: 1}})
	if len(days) != 3*slotSize || !slotAt(days, 2).accessed() || slotAt(days, 0).accessed() || slotAt(days, 30).accessed() {
		t.Errorf("mergeDays: %x", days)
	}
}

// An access one second before midnight in Asia/Ho_Chi_Minh belongs to that
// day, one second later to the next, whatever the server's zone (UTC here:
// 16:59:59Z and 17:00:00Z).
func TestAccessDayBoundaryHoChiMinh(t *testing.T) {
	e := newEnv(t, testConfig())
	loc := ict(t)
	before := time.Date(2025, 6, 1, 16, 59, 59, 0, time.UTC)
	after := before.Add(time.Second)
	e.engine.RecordAccess(thanh, IMAP, before)
	e.engine.RecordAccess(mai, POP3, after)
	e.engine.RecordAccess(lan, Web, time.Date(2025, 6, 2, 9, 0, 0, 0, loc))
	e.engine.RecordAccess(lan, Submission, time.Date(2025, 6, 2, 17, 30, 0, 0, loc))
	ctx := context.Background()
	if err := e.engine.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// A second batch merges into the same day.
	e.engine.RecordAccess(lan, IMAP, time.Date(2025, 6, 2, 7, 15, 0, 0, loc))
	rep, err := e.engine.AccessReport(ctx, AccessQuery{From: DayFromDate(2025, 6, 1), To: DayFromDate(2025, 6, 2), InactiveDays: 1})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := e.engine.DB().AccessHistory(ctx, thanh, DayFromDate(2025, 5, 31), DayFromDate(2025, 6, 3), loc)
	if len(h) != 1 || h[0].Day != DayFromDate(2025, 6, 1) || h[0].First.In(loc).Format("15:04:05") != "23:59:59" {
		t.Errorf("thanh: %+v, want one access on 2025-06-01 at 23:59:59", h)
	}
	h, _ = e.engine.DB().AccessHistory(ctx, mai, DayFromDate(2025, 5, 31), DayFromDate(2025, 6, 3), loc)
	if len(h) != 1 || h[0].Day != DayFromDate(2025, 6, 2) || h[0].First.In(loc).Format("15:04:05") != "00:00:00" {
		t.Errorf("mai: %+v, want one access on 2025-06-02 at 00:00:00", h)
	}
	h, _ = e.engine.DB().AccessHistory(ctx, lan, DayFromDate(2025, 6, 2), DayFromDate(2025, 6, 2), loc)
	if len(h) != 1 || h[0].Count != 3 || h[0].Protocols != BitWeb|BitSMTP|BitIMAP ||
		h[0].First.In(loc).Format("15:04") != "07:15" || h[0].Last.In(loc).Format("15:04") != "17:30" {
		t.Errorf("lan: %+v, want 3 accesses 07:15–17:30 over web, smtp, imap", h)
	}
	if got := strings.Join(ProtocolNames(h[0].Protocols), ","); got != "IMAP,SMTP,Web" {
		t.Errorf("ProtocolNames = %s", got)
	}
	if rep.Total.Accessed[0] != 1 || rep.Total.Accessed[1] != 2 {
		t.Errorf("per-day totals %v, want [1 2]", rep.Total.Accessed)
	}
}

// The report follows the organisation tree (parents first) with a
// sub-total for the department (own mailboxes + its division), lists the
// officials without access, and renders to CSV (with BOM), HTML, SVG and
// PNG that parse.
func TestAccessReportTreeSubtotalsAndRenderers(t *testing.T) {
	e := newEnv(t, testConfig())
	loc := ict(t)
	day := DayFromDate(2025, 6, 2)
	at := day.Start(loc).Add(8 * time.Hour)
	for _, a := range []string{thanh, lan, duc} {
		e.engine.RecordAccess(a, IMAP, at)
	}
	e.engine.RecordAccess(mai, IMAP, at.Add(-48*time.Hour)) // two days before
	rep, err := e.engine.AccessReport(context.Background(), AccessQuery{From: day, To: day, InactiveDays: 1})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rep.Rows {
		name := r.Unit.Code
		if r.Subtotal {
			name = "Σ" + name
		}
		got = append(got, name+":"+strconv.Itoa(r.Accessed[0])+"/"+strconv.Itoa(r.Mailboxes))
	}
	want := []string{"56:0/1", "56.skhcn:1/3", "56.skhcn.vp:1/1", "Σ56.skhcn:2/4", "22366:1/2", "Σ56:3/7"}
	if !slices.Equal(got, want) {
		t.Errorf("rows\n got %v\nwant %v", got, want)
	}
	if rep.Total.Mailboxes != 7 || rep.Total.Accessed[0] != 3 {
		t.Errorf("total %d/%d", rep.Total.Accessed[0], rep.Total.Mailboxes)
	}
	var inactive []string
	for _, x := range rep.Inactive {
		inactive = append(inactive, x.Account.Address)
	}
	// Tree order: province, department, division, commune.
	wantInactive := []string{operator, mai, admin, ducAdmin}
	if !slices.Equal(inactive, wantInactive) {
		t.Errorf("inactive\n got %v\nwant %v", inactive, wantInactive)
	}
	if x := rep.Inactive[1]; x.Account.Address != mai || !x.Found || x.LastAccess != day-2 {
		t.Errorf("mai's last access %+v, want %s", x, day-2)
	}
	// One department only.
	sub, err := e.engine.AccessReport(context.Background(), AccessQuery{Unit: skhcnCode, From: day, To: day, InactiveDays: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Rows) != 3 || sub.Total.Mailboxes != 4 || sub.Rows[0].Depth != 0 || sub.Rows[1].Depth != 1 {
		t.Errorf("department report rows %+v total %+v", sub.Rows, sub.Total)
	}

	var buf bytes.Buffer
	if err := RenderAccessCSV(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("\ufeff")) {
		t.Error("CSV without BOM")
	}
	units, people := splitCSV(t, buf.String())
	if len(units) != len(rep.Rows)+2 || units[0][7] != "2025-06-02" || units[len(units)-1][4] != "7" {
		t.Errorf("CSV unit table %q", units)
	}
	var addrs []string
	for _, r := range people[1:] {
		addrs = append(addrs, r[0])
	}
	if !slices.Equal(addrs, wantInactive) || people[2][5] != "2025-05-31" {
		t.Errorf("CSV inactive table %q", people)
	}
	buf.Reset()
	if err := RenderAccessPage(&buf, rep); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, s := range []string{`<html lang="vi">`, "Sở Khoa học và Công nghệ", "Cộng / Subtotal", "Trần Thị Mai", "31/05/2025"} {
		if !strings.Contains(html, s) {
			t.Errorf("HTML lacks %q", s)
		}
	}
	buf.Reset()
	if err := RenderAccessSVG(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(buf.Bytes(), new(struct{ XMLName xml.Name })); err != nil || !strings.Contains(buf.String(), "Phường Nha Trang") {
		t.Errorf("SVG does not parse (%v) or lacks unit names", err)
	}
	buf.Reset()
	if err := RenderAccessPNG(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if img, err := png.Decode(&buf); err != nil || img.Bounds().Dx() < 10 {
		t.Errorf("PNG: %v", err)
	}
}

// splitCSV parses the two tables of RenderAccessCSV.
func splitCSV(t *testing.T, s string) (units, people [][]string) {
	t.Helper()
	s = strings.TrimPrefix(s, "\ufeff")
	parts := strings.SplitN(s, "\r\n\r\n", 2)
	if len(parts) != 2 {
		t.Fatalf("CSV has no second table: %q", s)
	}
	read := func(p string) [][]string {
		r := csv.NewReader(strings.NewReader(p))
		r.FieldsPerRecord = -1
		rows, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	return read(parts[0]), read(parts[1])
}

func TestReportRangeChecks(t *testing.T) {
	e := newEnv(t, testConfig())
	ctx := context.Background()
	if _, err := e.engine.AccessReport(ctx, AccessQuery{From: 10, To: 9}); err == nil {
		t.Error("reversed range accepted")
	}
	if _, err := e.engine.AccessReport(ctx, AccessQuery{From: 0, To: 1000}); err == nil {
		t.Error("1000-day range accepted")
	}
	if _, err := e.engine.AccessReport(ctx, AccessQuery{Unit: "nope", From: 1, To: 1}); err == nil {
		t.Error("unknown unit accepted")
	}
}
