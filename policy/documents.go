package policy

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"congvu/directory"
	"congvu/internal/durable"
	"congvu/internal/mailerr"
	"congvu/secretguard"
	"congvu/smime"
)

// Rules of official documents (văn bản): the signed-document rule and the
// state-secret guard. Package official finds the facts (signatures,
// official attachments, classification stamps) and asks CheckDocuments;
// the decisions, their audit and their reasons are here.

// Rule names in the audit log.
const (
	RuleSecretGuard    = "secret_guard"
	RuleSignedDocument = "signed_document"
	RuleCentralSigning = "central_signing"
)

// Audit actions of official documents.
const (
	ActionQuarantine = "quarantine"
	ActionSign       = "sign"
)

// Documents is what package official found in a message.
type Documents struct {
	// Official are the official-document attachments (file names).
	Official []string
	// Scanned is set when every official document is an image without a
	// text layer (a scan), not an electronic original.
	Scanned bool
	// Signatures are the S/MIME layers and PDF signatures.
	Signatures []smime.Result
	// Secret is the classification stamp found, nil when none.
	Secret *secretguard.Match
	// SignRequested: the sender asked for centralised signing (the
	// submission header field).
	SignRequested bool
	// CanSign: a central key exists for the sender's unit.
	CanSign bool
	// CentrallySigned is set once the server signed the message.
	CentrallySigned bool
}

// Signed reports whether the message carries a valid signature: on the
// mail, or in an attached PDF.
func (d *Documents) Signed() bool {
	if d == nil {
		return false
	}
	for _, r := range d.Signatures {
		if r.Valid() {
			return true
		}
	}
	return false
}

// DocumentDecision is CheckDocuments' answer.
type DocumentDecision struct {
	Decision
	// Sign asks for centralised signing before the message goes on.
	Sign bool
	// Quarantine keeps an inbound message for the operator instead of
	// delivering it.
	Quarantine bool
}

// Refusals.
var (
	// ErrStateSecret: RFC 3463 X.7.1 delivery not authorized; the text
	// names the rule (state secrets never travel by official e-mail).
	ErrStateSecret = &mailerr.Error{SMTPCode: 554, Enhanced: [3]int{5, 7, 1}, HTTPStatus: 403,
		Message: "Tai lieu co dau do mat khong duoc gui qua thu dien tu cong vu / " +
			"Classified document (state secret stamp) must not be sent by official e-mail (Law on Protection of State Secrets 2018)",
		MessageVI: "Tài liệu có dấu độ mật không được gửi qua thư điện tử công vụ (Luật Bảo vệ bí mật nhà nước 2018)"}
	// ErrUnsigned: the signed-document rule.
	ErrUnsigned = &mailerr.Error{SMTPCode: 554, Enhanced: [3]int{5, 7, 1}, HTTPStatus: 403,
		Message: "Van ban gui co quan khac phai co chu ky so / " +
			"Official documents sent to other agencies must be digitally signed (S/MIME or a signed PDF); sign it, or ask for central signing",
		MessageVI: "Văn bản gửi cơ quan khác phải có chữ ký số (ký thư S/MIME hoặc tệp PDF đã ký); hãy ký số hoặc yêu cầu ký tập trung"}
	// ErrNoCentralKey: signing asked for a unit without a central key.
	ErrNoCentralKey = &mailerr.Error{SMTPCode: 554, Enhanced: [3]int{5, 7, 1}, HTTPStatus: 403,
		Message:   "Don vi chua duoc cap khoa ky tap trung / Central signing is not available for your unit",
		MessageVI: "Đơn vị của bạn chưa được cấp khóa ký số tập trung"}
)

// CheckDocuments applies the state-secret guard and the signed-document
// rule to a message at the end of DATA (both listeners).
func (e *Engine) CheckDocuments(ctx context.Context, m *Message, d *Documents) DocumentDecision {
	if e == nil || d == nil {
		return DocumentDecision{}
	}
	rs := e.rules.Load()
	audit := AuditEntry{Protocol: m.Protocol, IP: ipString(m.IP), Subject: m.From}
	if m.Account != nil {
		audit.Subject = m.Account.Address
	}
	if rs.cfg.SecretGuard.Enabled && d.Secret != nil {
		// Never the content: the level and where it was found.
		audit.Detail = fmt.Sprintf("classification %s in %s", d.Secret.Level, d.Secret.Where)
		if m.Protocol == Submission {
			reason := ErrStateSecret.WithMessage(
				fmt.Sprintf("Tai lieu co dau do mat (%s, %s) khong duoc gui qua thu dien tu cong vu / Classified document (%s in %s) must not be sent by official e-mail (Law on Protection of State Secrets 2018)",
					asciiVI(d.Secret.Level), asciiVI(d.Secret.Where), asciiVI(d.Secret.Level), asciiVI(d.Secret.Where)),
				fmt.Sprintf("Tài liệu có dấu độ mật «%s» (%s) không được gửi qua thư điện tử công vụ (Luật Bảo vệ bí mật nhà nước 2018)", d.Secret.Level, d.Secret.Where))
			return DocumentDecision{Decision: e.refuse(Reject, RuleSecretGuard, reason, audit)}
		}
		audit.Action = ActionQuarantine
		e.audit(audit.withRule(RuleSecretGuard))
		return DocumentDecision{Quarantine: true, Decision: Decision{Verdict: Accept, Rule: RuleSecretGuard}}
	}
	if m.Protocol != Submission || m.Account == nil {
		return DocumentDecision{}
	}
	sign := d.SignRequested
	if len(d.Official) > 0 && !d.Signed() && e.documentRuleApplies(rs, m) {
		switch rs.cfg.Documents.UnsignedFor(directory.Domain(m.Account.Address), m.Account.UnitCode) {
		case "sign":
			sign = true
		case "refuse":
			if !sign {
				audit.Detail = fmt.Sprintf("unsigned official document %s", strings.Join(d.Official, ", "))
				return DocumentDecision{Decision: e.refuse(Reject, RuleSignedDocument, ErrUnsigned, audit)}
			}
		}
	}
	if sign && !d.Signed() {
		if !d.CanSign {
			audit.Detail = "central signing asked, no key for unit " + m.Account.UnitCode
			return DocumentDecision{Decision: e.refuse(Reject, RuleCentralSigning, ErrNoCentralKey, audit)}
		}
		return DocumentDecision{Sign: true}
	}
	return DocumentDecision{}
}

// documentRuleApplies: the sender has one of the rule's roles and a
// recipient is another state agency (a state domain elsewhere, or a local
// account of another unit).
func (e *Engine) documentRuleApplies(rs *ruleSet, m *Message) bool {
	if !slices.Contains(rs.cfg.Documents.SenderRoles, string(m.Account.Role)) {
		return false
	}
	for _, r := range m.Rcpts {
		if r.Account != nil {
			if r.Account.UnitCode != m.Account.UnitCode {
				return true
			}
			continue
		}
		if rs.isStateDomain(directory.Domain(r.Address)) {
			return true
		}
	}
	return false
}

// OfficialExtensions returns the file extensions (lower case, no dot) of
// official documents.
func (e *Engine) OfficialExtensions() []string {
	return e.rules.Load().cfg.Documents.Extensions
}

// SecretGuardConfig returns the guard's current settings.
func (e *Engine) SecretGuardConfig() (enabled bool, cfg secretguard.Config) {
	g := e.rules.Load().cfg.SecretGuard
	return g.Enabled, secretguard.Config{Markings: g.Markings, HeaderFields: g.HeaderFields}
}

// SigningEvent is one centralised signature, for the audit log.
type SigningEvent struct {
	Account   *directory.Account
	IP        string
	MessageID string
	Serial    string // certificate serial (hex)
	Unit      string
	Err       error
}

// RecordSigning audits a centralised signature (who asked, the message,
// the certificate); a failure is audited too.
func (e *Engine) RecordSigning(ev SigningEvent) {
	if e == nil {
		return
	}
	a := AuditEntry{Action: ActionSign, Rule: RuleCentralSigning, Protocol: Submission, IP: ev.IP,
		Detail: fmt.Sprintf("Message-ID %s signed with unit %s certificate serial %s", ev.MessageID, ev.Unit, ev.Serial)}
	if ev.Account != nil {
		a.Subject = ev.Account.Address
	}
	if ev.Err != nil {
		a.Action = ActionDefer
		a.Detail = fmt.Sprintf("Message-ID %s: signing with unit %s failed: %v", ev.MessageID, ev.Unit, ev.Err)
	}
	e.audit(a)
}

// Quarantine keeps an inbound message that the secret guard stopped: a
// file in the quarantine directory (written crash-safe), an audit entry
// and a mail to the provincial operators. The sender is answered 250: the
// message is in our custody, not delivered.
func (e *Engine) Quarantine(ctx context.Context, m *Message, d *Documents, msg []byte) (string, error) {
	if e == nil {
		return "", fmt.Errorf("policy: no engine")
	}
	dir := e.opts.QuarantineDir
	if dir == "" {
		return "", fmt.Errorf("policy: no quarantine directory")
	}
	if err := durable.MkdirAll(dir); err != nil {
		return "", err
	}
	now := e.now()
	id := fmt.Sprintf("%s-%d", now.UTC().Format("20060102T150405"), now.UnixNano()%1_000_000_000)
	path := filepath.Join(dir, id+".eml")
	rcpts := make([]string, len(m.Rcpts))
	for i, r := range m.Rcpts {
		rcpts[i] = r.Address
	}
	if err := writeQuarantined(dir, id, msg, QuarantineEnvelope{From: m.From, Rcpts: rcpts, At: now}); err != nil {
		return "", err
	}
	level, where := "", ""
	if d != nil && d.Secret != nil {
		level, where = d.Secret.Level, d.Secret.Where
	}
	e.audit(AuditEntry{Action: ActionQuarantine, Rule: RuleSecretGuard, Protocol: m.Protocol, IP: ipString(m.IP),
		Subject: m.From, Detail: fmt.Sprintf("quarantined %s: %s in %s, for %s", id, level, where, strings.Join(rcpts, ", "))})
	body := fmt.Sprintf("Thư từ <%s> gửi %s mang dấu độ mật «%s» (%s) nên đã bị giữ lại, không chuyển cho người nhận.\r\n"+
		"Mã cách ly: %s\r\nTệp: %s\r\n\r\nĐề nghị kiểm tra và xử lý theo quy chế bảo vệ bí mật nhà nước.\r\n\r\n-- \r\n"+
		"English: a message from <%s> to %s carried the classification stamp %s (%s) and was quarantined, not delivered (id %s, file %s).\r\n",
		m.From, strings.Join(rcpts, ", "), level, where, id, path, m.From, strings.Join(rcpts, ", "), level, where, id, path)
	e.notifyOperators(ctx, "[Cảnh báo] Thư mang dấu độ mật bị giữ lại / Classified message quarantined", body, now)
	return id, nil
}

func (a AuditEntry) withRule(rule string) AuditEntry {
	a.Rule = rule
	return a
}

// asciiVI writes Vietnamese without diacritics for an SMTP reply line,
// which is US-ASCII (RFC 5321 4.2).
func asciiVI(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case strings.ContainsRune("àáạảãâầấậẩẫăằắặẳẵ", r):
			b.WriteByte('a')
		case strings.ContainsRune("ÀÁẠẢÃÂẦẤẬẨẪĂẰẮẶẲẴ", r):
			b.WriteByte('A')
		case strings.ContainsRune("èéẹẻẽêềếệểễ", r):
			b.WriteByte('e')
		case strings.ContainsRune("ÈÉẸẺẼÊỀẾỆỂỄ", r):
			b.WriteByte('E')
		case strings.ContainsRune("ìíịỉĩ", r):
			b.WriteByte('i')
		case strings.ContainsRune("ÌÍỊỈĨ", r):
			b.WriteByte('I')
		case strings.ContainsRune("òóọỏõôồốộổỗơờớợởỡ", r):
			b.WriteByte('o')
		case strings.ContainsRune("ÒÓỌỎÕÔỒỐỘỔỖƠỜỚỢỞỠ", r):
			b.WriteByte('O')
		case strings.ContainsRune("ùúụủũưừứựửữ", r):
			b.WriteByte('u')
		case strings.ContainsRune("ÙÚỤỦŨƯỪỨỰỬỮ", r):
			b.WriteByte('U')
		case strings.ContainsRune("ỳýỵỷỹ", r):
			b.WriteByte('y')
		case strings.ContainsRune("ỲÝỴỶỸ", r):
			b.WriteByte('Y')
		case r == 'đ':
			b.WriteByte('d')
		case r == 'Đ':
			b.WriteByte('D')
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}
