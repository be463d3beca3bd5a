package storage

import (
	"mime"
	"strings"

	"congvu/internal/bufsize"
	"congvu/internal/maildate"

	"github.com/emersion/go-imap/v2"
	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// Address lists (RFC 5322 §3.4 with the obsolete forms of §4.4) parsed
// for ENVELOPE and SEARCH: groups are kept (RFC 9051 §7.5.2 encodes them
// as addresses without host), comments give the name when there is no
// display name, and RFC 2047 words are decoded in both. The parser never
// fails: what it cannot read it skips.

const (
	// maxAddresses bounds the addresses kept from one field.
	maxAddresses = 1000
	// maxCommentDepth bounds nested comments.
	maxCommentDepth = 32
	// missingDomain stands for the host of an address without "@", so it
	// is not taken for a group marker (Dovecot spells it the same way).
	missingDomain = "MISSING_DOMAIN"
)

// wordDecoder decodes RFC 2047 words in any charset go-message knows
// (windows-1258, ISO-8859-x…).
func wordDecoder() *mime.WordDecoder {
	return &mime.WordDecoder{CharsetReader: charset.Reader}
}

type addrParser struct {
	s        string
	pos      int
	comments []string // comments seen since the last reset
}

func (p *addrParser) end() bool { return p.pos >= len(p.s) }

func (p *addrParser) peek() byte {
	if p.end() {
		return 0
	}
	return p.s[p.pos]
}

// skipCFWS skips folding white space and comments, keeping the comments'
// text.
func (p *addrParser) skipCFWS() {
	for !p.end() {
		switch c := p.s[p.pos]; c {
		case ' ', '\t', '\r', '\n':
			p.pos++
		case '(':
			p.comments = append(p.comments, p.comment())
		default:
			return
		}
	}
}

// comment reads a (possibly nested) comment and returns its text.
func (p *addrParser) comment() string {
	var b strings.Builder
	depth := 0
	for !p.end() {
		c := p.s[p.pos]
		p.pos++
		switch c {
		case '(':
			if depth > 0 && depth < maxCommentDepth {
				b.WriteByte(c)
			}
			depth++
		case ')':
			depth--
			if depth == 0 {
				return strings.TrimSpace(b.String())
			}
			if depth < maxCommentDepth {
				b.WriteByte(c)
			}
		case '\\':
			if !p.end() {
				b.WriteByte(p.s[p.pos])
				p.pos++
			}
		default:
			if depth <= maxCommentDepth {
				b.WriteByte(c)
			}
		}
	}
	return strings.TrimSpace(b.String())
}

func isAtext(c byte) bool {
	if c <= ' ' || c == 0x7f {
		return false
	}
	return !strings.ContainsRune(`()<>[]:;@\,."`, rune(c))
}

// word reads an atom or a quoted string; ok is false when neither is next.
func (p *addrParser) word() (string, bool) {
	if p.peek() == '"' {
		p.pos++
		var b strings.Builder
		for !p.end() {
			c := p.s[p.pos]
			p.pos++
			switch c {
			case '"':
				return b.String(), true
			case '\\':
				if !p.end() {
					b.WriteByte(p.s[p.pos])
					p.pos++
				}
			case '\r', '\n':
			default:
				b.WriteByte(c)
			}
		}
		return b.String(), true
	}
	start := p.pos
	for !p.end() && isAtext(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos], p.pos > start
}

// phrase reads words (and the dots of obs-phrase) up to a special.
func (p *addrParser) phrase() []string {
	var words []string
	for {
		p.skipCFWS()
		if p.peek() == '.' && len(words) > 0 {
			words[len(words)-1] += "."
			p.pos++
			continue
		}
		w, ok := p.word()
		if !ok {
			return words
		}
		words = append(words, w)
	}
}

// dotted reads a dot-atom or obs-local-part / obs-domain: words joined by
// dots with CFWS around them.
func (p *addrParser) dotted() string {
	var b strings.Builder
	for {
		p.skipCFWS()
		if p.peek() == '[' { // domain literal
			end := strings.IndexByte(p.s[p.pos:], ']')
			if end < 0 {
				end = len(p.s) - p.pos - 1
			}
			b.WriteString(p.s[p.pos : p.pos+end+1])
			p.pos += end + 1
		} else if w, ok := p.word(); ok {
			b.WriteString(w)
		}
		p.skipCFWS()
		if p.peek() != '.' {
			return b.String()
		}
		p.pos++
		b.WriteByte('.')
	}
}

// decodeText decodes RFC 2047 words.
func decodeText(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	if d, err := wordDecoder().DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// parsedAddr is an address, or with group set a group's start (name in
// name) or end (name empty).
type parsedAddr struct {
	name, local, domain string
	comment             string
	group               bool
}

// parseAddressList parses an address list field value.
func parseAddressList(s string) []parsedAddr {
	p := &addrParser{s: s}
	var out []parsedAddr
	inGroup := false
	for !p.end() && len(out) < maxAddresses {
		p.comments = p.comments[:0]
		p.skipCFWS()
		if p.end() {
			break
		}
		switch p.peek() {
		case ',':
			p.pos++
			continue
		case ';':
			p.pos++
			if inGroup {
				out = append(out, parsedAddr{group: true})
				inGroup = false
			}
			continue
		}
		start := p.pos
		words := p.phrase()
		p.skipCFWS()
		switch p.peek() {
		case ':':
			p.pos++
			if inGroup { // no nested groups: close the open one
				out = append(out, parsedAddr{group: true})
				inGroup = false
			}
			// A group needs a name: an empty one would read as the end
			// marker. Its members are then listed without the group.
			if name := decodeText(strings.Join(words, " ")); name != "" {
				out = append(out, parsedAddr{group: true, name: name})
				inGroup = true
			}
		case '<':
			p.pos++
			p.skipCFWS()
			if p.peek() == '@' { // obs-route: "@a,@b:" before the address
				if i := strings.IndexByte(p.s[p.pos:], ':'); i >= 0 && !strings.ContainsAny(p.s[p.pos:p.pos+i], ">") {
					p.pos += i + 1
				}
			}
			a := p.addrSpec(nil)
			if i := strings.IndexByte(p.s[p.pos:], '>'); i >= 0 {
				p.pos += i + 1
			} else {
				p.pos = len(p.s)
			}
			p.skipCFWS()
			a.name = decodeText(strings.Join(words, " "))
			a.comment = decodeText(strings.Join(p.comments, " "))
			out = append(out, a)
		default:
			if len(words) == 0 {
				if p.pos == start {
					p.pos++ // unreadable: skip it
				}
				continue
			}
			a := p.addrSpec(words)
			p.skipCFWS()
			a.comment = decodeText(strings.Join(p.comments, " "))
			out = append(out, a)
		}
	}
	if inGroup && len(out) < maxAddresses+1 {
		out = append(out, parsedAddr{group: true})
	}
	return out
}

// addrSpec reads local-part "@" domain; local holds words already read.
func (p *addrParser) addrSpec(local []string) parsedAddr {
	var a parsedAddr
	if local == nil {
		a.local = p.dotted()
	} else {
		a.local = strings.Join(local, "")
	}
	p.skipCFWS()
	if p.peek() == '@' {
		p.pos++
		a.domain = p.dotted()
	}
	return a
}

// envelopeAddresses converts a field's addresses for ENVELOPE.
func envelopeAddresses(value string) []imap.Address {
	var out []imap.Address
	for _, a := range parseAddressList(value) {
		switch {
		case a.group:
			// RFC 9051 §7.5.2: group start has the group name as mailbox
			// and NIL host; group end has NIL mailbox and host.
			out = append(out, imap.Address{Mailbox: a.name})
		case a.local == "" && a.domain == "":
		default:
			name := a.name
			if name == "" {
				name = a.comment
			}
			host := a.domain
			if host == "" {
				host = missingDomain
			}
			out = append(out, imap.Address{Name: name, Mailbox: a.local, Host: host})
		}
	}
	return out
}

// AddressSearchText renders an address field for SEARCH FROM/TO/CC/BCC:
// names, comments and addresses, RFC 2047 words decoded, so a search
// finds an official by any of them (RFC 9051 §6.4.4).
func AddressSearchText(value string) string {
	var b strings.Builder
	for _, a := range parseAddressList(value) {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.name)
		if a.local != "" || a.domain != "" {
			b.WriteString(" <" + a.local + "@" + a.domain + ">")
		}
		if a.comment != "" {
			b.WriteString(" (" + a.comment + ")")
		}
	}
	return b.String()
}

// ExtractEnvelope builds the ENVELOPE of a message from its header
// (RFC 9051 §7.5.2).
func ExtractEnvelope(h textproto.Header) *imap.Envelope {
	mh := mail.Header{Header: gomessage.Header{Header: h}}
	date, _ := maildate.Field(h.Get("Date"))
	subject, err := mh.Subject()
	if err != nil {
		subject = decodeText(h.Get("Subject"))
	}
	inReplyTo, _ := mh.MsgIDList("In-Reply-To")
	messageID, _ := mh.MessageID()
	field := func(k string) []imap.Address {
		return envelopeAddresses(unfold(h.Get(k)))
	}
	return &imap.Envelope{
		Date:      date,
		Subject:   subject,
		From:      field("From"),
		Sender:    field("Sender"),
		ReplyTo:   field("Reply-To"),
		To:        field("To"),
		Cc:        field("Cc"),
		Bcc:       field("Bcc"),
		InReplyTo: inReplyTo,
		MessageID: messageID,
	}
}

// unfold removes header line folding.
func unfold(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r\n", "", "\n", "", "\r", "").Replace(s)
}

// envelopeOf parses a raw header block; for tests and the fuzzer.
func envelopeOf(header []byte) *imap.Envelope {
	h, _ := textproto.ReadHeader(bufsize.Bytes(header))
	return ExtractEnvelope(h)
}
