package danhba

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"congvu/addressbook"
	"congvu/directory/orgdb"
	"congvu/web/webtest"
)

// Groups are listed, offered as recipients and exported as vCard groups;
// a withheld phone and a hidden unit leave the page and every export on
// the next request, although the snapshot's TTL is an hour.
func TestDanhbaGroupsAndPublishing(t *testing.T) {
	ctx := t.Context()
	org, err := orgdb.Open(filepath.Join(t.TempDir(), "org.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { org.Close() })
	h := New(addressbook.New(webtest.Seed(t, 0), addressbook.Options{TTL: time.Hour, Controls: org}), Options{})
	const phone = "3822" // of Nguyễn Văn An's 0258 3822 000, in every format
	for _, path := range []string{"/danhba?unit=56.skhcn", "/danhba.csv?unit=56.skhcn", "/danhba.vcf?unit=56.skhcn", "/danhba.ldif?unit=56.skhcn"} {
		if _, body := get(t, h, path); !strings.Contains(body, phone) {
			t.Fatalf("%s lacks the phone before any control", path)
		}
	}
	if err := org.AddGroup(ctx, orgdb.Group{Address: "lanhdao.skhcn@khanhhoa.gov.vn", Name: "Lãnh đạo Sở", Kind: orgdb.GroupCustom,
		UnitCode: "56.skhcn", Policy: orgdb.PolicyMembers, Members: []string{"anv.skhcn@khanhhoa.gov.vn"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := org.SetWithheld(ctx, orgdb.Withheld{Scope: orgdb.ScopeAccount, Key: "anv.skhcn@khanhhoa.gov.vn", Attribute: orgdb.AttrPhone}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := org.SetWithheld(ctx, orgdb.Withheld{Scope: orgdb.ScopeUnit, Key: "22333", Attribute: orgdb.AttrEntry}, true); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/danhba?unit=56.skhcn", "/danhba.csv?unit=56.skhcn", "/danhba.vcf?unit=56.skhcn", "/danhba.ldif?unit=56.skhcn"} {
		_, body := get(t, h, path)
		if strings.Contains(body, phone) || !strings.Contains(body, "anv.skhcn@khanhhoa.gov.vn") || !strings.Contains(body, "lanhdao.skhcn@khanhhoa.gov.vn") {
			t.Errorf("%s: phone still there, or An or the group missing:\n%s", path, body)
		}
	}
	if _, page := get(t, h, "/danhba?unit=56.skhcn"); !strings.Contains(page, "Nhóm thư / Mailing list") {
		t.Error("the group is not marked as a group on the page")
	}
	if _, vcf := get(t, h, "/danhba.vcf?q=lanh+dao"); !strings.Contains(vcf, "KIND:group") {
		t.Errorf("the group's vCard:\n%s", vcf)
	}
	if res, _ := get(t, h, "/danhba?unit=22333"); res.StatusCode != 404 {
		t.Errorf("a hidden unit's page: %d, want 404", res.StatusCode)
	}
	if _, page := get(t, h, "/danhba?q=tram"); strings.Contains(page, "tramdt.nhatrang@") {
		t.Error("an official of a hidden unit is found")
	}
	sg, err := h.Suggest(ctx, "lanh dao", 5)
	if err != nil || len(sg) != 1 || sg[0].Address != "lanhdao.skhcn@khanhhoa.gov.vn" || !strings.HasPrefix(sg[0].Unit, "Nhóm thư") {
		t.Errorf("recipient completion of the group: %+v %v", sg, err)
	}
}
