package sieve

import (
	"testing"
)

// FuzzCompile: no script, however malformed, panics the parser, the
// checker or a run; a script that compiles runs to a result.
//
//	go test ./sieve -run '^$' -fuzz FuzzCompile -fuzztime 1m
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		rfc5228Example,
		`require ["fileinto", "imap4flags", "copy", "mailbox"]; if address :domain :is "from" "khanhhoa.gov.vn" { fileinto :create :copy :flags "\\Seen" "Nội bộ"; }`,
		"require \"vacation\";\nvacation :days 7 :subject \"Nghỉ phép\" :addresses [\"a@b\"] :handle \"h\" text:\nTôi nghỉ phép.\n..\n.\n;",
		`require ["date", "relational", "comparator-i;ascii-numeric"]; if allof (currentdate :zone "+0700" :value "ge" "date" "2025-01-01", header :count "gt" :comparator "i;ascii-numeric" "received" "3", not exists "x") { stop; }`,
		`/* comment */ # hash
if anyof (size :over 1M, header :matches ["subject","from"] ["*a?b\\*", "**"]) { discard; } elsif true { keep; } else { redirect :copy "x@y.example"; }`,
		"text:\n", "if", "[", "\"\\", ":", "1G", "require [\"a\",];",
	} {
		f.Add(s)
	}
	m, err := ParseMessage(stringsReader("From: \"A\" <a@b.example>, c@d.example\r\nTo: =?UTF-8?B?4bqh?= <x@y.example>\r\nSubject: =?UTF-8?Q?Gi=E1=BA=A5y_m=E1=BB=9Di?=\r\nDate: Mon, 2 Jun 2025 09:00:00 +0700\r\nReceived: a\r\nReceived: b\r\n\r\nbody"), 1234, "a@b.example", "x@y.example")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src string) {
		s, err := Compile(src)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		r := s.Run(m, Options{MaxRedirects: 4})
		if len(r.Actions) == 0 && r.Err != nil {
			t.Fatal("a run-time error must keep the message")
		}
	})
}
