package imapd

import (
	"errors"
	"io"
	"time"

	"congvu/imapd/wire"
	"congvu/internal/mailerr"
	"congvu/internal/metrics"
)

// cmdAppend implements APPEND (RFC 9051 §6.3.12) with APPENDUID (RFC
// 4315) and APPENDLIMIT (RFC 7889). The literal is streamed into the
// store, which writes it durably before we answer; a refused message's
// literal is never requested (synchronizing) or is skipped (LITERAL+).
func (c *conn) cmdAppend(cmd *wire.Command) error {
	folder := cleanFolder(cmd.Mailbox)
	if err := c.policyAppend(folder); err != nil {
		return err
	}
	msg, done, err := c.p.AppendMessage()
	if err != nil {
		return err
	}
	if done {
		return bad("", "APPEND needs a message")
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
	// A missing folder is answered before the client sends the message.
	if _, err := c.mbox.Status(c.ctx, folder); err != nil {
		if serr := c.p.SkipLiteral(lit); serr != nil {
			return serr
		}
		return err
	}
	date := msg.Date
	if date.IsZero() {
		date = time.Now()
	}
	data, err := c.p.LiteralData(lit)
	if err != nil {
		return err
	}
	res, err := c.mbox.Append(c.ctx, folder, data, storeFlags(msg.Flags), date)
	if err == nil {
		err = res.Err
	}
	// Whatever the store did, the rest of the literal is the client's and
	// must be read to keep the stream in step.
	if _, derr := io.Copy(io.Discard, data); derr != nil {
		return derr
	}
	if lerr := c.p.AfterLiteral(); lerr != nil {
		return lerr
	}
	c.countAppend(err)
	if err != nil {
		return err
	}
	if _, done, perr := c.p.AppendMessage(); perr != nil || !done {
		if perr == nil {
			perr = bad("", "Only one message per APPEND")
		}
		return perr
	}
	c.okCode = "APPENDUID " + itoa(res.UIDValidity) + " " + itoa(res.UID)
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
