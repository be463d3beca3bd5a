package smime

import (
	"mime"
	"net/url"
	"strings"
	"unicode/utf8"
)

// The stamp is our Authentication-Results field (RFC 8601) carrying the
// smime method of RFC 7281, one resinfo per signature:
//
//	Authentication-Results: mail.khanhhoa.gov.vn;
//		smime=pass (signer: =?utf-8?b?...?= ; org: =?utf-8?b?...?=)
//		body.smime-identifier=vanthu.skhcn@khanhhoa.gov.vn body.smime-part=1
//		body.smime-serial=5A0C... body.smime-issuer="CN=..."
//
// It is kept to US-ASCII so every client and tool can read the stored
// header: the signer's name, organisation and the Vietnamese reason are
// RFC 2047 encoded-words inside a comment (RFC 2047 5(2) allows them
// there), and quoted values percent-encode non-ASCII bytes and "%".

// Limits of FromHeader: a header is read up to maxHeaderScan bytes and at
// most maxResults smime results are returned.
const (
	maxHeaderScan = 1 << 20
	maxResults    = 64
)

// Stamp returns the resinfo text of our Authentication-Results field for
// results: "smime=..." clauses separated by ";" and folded with CRLF TAB,
// to follow "Authentication-Results: <authserv-id>;" CRLF TAB. No results
// give "smime=none" (RFC 7281 3: the message was not signed).
func Stamp(results []Result) string {
	if len(results) == 0 {
		return "smime=" + string(None)
	}
	parts := make([]string, 0, len(results))
	for _, r := range results {
		parts = append(parts, stampOne(r))
	}
	return strings.Join(parts, ";\r\n\t")
}

// StampField returns the whole Authentication-Results field (with its
// final CRLF) for results under authservID.
func StampField(authservID string, results []Result) string {
	return "Authentication-Results: " + authservID + ";\r\n\t" + Stamp(results) + "\r\n"
}

func stampOne(r Result) string {
	st := r.Status
	if !validStatus(st) {
		st = PermError
	}
	var b strings.Builder
	b.WriteString("smime=" + string(st))
	// RFC 8601 2.2: reasonspec comes before the properties.
	if r.Reason != "" {
		b.WriteString(" reason=" + quote(oneLine(r.Reason)))
	}
	var notes []string
	for _, n := range []struct{ key, val string }{{"signer", r.SignerName}, {"org", r.Organization}, {"reason-vi", r.ReasonVI}} {
		if v := oneLine(n.val); v != "" {
			notes = append(notes, n.key+": "+commentWord(v))
		}
	}
	if len(notes) > 0 {
		b.WriteString(" (" + strings.Join(notes, " ; ") + ")")
	}
	for _, p := range []struct{ key, val string }{
		{"identifier", r.Identifier}, {"part", r.Part}, {"serial", r.Serial}, {"issuer", r.Issuer},
	} {
		if p.val != "" {
			b.WriteString("\r\n\tbody.smime-" + p.key + "=" + pvalue(oneLine(p.val)))
		}
	}
	return b.String()
}

func validStatus(s Status) bool {
	switch s {
	case Pass, Fail, Neutral, Policy, TempError, PermError, None:
		return true
	}
	return false
}

// commentWord writes v for a comment: as is when it is plain ASCII text
// that cannot be mistaken for syntax, otherwise as encoded-words, which
// mime.BEncoding splits to keep each under 75 characters (RFC 2047 2).
func commentWord(v string) string {
	plain := !strings.ContainsFunc(v, func(r rune) bool {
		return r >= 0x7f || r < 0x20 || strings.ContainsRune(`()\";=?`, r)
	})
	if plain {
		return v
	}
	return mime.BEncoding.Encode("utf-8", v)
}

// pvalue writes a property value (RFC 8601 2.2 pvalue): a token or an
// address as is, anything else as a quoted-string whose non-ASCII bytes,
// controls and "%" are percent-encoded.
func pvalue(v string) string {
	if isToken(v) || isAddress(v) {
		return v
	}
	return quote(v)
}

// quote writes a quoted-string (RFC 5322 3.2.4) of v, percent-encoding
// what is not printable ASCII.
func quote(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '%' || c < 0x20 || c >= 0x7f:
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// isToken reports an RFC 2045 token.
func isToken(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// isAddress reports a plain dot-atom@domain address.
func isAddress(v string) bool {
	local, domain, ok := strings.Cut(v, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return false
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&'*+-/=?^_`{|}~.", c) >= 0) {
			return false
		}
	}
	for i := 0; i < len(domain); i++ {
		c := domain[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Join(strings.Fields(s), " ")
}

// FromHeader reads back the smime results stamped under authservID in a
// message's header block (the raw header, as the store caches it). Only
// Authentication-Results fields whose authserv-id is ours count: those
// that arrive from outside are removed before we add ours (RFC 8601 5).
// It never fails: anything it cannot read is skipped.
func FromHeader(header []byte, authservID string) []Result {
	if len(header) > maxHeaderScan {
		header = header[:maxHeaderScan]
	}
	authservID = strings.TrimSpace(authservID)
	if authservID == "" {
		return nil
	}
	var out []Result
	for _, value := range fieldValues(header, "Authentication-Results") {
		id, rest := authservIDOf(value)
		if !strings.EqualFold(id, authservID) {
			continue
		}
		for _, ri := range parseResinfos(rest) {
			if !strings.EqualFold(ri.method, "smime") {
				continue
			}
			out = append(out, ri.result())
			if len(out) >= maxResults {
				return out
			}
		}
	}
	return out
}

// ClaimsAuthservID reports whether value, the unfolded value of an
// Authentication-Results field, names authservID — decided exactly as
// FromHeader decides which fields to read, so that code removing our
// fields from mail that did not come through our checks (RFC 8601 5)
// removes every field FromHeader would trust.
func ClaimsAuthservID(value, authservID string) bool {
	authservID = strings.TrimSpace(authservID)
	id, _ := authservIDOf(value)
	return authservID != "" && strings.EqualFold(id, authservID)
}

// fieldValues returns the unfolded values of the fields named name
// (RFC 5322 2.2.3), in order, from a header block that ends at the first
// empty line.
func fieldValues(header []byte, name string) []string {
	var out []string
	var cur strings.Builder
	in := false
	flush := func() {
		if in {
			out = append(out, cur.String())
		}
		cur.Reset()
		in = false
	}
	for len(header) > 0 {
		var line []byte
		if i := indexByte(header, '\n'); i >= 0 {
			line, header = header[:i], header[i+1:]
		} else {
			line, header = header, nil
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) == 0 {
			break // end of the header block
		}
		if line[0] == ' ' || line[0] == '\t' {
			if in {
				cur.WriteByte(' ')
				cur.Write(line)
			}
			continue
		}
		flush()
		colon := indexByte(line, ':')
		if colon > 0 && strings.EqualFold(strings.TrimRight(string(line[:colon]), " \t"), name) {
			in = true
			cur.Write(line[colon+1:])
		}
	}
	flush()
	return out
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// authservIDOf splits off the authserv-id (RFC 8601 2.2), skipping
// comments and an optional version number.
func authservIDOf(v string) (id, rest string) {
	p := &parser{s: v}
	p.skipCFWS()
	id = p.word()
	p.skipCFWS()
	if p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.word() // authres-version
	}
	return id, p.s[p.i:]
}

// resinfo is one parsed "; method=result ..." clause.
type resinfo struct {
	method, result_ string
	reason          string
	props           map[string]string
	comments        []string
}

func (ri resinfo) result() Result {
	r := Result{Status: Status(strings.ToLower(ri.result_)), Reason: ri.reason}
	if !validStatus(r.Status) {
		r.Status = PermError
	}
	r.Identifier = ri.props["body.smime-identifier"]
	r.Part = ri.props["body.smime-part"]
	r.Serial = ri.props["body.smime-serial"]
	r.Issuer = ri.props["body.smime-issuer"]
	dec := &mime.WordDecoder{}
	for _, c := range ri.comments {
		for _, note := range strings.Split(c, " ; ") {
			key, val, ok := strings.Cut(note, ":")
			if !ok {
				continue
			}
			val = strings.TrimSpace(val)
			if d, err := dec.DecodeHeader(val); err == nil {
				val = d
			}
			val = oneLine(val)
			switch strings.TrimSpace(key) {
			case "signer":
				r.SignerName = val
			case "org":
				r.Organization = val
			case "reason-vi":
				r.ReasonVI = val
			}
		}
	}
	return r
}

// maxResinfos bounds the clauses read from one field.
const maxResinfos = 256

// parseResinfos reads the resinfo clauses after the authserv-id
// (RFC 8601 2.2): [CFWS] ";" methodspec [CFWS reasonspec] [CFWS 1*propspec].
func parseResinfos(s string) []resinfo {
	p := &parser{s: s}
	var out []resinfo
	for len(out) < maxResinfos {
		p.skipCFWS()
		if !p.eat(';') {
			return out
		}
		var ri resinfo
		ri.props = map[string]string{}
		ri.comments = append(ri.comments, p.skipCFWS()...)
		ri.method = p.word()
		ri.comments = append(ri.comments, p.skipCFWS()...)
		if !p.eat('=') {
			if ri.method == "none" { // RFC 8601 2.2 no-result
				continue
			}
			p.skipTo(';')
			continue
		}
		ri.comments = append(ri.comments, p.skipCFWS()...)
		ri.result_ = p.word()
		for {
			ri.comments = append(ri.comments, p.skipCFWS()...)
			if p.i >= len(p.s) || p.s[p.i] == ';' {
				break
			}
			key := p.word()
			if key == "" { // stray character: skip it
				p.i++
				continue
			}
			p.skipCFWS()
			if !p.eat('=') {
				continue
			}
			p.skipCFWS()
			val := p.value()
			if strings.EqualFold(key, "reason") {
				ri.reason = val
			} else {
				ri.props[strings.ToLower(key)] = val
			}
		}
		out = append(out, ri)
	}
	return out
}

// parser walks a header field value.
type parser struct {
	s string
	i int
}

func (p *parser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *parser) skipTo(c byte) {
	for p.i < len(p.s) && p.s[p.i] != c {
		switch p.s[p.i] {
		case '"':
			p.quoted()
		case '(':
			p.comment()
		default:
			p.i++
		}
	}
}

// skipCFWS skips white space and comments (RFC 5322 3.2.2), returning
// the comments' texts.
func (p *parser) skipCFWS() []string {
	var comments []string
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		case '(':
			comments = append(comments, p.comment())
		default:
			return comments
		}
	}
	return comments
}

// comment reads a comment with nesting and quoted-pairs; nesting deeper
// than maxCommentDepth is read as text.
func (p *parser) comment() string {
	const maxCommentDepth = 16
	var b strings.Builder
	depth := 0
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '\\' && p.i < len(p.s):
			b.WriteByte(p.s[p.i])
			p.i++
		case c == '(':
			depth++
			if depth > 1 && depth <= maxCommentDepth {
				b.WriteByte(c)
			}
		case c == ')':
			depth--
			if depth == 0 {
				return b.String()
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// word reads a run of characters up to white space, a comment, ";", "="
// or a quote; "." and "@" belong to the word (ptype.property, addresses).
func (p *parser) word() string {
	start := p.i
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n();=\"", p.s[p.i]) < 0 {
		p.i++
	}
	return p.s[start:p.i]
}

// value reads a pvalue or reason value: a quoted-string (unquoted and
// percent-decoded) or a bare word.
func (p *parser) value() string {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		q := p.quoted()
		if d, err := url.PathUnescape(q); err == nil && utf8.ValidString(d) {
			return d
		}
		return q
	}
	start := p.i
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n();", p.s[p.i]) < 0 {
		p.i++
	}
	return p.s[start:p.i]
}

// quoted reads a quoted-string and returns its content.
func (p *parser) quoted() string {
	var b strings.Builder
	p.i++ // opening quote
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '\\' && p.i < len(p.s):
			b.WriteByte(p.s[p.i])
			p.i++
		case c == '"':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
