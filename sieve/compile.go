package sieve

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// compile checks a parsed script against the commands and tests we
// implement and turns it into a program (RFC 5228 2.10.5: an invalid
// script is refused as a whole when it is stored, never half-run).

// Capabilities are the extensions a script may require, as ManageSieve
// announces them in its SIEVE capability (RFC 5804 1.7).
var Capabilities = []string{
	"fileinto", "envelope", "imap4flags", "vacation", "copy", "mailbox", "relational", "date",
	"comparator-i;ascii-numeric",
}

func knownCapability(c string) bool {
	switch c {
	case "comparator-i;octet", "comparator-i;ascii-casemap":
		return true // always there (RFC 5228 2.7.3)
	}
	for _, k := range Capabilities {
		if k == c {
			return true
		}
	}
	return false
}

// Script is a compiled Sieve script.
type Script struct {
	cmds     []command
	requires map[string]bool
}

type command interface{ isCommand() }

type (
	ifCommand struct {
		tests  []test      // if, elsif…
		blocks [][]command // their blocks
		orElse []command   // else, or nil
	}
	stopCommand     struct{}
	discardCommand  struct{}
	keepCommand     struct{ flags *[]string }
	fileintoCommand struct {
		folder       string
		copy, create bool
		flags        *[]string
	}
	redirectCommand struct {
		address string
		copy    bool
	}
	flagCommand struct {
		op    flagOp
		flags []string
	}
	vacationCommand struct {
		days      int // 0: not given
		subject   string
		from      string
		addresses []string
		mime      bool
		handle    string
		reason    string
	}
)

type flagOp int

const (
	flagSet flagOp = iota
	flagAdd
	flagRemove
)

func (ifCommand) isCommand()       {}
func (stopCommand) isCommand()     {}
func (discardCommand) isCommand()  {}
func (keepCommand) isCommand()     {}
func (fileintoCommand) isCommand() {}
func (redirectCommand) isCommand() {}
func (flagCommand) isCommand()     {}
func (vacationCommand) isCommand() {}

type test interface{ isTest() }

type (
	boolTest  struct{ value bool }
	notTest   struct{ t test }
	allofTest struct{ tests []test }
	anyofTest struct{ tests []test }
	sizeTest  struct {
		over  bool
		limit int64
	}
	existsTest struct{ names []string }
	headerTest struct {
		names []string
		keys  []string
		m     matcher
	}
	addressTest struct {
		envelope bool // envelope test: names are "from"/"to"
		names    []string
		part     string // "all", "localpart", "domain"
		keys     []string
		m        matcher
	}
	hasflagTest struct {
		keys []string
		m    matcher
	}
	dateTest struct {
		header       string // "" for currentdate
		zone         string // "+hhmm", "" = default
		originalZone bool
		part         string
		keys         []string
		m            matcher
	}
)

func (boolTest) isTest()    {}
func (notTest) isTest()     {}
func (allofTest) isTest()   {}
func (anyofTest) isTest()   {}
func (sizeTest) isTest()    {}
func (existsTest) isTest()  {}
func (headerTest) isTest()  {}
func (addressTest) isTest() {}
func (hasflagTest) isTest() {}
func (dateTest) isTest()    {}

// Compile parses and checks a script.
func Compile(src string) (*Script, error) {
	if !utf8.ValidString(src) {
		return nil, &SyntaxError{Line: 1, Msg: "script is not UTF-8"}
	}
	nodes, err := parse(src)
	if err != nil {
		return nil, err
	}
	c := &compiler{requires: map[string]bool{}}
	cmds, err := c.commands(nodes, true)
	if err != nil {
		return nil, err
	}
	return &Script{cmds: cmds, requires: c.requires}, nil
}

type compiler struct {
	requires map[string]bool
}

func errAt(line int, format string, args ...any) error {
	return &SyntaxError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// args splits a node's arguments into tags (with the arguments that follow
// those tags that take one) and positional arguments.
type tagSpec map[string]int // tag → number of arguments it takes (0 or 1)

type parsedArgs struct {
	tags map[string]arg // tag → its argument (zero arg for flags)
	pos  []arg
}

func splitArgs(n *node, spec tagSpec) (parsedArgs, error) {
	pa := parsedArgs{tags: map[string]arg{}}
	for i := 0; i < len(n.args); i++ {
		a := n.args[i]
		if a.kind != argTag {
			pa.pos = append(pa.pos, a)
			continue
		}
		if len(pa.pos) > 0 {
			return pa, errAt(a.line, "%s: tag :%s after a positional argument", n.name, a.tag)
		}
		takes, ok := spec[a.tag]
		if !ok {
			return pa, errAt(a.line, "%s: unknown tag :%s", n.name, a.tag)
		}
		if _, dup := pa.tags[a.tag]; dup {
			return pa, errAt(a.line, "%s: tag :%s given twice", n.name, a.tag)
		}
		var param arg
		if takes > 0 {
			if i+1 >= len(n.args) || n.args[i+1].kind == argTag {
				return pa, errAt(a.line, "%s: tag :%s needs an argument", n.name, a.tag)
			}
			i++
			param = n.args[i]
		}
		pa.tags[a.tag] = param
	}
	return pa, nil
}

func (c *compiler) need(ext string, line int, what string) error {
	if !c.requires[ext] {
		return errAt(line, "%s needs require %q", what, ext)
	}
	return nil
}

func (pa parsedArgs) has(t string) bool { _, ok := pa.tags[t]; return ok }

func stringArg(a arg, line int, what string) (string, error) {
	if a.kind != argStrings || len(a.strs) != 1 || a.isList {
		return "", errAt(line, "%s must be a string", what)
	}
	return a.strs[0], nil
}

func listArg(a arg, line int, what string) ([]string, error) {
	if a.kind != argStrings {
		return nil, errAt(line, "%s must be a string or string list", what)
	}
	return a.strs, nil
}

func noTests(n *node) error {
	if len(n.tests) > 0 {
		return errAt(n.line, "%s takes no test", n.name)
	}
	return nil
}

func (c *compiler) commands(nodes []*node, top bool) ([]command, error) {
	var out []command
	requireAllowed := top
	for i := 0; i < len(nodes); i++ {
		n := nodes[i]
		if n.name != "require" {
			requireAllowed = false
		}
		if n.hasBlock && n.name != "if" && n.name != "elsif" && n.name != "else" {
			return nil, errAt(n.line, "%s takes no block", n.name)
		}
		switch n.name {
		case "require":
			// RFC 5228 3.2: only at the start of the script.
			if !requireAllowed {
				return nil, errAt(n.line, "require must come before any other command")
			}
			if len(n.args) != 1 || n.args[0].kind != argStrings {
				return nil, errAt(n.line, "require takes a string list")
			}
			if err := noTests(n); err != nil {
				return nil, err
			}
			for _, ext := range n.args[0].strs {
				ext = strings.ToLower(ext)
				if !knownCapability(ext) {
					return nil, errAt(n.line, "unsupported extension %q", ext)
				}
				c.requires[ext] = true
			}
		case "if":
			ic := &ifCommand{}
			for {
				if !n.hasBlock || len(n.tests) != 1 || n.list || len(n.args) > 0 {
					return nil, errAt(n.line, "%s needs one test and a block", n.name)
				}
				t, err := c.test(n.tests[0])
				if err != nil {
					return nil, err
				}
				block, err := c.commands(n.block, false)
				if err != nil {
					return nil, err
				}
				ic.tests, ic.blocks = append(ic.tests, t), append(ic.blocks, block)
				if i+1 < len(nodes) && nodes[i+1].name == "elsif" {
					i++
					n = nodes[i]
					continue
				}
				break
			}
			if i+1 < len(nodes) && nodes[i+1].name == "else" {
				i++
				e := nodes[i]
				if !e.hasBlock || len(e.tests) > 0 || len(e.args) > 0 {
					return nil, errAt(e.line, "else takes only a block")
				}
				block, err := c.commands(e.block, false)
				if err != nil {
					return nil, err
				}
				ic.orElse = block
				if ic.orElse == nil {
					ic.orElse = []command{}
				}
			}
			out = append(out, ic)
		case "elsif", "else":
			return nil, errAt(n.line, "%s without if", n.name)
		default:
			cmd, err := c.action(n)
			if err != nil {
				return nil, err
			}
			out = append(out, cmd)
		}
	}
	return out, nil
}

func (c *compiler) action(n *node) (command, error) {
	if err := noTests(n); err != nil {
		return nil, err
	}
	flagsTag := func(pa parsedArgs) (*[]string, error) {
		if !pa.has("flags") {
			return nil, nil
		}
		if err := c.need("imap4flags", n.line, ":flags"); err != nil {
			return nil, err
		}
		fl, err := listArg(pa.tags["flags"], n.line, ":flags")
		if err != nil {
			return nil, err
		}
		fl = normalizeFlags(fl)
		return &fl, nil
	}
	switch n.name {
	case "stop", "discard":
		if len(n.args) > 0 {
			return nil, errAt(n.line, "%s takes no argument", n.name)
		}
		if n.name == "stop" {
			return stopCommand{}, nil
		}
		return discardCommand{}, nil
	case "keep":
		pa, err := splitArgs(n, tagSpec{"flags": 1})
		if err != nil {
			return nil, err
		}
		if len(pa.pos) > 0 {
			return nil, errAt(n.line, "keep takes no positional argument")
		}
		fl, err := flagsTag(pa)
		return keepCommand{flags: fl}, err
	case "fileinto":
		if err := c.need("fileinto", n.line, "fileinto"); err != nil {
			return nil, err
		}
		pa, err := splitArgs(n, tagSpec{"flags": 1, "copy": 0, "create": 0})
		if err != nil {
			return nil, err
		}
		if pa.has("copy") {
			if err := c.need("copy", n.line, ":copy"); err != nil {
				return nil, err
			}
		}
		if pa.has("create") {
			if err := c.need("mailbox", n.line, ":create"); err != nil {
				return nil, err
			}
		}
		if len(pa.pos) != 1 {
			return nil, errAt(n.line, "fileinto takes one folder name")
		}
		folder, err := stringArg(pa.pos[0], n.line, "the folder")
		if err != nil {
			return nil, err
		}
		if folder == "" {
			return nil, errAt(n.line, "fileinto: empty folder name")
		}
		fl, err := flagsTag(pa)
		return fileintoCommand{folder: folder, copy: pa.has("copy"), create: pa.has("create"), flags: fl}, err
	case "redirect":
		pa, err := splitArgs(n, tagSpec{"copy": 0})
		if err != nil {
			return nil, err
		}
		if pa.has("copy") {
			if err := c.need("copy", n.line, ":copy"); err != nil {
				return nil, err
			}
		}
		if len(pa.pos) != 1 {
			return nil, errAt(n.line, "redirect takes one address")
		}
		addr, err := stringArg(pa.pos[0], n.line, "the address")
		if err != nil {
			return nil, err
		}
		// RFC 5228 4.2: a syntactically invalid address is an error.
		a, perr := mail.ParseAddress(addr)
		if perr != nil || !strings.Contains(a.Address, "@") {
			return nil, errAt(n.line, "redirect: %q is not an e-mail address", addr)
		}
		return redirectCommand{address: strings.ToLower(a.Address), copy: pa.has("copy")}, nil
	case "setflag", "addflag", "removeflag":
		if err := c.need("imap4flags", n.line, n.name); err != nil {
			return nil, err
		}
		if len(n.args) != 1 || n.args[0].kind != argStrings {
			return nil, errAt(n.line, "%s takes a list of flags (variables are not supported)", n.name)
		}
		op := map[string]flagOp{"setflag": flagSet, "addflag": flagAdd, "removeflag": flagRemove}[n.name]
		return flagCommand{op: op, flags: normalizeFlags(n.args[0].strs)}, nil
	case "vacation":
		return c.vacation(n)
	}
	return nil, errAt(n.line, "unknown command %q", n.name)
}

func (c *compiler) vacation(n *node) (command, error) {
	if err := c.need("vacation", n.line, "vacation"); err != nil {
		return nil, err
	}
	pa, err := splitArgs(n, tagSpec{"days": 1, "subject": 1, "from": 1, "addresses": 1, "mime": 0, "handle": 1})
	if err != nil {
		return nil, err
	}
	if len(pa.pos) != 1 {
		return nil, errAt(n.line, "vacation takes one reason")
	}
	v := vacationCommand{mime: pa.has("mime")}
	if v.reason, err = stringArg(pa.pos[0], n.line, "the reason"); err != nil {
		return nil, err
	}
	if pa.has("days") {
		d := pa.tags["days"]
		if d.kind != argNumber {
			return nil, errAt(n.line, ":days takes a number")
		}
		v.days = int(min(d.num, 3650))
		if v.days < 1 {
			v.days = 1 // RFC 5230 4.1: at least one day
		}
	}
	for tag, dst := range map[string]*string{"subject": &v.subject, "from": &v.from, "handle": &v.handle} {
		if pa.has(tag) {
			if *dst, err = stringArg(pa.tags[tag], n.line, ":"+tag); err != nil {
				return nil, err
			}
		}
	}
	if v.from != "" {
		// RFC 5230 4.4: an invalid :from is an error.
		if _, err := mail.ParseAddress(v.from); err != nil {
			return nil, errAt(n.line, "vacation :from %q is not an address", v.from)
		}
	}
	if pa.has("addresses") {
		if v.addresses, err = listArg(pa.tags["addresses"], n.line, ":addresses"); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// normalizeFlags splits space-separated flags (RFC 5232 3: each string
// may hold several) and drops duplicates, keeping the case of the first.
func normalizeFlags(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range in {
		for _, f := range strings.Fields(s) {
			k := strings.ToLower(f)
			if !seen[k] {
				seen[k] = true
				out = append(out, f)
			}
		}
	}
	return out
}
