package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"congvu/internal/mailerr"
)

// Action is what to do with a scanned message.
type Action int

const (
	Deliver Action = iota
	Junk           // deliver to the Junk folder with the reason recorded
	Reject         // refuse at the end of DATA (Verdict.Err)
	Defer          // temporary refusal: a scanner could not answer (Verdict.Err)
)

func (a Action) String() string { return [...]string{"deliver", "junk", "reject", "defer"}[a] }

// Unavailable policies: what to do when a scanner cannot answer.
const (
	OnUnavailableTempfail = "tempfail" // 451: the sender retries later, nothing unscanned gets in
	OnUnavailableAccept   = "accept"   // deliver, marked as not scanned
)

// Config chooses the scanners; a nil scanner is off.
type Config struct {
	ClamAV            *ClamAV
	ClamAVUnavailable string // OnUnavailableTempfail (default) or OnUnavailableAccept
	Rspamd            *Rspamd
	RspamdUnavailable string // OnUnavailableAccept (default) or OnUnavailableTempfail
	Logger            *slog.Logger
}

// Scanner runs the configured scanners in turn.
type Scanner struct{ cfg Config }

// New returns a Scanner, or nil when no scanner is configured.
func New(cfg Config) *Scanner {
	if cfg.ClamAV == nil && cfg.Rspamd == nil {
		return nil
	}
	if cfg.ClamAVUnavailable == "" {
		cfg.ClamAVUnavailable = OnUnavailableTempfail
	}
	if cfg.RspamdUnavailable == "" {
		cfg.RspamdUnavailable = OnUnavailableAccept
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Scanner{cfg: cfg}
}

// Request is one message to scan.
type Request struct {
	Envelope
	// Submission is mail from an authenticated official: a virus or an
	// rspamd reject refuses it; spam scores are not stamped on it.
	Submission bool
	// Open returns the message from its start; each call a new reader.
	Open func() io.Reader
}

// Verdict is the outcome of Scan.
type Verdict struct {
	Action Action
	Err    *mailerr.Error // for Reject and Defer
	// Header are fields to add on top of the message (X-Spam-*,
	// X-Congvu-Virus-Scan, X-Congvu-Junk-Reason).
	Header []byte
	// Rule and Detail describe a refusal or a Junk verdict for the audit
	// log (never message content).
	Rule, Detail string
}

// Rules named in the audit log.
const (
	RuleVirus        = "virus"
	RuleSpam         = "spam"
	RuleScanDown     = "scanner-unavailable"
	junkReasonHeader = "X-Congvu-Junk-Reason"
)

var (
	errVirus = &mailerr.Error{SMTPCode: 554, Enhanced: [3]int{5, 7, 1},
		Message: "Message contains a virus", MessageVI: "Thư có tệp chứa mã độc, không gửi được"}
	errSpam = &mailerr.Error{SMTPCode: 550, Enhanced: [3]int{5, 7, 1},
		Message: "Message refused as spam or phishing", MessageVI: "Thư bị từ chối vì là thư rác hoặc lừa đảo"}
	errScannerDown = &mailerr.Error{SMTPCode: 451, Enhanced: [3]int{4, 7, 1}, Temporary: true,
		Message: "Content scanner unavailable, try again later", MessageVI: "Hệ thống quét thư tạm thời không hoạt động, vui lòng thử lại sau"}
	errSoftReject = &mailerr.Error{SMTPCode: 451, Enhanced: [3]int{4, 7, 1}, Temporary: true,
		Message: "Message temporarily refused, try again later", MessageVI: "Thư tạm thời bị từ chối, vui lòng thử lại sau"}
)

// Scan runs clamd, then rspamd.
func (s *Scanner) Scan(ctx context.Context, req Request) Verdict {
	var v Verdict
	if s.cfg.ClamAV != nil {
		virus, err := s.cfg.ClamAV.Scan(ctx, req.Open())
		switch {
		case err != nil && !errors.Is(err, ErrUnavailable):
			// The message could not be read: ours to fix, temporary.
			return Verdict{Action: Defer, Err: mailerr.ErrInternal.With(err), Rule: RuleScanDown, Detail: err.Error()}
		case err != nil:
			s.cfg.Logger.Error("scan: clamd unavailable", "err", err)
			if s.cfg.ClamAVUnavailable != OnUnavailableAccept {
				return Verdict{Action: Defer, Err: errScannerDown.With(err), Rule: RuleScanDown, Detail: "clamd: " + err.Error()}
			}
			v.Header = append(v.Header, "X-Congvu-Virus-Scan: unavailable\r\n"...)
		case virus != "":
			text := "Message contains a virus: " + virus
			vi := "Thư có tệp chứa mã độc (" + virus + "), không gửi được"
			return Verdict{Action: Reject, Err: errVirus.WithMessage(text, vi), Rule: RuleVirus, Detail: "clamd: " + virus}
		default:
			v.Header = append(v.Header, "X-Congvu-Virus-Scan: clean (clamd)\r\n"...)
		}
	}
	if s.cfg.Rspamd != nil {
		res, err := s.cfg.Rspamd.Check(ctx, req.Envelope, req.Open())
		if err != nil {
			s.cfg.Logger.Error("scan: rspamd unavailable", "err", err)
			if s.cfg.RspamdUnavailable == OnUnavailableTempfail {
				return Verdict{Action: Defer, Err: errScannerDown.With(err), Rule: RuleScanDown, Detail: "rspamd: " + err.Error()}
			}
			if !req.Submission {
				v.Header = append(v.Header, "X-Spam-Status: unchecked (rspamd unavailable)\r\n"...)
			}
			return v
		}
		detail := fmt.Sprintf("rspamd %s, score %.2f/%.2f, %s", res.Action, res.Score, res.RequiredScore, strings.Join(top(res.Symbols, 8), " "))
		if !req.Submission {
			v.Header = append(v.Header, spamHeader(res)...)
		}
		switch res.Action {
		case "reject":
			return Verdict{Action: Reject, Err: errSpam.With(errors.New(detail)), Rule: RuleSpam, Detail: detail}
		case "soft reject":
			return Verdict{Action: Defer, Err: errSoftReject.With(errors.New(detail)), Rule: RuleSpam, Detail: detail}
		case "add header", "rewrite subject":
			if !req.Submission {
				v.Action, v.Rule, v.Detail = Junk, RuleSpam, detail
				v.Header = append(v.Header, junkReasonHeader+": "+junkReason(res)+"\r\n"...)
			}
		}
	}
	return v
}

// spamHeader is the X-Spam-* block: the score, the action and the
// symbols that decided, so the official (and a mail client's filters) can
// see why.
func spamHeader(r *SpamResult) []byte {
	yes := "No"
	if r.Action == "add header" || r.Action == "rewrite subject" || r.Action == "reject" {
		yes = "Yes"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "X-Spam-Status: %s, score=%s required=%s\r\n", yes, fmtScore(r.Score), fmtScore(r.RequiredScore))
	fmt.Fprintf(&b, "X-Spam-Action: %s\r\n", r.Action)
	if len(r.Symbols) > 0 {
		fmt.Fprintf(&b, "X-Spam-Symbols: %s\r\n", strings.Join(top(r.Symbols, 20), ", "))
	}
	return []byte(b.String())
}

// junkReason is the recorded reason a message went to Junk, shown by the
// webmail; Vietnamese first.
func junkReason(r *SpamResult) string {
	kind := "thư rác / spam"
	for _, s := range r.Symbols {
		if strings.Contains(s, "PHISH") {
			kind = "nghi lừa đảo / suspected phishing"
			break
		}
	}
	return fmt.Sprintf("rspamd: %s, điểm / score %s (ngưỡng / threshold %s): %s", kind, fmtScore(r.Score),
		fmtScore(r.RequiredScore), strings.Join(top(r.Symbols, 6), ", "))
}

func fmtScore(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

func top(ss []string, n int) []string { return ss[:min(len(ss), n)] }

// SpamFields are the header fields the scanners own: copies arriving from
// outside are removed before ours are added, so a sender cannot pre-stamp
// a verdict.
var SpamFields = []string{"X-Spam-", "X-Congvu-Virus-Scan", junkReasonHeader}
