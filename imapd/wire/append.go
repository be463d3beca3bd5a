package wire

import (
	"io"
	"time"
)

// AppendMessage is one message of APPEND (RFC 9051 §6.3.12), possibly
// one of several (MULTIAPPEND, RFC 3502). Its data is either a literal,
// read by the caller through LiteralData, or a CATENATE list (RFC 4469),
// read with CatenatePart.
type AppendMessage struct {
	Flags    []string
	HasFlags bool
	Date     time.Time
	Literal  *Literal // nil with Catenate
	Catenate bool
}

// AppendMessage parses the next message's options up to its data. The
// first call follows the mailbox name; later calls follow the line that
// ended the previous message's data. done is true at the end of the
// command.
func (p *Parser) AppendMessage() (m *AppendMessage, done bool, err error) {
	if p.EOL() {
		p.done = true
		return nil, true, nil
	}
	if err := p.SP(); err != nil {
		return nil, false, err
	}
	m = &AppendMessage{}
	if p.peek() == '(' {
		if m.Flags, err = p.FlagList(); err != nil {
			return nil, false, err
		}
		m.HasFlags = true
		if err := p.SP(); err != nil {
			return nil, false, err
		}
	}
	if p.peek() == '"' {
		if m.Date, err = p.DateTime(); err != nil {
			return nil, false, err
		}
		if err := p.SP(); err != nil {
			return nil, false, err
		}
	}
	if p.TakeWord("CATENATE") {
		if err := p.SP(); err != nil {
			return nil, false, err
		}
		if err := p.Expect('('); err != nil {
			return nil, false, err
		}
		m.Catenate = true
		return m, false, nil
	}
	if m.Literal, err = p.announcedLiteral(true); err != nil {
		return nil, false, err
	}
	return m, false, nil
}

// LiteralData accepts lit (sending the continuation request for a
// synchronizing literal) and returns a reader of exactly its bytes. The
// caller must read it to the end, then call AfterLiteral.
func (p *Parser) LiteralData(lit *Literal) (io.Reader, error) {
	if lit.Sync && p.r.Continue != nil {
		if err := p.r.Continue(); err != nil {
			return nil, err
		}
	}
	p.line = p.line[:p.pos] // the announcement is consumed
	return io.LimitReader(p.r.src, lit.Size), nil
}

// AfterLiteral reads the line that follows a literal's data.
func (p *Parser) AfterLiteral() error { return p.nextLine() }

// SkipLiteral drops the data of a non-synchronizing literal the server
// refuses (RFC 7888 §4) and reads the line after it. A synchronizing
// literal was never sent.
func (p *Parser) SkipLiteral(lit *Literal) error {
	if lit.Sync {
		return nil
	}
	if lit.Size > p.r.lim.MaxDiscard {
		return &Error{Fatal: true, Code: "TOOBIG", Text: "Non-synchronizing literal too large to skip"}
	}
	p.line = p.line[:p.pos]
	if _, err := io.CopyN(io.Discard, p.r.src, lit.Size); err != nil {
		return err
	}
	return p.nextLine()
}

// CatenatePart parses the next part of a CATENATE list: "TEXT" SP literal
// (read the data with LiteralData) or "URL" SP astring. done is true at
// the closing parenthesis.
func (p *Parser) CatenatePart(first bool) (url string, lit *Literal, done bool, err error) {
	if p.Take(')') {
		if first {
			return "", nil, false, p.errf("empty CATENATE list")
		}
		return "", nil, true, nil
	}
	if !first {
		if err := p.SP(); err != nil {
			return "", nil, false, err
		}
	}
	switch {
	case p.TakeWord("TEXT"):
		if err := p.SP(); err != nil {
			return "", nil, false, err
		}
		lit, err = p.announcedLiteral(true)
		return "", lit, false, err
	case p.TakeWord("URL"):
		if err := p.SP(); err != nil {
			return "", nil, false, err
		}
		url, err = p.AString()
		return url, nil, false, err
	}
	return "", nil, false, p.errf("expected TEXT or URL in CATENATE at %q", p.rest(16))
}
