package msgauth

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strings"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/publicsuffix"

	"congvu/internal/bufsize"
	"congvu/internal/mailerr"
	"congvu/resolve"
	"congvu/smime"
)

// CheckerConfig configures a Checker (see the [inbound] configuration).
type CheckerConfig struct {
	// AuthservID names us in Authentication-Results (RFC 8601 2.5).
	AuthservID string
	// LocalDomains are ours: mail from the internet claiming them must
	// carry a signature made with our own key.
	LocalDomains []string
	// ProtectedDomains are guarded against lookalikes, with LocalDomains.
	ProtectedDomains []string
	// Authenticate runs SPF, DKIM and DMARC (needs DNS).
	Authenticate bool
	// DMARCPolicy is "honour", "junk" or "report".
	DMARCPolicy string
	// DMARCExempt From domains get their DMARC failures reported only.
	DMARCExempt []string
	// SpoofAction is "reject" or "junk".
	SpoofAction string
}

// Checker judges mail arriving on the MX listener.
type Checker struct {
	cfg   CheckerConfig
	res   resolve.Resolver
	own   *Signer
	local map[string]bool
	look  *lookalikes
	log   *slog.Logger
	// readers are lent to readHeaderBlock.
	readers *bufsize.Pool
}

// NewChecker returns a Checker. res may be nil when cfg.Authenticate is
// false; own holds our DKIM keys (may be nil).
func NewChecker(cfg CheckerConfig, res resolve.Resolver, own *Signer, log *slog.Logger) *Checker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Checker{cfg: cfg, res: res, own: own, local: map[string]bool{}, log: log, readers: bufsize.NewPool(4 << 10)}
	for _, d := range cfg.LocalDomains {
		c.local[strings.ToLower(d)] = true
	}
	c.look = newLookalikes(append(slices.Clone(cfg.LocalDomains), cfg.ProtectedDomains...))
	return c
}

// Refusals (RFC 7489 10.3 suggests 550 5.7.1 for a DMARC reject).
var (
	errDMARCReject = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 7, 1},
		Message: "Rejected by the sender domain's DMARC policy", MessageVI: "Thư bị từ chối theo chính sách DMARC của tên miền người gửi"}
	errSpoofOwn = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 7, 1},
		Message: "Sender claims to be this organisation but the message did not come from its servers", MessageVI: "Thư giả mạo địa chỉ của cơ quan"}
	errLookalike = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 7, 1},
		Message: "Sender domain imitates a government domain", MessageVI: "Tên miền người gửi giả mạo tên miền cơ quan nhà nước"}
	errFromField = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 7, 1},
		Message: "Message must have one From field naming one domain", MessageVI: "Thư phải có đúng một địa chỉ người gửi"}
)

// Check implements smtpd.InboundChecker.
func (c *Checker) Check(ctx context.Context, env Envelope, open func() io.Reader) Verdict {
	raw, err := readHeaderBlock(open(), c.readers)
	if err != nil {
		return Verdict{Action: Deliver, Reason: "unreadable header: " + err.Error()}
	}
	hdr, err := textproto.ReadHeader(bufsize.Bytes(raw))
	if err != nil {
		return Verdict{Action: Deliver, Reason: "unparsable header: " + err.Error()}
	}
	v := Verdict{Action: Deliver}
	// RFC 8601 5: fields claiming our authserv-id are forgeries.
	if n := stripResults(&hdr, c.cfg.AuthservID); n > 0 {
		var b bytes.Buffer
		textproto.WriteHeader(&b, hdr)
		v.Header, v.HeaderLen = b.Bytes(), int64(len(raw))
		c.log.Info("removed forged Authentication-Results", "count", n)
	}

	fromDomain, ferr := FromDomain(hdr)
	if ferr != nil && len(hdr.Values("From")) > 0 {
		// RFC 7489 6.6.1: several authors make the DMARC verdict
		// meaningless; such mail is a classic spoofing trick.
		return c.refuse(v, errFromField.With(ferr), "From: "+ferr.Error())
	}

	var results []authres.Result
	dkimPass := map[string]bool{} // d= of valid signatures
	if c.cfg.Authenticate || c.local[fromDomain] {
		vs, err := dkim.VerifyWithOptions(open(), &dkim.VerifyOptions{MaxVerifications: 5,
			LookupTXT: func(name string) ([]string, error) { return c.dkimKey(ctx, name) }})
		if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
			c.log.Info("dkim verification", "err", err)
		}
		for _, ver := range vs {
			r := &authres.DKIMResult{Value: authres.ResultPass, Domain: ver.Domain, Identifier: ver.Identifier}
			switch {
			case ver.Err == nil:
				dkimPass[strings.ToLower(ver.Domain)] = true
			case dkim.IsTempFail(ver.Err):
				r.Value, r.Reason = authres.ResultTempError, oneLine(ver.Err.Error())
			case dkim.IsPermFail(ver.Err):
				r.Value, r.Reason = authres.ResultPermError, oneLine(ver.Err.Error())
			default:
				r.Value, r.Reason = authres.ResultFail, oneLine(ver.Err.Error())
			}
			results = append(results, r)
		}
		if len(vs) == 0 {
			results = append(results, &authres.DKIMResult{Value: authres.ResultNone})
		}
	}

	// Anti-spoofing, whatever DNS says: our own domains must be signed
	// with our own key (checked without DNS, see dkimKey).
	if fromDomain != "" && c.local[fromDomain] && !dkimPass[fromDomain] {
		return c.spoof(v, errSpoofOwn, "From claims our domain "+fromDomain+" without our DKIM signature")
	}
	if p := c.look.match(fromDomain); fromDomain != "" && p != "" {
		return c.spoof(v, errLookalike, fmt.Sprintf("From domain %s imitates %s", fromDomain, p))
	}
	if !c.cfg.Authenticate {
		return v
	}

	// SPF (RFC 7208) of the MAIL FROM identity, or of HELO for bounces.
	spfRes := &authres.SPFResult{Value: authres.ResultNone, Helo: env.HELO}
	spfDomain := domainOf(env.MailFrom)
	if env.MailFrom == "" {
		spfDomain = strings.ToLower(env.HELO)
	} else {
		spfRes.From = env.MailFrom
	}
	if env.IP != nil {
		res, err := spf.CheckHostWithSender(env.IP, env.HELO, env.MailFrom, spf.WithResolver(c.res), spf.WithContext(ctx))
		spfRes.Value = authres.ResultValue(res)
		if err != nil && res != spf.Pass {
			spfRes.Reason = oneLine(err.Error())
		}
	}
	results = append([]authres.Result{spfRes}, results...)

	// DMARC (RFC 7489).
	action, dmarcRes, reason := c.dmarc(ctx, fromDomain, spfRes.Value == authres.ResultPass, spfDomain, dkimPass)
	if dmarcRes != nil {
		results = append(results, dmarcRes)
	}
	v.Prepend = append(v.Prepend, formatResults(c.cfg.AuthservID, results)...)
	v.Reason = reason
	switch action {
	case Reject:
		v.Action, v.Err = Reject, errDMARCReject.With(errors.New(reason))
	case Junk:
		v.Action = Junk
		v.Prepend = append(v.Prepend, junkReason(reason)...)
	}
	return v
}

// dmarc evaluates the From domain's policy. It returns the action the
// policy asks for (after the local override), the result and a reason.
func (c *Checker) dmarc(ctx context.Context, from string, spfPass bool, spfDomain string, dkimPass map[string]bool) (Action, *authres.DMARCResult, string) {
	if from == "" {
		return Deliver, &authres.DMARCResult{Value: authres.ResultNone, Reason: "no From domain"}, "no From domain"
	}
	lookup := &dmarc.LookupOptions{LookupTXT: func(name string) ([]string, error) { return c.res.LookupTXT(ctx, name) }}
	org := orgDomain(from)
	rec, err := dmarc.LookupWithOptions(from, lookup)
	fromOrg := false
	if errors.Is(err, dmarc.ErrNoPolicy) && org != from {
		// RFC 7489 6.6.3: fall back to the organizational domain.
		rec, err = dmarc.LookupWithOptions(org, lookup)
		fromOrg = true
	}
	res := &authres.DMARCResult{From: from}
	switch {
	case errors.Is(err, dmarc.ErrNoPolicy):
		res.Value = authres.ResultNone
		return Deliver, res, "no DMARC policy for " + from
	case err != nil && dmarc.IsTempFail(err):
		res.Value, res.Reason = authres.ResultTempError, oneLine(err.Error())
		return Deliver, res, "DMARC lookup failed: " + err.Error()
	case err != nil:
		res.Value, res.Reason = authres.ResultPermError, oneLine(err.Error())
		return Deliver, res, "bad DMARC record: " + err.Error()
	}
	aligned := func(d string, mode dmarc.AlignmentMode) bool {
		if mode == dmarc.AlignmentStrict {
			return d == from
		}
		return d != "" && orgDomain(d) == org // RFC 7489 3.1 relaxed
	}
	if spfPass && aligned(spfDomain, rec.SPFAlignment) {
		res.Value = authres.ResultPass
		return Deliver, res, "DMARC pass (SPF " + spfDomain + ")"
	}
	for d := range dkimPass {
		if aligned(d, rec.DKIMAlignment) {
			res.Value = authres.ResultPass
			return Deliver, res, "DMARC pass (DKIM " + d + ")"
		}
	}
	policy := rec.Policy
	if fromOrg && rec.SubdomainPolicy != "" {
		policy = rec.SubdomainPolicy // RFC 7489 6.3 sp=
	}
	// RFC 7489 6.6.4: pct<100 applies the policy to a sample; the rest
	// gets the next weaker one.
	if rec.Percent != nil && *rec.Percent < 100 && rand.IntN(100) >= *rec.Percent {
		switch policy {
		case dmarc.PolicyReject:
			policy = dmarc.PolicyQuarantine
		case dmarc.PolicyQuarantine:
			policy = dmarc.PolicyNone
		}
	}
	res.Value = authres.ResultFail
	res.Reason = "p=" + string(policy)
	reason := fmt.Sprintf("DMARC fail for header.from=%s (policy p=%s): neither SPF nor DKIM aligned", from, policy)
	action := Deliver
	switch policy {
	case dmarc.PolicyReject:
		action = Reject
	case dmarc.PolicyQuarantine:
		action = Junk
	}
	switch {
	case action == Deliver:
	case slices.Contains(c.cfg.DMARCExempt, from) || slices.Contains(c.cfg.DMARCExempt, org):
		action, reason = Deliver, reason+"; exempt by local policy"
	case c.cfg.DMARCPolicy == "report":
		action, reason = Deliver, reason+"; local policy: report only"
	case c.cfg.DMARCPolicy == "junk" && action == Reject:
		action, reason = Junk, reason+"; local policy: junk instead of reject"
	}
	return action, res, reason
}

// dkimKey answers DKIM key lookups: for our own domains from the keys we
// hold (so DNS cannot vouch for a forgery of our domains), for others
// from DNS.
func (c *Checker) dkimKey(ctx context.Context, name string) ([]string, error) {
	sel, domain, ok := strings.Cut(strings.ToLower(strings.TrimSuffix(name, ".")), "._domainkey.")
	if ok && c.local[domain] {
		if rec, ok := c.own.ownRecord(domain, sel); ok {
			return []string{rec}, nil
		}
		return nil, &net.DNSError{Err: "not one of our selectors", Name: name, IsNotFound: true}
	}
	if c.res == nil {
		return nil, &net.DNSError{Err: "no resolver", Name: name, IsTemporary: true}
	}
	return c.res.LookupTXT(ctx, name)
}

func (c *Checker) refuse(v Verdict, err *mailerr.Error, reason string) Verdict {
	v.Action, v.Err, v.Reason = Reject, err, reason
	return v
}

// spoof applies the configured action to a spoofing attempt.
func (c *Checker) spoof(v Verdict, err *mailerr.Error, reason string) Verdict {
	if c.cfg.SpoofAction == "junk" {
		v.Action, v.Reason = Junk, reason
		v.Prepend = append(v.Prepend, junkReason(reason)...)
		return v
	}
	return c.refuse(v, err.With(errors.New(reason)), reason)
}

// stripResults removes Authentication-Results fields whose authserv-id is
// ours (RFC 8601 5) and returns how many.
func stripResults(h *textproto.Header, id string) int {
	n := 0
	for f := h.FieldsByKey("Authentication-Results"); f.Next(); {
		// Decided by the parser that reads our results back (a leading
		// comment, folding): what it would trust is removed.
		if smime.ClaimsAuthservID(f.Value(), id) {
			f.Del()
			n++
		}
	}
	return n
}

// formatResults writes the Authentication-Results field, one method per line.
func formatResults(id string, results []authres.Result) []byte {
	v := authres.Format(id, results)
	v = strings.ReplaceAll(v, "; ", ";\r\n\t")
	return []byte("Authentication-Results: " + v + "\r\n")
}

// junkReason is shown to the official who finds the message in Junk.
func junkReason(reason string) []byte {
	return []byte("X-Congvu-Junk-Reason: " + oneLine(reason) + "\r\n")
}

// readHeaderBlock returns the header block including the empty line (at
// most 1 MiB), reading through a reader from readers.
func readHeaderBlock(r io.Reader, readers *bufsize.Pool) ([]byte, error) {
	br := readers.Get(io.LimitReader(r, 1<<20))
	defer readers.Put(br)
	var out []byte
	for {
		line, err := br.ReadSlice('\n')
		out = append(out, line...)
		if len(bytes.TrimRight(line, "\r\n")) == 0 && (len(line) > 0 || err != nil) {
			return out, nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil // header only
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				return nil, err
			}
		}
	}
}

// orgDomain is the organizational domain (RFC 7489 3.2), by the public
// suffix list: sotnmt.khanhhoa.gov.vn → khanhhoa.gov.vn.
func orgDomain(d string) string {
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	if o, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		return o
	}
	return d
}

func domainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(addr[at+1:], "."))
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
