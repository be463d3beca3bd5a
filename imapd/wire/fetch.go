package wire

import (
	"fmt"
	"strings"
)

// FetchParams is FETCH's attribute list and modifiers.
type FetchParams struct {
	Atts []FetchAtt
	// ChangedSince is the CHANGEDSINCE modifier (RFC 7162 §3.1.4); 0 if
	// absent. Vanished is the VANISHED modifier (RFC 7162 §3.2.6).
	ChangedSince uint64
	Vanished     bool
}

// FetchAtt is one fetch-att (RFC 9051 §9).
type FetchAtt struct {
	// Name is ENVELOPE, FLAGS, INTERNALDATE, RFC822.SIZE, UID,
	// BODYSTRUCTURE, BODY (the non-extensible structure), MODSEQ, RFC822,
	// RFC822.HEADER, RFC822.TEXT, "BODY[]" (a section), "BINARY[]" or
	// "BINARY.SIZE[]".
	Name    string
	Section Section // BODY[] and BINARY[] (Part only for BINARY)
	Peek    bool
	Partial *Partial
}

// Section is a section-spec (RFC 9051 §6.4.5).
type Section struct {
	Part []uint32
	// Spec is "", HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT or MIME.
	Spec   string
	Fields []string // HEADER.FIELDS[.NOT] names as given
}

// Partial is "<" offset "." count ">".
type Partial struct{ Offset, Count uint32 }

// String is the section as echoed in the response, e.g. "1.HEADER.FIELDS (From)".
func (s Section) String() string {
	var b strings.Builder
	for i, n := range s.Part {
		if i > 0 {
			b.WriteByte('.')
		}
		fmt.Fprint(&b, n)
	}
	if s.Spec != "" {
		if len(s.Part) > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.Spec)
	}
	if len(s.Fields) > 0 {
		b.WriteString(" (")
		for i, f := range s.Fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(AStringForm(f))
		}
		b.WriteByte(')')
	}
	return b.String()
}

// AStringForm is s as an atom when it can be one, else quoted.
func AStringForm(s string) string {
	if s == "" {
		return `""`
	}
	for i := 0; i < len(s); i++ {
		if !isAtomChar(s[i]) {
			return quote(s)
		}
	}
	return s
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// parseFetch: FETCH SP sequence-set SP ("ALL" / "FULL" / "FAST" /
// fetch-att / "(" fetch-att *(SP fetch-att) ")") [SP fetch-modifiers].
func (p *Parser) parseFetch(cmd *Command) error {
	if err := p.SP(); err != nil {
		return err
	}
	set, err := p.NumSet(true)
	if err != nil {
		return err
	}
	cmd.Set = set
	if err := p.SP(); err != nil {
		return err
	}
	f := &FetchParams{}
	cmd.Fetch = f
	macro := func(names ...string) {
		for _, n := range names {
			f.Atts = append(f.Atts, FetchAtt{Name: n})
		}
	}
	switch {
	case p.TakeWord("ALL"):
		macro("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE")
	case p.TakeWord("FAST"):
		macro("FLAGS", "INTERNALDATE", "RFC822.SIZE")
	case p.TakeWord("FULL"):
		macro("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY")
	case p.peek() == '(':
		if err := p.List(func() error {
			a, err := p.fetchAtt()
			f.Atts = append(f.Atts, a)
			return err
		}); err != nil {
			return err
		}
		if len(f.Atts) == 0 {
			return p.errf("empty FETCH attribute list")
		}
	default:
		a, err := p.fetchAtt()
		if err != nil {
			return err
		}
		f.Atts = append(f.Atts, a)
	}
	if p.Take(' ') {
		if err := p.List(func() error {
			switch {
			case p.TakeWord("CHANGEDSINCE"):
				if err := p.SP(); err != nil {
					return err
				}
				n, err := p.Number64()
				if err == nil && n == 0 {
					return p.errf("CHANGEDSINCE must not be 0")
				}
				f.ChangedSince = n
				return err
			case p.TakeWord("VANISHED"):
				if !cmd.UID {
					// RFC 7162 §3.2.6: only UID FETCH takes VANISHED.
					return p.errf("VANISHED is only allowed in UID FETCH")
				}
				f.Vanished = true
				return nil
			}
			return p.errf("unknown FETCH modifier %q", p.rest(16))
		}); err != nil {
			return err
		}
		if f.Vanished && f.ChangedSince == 0 {
			return p.errf("VANISHED needs CHANGEDSINCE")
		}
	}
	return p.End()
}

var simpleFetchAtts = []string{"ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "RFC822.HEADER", "RFC822.TEXT",
	"RFC822", "UID", "BODYSTRUCTURE", "MODSEQ"}

func (p *Parser) fetchAtt() (FetchAtt, error) {
	start := p.pos
	for p.pos < len(p.line) {
		c := p.line[p.pos]
		if c == ' ' || c == '(' || c == ')' || c == '[' || c == '<' {
			break
		}
		p.pos++
	}
	name := strings.ToUpper(string(p.line[start:p.pos]))
	if name == "" {
		return FetchAtt{}, p.errAt("a FETCH attribute")
	}
	for _, s := range simpleFetchAtts {
		if name == s {
			return FetchAtt{Name: name}, nil
		}
	}
	switch name {
	case "BODY", "BODY.PEEK":
		if p.peek() != '[' {
			if name == "BODY.PEEK" {
				return FetchAtt{}, p.errf("BODY.PEEK needs a section")
			}
			return FetchAtt{Name: "BODY"}, nil
		}
		sec, err := p.section()
		if err != nil {
			return FetchAtt{}, err
		}
		a := FetchAtt{Name: "BODY[]", Section: sec, Peek: name == "BODY.PEEK"}
		a.Partial, err = p.partial()
		return a, err
	case "BINARY", "BINARY.PEEK", "BINARY.SIZE":
		part, err := p.sectionBinary()
		if err != nil {
			return FetchAtt{}, err
		}
		a := FetchAtt{Name: "BINARY[]", Section: Section{Part: part}, Peek: name == "BINARY.PEEK"}
		if name == "BINARY.SIZE" {
			a.Name = "BINARY.SIZE[]"
			return a, nil
		}
		a.Partial, err = p.partial()
		return a, err
	}
	return FetchAtt{}, p.errf("unknown FETCH attribute %s", truncate(name, 32))
}

func (p *Parser) partial() (*Partial, error) {
	if !p.Take('<') {
		return nil, nil
	}
	off, err := p.Number()
	if err != nil {
		return nil, err
	}
	if err := p.Expect('.'); err != nil {
		return nil, err
	}
	n, err := p.NzNumber()
	if err != nil {
		return nil, err
	}
	return &Partial{Offset: off, Count: n}, p.Expect('>')
}

// section: "[" [section-spec] "]".
func (p *Parser) section() (Section, error) {
	var s Section
	if err := p.Expect('['); err != nil {
		return s, err
	}
	if p.Take(']') {
		return s, nil
	}
	for p.peek() >= '1' && p.peek() <= '9' {
		n, err := p.NzNumber()
		if err != nil {
			return s, err
		}
		if len(s.Part) >= 64 {
			return s, p.errf("section part too deep")
		}
		s.Part = append(s.Part, n)
		if !p.Take('.') {
			return s, p.Expect(']')
		}
	}
	start := p.pos
	for p.pos < len(p.line) && p.line[p.pos] != ']' && p.line[p.pos] != ' ' {
		p.pos++
	}
	spec := strings.ToUpper(string(p.line[start:p.pos]))
	switch spec {
	case "HEADER", "TEXT":
	case "MIME":
		if len(s.Part) == 0 {
			return s, p.errf("MIME needs a part number")
		}
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		if err := p.SP(); err != nil {
			return s, err
		}
		if err := p.List(func() error {
			f, err := p.AString()
			s.Fields = append(s.Fields, f)
			return err
		}); err != nil {
			return s, err
		}
		if len(s.Fields) == 0 {
			return s, p.errf("empty header list")
		}
	default:
		return s, p.errf("unknown section %q", truncate(spec, 32))
	}
	s.Spec = spec
	return s, p.Expect(']')
}

// sectionBinary: "[" [section-part] "]".
func (p *Parser) sectionBinary() ([]uint32, error) {
	if err := p.Expect('['); err != nil {
		return nil, err
	}
	var part []uint32
	for !p.Take(']') {
		if len(part) > 0 {
			if err := p.Expect('.'); err != nil {
				return nil, err
			}
		}
		n, err := p.NzNumber()
		if err != nil {
			return nil, err
		}
		if len(part) >= 64 {
			return nil, p.errf("section part too deep")
		}
		part = append(part, n)
	}
	return part, nil
}

// StoreParams is STORE's change (RFC 9051 §6.4.6, RFC 7162 §3.1.3).
type StoreParams struct {
	Op             byte // '+', '-' or 0 (replace)
	Silent         bool
	Flags          []string
	UnchangedSince uint64
	HasUnchanged   bool
}

func (p *Parser) parseStore(cmd *Command) error {
	if err := p.SP(); err != nil {
		return err
	}
	set, err := p.NumSet(true)
	if err != nil {
		return err
	}
	cmd.Set = set
	if err := p.SP(); err != nil {
		return err
	}
	s := &StoreParams{}
	cmd.Store = s
	if p.peek() == '(' {
		if err := p.List(func() error {
			if !p.TakeWord("UNCHANGEDSINCE") {
				return p.errf("unknown STORE modifier %q", p.rest(16))
			}
			if err := p.SP(); err != nil {
				return err
			}
			n, err := p.Number64()
			s.UnchangedSince, s.HasUnchanged = n, true
			return err
		}); err != nil {
			return err
		}
		if err := p.SP(); err != nil {
			return err
		}
	}
	if p.Take('+') {
		s.Op = '+'
	} else if p.Take('-') {
		s.Op = '-'
	}
	switch {
	case p.TakeWord("FLAGS.SILENT"):
		s.Silent = true
	case p.TakeWord("FLAGS"):
	default:
		return p.errf("expected FLAGS, +FLAGS or -FLAGS at %q", p.rest(16))
	}
	if err := p.SP(); err != nil {
		return err
	}
	if p.peek() == '(' {
		if s.Flags, err = p.FlagList(); err != nil {
			return err
		}
	} else {
		for {
			f, err := p.Flag()
			if err != nil {
				return err
			}
			s.Flags = append(s.Flags, f)
			if !p.Take(' ') {
				break
			}
		}
	}
	return p.End()
}
