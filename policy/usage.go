package policy

import (
	"bufio"
	"context"
	"database/sql"
	"io"
	"mime"
	"strings"

	"github.com/emersion/go-message"

	"congvu/directory"
)

// usageKey is one counter of the usage tables: per unit and month, messages
// sent or received, with state agencies or outside, with or without
// attachments.
type usageKey struct {
	month      Month
	unit       string
	received   bool
	outside    bool
	attachment bool
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func writeUsage(ctx context.Context, tx *sql.Tx, m map[usageKey]int64) error {
	if len(m) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO usage (month, unit, direction, peer, attachment, messages)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (month, unit, direction, peer, attachment) DO UPDATE SET messages = messages + excluded.messages`)
	if err != nil {
		return err
	}
	defer st.Close()
	for k, n := range m {
		if _, err := st.ExecContext(ctx, int64(k.month), k.unit, b2i(k.received), b2i(k.outside), b2i(k.attachment), n); err != nil {
			return err
		}
	}
	return nil
}

// docKey and docCounts count official documents sent per unit and month.
type docKey struct {
	month Month
	unit  string
}

type docCounts struct{ official, signed, electronic int64 }

func (c docCounts) plus(o docCounts) docCounts {
	return docCounts{c.official + o.official, c.signed + o.signed, c.electronic + o.electronic}
}

func writeDocumentCounts(ctx context.Context, tx *sql.Tx, m map[docKey]docCounts) error {
	if len(m) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO documents (month, unit, official, signed, electronic) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (month, unit) DO UPDATE SET official = official + excluded.official,
		signed = signed + excluded.signed, electronic = electronic + excluded.electronic`)
	if err != nil {
		return err
	}
	defer st.Close()
	for k, c := range m {
		if _, err := st.ExecContext(ctx, int64(k.month), k.unit, c.official, c.signed, c.electronic); err != nil {
			return err
		}
	}
	return nil
}

// countUsage adds a delivered message to the counters: once as sent by the
// sender's unit (submission; "outside" when any recipient is outside the
// state mail system), and once as received by each local recipient's unit
// ("outside" when the sender's domain is).
func (e *Engine) countUsage(m *Message) {
	rs := e.rules.Load()
	month := MonthOf(DayOf(e.now(), rs.loc))
	attach := m.Attachment != nil && *m.Attachment ||
		m.Attachment == nil && m.Open != nil && HasAttachment(m.Open())
	add := func(k usageKey) {
		e.pending.mu.Lock()
		e.pending.usage[k]++
		e.pending.mu.Unlock()
	}
	senderOutside := !rs.isStateDomain(directory.Domain(m.From))
	if m.Protocol == Submission && m.Account != nil {
		senderOutside = false
		outside := false
		for _, r := range m.Rcpts {
			if !r.Local() && !rs.isStateDomain(directory.Domain(r.Address)) {
				outside = true
			}
		}
		add(usageKey{month: month, unit: m.Account.UnitCode, outside: outside, attachment: attach})
		if d := m.Documents; d != nil && len(d.Official) > 0 {
			c := docCounts{official: 1}
			if d.Signed() {
				c.signed = 1
			}
			if !d.Scanned {
				c.electronic = 1
			}
			k := docKey{month: month, unit: m.Account.UnitCode}
			e.pending.mu.Lock()
			e.pending.docs[k] = e.pending.docs[k].plus(c)
			e.pending.mu.Unlock()
		}
	}
	for _, r := range m.Rcpts {
		if r.Account != nil {
			add(usageKey{month: month, unit: r.Account.UnitCode, received: true, outside: senderOutside, attachment: attach})
		}
	}
}

// maxAttachmentScan bounds how much of a message is read to find an
// attachment: headers of parts are near the start in practice, and a
// message whose first parts fill this much is counted as having one.
const maxAttachmentScan = 8 << 20

// HasAttachment reports whether a message carries an attachment: a MIME
// part with Content-Disposition attachment (RFC 2183) or with a file name,
// at any depth of multipart nesting (RFC 2046 5.1).
func HasAttachment(r io.Reader) bool {
	lr := &io.LimitedReader{R: r, N: maxAttachmentScan}
	ent, err := message.Read(bufio.NewReader(lr))
	if err != nil && ent == nil {
		return false
	}
	found := false
	_ = ent.Walk(func(path []int, part *message.Entity, err error) error {
		if err != nil || found {
			return err
		}
		if len(path) > 0 && IsAttachment(&part.Header) {
			found = true
			return errStopWalk
		}
		return nil
	})
	return found || lr.N <= 0
}

type stopWalk struct{}

func (stopWalk) Error() string { return "stop" }

var errStopWalk error = stopWalk{}

// IsAttachment reports whether a part with header h (below the message's
// top level) is an attachment: Content-Disposition attachment or a file
// name, or a name on a non-multipart Content-Type. One rule for the usage
// counters, whoever reads the parts.
func IsAttachment(h interface{ Get(string) string }) bool {
	disp, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err == nil && (disp == "attachment" || params["filename"] != "") {
		return true
	}
	ct, cparams, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return false
	}
	if cparams["name"] != "" && !strings.HasPrefix(ct, "multipart/") {
		return true
	}
	return false
}
