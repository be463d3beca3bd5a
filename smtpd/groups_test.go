package smtpd

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"congvu/directory/orgdb"
	"congvu/directory/sqldir"
	"congvu/groups"
)

// groupEnv starts the fixture with three groups: leaders (thanh, mai;
// members only), everyone (leaders nested, the văn thư; anyone may
// send), state (mai; any state address) and an empty one.
func groupEnv(t *testing.T) *env {
	t.Helper()
	return newEnv(t, envOptions{groups: func(dir *sqldir.DB) Groups {
		org, err := orgdb.Open(filepath.Join(t.TempDir(), "org.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { org.Close() })
		ad := &groups.Admin{Dir: dir, Org: org, LocalDomains: []string{domain}}
		for _, g := range []orgdb.Group{
			{Address: "lanhdao.skhcn@" + domain, Name: "Lãnh đạo", Kind: orgdb.GroupCustom, Policy: orgdb.PolicyMembers, Members: []string{thanhAlias, mai}},
			{Address: "toanthe.skhcn@" + domain, Name: "Toàn thể", Kind: orgdb.GroupCustom, Policy: orgdb.PolicyAnyone, Members: []string{"lanhdao.skhcn@" + domain, small, mai}},
			{Address: "congvu.skhcn@" + domain, Name: "Công vụ", Kind: orgdb.GroupCustom, Policy: orgdb.PolicyState, Members: []string{mai}},
			{Address: "trong.skhcn@" + domain, Name: "Trống", Kind: orgdb.GroupCustom, Policy: orgdb.PolicyAnyone},
		} {
			if err := ad.Create(t.Context(), g, groups.Actor{Name: "test"}); err != nil {
				t.Fatal(err)
			}
		}
		return groups.New(dir, org, func(d string) bool { return strings.HasSuffix(d, ".gov.vn") }, nil)
	}})
}

func TestGroupSendingRules(t *testing.T) {
	e := groupEnv(t)
	r := dialRaw(t, e.mx, nil)
	r.ehlo()
	r.cmd(250, "2.0.0", "MAIL FROM:<someone@example.com>")
	msg := r.cmd(550, "5.7.1", "RCPT TO:<lanhdao.skhcn@%s>", domain)
	if want := "5.7.1 Nhom thu chi nhan thu tu thanh vien cua nhom / Only members of this group may send to it"; msg != want {
		t.Errorf("refusal %q, want %q", msg, want)
	}
	r.cmd(550, "5.7.1", "RCPT TO:<congvu.skhcn@%s>", domain) // not a state domain
	r.cmd(550, "5.2.1", "RCPT TO:<trong.skhcn@%s>", domain)  // nobody to deliver to
	r.cmd(250, "2.0.0", "RCPT TO:<toanthe.skhcn@%s>", domain)
	r.data(250, "2.0.0", message("someone@example.com", "toanthe.skhcn@"+domain, "Thông báo", "x"))
	for _, u := range []string{thanh, mai, small} {
		if n := len(e.inbox(u)); n != 1 {
			t.Errorf("%s: %d messages after the nested group, want 1 (members de-duplicated)", u, n)
		}
	}

	// A member (by an alias) may write to the leaders; mai named as well
	// gets one copy. A state address may write to the state group.
	r.cmd(250, "2.0.0", "MAIL FROM:<%s>", thanhAlias)
	r.cmd(250, "2.0.0", "RCPT TO:<lanhdao.skhcn@%s>", domain)
	r.cmd(250, "2.0.0", "RCPT TO:<%s>", mai)
	r.data(250, "2.0.0", message(thanhAlias, "lanhdao.skhcn@"+domain, "Họp", "x"))
	r.cmd(250, "2.0.0", "MAIL FROM:<%s>", remote)
	r.cmd(250, "2.0.0", "RCPT TO:<congvu.skhcn@%s>", domain)
	r.cmd(550, "5.7.1", "RCPT TO:<lanhdao.skhcn@%s>", domain)
	r.data(250, "2.0.0", message(remote, "congvu.skhcn@"+domain, "Công văn", "x"))
	r.cmd(221, "", "QUIT")
	for u, want := range map[string]int{thanh: 2, mai: 3, small: 1} {
		if n := len(e.inbox(u)); n != want {
			t.Errorf("%s: %d messages, want %d", u, n, want)
		}
	}
}

// The submission path (and the webmail's Submit, which drives it) applies
// the same rules to the signed-in official.
func TestGroupSubmit(t *testing.T) {
	e := groupEnv(t)
	acct, err := e.dir.Lookup(t.Context(), small)
	if err != nil {
		t.Fatal(err)
	}
	err = e.srv.Submit(t.Context(), SubmitRequest{Account: acct, From: small, Rcpts: []string{"lanhdao.skhcn@" + domain},
		Message: strings.NewReader(string(message(small, "lanhdao.skhcn@"+domain, "x", "x")))})
	var re *RecipientError
	if !errors.As(err, &re) || re.Err.SMTPCode != 550 || re.Err.Enhanced != [3]int{5, 7, 1} || re.Err.MessageVI == "" {
		t.Fatalf("Submit to a members-only group by a non-member: %v", err)
	}
	acct, _ = e.dir.Lookup(t.Context(), mai)
	if err := e.srv.Submit(t.Context(), SubmitRequest{Account: acct, From: mai, Rcpts: []string{"lanhdao.skhcn@" + domain},
		Message: strings.NewReader(string(message(mai, "lanhdao.skhcn@"+domain, "x", "x")))}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.inbox(thanh)); n != 1 {
		t.Errorf("thanh: %d messages, want 1", n)
	}
}
