// Package official checks the official documents (văn bản) in every
// message at the end of DATA, for both the MX and the submission
// listeners: it verifies S/MIME and PDF signatures (package smime, package
// pdf), reads the text of the subject, body and attachments (package
// textextract) for the state-secret guard (package secretguard), asks the
// policy engine for its decision (the signed-document rule and the guard),
// applies centralised signing when the engine asks for it, and stamps the
// signature results into the message (Authentication-Results smime=,
// RFC 7281).
package official

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"path"
	"slices"
	"strings"
	"sync"

	"congvu/internal/mailerr"
	"congvu/internal/mimetree"
	"congvu/pdf"
	"congvu/policy"
	"congvu/secretguard"
	"congvu/smime"
	"congvu/textextract"
)

// Rules is what the checker asks the policy engine (*policy.Engine).
type Rules interface {
	CheckDocuments(ctx context.Context, m *policy.Message, d *policy.Documents) policy.DocumentDecision
	Quarantine(ctx context.Context, m *policy.Message, d *policy.Documents, msg []byte) (string, error)
	RecordSigning(ev policy.SigningEvent)
	OfficialExtensions() []string
	SecretGuardConfig() (bool, secretguard.Config)
}

// Signer signs a unit's outgoing mail with its organisation key
// (package official's Keys: PKCS #11 token or PKCS #12 file).
type Signer interface {
	// CanSign reports whether unit has a key.
	CanSign(unit string) bool
	// Sign returns msg signed for unit, and the certificate's serial.
	Sign(ctx context.Context, unit string, msg []byte) (signed []byte, serial string, err error)
}

// Config configures a Checker.
type Config struct {
	// AuthservID names us in the stamp (RFC 8601 2.5).
	AuthservID string
	// Verifier checks signatures; nil turns verification off.
	Verifier *smime.Verifier
	Rules    Rules
	// Signer is centralised signing; nil when none is configured.
	Signer Signer
	// SignHeader is the submission field that asks for signing.
	SignHeader string
	// MaxInflightBytes bounds the message bytes checked at once
	// (default 256 MiB); a message waits for room.
	MaxInflightBytes int64
	Limits           textextract.Limits
	Logger           *slog.Logger
}

// Checker checks messages; safe for concurrent use.
type Checker struct {
	cfg      Config
	inflight *byteSemaphore
	log      *slog.Logger
}

// New returns a Checker.
func New(cfg Config) *Checker {
	if cfg.MaxInflightBytes <= 0 {
		cfg.MaxInflightBytes = 256 << 20
	}
	if cfg.SignHeader == "" {
		cfg.SignHeader = "X-Congvu-Sign"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Limits = cfg.Limits.WithDefaults()
	return &Checker{cfg: cfg, inflight: newByteSemaphore(cfg.MaxInflightBytes), log: cfg.Logger}
}

// Verdict is what smtpd does with the message.
type Verdict struct {
	// Err refuses the message at the end of DATA.
	Err error
	// Quarantined: accepted and kept for the operator, not delivered.
	Quarantined bool
	// Prepend are header fields for local deliveries (our stamp).
	Prepend []byte
	// Rewrite replaces the message (central signing, our control field
	// and forged stamps removed on submission); nil keeps it.
	Rewrite []byte
	// Documents are the facts, for the usage counters.
	Documents *policy.Documents
}

// Errors of the checker itself.
var (
	errSigningFailed = &mailerr.Error{SMTPCode: 451, Enhanced: [3]int{4, 7, 0}, Temporary: true,
		Message:   "Central signing is unavailable, try again later / Chua ky so duoc, vui long thu lai sau",
		MessageVI: "Chưa ký số tập trung được, vui lòng thử lại sau"}
	errQuarantineFailed = &mailerr.Error{SMTPCode: 451, Enhanced: [3]int{4, 3, 0}, Temporary: true,
		Message: "Local error in processing, try again later", MessageVI: "Lỗi máy chủ, vui lòng thử lại sau"}
)

// messageBytes is the whole message: the caller's own slice when it holds
// one (smtpd does for all but large messages), else one buffer of the
// message's size and a byte to see a longer one (io.ReadAll grew its
// buffer from 512 bytes, about 2.5 times the message; issue 16).
func messageBytes(m *policy.Message) ([]byte, error) {
	if m.Held != nil {
		if b := m.Held(); b != nil {
			return b, nil
		}
	}
	msg := make([]byte, max(m.Size, 0)+1)
	n, err := io.ReadFull(m.Open(), msg)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	return msg[:n], err
}

// Check inspects a message (m.Open gives its bytes, without our trace
// fields) and decides.
func (c *Checker) Check(ctx context.Context, m *policy.Message) Verdict {
	size := max(m.Size, 1)
	if err := c.inflight.acquire(ctx, size); err != nil {
		return Verdict{Err: mailerr.ErrInternal.With(err)}
	}
	defer c.inflight.release(size)
	msg, err := messageBytes(m)
	if err != nil {
		return Verdict{Err: mailerr.ErrInternal.With(fmt.Errorf("official: reading message: %w", err))}
	}
	submission := m.Protocol == policy.Submission
	d, root := c.inspect(ctx, msg, submission && m.Account != nil)
	if submission && m.Account != nil && c.cfg.Signer != nil {
		d.CanSign = c.cfg.Signer.CanSign(m.Account.UnitCode)
	}
	v := Verdict{Documents: d}

	dec := c.cfg.Rules.CheckDocuments(ctx, m, d)
	if dec.Refused() {
		v.Err = dec.Err()
		return v
	}
	if dec.Quarantine {
		id, err := c.cfg.Rules.Quarantine(ctx, m, d, msg)
		if err != nil {
			v.Err = errQuarantineFailed.With(err)
			return v
		}
		c.log.Warn("classified message quarantined", "id", id, "from", m.From, "level", d.Secret.Level, "where", d.Secret.Where)
		v.Quarantined = true
		return v
	}
	if submission {
		// Our control field and any stamp claiming to be ours are not
		// the sender's to write (RFC 8601 5).
		if stripped, changed := c.stripHeader(msg, root); changed {
			msg, v.Rewrite = stripped, stripped
		}
	}
	if dec.Sign {
		signed, serial, err := c.cfg.Signer.Sign(ctx, m.Account.UnitCode, msg)
		c.cfg.Rules.RecordSigning(policy.SigningEvent{Account: m.Account, IP: ipOf(m), MessageID: root.Header.Get("Message-Id"),
			Serial: serial, Unit: m.Account.UnitCode, Err: err})
		if err != nil {
			if mailerr.As(err) == nil {
				err = errSigningFailed.With(err)
			}
			v.Err = err
			return v
		}
		msg, v.Rewrite = signed, signed
		d.CentrallySigned = true
		// The stamp of local copies says what the recipients' clients
		// will find: our signature, checked like any other.
		if c.cfg.Verifier != nil {
			var pdfs []smime.Result
			for _, r := range d.Signatures {
				if strings.HasPrefix(r.Part, "pdf:") {
					pdfs = append(pdfs, r)
				}
			}
			d.Signatures = nil
			c.cfg.Verifier.Walk(ctx, mimetree.Parse(signed, mimetree.Options{Unwrap: smime.OpaqueContent}), func(_ *mimetree.Part, r smime.Verified) {
				d.Signatures = append(d.Signatures, r.Result)
			})
			d.Signatures = append(d.Signatures, pdfs...)
		}
	}
	if c.cfg.Verifier != nil && (len(d.Signatures) > 0 || len(d.Official) > 0) {
		v.Prepend = []byte(smime.StampField(c.cfg.AuthservID, d.Signatures))
	}
	return v
}

func ipOf(m *policy.Message) string {
	if m.IP.IsValid() {
		return m.IP.String()
	}
	return ""
}

// inspect finds the facts: signatures, official documents, the first
// classification stamp, and whether signing was asked for.
func (c *Checker) inspect(ctx context.Context, msg []byte, submission bool) (*policy.Documents, *mimetree.Part) {
	root := mimetree.Parse(msg, mimetree.Options{Unwrap: smime.OpaqueContent})
	d := &policy.Documents{}
	if submission {
		switch strings.ToLower(strings.TrimSpace(root.Header.Get(c.cfg.SignHeader))) {
		case "yes", "1", "true", "on", "có", "co":
			d.SignRequested = true
		}
	}
	if c.cfg.Verifier != nil {
		c.cfg.Verifier.Walk(ctx, root, func(_ *mimetree.Part, r smime.Verified) { d.Signatures = append(d.Signatures, r.Result) })
	}
	guardOn, gcfg := c.cfg.Rules.SecretGuardConfig()
	var guard *secretguard.Guard
	if guardOn {
		guard = secretguard.New(gcfg)
		d.Secret = c.headerStamp(guard, root)
	}
	exts := c.cfg.Rules.OfficialExtensions()
	scans, originals := 0, 0
	root.Walk(func(p *mimetree.Part) bool {
		if ctx.Err() != nil {
			return false
		}
		switch {
		case len(p.Children) > 0:
			return true // a multipart: its parts follow
		case p.MediaType == "message/rfc822" || p.MediaType == "message/global":
			// A forwarded message: its header, then its parts.
			if guard != nil && d.Secret == nil && p.Embedded != nil {
				d.Secret = c.headerStamp(guard, p.Embedded)
			}
			return true
		case smime.IsOpaqueSigned(p):
			return true // the signed content follows as Embedded
		case strings.Contains(p.MediaType, "pkcs7-signature"):
			return false
		}
		name := p.Filename
		official := p.IsAttachment() && slices.Contains(exts, strings.TrimPrefix(strings.ToLower(path.Ext(name)), "."))
		if official {
			d.Official = append(d.Official, name)
		}
		kind := textextract.KindOf(p.MediaType, name)
		if kind == textextract.Unsupported || (guard == nil || d.Secret != nil) && kind != textextract.PDF {
			return true
		}
		data, err := p.Decoded(32 << 20)
		if err != nil && len(data) == 0 {
			return true
		}
		where := "body"
		if p.IsAttachment() {
			where = "attachment " + name
		}
		var text string
		if kind == textextract.PDF {
			text = c.readPDF(ctx, d, name, data)
			if official {
				if strings.TrimSpace(text) == "" {
					scans++
				} else {
					originals++
				}
			}
		} else {
			text, _ = textextract.Extract(ctx, kind, p.Params["charset"], data, c.cfg.Limits)
			if official {
				originals++
			}
		}
		if guard != nil && d.Secret == nil {
			d.Secret = guard.Text(where, text)
		}
		return true
	})
	d.Scanned = scans > 0 && originals == 0
	return d, root
}

// headerStamp checks the subject and the classification fields of a
// message header.
func (c *Checker) headerStamp(g *secretguard.Guard, p *mimetree.Part) *secretguard.Match {
	dec := &mime.WordDecoder{}
	subject := p.Header.Get("Subject")
	if s, err := dec.DecodeHeader(subject); err == nil {
		subject = s
	}
	if m := g.Subject(subject); m != nil {
		return m
	}
	for _, f := range g.HeaderFields() {
		if v := p.Header.Get(f); v != "" {
			if s, err := dec.DecodeHeader(v); err == nil {
				v = s
			}
			if m := g.Header(f, v); m != nil {
				return m
			}
		}
	}
	return nil
}

// readPDF returns a PDF's text and records its signatures.
func (c *Checker) readPDF(ctx context.Context, d *policy.Documents, name string, data []byte) string {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Limits.Timeout)
	defer cancel()
	f := pdf.Open(ctx, data, pdf.Limits{MaxTextBytes: c.cfg.Limits.MaxText})
	text, _ := f.Text()
	if c.cfg.Verifier == nil {
		return text
	}
	sigs := f.Signatures()
	for i, s := range sigs {
		part := "pdf:" + name
		if len(sigs) > 1 {
			part = fmt.Sprintf("pdf:%s#%d", name, i+1)
		}
		r := c.verifyPDF(ctx, s, i == len(sigs)-1)
		r.Part = part
		d.Signatures = append(d.Signatures, r)
	}
	return text
}

// verifyPDF checks one PDF signature (ISO 32000-1 12.8.3.3): a detached
// CMS over the byte ranges; the latest signature must cover the file.
func (c *Checker) verifyPDF(ctx context.Context, s pdf.Signature, latest bool) smime.Result {
	if s.Err != "" {
		return smime.Result{Status: smime.PermError, Reason: "PDF signature unreadable: " + s.Err, ReasonVI: "chữ ký trong tệp PDF không đọc được"}
	}
	switch s.SubFilter {
	case "adbe.pkcs7.detached", "ETSI.CAdES.detached", "":
	default:
		return smime.Result{Status: smime.PermError, Reason: "PDF signature format " + s.SubFilter + " not supported",
			ReasonVI: "định dạng chữ ký PDF không được hỗ trợ"}
	}
	r := c.cfg.Verifier.Verify(ctx, s.Contents, s.Signed, nil).Result
	if r.Status == smime.Pass && latest && !s.WholeFile {
		r.Status, r.Reason, r.ReasonVI = smime.Fail, "document changed after signing", "tài liệu đã bị sửa sau khi ký"
	}
	return r
}

// stripHeader removes, from a submitted message, the signing control
// field and Authentication-Results fields claiming our authserv-id.
func (c *Checker) stripHeader(msg []byte, root *mimetree.Part) ([]byte, bool) {
	hdr := root.HeaderRaw
	var out bytes.Buffer
	changed := false
	skip := false
	lines := bytes.SplitAfter(hdr, []byte("\n"))
	for i, line := range lines {
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if !skip {
				out.Write(line)
			}
			continue
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		n := strings.TrimSpace(string(name))
		skip = strings.EqualFold(n, c.cfg.SignHeader) ||
			strings.EqualFold(n, "Authentication-Results") && c.claimsUs(fieldValue(value, lines[i+1:]))
		if skip {
			changed = true
			continue
		}
		out.Write(line)
	}
	if !changed {
		return msg, false
	}
	out.Write(root.Body)
	return out.Bytes(), true
}

// fieldValue is a field's value: the rest of its first line and its
// folding lines.
func fieldValue(first []byte, rest [][]byte) string {
	v := string(first)
	for _, l := range rest {
		if len(l) == 0 || l[0] != ' ' && l[0] != '\t' {
			break
		}
		v += string(l)
	}
	return v
}

// claimsUs reports whether an Authentication-Results field value names
// our authserv-id, decided by the parser that reads our results back
// (smime.FromHeader): a leading comment or a fold does not hide it.
func (c *Checker) claimsUs(value string) bool {
	return smime.ClaimsAuthservID(value, c.cfg.AuthservID)
}

// byteSemaphore bounds the bytes in flight.
type byteSemaphore struct {
	mu    sync.Mutex
	cond  *sync.Cond
	max   int64
	inUse int64
}

func newByteSemaphore(max int64) *byteSemaphore {
	s := &byteSemaphore{max: max}
	s.cond = sync.NewCond(&s.mu)
	return s
}

func (s *byteSemaphore) acquire(ctx context.Context, n int64) error {
	n = min(n, s.max) // a message larger than the bound runs alone
	s.mu.Lock()
	defer s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	for s.inUse+n > s.max {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.cond.Wait()
	}
	s.inUse += n
	return nil
}

func (s *byteSemaphore) release(n int64) {
	n = min(n, s.max)
	s.mu.Lock()
	s.inUse -= n
	s.cond.Broadcast()
	s.mu.Unlock()
}
