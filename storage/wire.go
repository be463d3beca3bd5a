package storage

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// The cache column holds the envelope and body structure as JSON in the
// types below rather than go-imap's own structs, because
//   - imap.BodyStructure is an interface: the "k" field is the type tag;
//   - time.Time's JSON form refuses years > 9999 and odd zone offsets that
//     mail Date headers can contain;
//   - every string is made valid UTF-8 without NUL on the way in, so a
//     cached value always round-trips and is always writable on the wire;
//   - the stored format stays stable when the library changes.
//
// wireVersion changes whenever the layout does; older rows are then
// re-parsed from the message file.
const wireVersion = 1

type wireCached struct {
	V    int           `json:"v"`
	Env  *wireEnvelope `json:"e"`
	Body *wirePart     `json:"b"`
}

type wireEnvelope struct {
	// Date is [unix seconds, zone offset seconds]; absent for no date.
	Date      *[2]int64  `json:"d,omitempty"`
	Subject   string     `json:"s,omitempty"`
	From      []wireAddr `json:"f,omitempty"`
	Sender    []wireAddr `json:"se,omitempty"`
	ReplyTo   []wireAddr `json:"r,omitempty"`
	To        []wireAddr `json:"t,omitempty"`
	Cc        []wireAddr `json:"c,omitempty"`
	Bcc       []wireAddr `json:"bc,omitempty"`
	InReplyTo []string   `json:"ir,omitempty"`
	MessageID string     `json:"m,omitempty"`
}

// wireAddr is [name, mailbox, host].
type wireAddr [3]string

type wirePart struct {
	Kind string `json:"k"` // "1" single part, "m" multipart
	// Single part.
	Type        string            `json:"t,omitempty"`
	Subtype     string            `json:"st,omitempty"`
	Params      map[string]string `json:"p,omitempty"`
	ID          string            `json:"id,omitempty"`
	Description string            `json:"de,omitempty"`
	Encoding    string            `json:"en,omitempty"`
	Size        uint32            `json:"sz,omitempty"`
	TextLines   *int64            `json:"tl,omitempty"`
	Message     *wireRFC822       `json:"msg,omitempty"`
	// Multipart.
	Children []*wirePart `json:"ch,omitempty"`
	// Extension data, both kinds.
	Ext *wireExt `json:"x,omitempty"`
}

type wireRFC822 struct {
	Env      *wireEnvelope `json:"e"`
	Body     *wirePart     `json:"b"`
	NumLines int64         `json:"l"`
}

type wireExt struct {
	Params      map[string]string `json:"p,omitempty"` // multipart only
	Disposition *wireDisp         `json:"d,omitempty"`
	Language    []string          `json:"l,omitempty"`
	Location    string            `json:"lo,omitempty"`
}

type wireDisp struct {
	Value  string            `json:"v"`
	Params map[string]string `json:"p,omitempty"`
}

// encodeParsed serializes the envelope and body structure for the cache
// column.
func encodeParsed(p *parsedMessage) ([]byte, error) {
	return json.Marshal(&wireCached{V: wireVersion, Env: envToWire(p.Envelope), Body: partToWire(p.Body)})
}

// decodeCached restores a Cached from the cache columns.
func decodeCached(header, parsed []byte) (*Cached, error) {
	var w wireCached
	if err := json.Unmarshal(parsed, &w); err != nil {
		return nil, err
	}
	if w.V != wireVersion || w.Body == nil {
		return nil, fmt.Errorf("cache format %d, want %d", w.V, wireVersion)
	}
	body, err := partFromWire(w.Body)
	if err != nil {
		return nil, err
	}
	return &Cached{Envelope: envFromWire(w.Env), BodyStructure: body, Header: header}, nil
}

// clean makes s valid UTF-8 without NUL, which IMAP cannot carry.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return s
}

func cleanMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[clean(k)] = clean(v)
	}
	return out
}

func cleanList(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = clean(s)
	}
	return out
}

func envToWire(e *imap.Envelope) *wireEnvelope {
	if e == nil {
		return &wireEnvelope{}
	}
	w := &wireEnvelope{
		Subject:   clean(e.Subject),
		From:      addrsToWire(e.From),
		Sender:    addrsToWire(e.Sender),
		ReplyTo:   addrsToWire(e.ReplyTo),
		To:        addrsToWire(e.To),
		Cc:        addrsToWire(e.Cc),
		Bcc:       addrsToWire(e.Bcc),
		InReplyTo: cleanList(e.InReplyTo),
		MessageID: clean(e.MessageID),
	}
	if !e.Date.IsZero() {
		_, off := e.Date.Zone()
		w.Date = &[2]int64{e.Date.Unix(), int64(off)}
	}
	return w
}

func envFromWire(w *wireEnvelope) *imap.Envelope {
	if w == nil {
		return &imap.Envelope{}
	}
	e := &imap.Envelope{
		Subject:   w.Subject,
		From:      addrsFromWire(w.From),
		Sender:    addrsFromWire(w.Sender),
		ReplyTo:   addrsFromWire(w.ReplyTo),
		To:        addrsFromWire(w.To),
		Cc:        addrsFromWire(w.Cc),
		Bcc:       addrsFromWire(w.Bcc),
		InReplyTo: w.InReplyTo,
		MessageID: w.MessageID,
	}
	if w.Date != nil {
		e.Date = time.Unix(w.Date[0], 0).In(time.FixedZone("", int(w.Date[1])))
	}
	return e
}

func addrsToWire(l []imap.Address) []wireAddr {
	if len(l) == 0 {
		return nil
	}
	out := make([]wireAddr, len(l))
	for i, a := range l {
		out[i] = wireAddr{clean(a.Name), clean(a.Mailbox), clean(a.Host)}
	}
	return out
}

func addrsFromWire(l []wireAddr) []imap.Address {
	if len(l) == 0 {
		return nil
	}
	out := make([]imap.Address, len(l))
	for i, a := range l {
		out[i] = imap.Address{Name: a[0], Mailbox: a[1], Host: a[2]}
	}
	return out
}

func dispToWire(d *imap.BodyStructureDisposition) *wireDisp {
	if d == nil {
		return nil
	}
	return &wireDisp{Value: clean(d.Value), Params: cleanMap(d.Params)}
}

func dispFromWire(d *wireDisp) *imap.BodyStructureDisposition {
	if d == nil {
		return nil
	}
	return &imap.BodyStructureDisposition{Value: d.Value, Params: d.Params}
}

func partToWire(bs imap.BodyStructure) *wirePart {
	switch bs := bs.(type) {
	case *imap.BodyStructureMultiPart:
		w := &wirePart{Kind: "m", Subtype: clean(bs.Subtype)}
		for _, c := range bs.Children {
			w.Children = append(w.Children, partToWire(c))
		}
		if x := bs.Extended; x != nil {
			w.Ext = &wireExt{Params: cleanMap(x.Params), Disposition: dispToWire(x.Disposition),
				Language: cleanList(x.Language), Location: clean(x.Location)}
		}
		return w
	case *imap.BodyStructureSinglePart:
		w := &wirePart{Kind: "1", Type: clean(bs.Type), Subtype: clean(bs.Subtype), Params: cleanMap(bs.Params),
			ID: clean(bs.ID), Description: clean(bs.Description), Encoding: clean(bs.Encoding), Size: bs.Size}
		if bs.Text != nil {
			n := bs.Text.NumLines
			w.TextLines = &n
		}
		if m := bs.MessageRFC822; m != nil {
			w.Message = &wireRFC822{Env: envToWire(m.Envelope), Body: partToWire(m.BodyStructure), NumLines: m.NumLines}
		}
		if x := bs.Extended; x != nil {
			w.Ext = &wireExt{Disposition: dispToWire(x.Disposition), Language: cleanList(x.Language),
				Location: clean(x.Location)}
		}
		return w
	default:
		return partToWire(plainText(0, 0))
	}
}

func partFromWire(w *wirePart) (imap.BodyStructure, error) {
	switch w.Kind {
	case "m":
		if len(w.Children) == 0 {
			return nil, fmt.Errorf("multipart without children")
		}
		bs := &imap.BodyStructureMultiPart{Subtype: w.Subtype}
		for _, c := range w.Children {
			if c == nil {
				return nil, fmt.Errorf("null body part")
			}
			child, err := partFromWire(c)
			if err != nil {
				return nil, err
			}
			bs.Children = append(bs.Children, child)
		}
		if x := w.Ext; x != nil {
			bs.Extended = &imap.BodyStructureMultiPartExt{Params: x.Params, Disposition: dispFromWire(x.Disposition),
				Language: x.Language, Location: x.Location}
		}
		return bs, nil
	case "1":
		bs := &imap.BodyStructureSinglePart{Type: w.Type, Subtype: w.Subtype, Params: w.Params, ID: w.ID,
			Description: w.Description, Encoding: w.Encoding, Size: w.Size}
		if w.TextLines != nil {
			bs.Text = &imap.BodyStructureText{NumLines: *w.TextLines}
		}
		if m := w.Message; m != nil {
			if m.Body == nil {
				return nil, fmt.Errorf("message/rfc822 without body")
			}
			child, err := partFromWire(m.Body)
			if err != nil {
				return nil, err
			}
			bs.MessageRFC822 = &imap.BodyStructureMessageRFC822{Envelope: envFromWire(m.Env), BodyStructure: child,
				NumLines: m.NumLines}
		}
		if x := w.Ext; x != nil {
			bs.Extended = &imap.BodyStructureSinglePartExt{Disposition: dispFromWire(x.Disposition),
				Language: x.Language, Location: x.Location}
		}
		return bs, nil
	default:
		return nil, fmt.Errorf("unknown body part kind %q", w.Kind)
	}
}
