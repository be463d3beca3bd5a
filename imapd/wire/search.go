package wire

import (
	"strings"
	"time"
)

// SearchOp names a search key (RFC 9051 §6.4.4 and extensions).
type SearchOp uint8

const (
	SearchAnd SearchOp = iota // Sub all match; a parenthesised list or the top level
	SearchAll
	SearchFlag    // Str is a system flag or keyword that must be set
	SearchNotFlag // Str must not be set
	SearchNew     // \Recent and not \Seen (RFC 3501)
	SearchOld     // not \Recent (RFC 3501)
	SearchRecent  // \Recent (RFC 3501)
	SearchHeader  // Field contains Str; FROM, TO, CC, BCC, SUBJECT map here
	SearchBody
	SearchText
	SearchBefore // internal date, calendar day (Date)
	SearchOn
	SearchSince
	SearchSentBefore // Date: header
	SearchSentOn
	SearchSentSince
	SearchLarger // Num
	SearchSmaller
	SearchUID // Set
	SearchSeq // Set
	SearchNot // Sub[0]
	SearchOr  // Sub[0] or Sub[1]
	SearchModSeq
	SearchOlder   // WITHIN (RFC 5032): internal date older than Num seconds
	SearchYounger // internal date within Num seconds
)

// SearchKey is a node of a search program.
type SearchKey struct {
	Op    SearchOp
	Str   string
	Field string // header field name, canonical case as sent
	Date  time.Time
	Num   uint64
	Set   NumSet
	Sub   []SearchKey
}

// SearchParams are SEARCH, SORT and THREAD arguments.
type SearchParams struct {
	// Return is the ESEARCH/ESORT result options (RFC 4731, RFC 5267):
	// MIN, MAX, ALL, COUNT, SAVE. Nil: plain SEARCH/SORT response.
	Return  []string
	Charset string
	Key     SearchKey
	// SORT (RFC 5256, RFC 5957): criteria in order.
	Sort []SortCriterion
	// THREAD algorithm, upper case.
	Thread string
}

// SortCriterion is one SORT key, e.g. REVERSE DATE.
type SortCriterion struct {
	Key     string
	Reverse bool
}

var searchReturnOpts = map[string]bool{"MIN": true, "MAX": true, "ALL": true, "COUNT": true, "SAVE": true}

// parseSearch: SEARCH [SP search-return-opts] [SP "CHARSET" SP charset]
// 1*(SP search-key).
func (p *Parser) parseSearch(cmd *Command) error {
	s := &SearchParams{}
	cmd.Search = s
	if err := p.SP(); err != nil {
		return err
	}
	if p.TakeWord("RETURN") {
		if err := p.returnOpts(s); err != nil {
			return err
		}
		if err := p.SP(); err != nil {
			return err
		}
	}
	if p.TakeWord("CHARSET") {
		if err := p.SP(); err != nil {
			return err
		}
		cs, err := p.AString()
		if err != nil {
			return err
		}
		s.Charset = strings.ToUpper(cs)
		if err := p.SP(); err != nil {
			return err
		}
	}
	return p.searchProgram(s)
}

func (p *Parser) returnOpts(s *SearchParams) error {
	if err := p.SP(); err != nil {
		return err
	}
	s.Return = []string{}
	return p.List(func() error {
		o, err := p.Atom()
		if err != nil {
			return err
		}
		o = strings.ToUpper(o)
		if !searchReturnOpts[o] {
			return p.errf("unknown search return option %s", truncate(o, 32))
		}
		s.Return = append(s.Return, o)
		return nil
	})
}

// searchProgram parses 1*(search-key) separated by spaces up to the end.
func (p *Parser) searchProgram(s *SearchParams) error {
	s.Key = SearchKey{Op: SearchAnd}
	for {
		k, err := p.searchKey()
		if err != nil {
			return err
		}
		s.Key.Sub = append(s.Key.Sub, k)
		if !p.Take(' ') {
			break
		}
	}
	return p.End()
}

var flagKeys = map[string]struct {
	op   SearchOp
	flag string
}{
	"ANSWERED": {SearchFlag, `\Answered`}, "DELETED": {SearchFlag, `\Deleted`}, "DRAFT": {SearchFlag, `\Draft`},
	"FLAGGED": {SearchFlag, `\Flagged`}, "SEEN": {SearchFlag, `\Seen`},
	"UNANSWERED": {SearchNotFlag, `\Answered`}, "UNDELETED": {SearchNotFlag, `\Deleted`},
	"UNDRAFT": {SearchNotFlag, `\Draft`}, "UNFLAGGED": {SearchNotFlag, `\Flagged`}, "UNSEEN": {SearchNotFlag, `\Seen`},
}

var headerKeys = map[string]string{"BCC": "Bcc", "CC": "Cc", "FROM": "From", "SUBJECT": "Subject", "TO": "To"}

var dateKeys = map[string]SearchOp{"BEFORE": SearchBefore, "ON": SearchOn, "SINCE": SearchSince,
	"SENTBEFORE": SearchSentBefore, "SENTON": SearchSentOn, "SENTSINCE": SearchSentSince}

func (p *Parser) searchKey() (SearchKey, error) {
	if err := p.enter(); err != nil {
		return SearchKey{}, err
	}
	defer p.leave()
	if p.peek() == '(' {
		k := SearchKey{Op: SearchAnd}
		err := p.List(func() error {
			sub, err := p.searchKey()
			k.Sub = append(k.Sub, sub)
			return err
		})
		if err == nil && len(k.Sub) == 0 {
			err = p.errf("empty search key list")
		}
		return k, err
	}
	if p.isNumSetStart() {
		set, err := p.NumSet(true)
		return SearchKey{Op: SearchSeq, Set: set}, err
	}
	word, err := p.Atom()
	if err != nil {
		return SearchKey{}, err
	}
	word = strings.ToUpper(word)
	if f, ok := flagKeys[word]; ok {
		return SearchKey{Op: f.op, Str: f.flag}, nil
	}
	switch word {
	case "ALL":
		return SearchKey{Op: SearchAll}, nil
	case "NEW":
		return SearchKey{Op: SearchNew}, nil
	case "OLD":
		return SearchKey{Op: SearchOld}, nil
	case "RECENT":
		return SearchKey{Op: SearchRecent}, nil
	case "KEYWORD", "UNKEYWORD":
		if err := p.SP(); err != nil {
			return SearchKey{}, err
		}
		kw, err := p.Flag()
		op := SearchFlag
		if word == "UNKEYWORD" {
			op = SearchNotFlag
		}
		return SearchKey{Op: op, Str: kw}, err
	case "BODY", "TEXT":
		s, err := p.spAString()
		op := SearchBody
		if word == "TEXT" {
			op = SearchText
		}
		return SearchKey{Op: op, Str: s}, err
	case "HEADER":
		field, err := p.spAString()
		if err != nil {
			return SearchKey{}, err
		}
		s, err := p.spAString()
		return SearchKey{Op: SearchHeader, Field: field, Str: s}, err
	case "LARGER", "SMALLER", "OLDER", "YOUNGER":
		if err := p.SP(); err != nil {
			return SearchKey{}, err
		}
		n, err := p.Number64()
		op := map[string]SearchOp{"LARGER": SearchLarger, "SMALLER": SearchSmaller, "OLDER": SearchOlder, "YOUNGER": SearchYounger}[word]
		if err == nil && (op == SearchOlder || op == SearchYounger) && n == 0 {
			err = p.errf("%s needs a positive interval", word)
		}
		return SearchKey{Op: op, Num: n}, err
	case "UID":
		if err := p.SP(); err != nil {
			return SearchKey{}, err
		}
		set, err := p.NumSet(true)
		return SearchKey{Op: SearchUID, Set: set}, err
	case "NOT":
		if err := p.SP(); err != nil {
			return SearchKey{}, err
		}
		sub, err := p.searchKey()
		return SearchKey{Op: SearchNot, Sub: []SearchKey{sub}}, err
	case "OR":
		if err := p.SP(); err != nil {
			return SearchKey{}, err
		}
		a, err := p.searchKey()
		if err != nil {
			return SearchKey{}, err
		}
		if err := p.SP(); err != nil {
			return SearchKey{}, err
		}
		b, err := p.searchKey()
		return SearchKey{Op: SearchOr, Sub: []SearchKey{a, b}}, err
	case "MODSEQ":
		// RFC 7162 §3.1.5: MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer.
		if err := p.SP(); err != nil {
			return SearchKey{}, err
		}
		if p.peek() == '"' {
			if _, err := p.String(); err != nil {
				return SearchKey{}, err
			}
			if err := p.SP(); err != nil {
				return SearchKey{}, err
			}
			t, err := p.Atom()
			if err != nil {
				return SearchKey{}, err
			}
			switch strings.ToLower(t) {
			case "priv", "shared", "all":
			default:
				return SearchKey{}, p.errf("invalid MODSEQ entry type %s", truncate(t, 16))
			}
			if err := p.SP(); err != nil {
				return SearchKey{}, err
			}
		}
		n, err := p.Number64()
		return SearchKey{Op: SearchModSeq, Num: n}, err
	}
	if h, ok := headerKeys[word]; ok {
		s, err := p.spAString()
		return SearchKey{Op: SearchHeader, Field: h, Str: s}, err
	}
	if op, ok := dateKeys[word]; ok {
		if err := p.SP(); err != nil {
			return SearchKey{}, err
		}
		d, err := p.Date()
		return SearchKey{Op: op, Date: d}, err
	}
	return SearchKey{}, p.errf("unknown search key %s", truncate(word, 32))
}

func (p *Parser) spAString() (string, error) {
	if err := p.SP(); err != nil {
		return "", err
	}
	return p.AString()
}

var sortKeys = map[string]bool{"ARRIVAL": true, "CC": true, "DATE": true, "FROM": true, "SIZE": true,
	"SUBJECT": true, "TO": true, "DISPLAYFROM": true, "DISPLAYTO": true}

// parseSort: SORT [SP sort-return-opts] SP sort-criteria SP charset
// 1*(SP search-key) (RFC 5256 §4, RFC 5267 ESORT, RFC 5957).
func (p *Parser) parseSort(cmd *Command) error {
	s := &SearchParams{}
	cmd.Search = s
	if err := p.SP(); err != nil {
		return err
	}
	if p.TakeWord("RETURN") {
		if err := p.returnOpts(s); err != nil {
			return err
		}
		if err := p.SP(); err != nil {
			return err
		}
	}
	if err := p.List(func() error {
		c := SortCriterion{}
		if p.TakeWord("REVERSE") {
			c.Reverse = true
			if err := p.SP(); err != nil {
				return err
			}
		}
		k, err := p.Atom()
		if err != nil {
			return err
		}
		c.Key = strings.ToUpper(k)
		if !sortKeys[c.Key] {
			return p.errf("unknown sort key %s", truncate(c.Key, 32))
		}
		s.Sort = append(s.Sort, c)
		return nil
	}); err != nil {
		return err
	}
	if len(s.Sort) == 0 {
		return p.errf("empty sort criteria")
	}
	return p.charsetAndProgram(s)
}

func (p *Parser) charsetAndProgram(s *SearchParams) error {
	cs, err := p.spAString()
	if err != nil {
		return err
	}
	s.Charset = strings.ToUpper(cs)
	if err := p.SP(); err != nil {
		return err
	}
	return p.searchProgram(s)
}

// parseThread: THREAD SP thread-alg SP search-charset 1*(SP search-key).
func (p *Parser) parseThread(cmd *Command) error {
	s := &SearchParams{}
	cmd.Search = s
	if err := p.SP(); err != nil {
		return err
	}
	alg, err := p.Atom()
	if err != nil {
		return err
	}
	s.Thread = strings.ToUpper(alg)
	return p.charsetAndProgram(s)
}
