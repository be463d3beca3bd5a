package wire

import (
	"strings"
)

// Command is one parsed client command. Name is upper case ("UID FETCH"
// for UID commands); only the fields of that command are set. APPEND
// stops after the mailbox name: the caller reads each message with
// AppendMessage (see append.go).
type Command struct {
	Tag  string
	Name string
	UID  bool

	Mailbox  string   // SELECT, EXAMINE, CREATE, DELETE, RENAME (source), SUBSCRIBE, UNSUBSCRIBE, STATUS, APPEND, COPY/MOVE (target), quota and ACL commands
	Mailbox2 string   // RENAME target
	Args     []string // LOGIN (user, password), ENABLE (capabilities), AUTHENTICATE (mechanism [, initial response]), SETACL/DELETEACL/LISTRIGHTS (identifier [, rights]), GETQUOTA (root), COMPRESS (algorithm), LSUB (reference, pattern)
	Set      NumSet   // FETCH, STORE, COPY, MOVE, UID EXPUNGE

	Select   *SelectParams
	List     *ListParams
	Status   []string // STATUS items, upper case
	Fetch    *FetchParams
	Store    *StoreParams
	Search   *SearchParams // SEARCH, SORT, THREAD
	ID       []string      // ID field/value pairs (values "" for NIL); nil for ID NIL
	IDNil    bool
	UseAttrs []string // CREATE (USE (...)), RFC 6154 §3
}

// SelectParams are the SELECT/EXAMINE parameters of RFC 7162.
type SelectParams struct {
	CondStore bool
	QResync   *QResyncParams
}

// QResyncParams is SELECT's QRESYNC parameter (RFC 7162 §3.2.5).
type QResyncParams struct {
	UIDValidity uint32
	ModSeq      uint64
	KnownUIDs   *NumSet
	// Sequence-match data: known sequence numbers and their UIDs.
	KnownSeqs, KnownSeqUIDs *NumSet
}

// ListParams is LIST with its RFC 5258 options.
type ListParams struct {
	Reference string
	Patterns  []string
	Extended  bool // selection options or several patterns given

	SelectSubscribed, SelectRemote, SelectRecursive, SelectSpecialUse bool

	ReturnSubscribed, ReturnChildren, ReturnSpecialUse, ReturnMyRights bool
	ReturnStatus                                                       []string // nil: not asked
}

// Tokens the dispatcher recognises; anything else is an unknown command.
var knownCommands = map[string]bool{
	"CAPABILITY": true, "NOOP": true, "LOGOUT": true, "ID": true, "STARTTLS": true, "AUTHENTICATE": true,
	"LOGIN": true, "ENABLE": true, "SELECT": true, "EXAMINE": true, "CREATE": true, "DELETE": true,
	"RENAME": true, "SUBSCRIBE": true, "UNSUBSCRIBE": true, "LIST": true, "LSUB": true, "NAMESPACE": true,
	"STATUS": true, "APPEND": true, "IDLE": true, "CHECK": true, "CLOSE": true, "UNSELECT": true,
	"EXPUNGE": true, "SEARCH": true, "FETCH": true, "STORE": true, "COPY": true, "MOVE": true,
	"SORT": true, "THREAD": true, "GETQUOTA": true, "GETQUOTAROOT": true, "SETQUOTA": true,
	"GETACL": true, "SETACL": true, "DELETEACL": true, "LISTRIGHTS": true, "MYRIGHTS": true,
	"COMPRESS": true, "ESEARCH": false,
}

var uidCommands = map[string]bool{"FETCH": true, "STORE": true, "COPY": true, "MOVE": true, "SEARCH": true,
	"EXPUNGE": true, "SORT": true, "THREAD": true}

// ParseHead parses the tag and command name of the command on the
// current line. tag is set even when err is not nil, if it was readable.
func (p *Parser) ParseHead() (cmd *Command, err error) {
	cmd = &Command{}
	if cmd.Tag, err = p.Tag(); err != nil {
		return cmd, p.errf("missing or invalid tag")
	}
	if err := p.SP(); err != nil {
		return cmd, err
	}
	name, err := p.Atom()
	if err != nil {
		return cmd, p.errf("missing command name")
	}
	cmd.Name = strings.ToUpper(name)
	if cmd.Name == "UID" {
		if err := p.SP(); err != nil {
			return cmd, err
		}
		sub, err := p.Atom()
		if err != nil {
			return cmd, err
		}
		sub = strings.ToUpper(sub)
		if !uidCommands[sub] {
			return cmd, &Error{Unknown: true, Text: "Unknown command UID " + truncate(sub, 32)}
		}
		cmd.Name, cmd.UID = "UID "+sub, true
		return cmd, nil
	}
	if !knownCommands[cmd.Name] {
		return cmd, &Error{Unknown: true, Text: "Unknown command " + truncate(cmd.Name, 32)}
	}
	return cmd, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// BaseName is the command name without "UID ".
func (c *Command) BaseName() string { return strings.TrimPrefix(c.Name, "UID ") }

// ParseArgs parses the arguments of cmd (after ParseHead) up to the end
// of the command, except for APPEND, which stops after the mailbox.
func (p *Parser) ParseArgs(cmd *Command) error {
	switch cmd.BaseName() {
	case "CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "NAMESPACE", "IDLE", "CHECK", "CLOSE", "UNSELECT":
		if !cmd.UID {
			return p.End()
		}
	case "ID":
		return p.parseID(cmd)
	case "LOGIN":
		return p.args(cmd, 2, p.AString)
	case "AUTHENTICATE":
		if err := p.SP(); err != nil {
			return err
		}
		mech, err := p.Atom()
		if err != nil {
			return err
		}
		cmd.Args = []string{strings.ToUpper(mech)}
		if p.Take(' ') {
			// SASL-IR (RFC 4959): base64 or "=".
			start := p.pos
			for !p.EOL() && p.peek() != ' ' {
				p.pos++
			}
			cmd.Args = append(cmd.Args, string(p.line[start:p.pos]))
		}
		return p.End()
	case "ENABLE":
		for p.Take(' ') {
			c, err := p.Atom()
			if err != nil {
				return err
			}
			cmd.Args = append(cmd.Args, strings.ToUpper(c))
		}
		if len(cmd.Args) == 0 {
			return p.errf("ENABLE needs at least one capability")
		}
		return p.End()
	case "SELECT", "EXAMINE":
		return p.parseSelect(cmd)
	case "CREATE":
		return p.parseCreate(cmd)
	case "DELETE", "SUBSCRIBE", "UNSUBSCRIBE", "GETQUOTAROOT", "GETACL", "MYRIGHTS":
		return p.mailboxArg(cmd)
	case "RENAME":
		if err := p.mailboxArg0(cmd); err != nil {
			return err
		}
		if err := p.SP(); err != nil {
			return err
		}
		m, err := p.Mailbox()
		if err != nil {
			return err
		}
		cmd.Mailbox2 = m
		return p.End()
	case "LIST":
		return p.parseList(cmd)
	case "LSUB":
		if err := p.SP(); err != nil {
			return err
		}
		ref, err := p.AString()
		if err != nil {
			return err
		}
		if err := p.SP(); err != nil {
			return err
		}
		pat, err := p.ListMailbox()
		if err != nil {
			return err
		}
		refName, err := p.DecodeMailbox(ref)
		if err != nil && ref != "" {
			return err
		}
		cmd.Args = []string{refName, pat}
		return p.End()
	case "STATUS":
		if err := p.mailboxArg0(cmd); err != nil {
			return err
		}
		if err := p.SP(); err != nil {
			return err
		}
		if err := p.List(func() error {
			a, err := p.Atom()
			if err != nil {
				return err
			}
			a = strings.ToUpper(a)
			if !statusItems[a] {
				return p.errf("unknown STATUS item %s", truncate(a, 32))
			}
			cmd.Status = append(cmd.Status, a)
			return nil
		}); err != nil {
			return err
		}
		if len(cmd.Status) == 0 {
			return p.errf("STATUS needs at least one item")
		}
		return p.End()
	case "APPEND":
		if err := p.SP(); err != nil {
			return err
		}
		m, err := p.Mailbox()
		cmd.Mailbox = m
		return err
	case "EXPUNGE":
		if cmd.UID {
			if err := p.SP(); err != nil {
				return err
			}
			set, err := p.NumSet(true)
			if err != nil {
				return err
			}
			cmd.Set = set
		}
		return p.End()
	case "FETCH":
		return p.parseFetch(cmd)
	case "STORE":
		return p.parseStore(cmd)
	case "COPY", "MOVE":
		if err := p.SP(); err != nil {
			return err
		}
		set, err := p.NumSet(true)
		if err != nil {
			return err
		}
		cmd.Set = set
		return p.mailboxArg(cmd)
	case "SEARCH":
		return p.parseSearch(cmd)
	case "SORT":
		return p.parseSort(cmd)
	case "THREAD":
		return p.parseThread(cmd)
	case "GETQUOTA":
		return p.args(cmd, 1, p.AString)
	case "SETQUOTA":
		// Quotas are set by the directory, never by clients: parse only
		// far enough to answer NO (RFC 9208 §4.1.3).
		if err := p.args0(cmd, 1, p.AString); err != nil {
			return err
		}
		if err := p.SP(); err != nil {
			return err
		}
		return p.List(func() error {
			if _, err := p.Atom(); err != nil {
				return err
			}
			if err := p.SP(); err != nil {
				return err
			}
			_, err := p.Number64()
			return err
		})
	case "SETACL":
		if err := p.mailboxArg0(cmd); err != nil {
			return err
		}
		return p.args(cmd, 2, p.AString)
	case "DELETEACL", "LISTRIGHTS":
		if err := p.mailboxArg0(cmd); err != nil {
			return err
		}
		return p.args(cmd, 1, p.AString)
	case "COMPRESS":
		return p.args(cmd, 1, p.Atom)
	}
	return p.errf("%s takes no arguments", cmd.Name)
}

var statusItems = map[string]bool{"MESSAGES": true, "UIDNEXT": true, "UIDVALIDITY": true, "UNSEEN": true,
	"DELETED": true, "SIZE": true, "RECENT": true, "HIGHESTMODSEQ": true, "APPENDLIMIT": true,
	"DELETED-STORAGE": true}

// args parses n space-separated arguments with f and the end of the line.
func (p *Parser) args(cmd *Command, n int, f func() (string, error)) error {
	if err := p.args0(cmd, n, f); err != nil {
		return err
	}
	return p.End()
}

func (p *Parser) args0(cmd *Command, n int, f func() (string, error)) error {
	for range n {
		if err := p.SP(); err != nil {
			return err
		}
		s, err := f()
		if err != nil {
			return err
		}
		cmd.Args = append(cmd.Args, s)
	}
	return nil
}

func (p *Parser) mailboxArg0(cmd *Command) error {
	if err := p.SP(); err != nil {
		return err
	}
	m, err := p.Mailbox()
	cmd.Mailbox = m
	return err
}

func (p *Parser) mailboxArg(cmd *Command) error {
	if err := p.mailboxArg0(cmd); err != nil {
		return err
	}
	return p.End()
}

// parseID: "ID" SP id-params-list (RFC 2971 §3.1). Fields beyond the
// RFC's limits (30 pairs, 30-octet names, 1024-octet values) are kept
// truncated rather than refused: ID is informational.
func (p *Parser) parseID(cmd *Command) error {
	if err := p.SP(); err != nil {
		return err
	}
	if p.TakeWord("NIL") {
		cmd.IDNil = true
		return p.End()
	}
	pairs := 0
	err := p.List(func() error {
		k, err := p.String()
		if err != nil {
			return err
		}
		if err := p.SP(); err != nil {
			return err
		}
		v, _, err := p.NString()
		if err != nil {
			return err
		}
		pairs++
		if pairs <= 30 {
			cmd.ID = append(cmd.ID, truncateBytes(k, 30), truncateBytes(v, 1024))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return p.End()
}

func truncateBytes(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// parseSelect: mailbox [SP "(" select-param *(SP select-param) ")"]
// (RFC 7162 §3.1.8, §3.2.5).
func (p *Parser) parseSelect(cmd *Command) error {
	if err := p.mailboxArg0(cmd); err != nil {
		return err
	}
	cmd.Select = &SelectParams{}
	if p.Take(' ') {
		err := p.List(func() error {
			switch {
			case p.TakeWord("CONDSTORE"):
				cmd.Select.CondStore = true
			case p.TakeWord("QRESYNC"):
				if err := p.SP(); err != nil {
					return err
				}
				q, err := p.qresyncParams()
				cmd.Select.QResync = q
				return err
			default:
				return p.errf("unknown SELECT parameter %q", p.rest(16))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return p.End()
}

func (p *Parser) qresyncParams() (*QResyncParams, error) {
	q := &QResyncParams{}
	if err := p.Expect('('); err != nil {
		return nil, err
	}
	var err error
	if q.UIDValidity, err = p.NzNumber(); err != nil {
		return nil, err
	}
	if err := p.SP(); err != nil {
		return nil, err
	}
	if q.ModSeq, err = p.Number64(); err != nil {
		return nil, err
	}
	if q.ModSeq == 0 {
		return nil, p.errf("QRESYNC mod-sequence must not be 0")
	}
	if p.Take(' ') {
		if p.peek() != '(' {
			set, err := p.NumSet(false)
			if err != nil {
				return nil, err
			}
			q.KnownUIDs = &set
			if !p.Take(' ') {
				return q, p.Expect(')')
			}
		}
		if err := p.Expect('('); err != nil {
			return nil, err
		}
		seqs, err := p.NumSet(false)
		if err != nil {
			return nil, err
		}
		if err := p.SP(); err != nil {
			return nil, err
		}
		uids, err := p.NumSet(false)
		if err != nil {
			return nil, err
		}
		q.KnownSeqs, q.KnownSeqUIDs = &seqs, &uids
		if err := p.Expect(')'); err != nil {
			return nil, err
		}
	}
	return q, p.Expect(')')
}

// parseCreate: mailbox [SP "(" "USE" SP "(" use-attr... ")" ")"] (RFC 6154 §3).
func (p *Parser) parseCreate(cmd *Command) error {
	if err := p.mailboxArg0(cmd); err != nil {
		return err
	}
	if p.Take(' ') {
		err := p.List(func() error {
			if !p.TakeWord("USE") {
				return p.errf("unknown CREATE parameter %q", p.rest(16))
			}
			if err := p.SP(); err != nil {
				return err
			}
			return p.List(func() error {
				if err := p.Expect('\\'); err != nil {
					return err
				}
				a, err := p.Atom()
				cmd.UseAttrs = append(cmd.UseAttrs, `\`+a)
				return err
			})
		})
		if err != nil {
			return err
		}
	}
	return p.End()
}

// parseList: LIST [SP list-select-opts] SP mailbox SP mbox-or-pat
// [SP list-return-opts] (RFC 5258 §6, RFC 5819, RFC 6154).
func (p *Parser) parseList(cmd *Command) error {
	l := &ListParams{}
	cmd.List = l
	if err := p.SP(); err != nil {
		return err
	}
	if p.peek() == '(' {
		l.Extended = true
		err := p.List(func() error {
			o, err := p.Atom()
			if err != nil {
				return err
			}
			switch strings.ToUpper(o) {
			case "SUBSCRIBED":
				l.SelectSubscribed = true
			case "REMOTE":
				l.SelectRemote = true
			case "RECURSIVEMATCH":
				l.SelectRecursive = true
			case "SPECIAL-USE":
				l.SelectSpecialUse = true
			default:
				// RFC 5258 §3: unrecognised selection options are errors.
				return p.errf("unknown LIST selection option %s", truncate(o, 32))
			}
			return nil
		})
		if err != nil {
			return err
		}
		if l.SelectRecursive && !l.SelectSubscribed && !l.SelectSpecialUse {
			// RFC 5258 §3: RECURSIVEMATCH alone is a syntax error.
			return p.errf("RECURSIVEMATCH needs another selection option")
		}
		if err := p.SP(); err != nil {
			return err
		}
	}
	ref, err := p.AString()
	if err != nil {
		return err
	}
	if l.Reference, err = p.DecodeMailbox(ref); err != nil {
		return err
	}
	if ref == "" {
		l.Reference = ""
	}
	if err := p.SP(); err != nil {
		return err
	}
	if p.peek() == '(' {
		l.Extended = true
		err := p.List(func() error {
			pat, err := p.ListMailbox()
			l.Patterns = append(l.Patterns, pat)
			return err
		})
		if err != nil {
			return err
		}
	} else {
		pat, err := p.ListMailbox()
		if err != nil {
			return err
		}
		l.Patterns = []string{pat}
	}
	if p.Take(' ') {
		if !p.TakeWord("RETURN") {
			return p.errf("expected RETURN at %q", p.rest(16))
		}
		if err := p.SP(); err != nil {
			return err
		}
		err := p.List(func() error {
			o, err := p.Atom()
			if err != nil {
				return err
			}
			switch strings.ToUpper(o) {
			case "SUBSCRIBED":
				l.ReturnSubscribed = true
			case "CHILDREN":
				l.ReturnChildren = true
			case "SPECIAL-USE":
				l.ReturnSpecialUse = true
			case "MYRIGHTS":
				l.ReturnMyRights = true
			case "STATUS":
				if err := p.SP(); err != nil {
					return err
				}
				l.ReturnStatus = []string{}
				return p.List(func() error {
					a, err := p.Atom()
					if err != nil {
						return err
					}
					a = strings.ToUpper(a)
					if !statusItems[a] {
						return p.errf("unknown STATUS item %s", truncate(a, 32))
					}
					l.ReturnStatus = append(l.ReturnStatus, a)
					return nil
				})
			default:
				return p.errf("unknown LIST return option %s", truncate(o, 32))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return p.End()
}
