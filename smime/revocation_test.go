package smime_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"congvu/smime"
	"congvu/smime/smimetest"
)

func TestRevocation(t *testing.T) {
	pki := smimetest.New(t)
	ts := trustStore(t, pki)
	good := pki.Issue(smimetest.Spec{CommonName: "Nguyễn Ngọc Thành", Email: thanhAddr})
	bad := pki.Issue(smimetest.Spec{CommonName: "Lê Văn Mất", Email: thanhAddr})
	pki.Revoke(bad)
	goodMsg := message(thanhAddr, pki.Sign(good, entity, smimetest.SignOptions{PSS: true}))
	badMsg := message(thanhAddr, pki.Sign(bad, entity, smimetest.SignOptions{PSS: true}))
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }

	verify := func(rev *smime.Revocation, msg []byte) smime.Result {
		t.Helper()
		v := smime.NewVerifier(smime.VerifierConfig{Trust: ts, Revocation: rev, Now: clock})
		rs := v.VerifyMessage(ctx, msg)
		if len(rs) != 1 {
			t.Fatalf("%d results", len(rs))
		}
		return rs[0]
	}
	newRev := func(crl, ocsp bool, cache string, grace time.Duration) *smime.Revocation {
		r, err := smime.NewRevocation(smime.RevocationConfig{CRL: crl, OCSP: ocsp, CacheDir: cache, OfflineGrace: grace,
			Timeout: 2 * time.Second, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	// OCSP, answered by openssl from the CA database.
	ocspOnly := newRev(false, true, "", 0)
	if r := verify(ocspOnly, badMsg); r.Status != smime.Policy || !strings.Contains(r.Reason, "revoked") {
		t.Fatalf("OCSP revoked: %s %s", r.Status, r.Reason)
	}
	if r := verify(ocspOnly, goodMsg); r.Status != smime.Pass {
		t.Fatalf("OCSP good: %s %s", r.Status, r.Reason)
	}
	if pki.OCSPRequests() == 0 {
		t.Fatal("no OCSP request reached the responder")
	}
	// CRL, cached on disk.
	cache := t.TempDir()
	crl := newRev(true, false, cache, 72*time.Hour)
	if r := verify(crl, badMsg); r.Status != smime.Policy || r.ReasonVI != "chứng thư số đã bị thu hồi" {
		t.Fatalf("CRL revoked: %s %s", r.Status, r.Reason)
	}
	if r := verify(crl, goodMsg); r.Status != smime.Pass {
		t.Fatalf("CRL good: %s %s", r.Status, r.Reason)
	}

	// The CA goes offline: a new checker (a restart) reads the CRLs from
	// its disk cache; past nextUpdate (30 days) it keeps them for the
	// grace, then the answer is temperror.
	pkiDown(t, pki)
	both := newRev(true, true, cache, 72*time.Hour)
	if r := verify(both, badMsg); r.Status != smime.Policy {
		t.Fatalf("offline, cached CRL: %s %s", r.Status, r.Reason)
	}
	now = now.Add(31 * 24 * time.Hour)
	if r := verify(newRev(true, true, cache, 72*time.Hour), goodMsg); r.Status != smime.Pass {
		t.Fatalf("offline within grace: %s %s", r.Status, r.Reason)
	}
	now = now.Add(5 * 24 * time.Hour)
	if r := verify(newRev(true, true, cache, 72*time.Hour), goodMsg); r.Status != smime.TempError {
		t.Fatalf("offline beyond grace: %s %s", r.Status, r.Reason)
	}
	if r := verify(newRev(true, true, t.TempDir(), 72*time.Hour), goodMsg); r.Status != smime.TempError {
		t.Fatalf("offline, nothing cached: %s %s", r.Status, r.Reason)
	}
}

// pkiDown makes the PKI's server refuse every request.
func pkiDown(t *testing.T, pki *smimetest.PKI) {
	t.Helper()
	pki.SetDown(true)
	resp, err := http.Get(pki.BaseURL + "/int.crl")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("PKI still up")
		}
	}
}
