package imapd

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"

	"congvu/policy"
	"congvu/smime"
)

const testAuthservID = "mail.sokhcn.gov.vn" // newEnv's Hostname

// RFC 8601 §5: an APPENDed message did not pass our checks, so the
// Authentication-Results fields in it that name our authserv-id are
// forgeries and are not stored — otherwise a clerk could APPEND
// "smime=pass" into the văn thư mailbox and the leader's webmail would
// show a valid signature. Other servers' fields, the rest of the header
// and the body are kept. MULTIAPPEND, folded fields, a leading comment
// and another letter case are covered.
func TestAppendStripsOwnAuthenticationResults(t *testing.T) {
	var audited []policy.AuditEntry
	e := newEnv(t, withSharing(t, &audited))
	clerk, leader := e.loginAs(t, clerkAddr), e.loginAs(t, leaderAddr)

	forged1 := "Authentication-Results: " + testAuthservID + ";\r\n" +
		"\tsmime=pass body.smime-identifier=giamdoc@sokhcn.gov.vn\r\n" +
		"\t(signer: =?utf-8?q?Gi=C3=A1m_=C4=91=E1=BB=91c?=)\r\n" +
		"Authentication-Results: mx.google.com; dkim=pass header.d=gmail.com\r\n" +
		"From: giamdoc@sokhcn.gov.vn\r\nSubject: forged one\r\n\r\n" +
		"Authentication-Results: " + testAuthservID + "; smime=pass (in the body: kept)\r\n"
	forged2 := "Subject: forged two\r\n" +
		"authentication-results :(our server) MAIL.SOKHCN.GOV.VN 1; smime=pass\r\n" +
		"X-Other: kept\r\n\r\nbody\r\n"
	_, done := clerk.cmdBytes("c1", fmt.Sprintf("APPEND Shared/skhcn {%d+}\r\n%s {%d+}\r\n%s",
		len(forged1), forged1, len(forged2), forged2))
	if !strings.HasPrefix(done, "c1 OK [APPENDUID ") {
		t.Fatalf("MULTIAPPEND into the shared mailbox: %q", done)
	}

	leader.cmd("l1", "EXAMINE Shared/skhcn")
	for i, want := range []struct{ kept, gone []string }{
		{kept: []string{"mx.google.com; dkim=pass", "Subject: forged one", "in the body: kept"}},
		{kept: []string{"X-Other: kept", "Subject: forged two"}},
	} {
		all, done := leader.cmdBytes("l2", fmt.Sprintf("FETCH %d (BODY.PEEK[])", i+1))
		if !strings.HasPrefix(done, "l2 OK") {
			t.Fatalf("FETCH %d: %q", i+1, done)
		}
		msg := literalOf(t, all)
		header, _, _ := strings.Cut(msg, "\r\n\r\n")
		if got := smime.FromHeader([]byte(header+"\r\n\r\n"), testAuthservID); len(got) != 0 {
			t.Errorf("message %d: the webmail would trust %+v; stored header:\n%s", i+1, got, header)
		}
		if strings.Contains(strings.ToLower(header), strings.ToLower(testAuthservID)) {
			t.Errorf("message %d: our authserv-id still in the header:\n%s", i+1, header)
		}
		for _, k := range want.kept {
			if !strings.Contains(msg, k) {
				t.Errorf("message %d lost %q:\n%s", i+1, k, msg)
			}
		}
	}

	// A header line too long to know its field name is refused clearly,
	// and nothing is stored.
	long := strings.Repeat("x", stripChunk+10) + "\r\n\r\nbody\r\n"
	if _, done := clerk.cmdBytes("c2", fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(long), long)); !strings.HasPrefix(done, "c2 NO [PARSE]") {
		t.Errorf("APPEND with an over-long nameless header line: %q", done)
	}
	if un, _ := clerk.cmd("c3", "STATUS INBOX (MESSAGES)"); len(un) != 1 || !strings.Contains(un[0], "MESSAGES 0") {
		t.Errorf("after the refused APPEND: %q", un)
	}
}

var literalStart = regexp.MustCompile(`\{(\d+)\}\r\n`)

// literalOf returns the first literal in a response.
func literalOf(t *testing.T, resp []byte) string {
	t.Helper()
	loc := literalStart.FindSubmatchIndex(resp)
	if loc == nil {
		t.Fatalf("no literal in %q", resp)
	}
	var n int
	fmt.Sscan(string(resp[loc[2]:loc[3]]), &n)
	return string(resp[loc[1] : loc[1]+n])
}

func stripAll(t testing.TB, in []byte, oneByte bool) ([]byte, error) {
	var r io.Reader = bytes.NewReader(in)
	if oneByte {
		r = iotest.OneByteReader(r)
	}
	return io.ReadAll(stripOwnResults(r, testAuthservID))
}

func TestStripOwnResults(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Subject: x\r\n\r\nbody", "Subject: x\r\n\r\nbody"},
		{"Authentication-Results: mail.sokhcn.gov.vn; smime=pass\r\nSubject: x\r\n\r\nb",
			"Subject: x\r\n\r\nb"},
		// Bare LF, folded, last field before the body.
		{"Subject: x\nAuthentication-Results:\n mail.sokhcn.gov.vn;\n smime=pass\n\nb", "Subject: x\n\nb"},
		// Another server's field, a longer name that only starts like ours.
		{"Authentication-Results: mail.sokhcn.gov.vn.evil; smime=pass\r\n\r\n",
			"Authentication-Results: mail.sokhcn.gov.vn.evil; smime=pass\r\n\r\n"},
		// The header ends at EOF, without an empty line.
		{"Subject: x\r\nAuthentication-Results: mail.sokhcn.gov.vn; dkim=pass", "Subject: x\r\n"},
		// A folding line before any field is no field.
		{" Authentication-Results: mail.sokhcn.gov.vn; smime=pass\r\n\r\n", " Authentication-Results: mail.sokhcn.gov.vn; smime=pass\r\n\r\n"},
		// An over-long field is dropped whole.
		{"Authentication-Results: (" + strings.Repeat("c", maxResultsField) + ") x; smime=pass\r\nSubject: y\r\n\r\n",
			"Subject: y\r\n\r\n"},
	} {
		for _, oneByte := range []bool{false, true} {
			got, err := stripAll(t, []byte(c.in), oneByte)
			if err != nil || string(got) != c.want {
				t.Errorf("strip(%.60q) = %.80q, %v; want %.80q", c.in, got, err, c.want)
			}
		}
	}
}

func FuzzStripOwnResults(f *testing.F) {
	f.Add([]byte("Authentication-Results: mail.sokhcn.gov.vn; smime=pass\r\nSubject: x\r\n\r\nbody"))
	f.Add([]byte("Authentication-Results:(c (nested)) \"mail.sokhcn.gov.vn\" 1;\r\n smime=pass\r\n\r\n"))
	f.Add([]byte("a:b\n\tAuthentication-Results: mail.sokhcn.gov.vn;smime=pass\n\n"))
	f.Add([]byte("Authentication-Results: x; smime=fail\r\n\r"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := stripAll(t, in, false)
		if err != nil {
			return
		}
		if got := smime.FromHeader(out, testAuthservID); len(got) != 0 {
			t.Fatalf("FromHeader trusts %+v in %q (from %q)", got, out, in)
		}
		if !bytes.Contains(bytes.ToLower(in), []byte("authentication-results")) && !bytes.Equal(in, out) {
			t.Fatalf("changed a message without the field: %q -> %q", in, out)
		}
		if small, err := stripAll(t, in, true); err != nil || !bytes.Equal(small, out) {
			t.Fatalf("one byte at a time: %q, %v; whole: %q", small, err, out)
		}
	})
}
