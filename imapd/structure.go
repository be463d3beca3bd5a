package imapd

import (
	"mime"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"

	"congvu/imapd/wire"
)

// envelopeDate is the RFC 5322 date layout ENVELOPE uses.
const envelopeDate = "Mon, 02 Jan 2006 15:04:05 -0700"

// writeEnvelope writes an ENVELOPE (RFC 9051 §7.5.2, §9 envelope). Text
// the store decoded from RFC 2047 words is encoded again when it is not
// ASCII, which every client decodes.
func writeEnvelope(w *wire.Writer, e *imap.Envelope) {
	if e == nil {
		e = &imap.Envelope{}
	}
	w.Byte('(')
	if e.Date.IsZero() {
		w.NIL()
	} else {
		w.String(e.Date.Format(envelopeDate))
	}
	w.SP()
	w.NString(encodeWord(e.Subject))
	sender, replyTo := e.Sender, e.ReplyTo
	// RFC 9051 §7.5.2: Sender and Reply-To default to From.
	if len(sender) == 0 {
		sender = e.From
	}
	if len(replyTo) == 0 {
		replyTo = e.From
	}
	for _, l := range [][]imap.Address{e.From, sender, replyTo, e.To, e.Cc, e.Bcc} {
		w.SP()
		writeAddressList(w, l)
	}
	w.SP()
	if len(e.InReplyTo) == 0 {
		w.NIL()
	} else {
		ids := make([]string, len(e.InReplyTo))
		for i, id := range e.InReplyTo {
			ids[i] = "<" + id + ">"
		}
		w.String(strings.Join(ids, " "))
	}
	w.SP()
	if e.MessageID == "" {
		w.NIL()
	} else {
		w.String("<" + e.MessageID + ">")
	}
	w.Byte(')')
}

// encodeWord makes text safe for an nstring every client reads: RFC 2047
// Q-encoding when it is not plain ASCII.
func encodeWord(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < 0x20 {
			return mime.QEncoding.Encode("utf-8", s)
		}
	}
	return s
}

// writeAddressList writes a list of addresses. Group syntax (RFC 9051
// §7.5.2) is kept in the store as an address without host: a mailbox
// name starts the group, an empty one ends it.
func writeAddressList(w *wire.Writer, l []imap.Address) {
	if len(l) == 0 {
		w.NIL()
		return
	}
	w.Byte('(')
	for _, a := range l {
		w.Byte('(')
		w.NString(encodeWord(a.Name)).Raw(" NIL ").NString(a.Mailbox).SP()
		if a.Host == "" {
			w.NIL()
		} else {
			w.String(a.Host)
		}
		w.Byte(')')
	}
	w.Byte(')')
}

// writeBodyStructure writes BODYSTRUCTURE (extended) or BODY (RFC 9051
// §7.5.2, §9 body).
func writeBodyStructure(w *wire.Writer, bs imap.BodyStructure, extended bool) {
	switch bs := bs.(type) {
	case *imap.BodyStructureMultiPart:
		w.Byte('(')
		for _, c := range bs.Children {
			writeBodyStructure(w, c, extended)
		}
		w.SP().String(bs.Subtype)
		if extended {
			ext := bs.Extended
			if ext == nil {
				ext = &imap.BodyStructureMultiPartExt{}
			}
			w.SP()
			writeParams(w, ext.Params)
			w.SP()
			writeDisposition(w, ext.Disposition)
			w.SP()
			writeLanguage(w, ext.Language)
			w.SP().NString(ext.Location)
		}
		w.Byte(')')
	case *imap.BodyStructureSinglePart:
		w.Byte('(')
		w.String(bs.Type).SP().String(bs.Subtype).SP()
		writeParams(w, bs.Params)
		w.SP().NString(bs.ID).SP().NString(bs.Description).SP()
		enc := bs.Encoding
		if enc == "" {
			enc = "7BIT"
		}
		w.String(enc).SP().Num32(bs.Size)
		switch {
		case bs.MessageRFC822 != nil:
			m := bs.MessageRFC822
			w.SP()
			writeEnvelope(w, m.Envelope)
			w.SP()
			writeBodyStructure(w, m.BodyStructure, extended)
			w.SP().Num(uint64(max(m.NumLines, 0)))
		case bs.Text != nil:
			w.SP().Num(uint64(max(bs.Text.NumLines, 0)))
		}
		if extended {
			ext := bs.Extended
			if ext == nil {
				ext = &imap.BodyStructureSinglePartExt{}
			}
			w.Raw(" NIL ") // body-fld-md5
			writeDisposition(w, ext.Disposition)
			w.SP()
			writeLanguage(w, ext.Language)
			w.SP().NString(ext.Location)
		}
		w.Byte(')')
	default:
		w.Raw(`("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)`)
	}
}

func writeParams(w *wire.Writer, params map[string]string) {
	if len(params) == 0 {
		w.NIL()
		return
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	w.Byte('(')
	for i, k := range keys {
		if i > 0 {
			w.SP()
		}
		w.String(k).SP().String(params[k])
	}
	w.Byte(')')
}

func writeDisposition(w *wire.Writer, d *imap.BodyStructureDisposition) {
	if d == nil || d.Value == "" {
		w.NIL()
		return
	}
	w.Byte('(').String(d.Value).SP()
	writeParams(w, d.Params)
	w.Byte(')')
}

func writeLanguage(w *wire.Writer, l []string) {
	switch len(l) {
	case 0:
		w.NIL()
	case 1:
		w.String(l[0])
	default:
		w.Byte('(')
		for i, s := range l {
			if i > 0 {
				w.SP()
			}
			w.String(s)
		}
		w.Byte(')')
	}
}
