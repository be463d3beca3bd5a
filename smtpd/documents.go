package smtpd

import (
	"bytes"
	"context"
	"time"

	"congvu/internal/mailerr"
	"congvu/official"
	"congvu/policy"
)

// DocumentChecker checks the official documents of every message at the
// end of DATA, on both listeners (package official): signature
// verification and its Authentication-Results stamp, the state-secret
// guard, the signed-document rule and centralised signing.
type DocumentChecker interface {
	Check(ctx context.Context, m *policy.Message) official.Verdict
}

// documentTimeout bounds one check (revocation fetches and text
// extraction included).
const documentTimeout = time.Minute

// checkDocuments runs the document checks on a received message. It may
// rewrite the spooled message (central signing on submission, our control
// field removed), adds the signature stamp to what local delivery
// prepends, and records the facts in pm for the usage counters. quarantined
// means the message is accepted and kept for the operator, not delivered.
func (s *session) checkDocuments(msg *spool, in *inbound, pm *policy.Message) (quarantined bool, err error) {
	if s.srv.documents == nil {
		return false, nil
	}
	ctx, cancel := opContext(documentTimeout)
	defer cancel()
	v := s.srv.documents.Check(ctx, pm)
	pm.Documents = v.Documents
	if v.Err != nil {
		return false, v.Err
	}
	if v.Quarantined {
		s.log.Warn("message quarantined by the state-secret guard", "from", pm.From)
		return true, nil
	}
	if v.Rewrite != nil {
		if err := msg.replace(v.Rewrite, s.srv.cfg.SpoolDir); err != nil {
			return false, err
		}
		pm.Size = msg.size
		// msgauth's rewritten header (MX only) described the old bytes;
		// submission never has one, so nothing is lost.
		in.rewritten, in.headerLen = nil, 0
	}
	in.header = append(in.header, v.Prepend...)
	return false, nil
}

// replace swaps the spooled message for b.
func (sp *spool) replace(b []byte, dir string) error {
	n, err := receive(bytes.NewReader(b), dir, int64(len(b)), int64(len(b)))
	if err != nil {
		return mailerr.ErrInternal.With(err)
	}
	sp.Close()
	*sp = *n
	return nil
}
