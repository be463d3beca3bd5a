package admin

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"congvu/directory"
	"congvu/directory/orgdb"
	"congvu/provision"
	"congvu/web/webtest"
)

// withRequests gives the site the provisioning requests over its own
// directory.
func withRequests(t *testing.T) (*webtest.Env, *provision.Service) {
	var svc *provision.Service
	e := newWebEnv(t, func(o *testOptions) {
		org, err := orgdb.Open(filepath.Join(t.TempDir(), "org.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { org.Close() })
		dir := o.coreOptions.Dir.(directory.Writer)
		svc = provision.New(provision.Config{Domains: []string{"khanhhoa.gov.vn"}},
			provision.Deps{Dir: dir, Org: org, States: dirStates{dir}})
		o.Requests = svc
	})
	withAdmins(e)
	return e, svc
}

// dirStates changes states in the directory (the server's is the
// policy engine's audited change).
type dirStates struct{ dir directory.Writer }

func (d dirStates) SetAccountState(ctx context.Context, _, address string, s directory.State, reason string) error {
	return d.dir.SetStateReason(ctx, address, s, reason)
}

var requestLink = regexp.MustCompile(`/admin/requests/(\d+)`)

// TestRequestNewAccountsWeb: a unit admin types two officials and
// uploads a CSV with a third, sees the addresses the convention gives
// (with the collision marked) before filing, files; cannot approve it;
// the operator approves it; the unit admin downloads the initial
// passwords once; another unit's admin cannot see the request.
func TestRequestNewAccountsWeb(t *testing.T) {
	e, _ := withRequests(t)
	b := e.Browser()
	expect(t, b.Login(skhcnAdmin, secretPW), 200)
	expect(t, b.Get("/admin/unit?code=56.skhcn"), 200, `id="unit-request"`)
	form := "/admin/requests/new?unit=56.skhcn"
	expect(t, b.Get(form), 200, `name="name_0"`, `id="file"`, `id="change-kind"`)

	csv := "\uFEFFho_ten,don_vi,chuc_vu\nPhạm Văn Bình,56.skhcn,Chuyên viên\nNguyễn Ngọc Thành,Sở Khoa học và Công nghệ,\nLê Thị Lan,skhcn,\n"
	file := []webtest.File{{Field: "file", Name: "moi.csv", Type: "text/csv", Data: []byte(csv)}}
	// The form or a file, not both; a file naming another unit is refused.
	expect(t, b.PostMultipart(form, "/admin/requests/preview", [][2]string{{"unit", "56.skhcn"}, {"name_0", "Phạm Văn Bình"}}, file),
		http.StatusUnprocessableEntity, "không dùng cả hai")
	expect(t, b.PostMultipart(form, "/admin/requests/preview", [][2]string{{"unit", "56.skhcn"}}, nil),
		http.StatusUnprocessableEntity, "ít nhất một người")
	r := b.PostMultipart(form, "/admin/requests/preview", [][2]string{{"unit", "56.skhcn"}, {"name_0", "Đỗ Minh Tâm"}}, nil)
	expect(t, r, 200, "tamdm.skhcn@khanhhoa.gov.vn")
	r = b.PostMultipart(form, "/admin/requests/preview", [][2]string{{"unit", "56.skhcn"}}, file)
	expect(t, r, 200, "binhpv.skhcn@khanhhoa.gov.vn", "lanlt.skhcn@khanhhoa.gov.vn", "thanhnn2.skhcn@khanhhoa.gov.vn",
		"thanhnn.skhcn@khanhhoa.gov.vn đã có người dùng", `id="file-request"`)
	if _, err := e.Dir.Lookup(t.Context(), "binhpv.skhcn@khanhhoa.gov.vn"); err == nil {
		t.Fatal("the preview created an account")
	}
	rows := regexp.MustCompile(`name="rows" value="([^"]+)"`).FindStringSubmatch(r.Body)
	if rows == nil {
		t.Fatalf("no rows in the preview:\n%s", r.Body)
	}
	// A POST without the token is refused.
	expect(t, b.Do("POST", "/admin/requests/file", url.Values{"unit": {"56.skhcn"}, "kind": {"new"}}), http.StatusForbidden, "CSRF")
	r = b.Post(form, "/admin/requests/file", url.Values{"unit": {"56.skhcn"}, "kind": {"new"}, "delivery": {"download"},
		"rows": {htmlUnescape(rows[1])}, "note": {"Tuyển dụng đợt 1"}})
	expect(t, r, 200, "Đã gửi đề nghị số", "Chờ duyệt", "ngày làm việc")
	m := requestLink.FindStringSubmatch(r.Request.URL.Path)
	if m == nil {
		t.Fatalf("not on the request page: %s", r.Request.URL)
	}
	page := "/admin/requests/" + m[1]
	if strings.Contains(r.Body, `id="approve"`) {
		t.Error("a unit admin is offered the approval")
	}
	expect(t, b.Post(page, page+"/approve", url.Values{}), http.StatusBadRequest, "Chỉ quản trị hệ thống cấp tỉnh")
	expect(t, b.Get("/admin/requests"), 200, "#"+m[1], "Cấp tài khoản mới")

	// Another unit's administrator neither lists nor opens it.
	other := "quantri.nhatrang@khanhhoa.gov.vn"
	if err := e.Dir.PutAccount(t.Context(), directory.Account{Address: other, DisplayName: "Quản trị phường", UnitCode: "22333",
		Role: directory.RoleAdmin}, secretPW); err != nil {
		t.Fatal(err)
	}
	ob := e.Browser()
	expect(t, ob.Login(other, secretPW), 200)
	if r := ob.Get("/admin/requests"); strings.Contains(r.Body, "#"+m[1]) {
		t.Error("another unit's admin lists the request")
	}
	expect(t, ob.Get(page), http.StatusForbidden)

	op := e.Browser()
	expect(t, op.Login(operatorAddr, secretPW), 200)
	expect(t, op.Get(page), 200, `id="approve"`, "Phạm Văn Bình")
	expect(t, op.Post(page, page+"/approve", url.Values{}), 200, "Đã duyệt và thực hiện", "binhpv.skhcn@khanhhoa.gov.vn", `id="download-passwords"`)
	for _, a := range []string{"binhpv.skhcn@khanhhoa.gov.vn", "lanlt.skhcn@khanhhoa.gov.vn", "thanhnn2.skhcn@khanhhoa.gov.vn"} {
		acct, err := e.Dir.Lookup(t.Context(), a)
		if err != nil || !acct.MustChangePassword {
			t.Fatalf("%s after approval: %+v %v", a, acct, err)
		}
	}
	r = b.Post(page, page+"/passwords", url.Values{})
	expect(t, r, 200, "address,password,role", "binhpv.skhcn@khanhhoa.gov.vn,")
	if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("password download headers: %v", r.Header)
	}
	expect(t, b.Post(page, page+"/passwords", url.Values{}), http.StatusGone, "chỉ tải được một lần")
}

// TestRequestChangesWeb: a lock on leaving is filed, rejected with a
// reason the unit reads, refiled and approved; a request outside the
// admin's scope is refused in Vietnamese.
func TestRequestChangesWeb(t *testing.T) {
	e, _ := withRequests(t)
	b := e.Browser()
	expect(t, b.Login(skhcnAdmin, secretPW), 200)
	form := "/admin/requests/new?unit=56.skhcn"
	lock := url.Values{"unit": {"56.skhcn"}, "kind": {"lock"}, "address": {anAddr}, "reason": {"Nghỉ hưu"}}
	r := b.Post(form, "/admin/requests/file", lock)
	expect(t, r, 200, "Đã gửi đề nghị số")
	page := requestLink.FindString(r.Request.URL.Path)
	expect(t, b.Post(form, "/admin/requests/file", url.Values{"unit": {"56.skhcn"}, "kind": {"lock"}, "address": {tramAddr}, "reason": {"x"}}),
		http.StatusBadRequest, "không thuộc đơn vị bạn quản lý")
	expect(t, b.Post(form, "/admin/requests/file", url.Values{"unit": {"22333"}, "kind": {"lock"}, "address": {tramAddr}, "reason": {"x"}}),
		http.StatusForbidden, "không thuộc phạm vi")

	op := e.Browser()
	expect(t, op.Login(operatorAddr, secretPW), 200)
	expect(t, op.Post(page, page+"/reject", url.Values{"reason": {""}}), http.StatusBadRequest, "lý do từ chối")
	expect(t, op.Post(page, page+"/reject", url.Values{"reason": {"Thiếu quyết định nghỉ hưu"}}), 200, "Bị từ chối")
	expect(t, b.Get(page), 200, "Thiếu quyết định nghỉ hưu")
	if stateOf(e, anAddr) != directory.StateActive {
		t.Fatal("a rejected lock locked the account")
	}
	r = b.Post(form, "/admin/requests/file", lock)
	page = requestLink.FindString(r.Request.URL.Path)
	expect(t, op.Post(page, page+"/approve", url.Values{}), 200, "Đã duyệt và thực hiện")
	if stateOf(e, anAddr) != directory.StateLocked {
		t.Fatal("the approved lock did not lock the account")
	}
	expect(t, op.Post(page, page+"/approve", url.Values{}), http.StatusConflict, "đã được xử lý")
}
