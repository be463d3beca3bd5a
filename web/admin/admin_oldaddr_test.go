package admin

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

type fakeTraffic struct{ step int }

func (f *fakeTraffic) TrafficByDomain(_ context.Context, from, to time.Time, step int) ([]DomainTraffic, error) {
	f.step = step
	n := int(to.Sub(from).Hours()/24) / step
	d := DomainTraffic{Domain: "ninhthuan.gov.vn", Alias: "khanhhoa.gov.vn", Periods: make([]TrafficPeriod, n), Messages: 7, Senders: 3, Addresses: 2}
	d.Periods[n-1] = TrafficPeriod{From: to.AddDate(0, 0, -step), Messages: 7, Senders: 3}
	return []DomainTraffic{d, {Domain: "khanhhoa.gov.vn", Periods: make([]TrafficPeriod, n)}}, nil
}

// Operators see, per old domain, the mail still arriving by week or day;
// unit administrators do not.
func TestAdminOldAddresses(t *testing.T) {
	f := &fakeTraffic{}
	e := newWebEnv(t, func(o *testOptions) { o.OldAddresses = f })
	withAdmins(e)
	b := e.Browser()
	expect(t, b.Login(skhcnAdmin, secretPW), 200)
	if strings.Contains(b.Get("/admin/reports").Body, `href="/admin/reports/old-addresses"`) {
		t.Error("a unit admin is offered the report")
	}
	expect(t, b.Get("/admin/reports/old-addresses"), http.StatusForbidden, "Chỉ quản trị hệ thống")
	op := e.Browser()
	expect(t, op.Login(operatorAddr, secretPW), 200)
	expect(t, op.Get("/admin/reports/old-addresses"), 200, `class="cur"`, "ninhthuan.gov.vn", "khanhhoa.gov.vn",
		"7 (3)", "tuần bắt đầu", "transitional addresses", `href="/admin/reports/old-addresses?by=day"`)
	if f.step != 7 {
		t.Errorf("by week asked %d-day periods", f.step)
	}
	expect(t, op.Get("/admin/reports/old-addresses?by=day"), 200, "theo ngày", "7 (3)")
	if f.step != 1 {
		t.Errorf("by day asked %d-day periods", f.step)
	}
}
