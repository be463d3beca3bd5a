package msgauth

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"congvu/resolve"
	"congvu/resolve/dnstest"
)

const authserv = "mail.khanhhoa.gov.vn"

type checkFixture struct {
	t      *testing.T
	dns    *dnstest.Server
	res    resolve.Resolver
	own    *Signer // our keys (khanhhoa.gov.vn)
	others *Signer // other domains' keys, published in DNS
}

func newCheckFixture(t *testing.T) *checkFixture {
	t.Helper()
	srv, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	res, _ := resolve.New(resolve.Config{Servers: []string{srv.Addr}, Timeout: 2 * time.Second})
	f := &checkFixture{t: t, dns: srv, res: res}
	ownDir, otherDir := t.TempDir(), t.TempDir()
	// Our key is not published: what DNS says about our domain must not matter.
	if _, _, err := Keygen(ownDir, "khanhhoa.gov.vn", "k1", AlgEd25519); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"angiang.gov.vn", "quarantine.example", "reject.example", "khanhhoa-gov.vn", "khanhhoa.gov.vn"} {
		dir := otherDir
		_, rec, err := Keygen(dir, d, "s1", AlgRSA)
		if err != nil {
			t.Fatal(err)
		}
		srv.Add(`s1._domainkey.` + d + `. TXT "` + rec + `"`)
	}
	f.own, _ = LoadSigner(ownDir)
	f.others, _ = LoadSigner(otherDir)
	srv.Add(
		`angiang.gov.vn. TXT "v=spf1 ip4:192.0.2.10 -all"`,
		`_dmarc.angiang.gov.vn. TXT "v=DMARC1; p=reject"`,
		`_dmarc.quarantine.example. TXT "v=DMARC1; p=quarantine"`,
		`_dmarc.reject.example. TXT "v=DMARC1; p=reject"`,
		`reject.example. TXT "v=spf1 -all"`,
		`khanhhoa-gov.vn. TXT "v=spf1 ip4:198.51.100.7 -all"`,
		`_dmarc.khanhhoa-gov.vn. TXT "v=DMARC1; p=reject"`,
		`khanhhoa.gov.vn. TXT "v=spf1 ip4:198.51.100.7 -all"`, // as if DNS were poisoned
	)
	return f
}

func (f *checkFixture) checker(mod func(*CheckerConfig)) *Checker {
	cfg := CheckerConfig{AuthservID: authserv, LocalDomains: []string{"khanhhoa.gov.vn"}, Authenticate: true,
		DMARCPolicy: "honour", SpoofAction: "reject"}
	if mod != nil {
		mod(&cfg)
	}
	return NewChecker(cfg, f.res, f.own, nil)
}

func msg(from string, extra ...string) string {
	return strings.Join(extra, "") + "From: " + from + "\r\nTo: vanthu@khanhhoa.gov.vn\r\nSubject: Thu\r\n\r\nNoi dung\r\n"
}

func (f *checkFixture) sign(s *Signer, m string) string {
	sig, err := s.Sign(strings.NewReader(m))
	if err != nil || sig == nil {
		f.t.Fatalf("signing: %q %v", sig, err)
	}
	return string(sig) + m
}

func check(c *Checker, ip, mailFrom, m string) Verdict {
	return c.Check(context.Background(), Envelope{IP: net.ParseIP(ip), HELO: "mx.example", MailFrom: mailFrom},
		func() io.Reader { return strings.NewReader(m) })
}

func TestCheckVerdicts(t *testing.T) {
	f := newCheckFixture(t)
	c := f.checker(nil)

	// A properly signed message from another province, from its server.
	v := check(c, "192.0.2.10", "vanthu@angiang.gov.vn", f.sign(f.others, msg("Van thu <vanthu@angiang.gov.vn>")))
	ar := string(v.Prepend)
	if v.Action != Deliver || !strings.HasPrefix(ar, "Authentication-Results: "+authserv+";") ||
		!strings.Contains(ar, "spf=pass") || !strings.Contains(ar, "dkim=pass") || !strings.Contains(ar, "header.d=angiang.gov.vn") ||
		!strings.Contains(ar, "dmarc=pass") {
		t.Errorf("good mail: %v %q\n%s", v.Action, v.Reason, ar)
	}

	// Forwarded elsewhere: SPF fails but the aligned signature passes DMARC.
	v = check(c, "203.0.113.9", "vanthu@angiang.gov.vn", f.sign(f.others, msg("vanthu@angiang.gov.vn")))
	if v.Action != Deliver || !strings.Contains(string(v.Prepend), "spf=fail") || !strings.Contains(string(v.Prepend), "dmarc=pass") {
		t.Errorf("forwarded mail: %v %s", v.Action, v.Prepend)
	}

	// p=reject and nothing aligned: 550 5.7.1 at DATA.
	v = check(c, "203.0.113.9", "x@reject.example", msg("ceo@reject.example"))
	if v.Action != Reject || v.Err == nil || v.Err.SMTPCode != 550 || v.Err.Enhanced != [3]int{5, 7, 1} {
		t.Errorf("p=reject: %v %v", v.Action, v.Err)
	}
	// p=quarantine: Junk, with the reason in the header.
	v = check(c, "203.0.113.9", "x@quarantine.example", msg("ceo@quarantine.example"))
	if v.Action != Junk || !strings.Contains(string(v.Prepend), "dmarc=fail") ||
		!strings.Contains(string(v.Prepend), "X-Congvu-Junk-Reason: DMARC fail for header.from=quarantine.example (policy p=quarantine)") {
		t.Errorf("p=quarantine: %v\n%s", v.Action, v.Prepend)
	}

	// Local overrides.
	if v := check(f.checker(func(c *CheckerConfig) { c.DMARCPolicy = "junk" }), "203.0.113.9", "x@reject.example", msg("ceo@reject.example")); v.Action != Junk {
		t.Errorf("dmarc_policy=junk: %v", v.Action)
	}
	if v := check(f.checker(func(c *CheckerConfig) { c.DMARCExempt = []string{"reject.example"} }), "203.0.113.9", "x@reject.example", msg("ceo@reject.example")); v.Action != Deliver || !strings.Contains(v.Reason, "exempt") {
		t.Errorf("exempt domain: %v %s", v.Action, v.Reason)
	}
}

func TestCheckAntiSpoofing(t *testing.T) {
	f := newCheckFixture(t)
	c := f.checker(nil)
	// Our own domain from the internet, with SPF and a DKIM key in
	// (poisoned) DNS that say yes: refused, our key is the only judge.
	forged := f.sign(f.others, msg("Chu tich <chutich@khanhhoa.gov.vn>"))
	v := check(c, "198.51.100.7", "chutich@khanhhoa.gov.vn", forged)
	if v.Action != Reject || v.Err == nil || v.Err.SMTPCode != 550 || !strings.Contains(v.Err.Message, "did not come from its servers") {
		t.Errorf("own domain forged: %v %v %s", v.Action, v.Err, v.Reason)
	}
	// Signed with our own key (our mail coming back through a list or a
	// forwarder): accepted.
	if v := check(c, "198.51.100.7", "list@lists.example", f.sign(f.own, msg("chutich@khanhhoa.gov.vn"))); v.Action != Deliver {
		t.Errorf("own signature: %v %s", v.Action, v.Reason)
	}
	// A lookalike with perfect SPF, DKIM and DMARC of its own.
	look := f.sign(f.others, msg("UBND tinh Khanh Hoa <vanphong@khanhhoa-gov.vn>"))
	v = check(c, "198.51.100.7", "vanphong@khanhhoa-gov.vn", look)
	if v.Action != Reject || !strings.Contains(v.Reason, "imitates khanhhoa.gov.vn") {
		t.Errorf("lookalike: %v %s", v.Action, v.Reason)
	}
	// Works without DNS checks, and can mark instead of refuse.
	junk := f.checker(func(c *CheckerConfig) { c.Authenticate, c.SpoofAction = false, "junk" })
	v = check(junk, "198.51.100.7", "vanphong@khanhhoa-gov.vn", look)
	if v.Action != Junk || !bytes.Contains(v.Prepend, []byte("X-Congvu-Junk-Reason: From domain khanhhoa-gov.vn imitates khanhhoa.gov.vn")) {
		t.Errorf("lookalike, junk: %v %s", v.Action, v.Prepend)
	}
	// Two authors of different domains.
	if v := check(c, "192.0.2.10", "vanthu@angiang.gov.vn", msg("a@angiang.gov.vn, b@khanhhoa.gov.vn")); v.Action != Reject {
		t.Errorf("two From domains: %v", v.Action)
	}
}

func TestCheckStripsForgedResults(t *testing.T) {
	f := newCheckFixture(t)
	m := msg("vanthu@angiang.gov.vn",
		"Authentication-Results: "+authserv+"; dmarc=pass header.from=angiang.gov.vn\r\n",
		"Authentication-Results: MAIL.KHANHHOA.GOV.VN (fake);\r\n dkim=pass\r\n",
		// A leading comment does not hide our authserv-id from the
		// parser that reads our results back (smime.FromHeader).
		"Authentication-Results: (checked) "+authserv+"; smime=pass\r\n",
		"Authentication-Results: mx.angiang.gov.vn; spf=pass smtp.mailfrom=angiang.gov.vn\r\n")
	signed := f.sign(f.others, m)
	v := check(f.checker(nil), "192.0.2.10", "vanthu@angiang.gov.vn", signed)
	if v.Header == nil {
		t.Fatal("forged Authentication-Results not removed")
	}
	h := string(v.Header)
	if strings.Count(h, "Authentication-Results:") != 1 || !strings.Contains(h, "mx.angiang.gov.vn; spf=pass") || !strings.HasSuffix(h, "\r\n\r\n") {
		t.Errorf("rewritten header:\n%s", h)
	}
	if want := strings.Index(signed, "\r\n\r\n") + 4; v.HeaderLen != int64(want) || signed[v.HeaderLen:] != "Noi dung\r\n" {
		t.Errorf("header length %d, want %d", v.HeaderLen, want)
	}
	// The signature does not cover Authentication-Results, so it still verifies.
	if !strings.Contains(string(v.Prepend), "dkim=pass") {
		t.Errorf("results: %s", v.Prepend)
	}
}
