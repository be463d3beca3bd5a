package mail

import (
	"congvu/addressbook"
	"context"
	"encoding/json"
	"net/url"
	"testing"

	"congvu/storage"
	"congvu/web/core"
	"congvu/web/danhba"
	"congvu/web/webtest"
)

type danhbaContacts struct{ d *danhba.Directory }

func (c danhbaContacts) Suggest(ctx context.Context, q string, limit int) ([]Contact, error) {
	list, err := c.d.Suggest(ctx, q, limit)
	var out []Contact
	for _, s := range list {
		out = append(out, Contact{Name: s.Name, Address: s.Address, Unit: s.Unit, IsUnit: s.IsUnit})
	}
	return out, err
}

func (c danhbaContacts) Name(ctx context.Context, a string) string { return c.d.Name(ctx, a) }

func TestMailContacts(t *testing.T) {
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := webtest.New(t, nil, func(s *core.Site) {
		Register(s, Options{Mail: st, Contacts: danhbaContacts{danhba.New(addressbook.New(s.Dir(), addressbook.Options{}), danhba.Options{})}})
	})
	b := e.Browser()
	expect(t, b.Login(anAddr, secretPW), 200)
	ask := func(v url.Values) contactsAnswer {
		t.Helper()
		r := b.Get("/mail/contacts?" + v.Encode())
		expect(t, r, 200)
		var a contactsAnswer
		if err := json.Unmarshal([]byte(r.Body), &a); err != nil {
			t.Fatalf("%v: %s", err, r.Body)
		}
		return a
	}
	a := ask(url.Values{"q": {"nguyen van an"}})
	if len(a.Suggestions) != 1 || a.Suggestions[0].Address != anAddr || a.Suggestions[0].Unit != "Sở Khoa học và Công nghệ" {
		t.Errorf("nguyen van an: %+v", a.Suggestions)
	}
	a = ask(url.Values{"q": {"so khoa hoc"}})
	unitBox := false
	for _, s := range a.Suggestions {
		unitBox = unitBox || s.IsUnit && s.Address == "skhcn@khanhhoa.gov.vn"
	}
	if !unitBox {
		t.Errorf("the unit mailbox is not suggested: %+v", a.Suggestions)
	}
	a = ask(url.Values{"check": {"ban.cu@gmail.com, " + anAddr + "; Lê Văn Đức <" + ducAddr + ">"}})
	if len(a.Outside) != 1 || a.Outside[0] != "ban.cu@gmail.com" {
		t.Errorf("outside: %v", a.Outside)
	}
	if a := ask(url.Values{"q": {"binhtt"}}); len(a.Suggestions) != 0 {
		t.Errorf("a retired account is suggested: %+v", a.Suggestions)
	}
	// Signed out: the sign-in page, no directory.
	if r := e.Browser().Get("/mail/contacts?q=nguyen"); r.Request.URL.Path != "/login" {
		t.Errorf("contacts without a session: %s", r.Request.URL.Path)
	}
}
