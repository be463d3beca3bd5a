package official

import (
	"strings"
	"testing"

	"congvu/internal/mimetree"
	"congvu/smime"
)

// RFC 8601 5: a submitted message may not carry results in our name. A
// leading comment or a fold must not hide our authserv-id from the
// stripper while smime.FromHeader (the webmail's badge) still reads it.
func TestStripHeaderOwnResults(t *testing.T) {
	const id = "mail.sokhcn.gov.vn"
	c := New(Config{AuthservID: id})
	for _, field := range []string{
		"Authentication-Results: " + id + "; smime=pass\r\n",
		"Authentication-Results: (checked) " + id + "; smime=pass\r\n",
		"Authentication-Results: (a (nested) comment) " + id + " 1; smime=pass\r\n",
		"Authentication-Results:\r\n\t" + id + ";\r\n\tsmime=pass\r\n",
		"authentication-results: MAIL.SOKHCN.GOV.VN;smime=pass\r\n",
	} {
		msg := []byte("From: a@sokhcn.gov.vn\r\n" + field +
			"Authentication-Results: mx.example.org; dkim=pass\r\nX-Congvu-Sign: yes\r\nSubject: s\r\n\r\nbody\r\n")
		if len(smime.FromHeader(msg, id)) == 0 {
			t.Fatalf("test input not trusted by FromHeader: %q", field)
		}
		out, changed := c.stripHeader(msg, mimetree.Parse(msg, mimetree.Options{}))
		got := string(out)
		if !changed || len(smime.FromHeader(out, id)) != 0 || strings.Contains(got, "X-Congvu-Sign") ||
			!strings.Contains(got, "mx.example.org; dkim=pass") || !strings.HasSuffix(got, "Subject: s\r\n\r\nbody\r\n") {
			t.Errorf("%q: stripped to\n%s", field, got)
		}
	}
}
