package sieve

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The examples of RFC 5228, 5230 and 5232, run against messages.

func msg(t *testing.T, header string, size int64, from, to string) *Message {
	t.Helper()
	m, err := ParseMessage(strings.NewReader(strings.ReplaceAll(header, "\n", "\r\n")+"\r\n"), size, from, to)
	if err != nil {
		t.Fatal(err)
	}
	m.Received = time.Date(2025, 6, 2, 9, 15, 0, 0, time.UTC)
	return m
}

// summary writes a result compactly: "keep", "fileinto:X[flags]", "redirect:A", "vacation".
func summary(r Result) string {
	var parts []string
	for _, a := range r.Actions {
		switch a.Kind {
		case ActionKeep:
			parts = append(parts, "keep"+flagSuffix(a.Flags))
		case ActionFileInto:
			parts = append(parts, "fileinto:"+a.Folder+flagSuffix(a.Flags))
		case ActionRedirect:
			parts = append(parts, "redirect:"+a.Address)
		case ActionVacation:
			parts = append(parts, "vacation")
		}
	}
	if len(parts) == 0 {
		return "discard"
	}
	return strings.Join(parts, " ")
}

func flagSuffix(f []string) string {
	if len(f) == 0 {
		return ""
	}
	return "[" + strings.Join(f, " ") + "]"
}

func mustCompile(t *testing.T, src string) *Script {
	t.Helper()
	s, err := Compile(src)
	if err != nil {
		t.Fatalf("compile: %v\n%s", err, src)
	}
	return s
}

// RFC 5228 9: the example filter.
const rfc5228Example = `#
# Example Sieve Filter
# Declare any optional features or extension used by the script
#
require ["fileinto"];

#
# Handle messages from known mailing lists
# Move messages from IETF filter discussion list to filter mailbox
#
if header :is "Sender" "owner-ietf-mta-filters@imc.org"
        {
        fileinto "filter";  # move to "filter" mailbox
        }
#
# Keep all messages to or from people in my company
#
elsif address :DOMAIN :is ["From", "To"] "example.com"
        {
        keep;               # keep in "In" mailbox
        }

#
# Try and catch unsolicited email.  If a message is not to me,
# or it contains a subject known to be spam, file it away.
#
elsif anyof (NOT address :all :contains
               ["To", "Cc", "Bcc"] "me@example.com",
             header :matches "subject"
               ["*make*money*fast*", "*university*dipl*mas*"])
        {
        fileinto "spam";   # move to "spam" mailbox
        }
else
        {
        # Move all other (non-company) mail to "personal"
        # mailbox.
        fileinto "personal";
        }
`

func TestRFC5228Example(t *testing.T) {
	s := mustCompile(t, rfc5228Example)
	for _, c := range []struct{ header, want string }{
		{"Sender: owner-ietf-mta-filters@imc.org\nTo: me@example.com\nSubject: x", "fileinto:filter"},
		{"From: boss@example.com\nTo: me@example.org\nSubject: hi", "keep"},
		{"From: Spammer <s@spam.example>\nTo: me@example.org\nSubject: hi", "fileinto:spam"},
		{"From: s@spam.example\nTo: Me <me@example.com.example>\nSubject: MAKE lots of MONEY FAST", "fileinto:spam"},
		{"From: s@spam.example\nTo: Me <me@example.com.example>\nSubject: lunch", "fileinto:personal"},
		{"From: friend@elsewhere.example\nCc: me@example.com\nSubject: dinner", "fileinto:personal"},
	} {
		if got := summary(s.Run(msg(t, c.header, 100, "x@y.example", "me@example.com"), Options{})); got != c.want {
			t.Errorf("%q: got %s, want %s", c.header, got, c.want)
		}
	}
}

// Smaller examples from RFC 5228's sections.
func TestRFC5228Sections(t *testing.T) {
	for _, c := range []struct {
		script, header string
		size           int64
		from, want     string
	}{
		// 3.1
		{`require "fileinto";
if header :contains "from" "coyote" {
   discard;
} elsif header :contains ["subject"] ["$$$"] {
   discard;
} else {
   fileinto "INBOX";
}`, "From: wile.e.coyote@acme.example\nSubject: x", 10, "a@b.example", "discard"},
		{`require "fileinto";
if header :contains "from" "coyote" { discard; } elsif header :contains ["subject"] ["$$$"] { discard; } else { fileinto "INBOX"; }`,
			"From: a@b.example\nSubject: get $$$ now", 10, "a@b.example", "discard"},
		{`require "fileinto";
if header :contains "from" "coyote" { discard; } elsif header :contains ["subject"] ["$$$"] { discard; } else { fileinto "INBOX"; }`,
			"From: a@b.example\nSubject: meeting", 10, "a@b.example", "fileinto:INBOX"},
		// 3.3 stop: nothing after it runs; the implicit keep remains.
		{`stop; discard;`, "Subject: x", 10, "a@b.example", "keep"},
		// 4.2
		{`redirect "bart@example.com";`, "Subject: x", 10, "a@b.example", "redirect:bart@example.com"},
		// 4.3 keep then discard: keep stays.
		{`keep; discard;`, "Subject: x", 10, "a@b.example", "keep"},
		// 5.5 exists
		{`if exists ["From","Date"] { discard; }`, "From: a@b.example\nDate: Mon, 2 Jun 2025 09:00:00 +0700", 10, "a@b.example", "discard"},
		{`if exists ["From","Date"] { discard; }`, "From: a@b.example", 10, "a@b.example", "keep"},
		// 5.9 size with a quantifier
		{`if size :over 100K { discard; }`, "Subject: x", 102401, "a@b.example", "discard"},
		{`if size :over 100K { discard; }`, "Subject: x", 102400, "a@b.example", "keep"},
		{`if size :under 1M { discard; }`, "Subject: x", 1<<20 - 1, "a@b.example", "discard"},
		// 5.4 envelope, with the null reverse-path matching "".
		{`require "envelope"; if envelope :all :is "from" "tim@example.com" { discard; }`, "Subject: x", 1, "tim@example.com", "discard"},
		{`require "envelope"; if envelope :domain :is "from" "" { discard; }`, "Subject: x", 1, "", "discard"},
		{`require "envelope"; if envelope :localpart :is "to" "me" { discard; }`, "Subject: x", 1, "a@b.example", "discard"},
		// 2.7.1 :matches escapes and "?".
		{`if header :matches "subject" "\\*urgent?" { discard; }`, "Subject: *urgent!", 1, "a@b.example", "discard"},
		{`if header :matches "subject" "\\*urgent?" { discard; }`, "Subject: xurgent!", 1, "a@b.example", "keep"},
		// i;octet is case-sensitive, the default i;ascii-casemap is not.
		{`if header :comparator "i;octet" :contains "subject" "Meeting" { discard; }`, "Subject: meeting", 1, "a@b.example", "keep"},
		{`if header :contains "subject" "MEETING" { discard; }`, "Subject: meeting", 1, "a@b.example", "discard"},
		// 2.7.2: encoded words are decoded before comparison.
		{`if header :contains "subject" "Giấy mời" { discard; }`, "Subject: =?UTF-8?B?R2nhuqV5IG3hu51pIGjhu41w?=", 1, "a@b.example", "discard"},
		// multi-line strings with dot-stuffing.
		{"if header :is \"subject\" text:\n..dot\n.\n{ discard; }", "Subject: .dot", 1, "a@b.example", "keep"},
	} {
		s := mustCompile(t, c.script)
		if got := summary(s.Run(msg(t, c.header, c.size, c.from, "me@example.com"), Options{MaxRedirects: 4})); got != c.want {
			t.Errorf("%s\n  on %q: got %s, want %s", c.script, c.header, got, c.want)
		}
	}
}

func TestRFC5230Examples(t *testing.T) {
	for i, src := range []string{
		`require "vacation";
if header :contains "subject" "cyrus" {
    vacation "I'm out -- send mail to cyrus-bugs";
} else {
    vacation "I'm out -- call me at +1 304 555 0123";
}`,
		`require "vacation";
vacation :days 23 :addresses ["tjs@example.edu",
                              "ts4z@landru.example.edu"]
   "I'm away until October 19.
   If it's an emergency, call 911, I guess." ;`,
		`require "vacation";
if header :contains "from" "boss@example.edu" {
    redirect "pleeb@isp.example.org";
} else {
    vacation "Sorry, I'm away, I'll read your
    message when I get around to it.";
}`,
		`require "vacation";
if address :matches "from" "*@ourdivision.example.com" {
    vacation :subject "Gone fishing"
             "Having lots of fun! Back in a day or two!";
} else {
    vacation :subject "Je suis parti cette semaine"
             "Je lis mon courrier electronique une fois par jour.";
}`,
		`require "vacation";
vacation :mime text:
Content-Type: multipart/alternative; boundary=foo

--foo

I'm at the beach relaxing.  Mmmm, surf...

--foo
Content-Type: text/html; charset=us-ascii

<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.0//EN"
 "http://www.w3.org/TR/REC-html40/strict.dtd">
<HTML><HEAD><TITLE>How to relax</TITLE>
<BASE HREF="http://home.example.com/pictures/"></HEAD>
<BODY><P>I'm at the <A HREF="beach.gif">beach</A> relaxing.
Mmmm, <A HREF="ocean.gif">surf</A>...
</BODY></HTML>

--foo--
.
;`,
	} {
		s := mustCompile(t, src)
		r := s.Run(msg(t, "From: x@ourdivision.example.com\nSubject: cyrus question", 10, "x@ourdivision.example.com", "tjs@example.edu"), Options{MaxRedirects: 4})
		got := summary(r)
		if got != "vacation keep" {
			t.Errorf("example %d: %s", i, got)
		}
		v := r.Actions[0].Vacation
		switch i {
		case 0:
			if v.Reason != "I'm out -- send mail to cyrus-bugs" {
				t.Errorf("reason %q", v.Reason)
			}
		case 1:
			if v.Days != 23 || len(v.Addresses) != 2 || !strings.Contains(v.Reason, "\n   If it's") {
				t.Errorf("%+v", v)
			}
		case 3:
			if v.Subject != "Gone fishing" {
				t.Errorf("subject %q", v.Subject)
			}
		case 4:
			if !v.MIME || !strings.HasPrefix(v.Reason, "Content-Type: multipart/alternative; boundary=foo\r\n\r\n--foo") {
				t.Errorf("mime %q", v.Reason[:60])
			}
		}
	}
	// Two vacations in one run are an error: implicit keep only.
	s := mustCompile(t, `require "vacation"; vacation "a"; vacation "b";`)
	if r := s.Run(msg(t, "Subject: x", 1, "a@b.example", "me@example.com"), Options{}); r.Err == nil || summary(r) != "keep" {
		t.Errorf("two vacations: %v %s", r.Err, summary(r))
	}
}

func TestRFC5232Examples(t *testing.T) {
	s := mustCompile(t, `require ["imap4flags", "fileinto"];
if header :contains "from" "boss@frobnitzm.example.edu" {
    setflag "\\Flagged";
    fileinto "INBOX.From Boss";
}`)
	if got := summary(s.Run(msg(t, "From: boss@frobnitzm.example.edu", 1, "", "me@example.com"), Options{})); got != `fileinto:INBOX.From Boss[\Flagged]` {
		t.Errorf("got %s", got)
	}
	s = mustCompile(t, `require "imap4flags";
require "fileinto";
if header :contains "Disposition-Notification-To" "mel@example.com" {
    addflag "$MDNRequired";
}
if header :contains "from" "imap@cac.washington.example.edu" {
    removeflag "$MDNRequired";
    fileinto "imap-twit";
} else {
    keep :flags ["\\Seen", "$Work"];
}`)
	if got := summary(s.Run(msg(t, "Disposition-Notification-To: mel@example.com\nFrom: imap@cac.washington.example.edu", 1, "", "x@y"), Options{})); got != "fileinto:imap-twit" {
		t.Errorf("got %s", got)
	}
	if got := summary(s.Run(msg(t, "Disposition-Notification-To: mel@example.com\nFrom: a@b.example", 1, "", "x@y"), Options{})); got != `keep[\Seen $Work]` {
		t.Errorf("got %s", got)
	}
	// The implicit keep takes the flags set last (RFC 5232 3).
	s = mustCompile(t, `require "imap4flags"; addflag ["\\Flagged", "$Important \\Seen"]; removeflag "\\seen";`)
	if got := summary(s.Run(msg(t, "Subject: x", 1, "", "x@y"), Options{})); got != `keep[\Flagged $Important]` {
		t.Errorf("got %s", got)
	}
	s = mustCompile(t, `require "imap4flags"; if hasflag :is "x" { discard; } addflag "x"; if hasflag :contains "X" { redirect "a@b.example"; }`)
	if got := summary(s.Run(msg(t, "Subject: x", 1, "", "x@y"), Options{MaxRedirects: 1})); got != "redirect:a@b.example" {
		t.Errorf("got %s", got)
	}
}

func TestRelationalAndDate(t *testing.T) {
	for _, c := range []struct{ script, header, want string }{
		{`require ["relational", "comparator-i;ascii-numeric"]; if header :value "gt" :comparator "i;ascii-numeric" "X-Spam-Score" "5" { discard; }`, "X-Spam-Score: 12", "discard"},
		{`require ["relational", "comparator-i;ascii-numeric"]; if header :value "gt" :comparator "i;ascii-numeric" "X-Spam-Score" "5" { discard; }`, "X-Spam-Score: 4", "keep"},
		{`require ["relational", "comparator-i;ascii-numeric"]; if address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] "3" { discard; }`, "To: a@x.example, b@x.example\nCc: c@x.example", "discard"},
		{`require ["relational", "comparator-i;ascii-numeric"]; if address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] "3" { discard; }`, "To: a@x.example", "keep"},
		// Received 2025-06-02 09:15 UTC = 16:15 in +0700.
		{`require ["date", "relational"]; if allof(currentdate :zone "+0700" :value "ge" "date" "2025-06-01", currentdate :zone "+0700" :value "le" "date" "2025-06-15") { discard; }`, "Subject: x", "discard"},
		{`require ["date", "relational"]; if currentdate :zone "+0700" :value "ge" "date" "2025-06-03" { discard; }`, "Subject: x", "keep"},
		{`require "date"; if currentdate :zone "+0700" :is "hour" "16" { discard; }`, "Subject: x", "discard"},
		{`require "date"; if date :originalzone :is "date" "zone" "+0700" { discard; }`, "Date: Mon, 2 Jun 2025 16:15:00 +0700", "discard"},
		{`require "date"; if date :is "date" "weekday" "1" { discard; }`, "Date: Mon, 2 Jun 2025 16:15:00 +0700", "discard"},
		{`require "date"; if date :is "date" "year" "2025" { discard; }`, "Date: not a date", "keep"},
	} {
		s := mustCompile(t, c.script)
		if got := summary(s.Run(msg(t, c.header, 1, "", "x@y"), Options{})); got != c.want {
			t.Errorf("%s on %q: got %s want %s", c.script, c.header, got, c.want)
		}
	}
}

// Scripts that must be refused, with the line the error is on.
func TestCompileErrors(t *testing.T) {
	for _, c := range []struct {
		script string
		line   int
		msg    string
	}{
		{`fileinto "x";`, 1, `needs require "fileinto"`},
		{`require "fileinto";` + "\nkeep;\nrequire \"envelope\";", 3, "require must come before"},
		{`require "notify";`, 1, "unsupported extension"},
		{`if true { keep; }` + "\nelse { discard; }\nelse { keep; }", 3, "else without if"},
		{`keep`, 1, "expected ; or {"},
		{`if header :is "a" { keep; }`, 1, "takes header names and keys"},
		{`if header :is :contains "a" "b" { keep; }`, 1, "more than one match type"},
		{`if header :comparator "i;unknown" "a" "b" { keep; }`, 1, "unsupported comparator"},
		{`redirect "not an address";`, 1, "not an e-mail address"},
		{`if size 10 { keep; }`, 1, "size takes :over or :under"},
		{"keep;\n\"unterminated", 2, "unterminated string"},
		{"/* never closed", 1, "unterminated comment"},
		{`require "envelope"; if envelope "subject" "x" { keep; }`, 1, "envelope part"},
		{`require "vacation"; vacation :days "x" "r";`, 1, ":days takes a number"},
		{`keep :flags "x";`, 1, `needs require "imap4flags"`},
		{`require "relational"; if header :value "gtx" "a" "b" { keep; }`, 1, "unknown relational operator"},
		{`frobnicate;`, 1, "unknown command"},
		{`if 99999999999999 { }`, 1, "too large"},
		{strings.Repeat("if true {", 40) + strings.Repeat("}", 40), 1, "nested more than"},
		{"\xff", 1, "not UTF-8"},
	} {
		_, err := Compile(c.script)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line != c.line || !strings.Contains(se.Msg, c.msg) {
			t.Errorf("%q: got %v, want line %d %q", c.script, err, c.line, c.msg)
		}
	}
}

func TestRedirectLimitKeeps(t *testing.T) {
	var b strings.Builder
	for i := range 5 {
		fmt.Fprintf(&b, "redirect \"a%d@b.example\";\n", i)
	}
	s := mustCompile(t, b.String())
	r := s.Run(msg(t, "Subject: x", 1, "", "x@y"), Options{MaxRedirects: 4})
	if r.Err == nil || summary(r) != "keep" {
		t.Errorf("five redirects with a limit of four: %v %s", r.Err, summary(r))
	}
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
