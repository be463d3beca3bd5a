package imapd

import (
	"errors"
	"io"

	"congvu/imapd/wire"
	"congvu/internal/mailerr"
	"congvu/internal/metrics"
	"congvu/storage"
)

// cmdAppend implements APPEND (RFC 9051 §6.3.12) with APPENDUID (RFC
// 4315), APPENDLIMIT (RFC 7889) and MULTIAPPEND (RFC 3502): each message
// is streamed into the store's spool as the client sends it, then all are
// appended at once, durably, or none. A refused message's literal is
// never requested (synchronizing) or is skipped (LITERAL+).
func (c *conn) cmdAppend(cmd *wire.Command) error {
	p, err := c.resolve(cmd.Mailbox)
	if err != nil {
		return err
	}
	if !p.can("i") {
		return errNoPerm("add messages (i)") // RFC 4314 §4
	}
	folder := p.folder
	if err := c.policyAppend(p.name); err != nil {
		return err
	}
	var msgs []storage.SpooledMessage
	defer func() {
		for _, m := range msgs {
			m.Msg.Discard()
		}
	}()
	for {
		msg, done, err := c.p.AppendMessage()
		if err != nil {
			return err
		}
		if done {
			break
		}
		if msg.Catenate {
			return bad("", "CATENATE is not supported")
		}
		lit := msg.Literal
		if lit.Size > int64(c.srv.appendLimit) {
			c.countAppend(mailerr.ErrTooBig)
			if err := c.p.SkipLiteral(lit); err != nil {
				return err
			}
			return no("TOOBIG", "Message too large (APPENDLIMIT "+itoa(c.srv.appendLimit)+")")
		}
		if len(msgs) == 0 {
			// A missing folder is answered before the client sends data.
			if _, err := p.mbox.Status(c.ctx, folder); err != nil {
				if serr := c.p.SkipLiteral(lit); serr != nil {
					return serr
				}
				return err
			}
		}
		data, err := c.p.LiteralData(lit)
		if err != nil {
			return err
		}
		strip := stripOwnResults(data, c.srv.cfg.AuthservID)
		sp, err := p.mbox.Spool(c.ctx, strip, msg.Date)
		// Whatever the store did, the rest of the literal is the client's
		// and must be read to keep the stream in step.
		if _, derr := io.Copy(io.Discard, data); derr != nil {
			sp.Discard()
			return derr
		}
		if lerr := c.p.AfterLiteral(); lerr != nil {
			sp.Discard()
			return lerr
		}
		if errors.Is(strip.err, errHeaderLineTooLong) {
			sp.Discard()
			c.countAppend(strip.err)
			return no("PARSE", "A header line is longer than "+itoa(uint32(stripChunk))+" bytes and has no field name")
		}
		if err != nil {
			c.countAppend(err)
			return err
		}
		if strip.stripped > 0 {
			// RFC 8601 §5: only our own checks may speak for us.
			c.log.Info("imap append: removed Authentication-Results claiming our authserv-id",
				"count", strip.stripped, "folder", p.name)
		}
		msgs = append(msgs, storage.SpooledMessage{Msg: sp, Flags: permittedFlags(p.rights, storeFlags(msg.Flags))})
	}
	if len(msgs) == 0 {
		return bad("", "APPEND needs a message")
	}
	results, err := p.mbox.AppendSpooled(c.ctx, folder, msgs)
	for range msgs {
		c.countAppend(err)
	}
	if err != nil {
		return err
	}
	uids := make([]uint32, len(results))
	for i, r := range results {
		uids[i] = r.UID
	}
	c.okCode = "APPENDUID " + itoa(results[0].UIDValidity) + " " + uidSetString(uids)
	return nil
}

func (c *conn) countAppend(err error) {
	result := "ok"
	switch {
	case err == nil:
	case errors.Is(err, mailerr.ErrOverQuota):
		result = "overquota"
	case errors.Is(err, mailerr.ErrTooBig):
		result = "toobig"
	default:
		result = "error"
	}
	c.srv.count(func(m *metrics.Metrics) { m.Appends.WithLabelValues(result).Inc() })
}
