package policy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"congvu/internal/config"
	"congvu/internal/mailerr"
	"congvu/secretguard"
	"congvu/smime"
)

func TestSignedDocumentRule(t *testing.T) {
	cfg := testConfig()
	e := newEnv(t, cfg)
	ctx := context.Background()
	official := []string{"Công văn 123.pdf"}
	valid := []smime.Result{{Status: smime.Pass, Part: "pdf:Công văn 123.pdf"}}
	revoked := []smime.Result{{Status: smime.Policy, Reason: "certificate revoked"}}

	// The văn thư (clerk) sends an unsigned official document to another
	// agency: refused with the rule's reason, audited.
	d := e.engine.CheckDocuments(ctx, submission(e, mai, "vanthu@boyte.gov.vn"), &Documents{Official: official})
	if !d.Refused() || !errors.Is(d.Err(), ErrUnsigned) || d.Rule != RuleSignedDocument {
		t.Fatalf("unsigned: %+v", d)
	}
	if me := mailerr.As(d.Err()); me.SMTPCode != 554 || !strings.Contains(me.Message, "must be digitally signed") || !strings.Contains(me.MessageVI, "chữ ký số") {
		t.Fatalf("reason: %+v", me)
	}
	if a := e.audit(AuditQuery{Subject: mai}); len(a) != 1 || a[0].Rule != RuleSignedDocument || !strings.Contains(a[0].Detail, "Công văn 123.pdf") {
		t.Fatalf("audit: %+v", a)
	}
	// A revoked signature is no signature.
	if d := e.engine.CheckDocuments(ctx, submission(e, mai, "vanthu@boyte.gov.vn"), &Documents{Official: official, Signatures: revoked}); !d.Refused() {
		t.Fatal("revoked signature accepted")
	}
	// Valid signature, no official document, the unit's own colleague, an
	// ordinary official, an outside address: all pass.
	for name, c := range map[string]struct {
		m *Message
		d *Documents
	}{
		"signed":          {submission(e, mai, "vanthu@boyte.gov.vn"), &Documents{Official: official, Signatures: valid}},
		"no document":     {submission(e, mai, "vanthu@boyte.gov.vn"), &Documents{}},
		"same unit":       {submission(e, mai, thanh), &Documents{Official: official}},
		"official role":   {submission(e, thanh, "vanthu@boyte.gov.vn"), &Documents{Official: official}},
		"outside address": {submission(e, mai, "congty@gmail.com"), &Documents{Official: official}},
	} {
		if d := e.engine.CheckDocuments(ctx, c.m, c.d); d.Refused() || d.Sign {
			t.Errorf("%s: %+v", name, d)
		}
	}
	// Another unit of the province is another agency.
	if d := e.engine.CheckDocuments(ctx, submission(e, mai, duc), &Documents{Official: official}); !d.Refused() {
		t.Error("local account of another unit not treated as another agency")
	}
	// Asking for central signing: signed when the unit has a key.
	if d := e.engine.CheckDocuments(ctx, submission(e, mai, "vanthu@boyte.gov.vn"), &Documents{Official: official, SignRequested: true, CanSign: true}); d.Refused() || !d.Sign {
		t.Fatalf("sign requested: %+v", d)
	}
	if d := e.engine.CheckDocuments(ctx, submission(e, thanh, "a@gmail.com"), &Documents{SignRequested: true}); !errors.Is(d.Err(), ErrNoCentralKey) {
		t.Fatalf("sign without key: %+v", d)
	}
	// The unit's rule "sign" applies central signing by itself.
	cfg.Documents.Units = map[string]config.DocumentOverride{skhcnCode: {Unsigned: "sign"}}
	if err := e.engine.Reload(cfg, []string{domain}); err != nil {
		t.Fatal(err)
	}
	if d := e.engine.CheckDocuments(ctx, submission(e, mai, "vanthu@boyte.gov.vn"), &Documents{Official: official, CanSign: true}); d.Refused() || !d.Sign {
		t.Fatalf("unit rule sign: %+v", d)
	}
}

func TestSecretGuardRule(t *testing.T) {
	cfg := testConfig()
	e := newEnv(t, cfg)
	e.engine.opts.QuarantineDir = filepath.Join(t.TempDir(), "quarantine")
	ctx := context.Background()
	secret := &secretguard.Match{Level: "TỐI MẬT", Where: "attachment Kế hoạch.docx", Line: "TỐI MẬT"}
	d := e.engine.CheckDocuments(ctx, submission(e, thanh, "vanthu@boyte.gov.vn"), &Documents{Secret: secret})
	me := mailerr.As(d.Err())
	if !d.Refused() || me == nil || me.SMTPCode != 554 || !strings.Contains(me.Message, "TOI MAT") || !strings.Contains(me.MessageVI, "TỐI MẬT") {
		t.Fatalf("submission: %+v %+v", d, me)
	}
	for _, c := range me.Message {
		if c >= 0x80 {
			t.Fatalf("SMTP text not ASCII: %q", me.Message)
		}
	}
	// Inbound: quarantined, not refused; the operators are told.
	in := &Message{Envelope: Envelope{Protocol: SMTP, From: "vanthu@boyte.gov.vn"}, Rcpts: []Recipient{{Address: thanh, Account: e.account(thanh)}}}
	d = e.engine.CheckDocuments(ctx, in, &Documents{Secret: secret})
	if d.Refused() || !d.Quarantine {
		t.Fatalf("inbound: %+v", d)
	}
	id, err := e.engine.Quarantine(ctx, in, &Documents{Secret: secret}, []byte("Subject: x\r\n\r\nTỐI MẬT\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(e.engine.opts.QuarantineDir, id+".eml")); err != nil || !strings.Contains(string(b), "TỐI MẬT") {
		t.Fatalf("quarantine file: %v", err)
	}
	if box := e.inbox(operator); len(box) != 1 || !strings.Contains(box[0], id) {
		t.Fatalf("operator alert: %d messages", len(box))
	}
	// Turned off: nothing happens.
	cfg.SecretGuard.Enabled = false
	e.engine.Reload(cfg, []string{domain})
	if d := e.engine.CheckDocuments(ctx, submission(e, thanh, "vanthu@boyte.gov.vn"), &Documents{Secret: secret}); d.Refused() {
		t.Fatal("guard off still refuses")
	}
}

func TestUsageCountsDocuments(t *testing.T) {
	e := newEnv(t, testConfig())
	ctx := context.Background()
	send := func(d *Documents) {
		m := submission(e, mai, "vanthu@boyte.gov.vn")
		m.Documents = d
		e.engine.Delivered(ctx, m)
	}
	send(&Documents{Official: []string{"a.pdf"}, Signatures: []smime.Result{{Status: smime.Pass}}})
	send(&Documents{Official: []string{"b.pdf"}, Scanned: true})
	send(&Documents{Official: []string{"c.docx"}, Signatures: []smime.Result{{Status: smime.Fail}}})
	send(&Documents{Official: []string{"d.pdf"}, CentrallySigned: true, Signatures: []smime.Result{{Status: smime.Pass}}})
	send(&Documents{}) // no document: not counted
	month := MonthOf(DayOf(e.clock.Now(), ict(t)))
	rep, err := e.engine.UsageReport(ctx, "", month, month)
	if err != nil {
		t.Fatal(err)
	}
	var row UsageRow
	for _, r := range rep.Rows {
		if r.Unit.Code == skhcnCode && !r.Subtotal {
			row = r
		}
	}
	if row.OfficialSent != 4 || row.OfficialSigned != 2 || row.OfficialElectronic != 3 || row.SignedShare() != "50.0%" || row.ElectronicShare() != "75.0%" {
		t.Fatalf("documents %+v %s %s", row.UsageCounts, row.SignedShare(), row.ElectronicShare())
	}
	if rep.Total.OfficialSent != 4 {
		t.Fatalf("total %+v", rep.Total.UsageCounts)
	}
	var b strings.Builder
	RenderUsageCSV(&b, rep)
	if !strings.Contains(b.String(), ",4,2,50.0%,75.0%") {
		t.Fatalf("CSV:\n%s", b.String())
	}
	b.Reset()
	RenderUsageHTML(&b, rep)
	if !strings.Contains(b.String(), "<td>50.0%</td>") {
		t.Fatal("HTML has no signed share")
	}
}
