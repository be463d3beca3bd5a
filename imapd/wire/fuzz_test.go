package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
	"unicode/utf8"
)

// parseStream parses every command in data the way imapd's connection
// loop does, with the session's error recovery, and returns the commands
// and errors it produced. It stops at the first error that ends a
// connection.
func parseStream(data []byte, lim Limits) (cmds []*Command, errs []error) {
	r := NewReader(bufio.NewReaderSize(bytes.NewReader(data), 4096), lim)
	r.Continue = func() error { return nil }
	p := NewParser(r)
	for range 1000 {
		if err := p.Begin(); err != nil {
			var we *Error
			if errors.As(err, &we) && !we.Fatal {
				errs = append(errs, err)
				continue
			}
			return cmds, errs
		}
		cmd, err := p.ParseHead()
		if err == nil {
			err = p.ParseArgs(cmd)
		}
		if err == nil && cmd.Name == "APPEND" {
			err = drainAppend(p)
		}
		if err != nil {
			errs = append(errs, err)
			var we *Error
			if !errors.As(err, &we) {
				return cmds, errs // I/O
			}
			if we.Fatal {
				return cmds, errs
			}
			if derr := p.Discard(); derr != nil {
				return cmds, append(errs, derr)
			}
			continue
		}
		cmds = append(cmds, cmd)
	}
	return cmds, errs
}

func drainAppend(p *Parser) error {
	for {
		m, done, err := p.AppendMessage()
		if err != nil || done {
			return err
		}
		if m.Catenate {
			for first := true; ; first = false {
				_, lit, done, err := p.CatenatePart(first)
				if err != nil {
					return err
				}
				if done {
					break
				}
				if lit != nil {
					if err := readLiteral(p, lit); err != nil {
						return err
					}
				}
			}
			continue
		}
		if err := readLiteral(p, m.Literal); err != nil {
			return err
		}
	}
}

func readLiteral(p *Parser, lit *Literal) error {
	if lit.Size > 1<<20 {
		return p.SkipLiteral(lit)
	}
	r, err := p.LiteralData(lit)
	if err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return err
	}
	if n != lit.Size {
		return io.ErrUnexpectedEOF
	}
	return p.AfterLiteral()
}

// FuzzParse feeds arbitrary client input through the command parser:
// it must never panic or hang, and whatever it accepts has the shape
// the dispatcher relies on. Seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"a LOGIN user pass\r\n",
		"a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n",
		"a UID FETCH 1:* (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.100> BINARY[2]<5.10>) (CHANGEDSINCE 12 VANISHED)\r\n",
		"a SEARCH RETURN (MIN MAX SAVE) CHARSET UTF-8 OR (FROM {3}\r\nabc) NOT BODY x UID $ MODSEQ \"/flags/\\\\draft\" all 620162338\r\n",
		"a APPEND INBOX (\\Seen) \" 7-Feb-1994 21:52:25 -0800\" {5+}\r\nhello ~{3+}\r\na\x00b\r\n",
		"a APPEND Drafts CATENATE (URL \"/INBOX;UIDVALIDITY=1/;UID=20\" TEXT {4+}\r\nabcd)\r\n",
		"a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX* \"Dự án/%\") RETURN (CHILDREN STATUS (MESSAGES UNSEEN))\r\n",
		"a STORE 1,2:4 (UNCHANGEDSINCE 7) +FLAGS.SILENT (\\Deleted $Label1)\r\n",
		"a SORT RETURN (COUNT) (REVERSE DATE SUBJECT) UTF-8 SINCE 1-Feb-1994\r\n",
		"a THREAD REFERENCES UTF-8 ALL\r\n",
		"a ID (\"name\" \"Thunderbird\" \"version\" NIL)\r\n",
		"a AUTHENTICATE PLAIN AGFAYg==\r\n",
		"a CREATE &AMQ-&AMQ- (USE (\\Archive))\r\n",
		"a LOGIN {4294967296}\r\n",
		"a FETCH 1 (BODY[\r\n",
		"a SETACL Shared/vanthu user2 +lrs\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := DefaultLimits()
		lim.MaxLine, lim.MaxDiscard = 512, 4096
		cmds, _ := parseStream(data, lim)
		for _, c := range cmds {
			if c.Tag == "" || c.Name == "" {
				t.Fatalf("accepted command without tag or name: %+v", c)
			}
			if c.Search != nil && c.Search.Key.Op != SearchAnd {
				t.Fatalf("search program root is %v", c.Search.Key.Op)
			}
			if c.Mailbox != "" && !utf8.ValidString(c.Mailbox) {
				t.Fatalf("mailbox name not UTF-8: %q", c.Mailbox)
			}
		}
	})
}

// FuzzUTF7: whatever decodes re-encodes to the same text (modified UTF-7
// has one spelling per name), and every name encodes and decodes back.
func FuzzUTF7(f *testing.F) {
	for _, s := range []string{"&AMQ-", "Dự án", "a&-b", "&ZeVnLIqe-", "&2D3eAQ-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if dec, err := DecodeUTF7(s); err == nil {
			if enc := EncodeUTF7(dec); enc != s {
				t.Fatalf("DecodeUTF7(%q) = %q, which encodes as %q", s, dec, enc)
			}
		}
		if utf8.ValidString(s) {
			enc := EncodeUTF7(s)
			dec, err := DecodeUTF7(enc)
			if err != nil || dec != s {
				t.Fatalf("EncodeUTF7(%q) = %q, decodes to %q, %v", s, enc, dec, err)
			}
		}
	})
}
