package carddav

import (
	"testing"

	"github.com/emersion/go-vcard"

	"congvu/addressbook"
)

// A distribution list is a group card: X-ADDRESSBOOKSERVER-KIND:group in
// vCard 3.0 (what Apple's and Thunderbird's CardDAV clients read), KIND
// group in 4.0 (RFC 6350 6.1.4), with the address to write to.
func TestGroupCard(t *testing.T) {
	e := addressbook.Entry{Address: "lanhdao.skhcn@khanhhoa.gov.vn", Name: "Lãnh đạo Sở", IsGroup: true, Unit: "Sở Khoa học và Công nghệ"}
	v3 := publishedCard(e, false)
	if v3.Value("X-ADDRESSBOOKSERVER-KIND") != "group" || v3.Value(vcard.FieldEmail) != e.Address || v3.Name().FamilyName != e.Name {
		t.Errorf("vCard 3.0: %v", v3)
	}
	v4 := publishedCard(e, true)
	if v4.Kind() != vcard.KindGroup || v4.Value("X-ADDRESSBOOKSERVER-KIND") != "" || v4.Value(vcard.FieldEmail) != e.Address {
		t.Errorf("vCard 4.0: %v", v4)
	}
}
