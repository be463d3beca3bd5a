package ldapd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"congvu/addressbook"
	"congvu/directory"
	"congvu/directory/sqldir"
	"congvu/internal/tlsutil"
	"congvu/policy"
)

const base = "dc=khanhhoa,dc=gov,dc=vn"

type env struct {
	plain, ldaps string
	roots        *x509.CertPool
	srv          *Server
}

func newEnv(t *testing.T, anonymous bool, sizeLimit int) *env {
	t.Helper()
	return newEnvWith(t, anonymous, sizeLimit, nil, nil)
}

// newEnvWith serves on listeners passed through wrap (nil: as bound), with
// the policy hooks given (nil: none).
func newEnvWith(t *testing.T, anonymous bool, sizeLimit int, wrap func(net.Listener) net.Listener, hooks policy.Hooks) *env {
	t.Helper()
	ctx := context.Background()
	dir, err := sqldir.Open(filepath.Join(t.TempDir(), "d.db"), sqldir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	for _, u := range []directory.Unit{
		{Code: "56", Name: "Tỉnh Khánh Hòa", Kind: directory.UnitProvince},
		{Code: "56.skhcn", Name: "Sở Khoa học và Công nghệ", Abbr: "skhcn", Kind: directory.UnitDepartment, ParentCode: "56"},
	} {
		if err := dir.PutUnit(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for i, a := range []directory.Account{
		{Address: "annv.skhcn@khanhhoa.gov.vn", DisplayName: "Nguyễn Văn An", Title: "Chuyên viên", Phone: "0258 3812 345"},
		{Address: "binhnv.skhcn@khanhhoa.gov.vn", DisplayName: "Nguyễn Văn Bình", Title: "Phó Giám đốc"},
		{Address: "dungtt.skhcn@khanhhoa.gov.vn", DisplayName: "Trần Thị Dung", Title: "Văn thư", Role: directory.RoleClerk},
		{Address: "hunglv.skhcn@khanhhoa.gov.vn", DisplayName: "Lê Văn Hùng", State: directory.StateRetired},
		{Address: "skhcn@khanhhoa.gov.vn", Role: directory.RoleUnit},
	} {
		a.UnitCode = "56.skhcn"
		if err := dir.PutAccount(ctx, a, fmt.Sprintf("Mật-khẩu-%d!", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 30 {
		a := directory.Account{Address: fmt.Sprintf("nv%02d.skhcn@khanhhoa.gov.vn", i), DisplayName: fmt.Sprintf("Nhân viên %02d", i), UnitCode: "56.skhcn"}
		if err := dir.PutAccount(ctx, a, ""); err != nil {
			t.Fatal(err)
		}
	}
	certPEM, keyPEM, _ := tlsutil.SelfSigned([]string{"localhost", "127.0.0.1"})
	cert, _ := tls.X509KeyPair(certPEM, keyPEM)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	srv := New(Config{TLS: tlsutil.ServerConfig(cert), BaseDN: base, Anonymous: anonymous, SizeLimit: sizeLimit},
		Deps{Book: addressbook.New(dir, addressbook.Options{}), Dir: dir, Policy: hooks})
	e := &env{roots: roots, srv: srv}
	for _, l := range []struct {
		addr  *string
		serve func(net.Listener) error
	}{{&e.plain, srv.Serve}, {&e.ldaps, srv.ServeTLS}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		*l.addr = ln.Addr().String()
		if wrap != nil {
			ln = wrap(ln)
		}
		go l.serve(ln)
	}
	if err := srv.WaitBound(2, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return e
}

func (e *env) dial(t *testing.T) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL("ldap://" + e.plain)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mails(res *ldap.SearchResult) []string {
	var out []string
	for _, e := range res.Entries {
		out = append(out, e.GetAttributeValue("mail"))
	}
	sort.Strings(out)
	return out
}

// Thunderbird's address book query: base, subtree, its filter with the
// typed words, and its attribute list.
func TestThunderbirdSearchIsDiacriticInsensitive(t *testing.T) {
	e := newEnv(t, true, 500)
	c := e.dial(t)
	res, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 100, 0, false,
		"(|(mail=*nguyen van*)(cn=*nguyen van*)(givenName=*nguyen van*)(sn=*nguyen van*))",
		[]string{"cn", "mail", "title", "ou", "telephoneNumber", "givenName", "sn", "objectClass"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(mails(res)); got != "[annv.skhcn@khanhhoa.gov.vn binhnv.skhcn@khanhhoa.gov.vn]" {
		t.Fatalf("found %s", got)
	}
	for _, en := range res.Entries {
		if en.GetAttributeValue("mail") == "annv.skhcn@khanhhoa.gov.vn" {
			if en.DN != "uid=annv.skhcn@khanhhoa.gov.vn,ou=people,"+base || en.GetAttributeValue("cn") != "Nguyễn Văn An" ||
				en.GetAttributeValue("sn") != "Nguyễn" || en.GetAttributeValue("givenName") != "An" ||
				en.GetAttributeValue("title") != "Chuyên viên" || en.GetAttributeValue("ou") != "Sở Khoa học và Công nghệ" ||
				en.GetAttributeValue("telephoneNumber") != "0258 3812 345" {
				en.PrettyPrint(2)
				t.Error("attributes")
			}
		}
	}
	// Outlook-style prefix filter, equality on mail, NOT, and a retired
	// official who must not be found.
	for filter, want := range map[string]string{
		"(&(objectClass=person)(|(cn=tran*)(sn=tran*)))": "[dungtt.skhcn@khanhhoa.gov.vn]",
		"(mail=BINHNV.skhcn@khanhhoa.gov.vn)":            "[binhnv.skhcn@khanhhoa.gov.vn]",
		"(&(cn=*van*)(!(title=*giam doc*)))":             "[annv.skhcn@khanhhoa.gov.vn]",
		"(|(cn=*van*)(title=van thu))":                   "[annv.skhcn@khanhhoa.gov.vn binhnv.skhcn@khanhhoa.gov.vn dungtt.skhcn@khanhhoa.gov.vn]",
		"(cn=*hung*)":                                    "[]",
		"(&(ou=*khoa hoc*)(cn=So *))":                    "[skhcn@khanhhoa.gov.vn]",
		"(&(objectClass=inetOrgPerson)(telephoneNumber=*)(mail=*@khanhhoa.gov.vn))": "[annv.skhcn@khanhhoa.gov.vn]",
	} {
		res, err := c.Search(ldap.NewSearchRequest("ou=people,"+base, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false, filter, nil, nil))
		if err != nil {
			t.Fatalf("%s: %v", filter, err)
		}
		if got := fmt.Sprint(mails(res)); got != want {
			t.Errorf("%s: got %s want %s", filter, got, want)
		}
	}
	// Only public attributes exist, whatever is asked.
	res, err = c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(mail=annv*)", []string{"*", "+", "userPassword", "state"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatal(err)
	}
	for _, a := range res.Entries[0].Attributes {
		switch a.Name {
		case "objectClass", "cn", "displayName", "sn", "givenName", "mail", "uid", "title", "ou", "telephoneNumber":
		default:
			t.Errorf("attribute %s published", a.Name)
		}
	}
	// Read-only, and unknown bases.
	if err := c.Add(ldap.NewAddRequest("uid=x,ou=people,"+base, nil)); !ldap.IsErrorWithCode(err, ldap.LDAPResultUnwillingToPerform) {
		t.Errorf("add: %v", err)
	}
	if _, err := c.Search(ldap.NewSearchRequest("dc=example,dc=com", ldap.ScopeWholeSubtree, 0, 0, 0, false, "(objectClass=*)", nil, nil)); !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		t.Errorf("foreign base: %v", err)
	}
	// The root DSE names the base and the paging control.
	res, err = c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"namingContexts", "supportedControl"}, nil))
	if err != nil || len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("namingContexts") != base {
		t.Errorf("root DSE: %v %+v", err, res)
	}
}

func TestSizeLimitAndPaging(t *testing.T) {
	e := newEnv(t, true, 25)
	c := e.dial(t)
	_, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, 0, 0, 0, false, "(cn=nhan vien*)", []string{"mail"}, nil))
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		t.Errorf("server size limit: %v", err)
	}
	res, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, 0, 5, 0, false, "(cn=nhan vien*)", []string{"mail"}, nil))
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) || len(res.Entries) != 5 {
		t.Errorf("client size limit: %v %d", err, len(res.Entries))
	}
	// RFC 2696 paging through the whole (limited) result.
	res, err = c.SearchWithPaging(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, 0, 0, 0, false, "(cn=nhan vien 0*)", []string{"mail"}, nil), 4)
	if err != nil || len(res.Entries) != 10 {
		t.Errorf("paged: %v %d", err, len(res.Entries))
	}
	seen := map[string]bool{}
	for _, en := range res.Entries {
		if seen[en.DN] {
			t.Errorf("%s twice", en.DN)
		}
		seen[en.DN] = true
	}
}

func TestBindRules(t *testing.T) {
	e := newEnv(t, false, 500)
	c := e.dial(t)
	// Not anonymous: a search without a bind is refused.
	if _, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, 0, 0, 0, false, "(cn=*)", nil, nil)); !ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) {
		t.Errorf("anonymous search: %v", err)
	}
	// No password over plain LDAP.
	if err := c.Bind("uid=annv.skhcn@khanhhoa.gov.vn,ou=people,"+base, "Mật-khẩu-0!"); !ldap.IsErrorWithCode(err, ldap.LDAPResultConfidentialityRequired) {
		t.Errorf("plain bind: %v", err)
	}
	if err := c.StartTLS(&tls.Config{RootCAs: e.roots, ServerName: "localhost"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Bind("uid=annv.skhcn@khanhhoa.gov.vn,ou=people,"+base, "wrong"); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Errorf("wrong password: %v", err)
	}
	if err := c.Bind("uid=annv.skhcn@khanhhoa.gov.vn,ou=people,"+base, "Mật-khẩu-0!"); err != nil {
		t.Fatalf("bind: %v", err)
	}
	res, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, 0, 0, 0, false, "(cn=*dung*)", []string{"mail"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Errorf("bound search: %v", err)
	}
	// LDAPS, binding with the bare address.
	lc, err := ldap.DialURL("ldaps://"+e.ldaps, ldap.DialWithTLSConfig(&tls.Config{RootCAs: e.roots, ServerName: "localhost"}))
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	if err := lc.Bind("dungtt.skhcn@khanhhoa.gov.vn", "Mật-khẩu-2!"); err != nil {
		t.Errorf("ldaps bind: %v", err)
	}
	if err := lc.UnauthenticatedBind("dungtt.skhcn@khanhhoa.gov.vn"); err == nil || errors.Is(err, nil) && !ldap.IsErrorWithCode(err, ldap.LDAPResultUnwillingToPerform) {
		t.Errorf("unauthenticated bind: %v", err)
	}
}

func FuzzFilter(f *testing.F) {
	for _, s := range []string{"(|(cn=*nguyen van*)(mail=*x*))", "(&(objectClass=*)(!(sn>=a)))", "(cn~=an)", "(cn:dn:=x)",
		"(cn=a*b*c)", "(|(a=\\2a)(b=\\00))"} {
		f.Add(s)
	}
	e := personEntry(addressbook.Entry{Address: "annv@x.gov.vn", Name: "Nguyễn Văn An", Surname: "Nguyễn", GivenName: "An"}, base)
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := compileFilter(s)
		if err != nil {
			return
		}
		flt.match(e)
	})
}
