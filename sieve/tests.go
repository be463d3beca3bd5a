package sieve

import (
	"strings"
)

// Compiling tests (RFC 5228 5, RFC 5231 relational, RFC 5260 date, RFC
// 5232 hasflag).

// matchTags are the comparator and match-type tags every string test takes.
var matchTags = tagSpec{"comparator": 1, "is": 0, "contains": 0, "matches": 0, "value": 1, "count": 1}

func withTags(base tagSpec, more tagSpec) tagSpec {
	out := tagSpec{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

// matcherOf reads the comparator and match type of a test.
func (c *compiler) matcherOf(n *node, pa parsedArgs) (matcher, error) {
	m := matcher{comparator: "i;ascii-casemap", typ: "is"}
	count := 0
	for _, t := range []string{"is", "contains", "matches", "value", "count"} {
		if !pa.has(t) {
			continue
		}
		count++
		m.typ = t
		if t == "value" || t == "count" {
			if err := c.need("relational", n.line, ":"+t); err != nil {
				return m, err
			}
			op, err := stringArg(pa.tags[t], n.line, ":"+t)
			if err != nil {
				return m, err
			}
			op = strings.ToLower(op)
			switch op {
			case "gt", "ge", "lt", "le", "eq", "ne":
			default:
				// RFC 5231 4: an unknown relational operator is an error.
				return m, errAt(n.line, "unknown relational operator %q", op)
			}
			m.rel = op
		}
	}
	if count > 1 {
		return m, errAt(n.line, "%s: more than one match type", n.name)
	}
	if pa.has("comparator") {
		cmp, err := stringArg(pa.tags["comparator"], n.line, ":comparator")
		if err != nil {
			return m, err
		}
		cmp = strings.ToLower(cmp)
		switch cmp {
		case "i;octet", "i;ascii-casemap":
		case "i;ascii-numeric":
			if err := c.need("comparator-i;ascii-numeric", n.line, "comparator i;ascii-numeric"); err != nil {
				return m, err
			}
			// RFC 4790 9.1: equality and ordering only.
			if m.typ == "contains" || m.typ == "matches" {
				return m, errAt(n.line, "comparator i;ascii-numeric cannot be used with :%s", m.typ)
			}
		default:
			return m, errAt(n.line, "unsupported comparator %q", cmp)
		}
		m.comparator = cmp
	}
	return m, nil
}

// keysAndNames reads the two positional string lists of header-like tests.
func twoLists(n *node, pa parsedArgs, first, second string) ([]string, []string, error) {
	if len(pa.pos) != 2 {
		return nil, nil, errAt(n.line, "%s takes %s and %s", n.name, first, second)
	}
	a, err := listArg(pa.pos[0], n.line, first)
	if err != nil {
		return nil, nil, err
	}
	b, err := listArg(pa.pos[1], n.line, second)
	return a, b, err
}

var dateParts = map[string]bool{"year": true, "month": true, "day": true, "date": true, "julian": true, "hour": true,
	"minute": true, "second": true, "time": true, "iso8601": true, "std11": true, "zone": true, "weekday": true}

func (c *compiler) test(n *node) (test, error) {
	if n.hasBlock {
		return nil, errAt(n.line, "a test takes no block")
	}
	switch n.name {
	case "true", "false":
		if len(n.args) > 0 || len(n.tests) > 0 {
			return nil, errAt(n.line, "%s takes no argument", n.name)
		}
		return boolTest{value: n.name == "true"}, nil
	case "not":
		if len(n.args) > 0 || len(n.tests) != 1 || n.list {
			return nil, errAt(n.line, "not takes one test")
		}
		t, err := c.test(n.tests[0])
		return notTest{t: t}, err
	case "allof", "anyof":
		if len(n.args) > 0 || !n.list {
			return nil, errAt(n.line, "%s takes a test list ( … )", n.name)
		}
		var ts []test
		for _, sub := range n.tests {
			t, err := c.test(sub)
			if err != nil {
				return nil, err
			}
			ts = append(ts, t)
		}
		if n.name == "allof" {
			return allofTest{tests: ts}, nil
		}
		return anyofTest{tests: ts}, nil
	}
	if len(n.tests) > 0 {
		return nil, errAt(n.line, "%s takes no test", n.name)
	}
	switch n.name {
	case "size":
		pa, err := splitArgs(n, tagSpec{"over": 0, "under": 0})
		if err != nil {
			return nil, err
		}
		if pa.has("over") == pa.has("under") || len(pa.pos) != 1 || pa.pos[0].kind != argNumber {
			return nil, errAt(n.line, "size takes :over or :under and a number")
		}
		return sizeTest{over: pa.has("over"), limit: pa.pos[0].num}, nil
	case "exists":
		if len(n.args) != 1 || n.args[0].kind != argStrings {
			return nil, errAt(n.line, "exists takes a list of header names")
		}
		return existsTest{names: n.args[0].strs}, nil
	case "header":
		pa, err := splitArgs(n, matchTags)
		if err != nil {
			return nil, err
		}
		m, err := c.matcherOf(n, pa)
		if err != nil {
			return nil, err
		}
		names, keys, err := twoLists(n, pa, "header names", "keys")
		return headerTest{names: names, keys: keys, m: m}, err
	case "address", "envelope":
		if n.name == "envelope" {
			if err := c.need("envelope", n.line, "envelope"); err != nil {
				return nil, err
			}
		}
		pa, err := splitArgs(n, withTags(matchTags, tagSpec{"all": 0, "localpart": 0, "domain": 0}))
		if err != nil {
			return nil, err
		}
		m, err := c.matcherOf(n, pa)
		if err != nil {
			return nil, err
		}
		part := "all"
		parts := 0
		for _, p := range []string{"all", "localpart", "domain"} {
			if pa.has(p) {
				part = p
				parts++
			}
		}
		if parts > 1 {
			return nil, errAt(n.line, "%s: more than one address part", n.name)
		}
		names, keys, err := twoLists(n, pa, "header names", "keys")
		if err != nil {
			return nil, err
		}
		if n.name == "envelope" {
			for i, p := range names {
				names[i] = strings.ToLower(p)
				if names[i] != "from" && names[i] != "to" {
					// RFC 5228 5.4: other envelope parts are an error.
					return nil, errAt(n.line, "envelope part %q is not from or to", p)
				}
			}
		}
		return addressTest{envelope: n.name == "envelope", names: names, part: part, keys: keys, m: m}, nil
	case "hasflag":
		if err := c.need("imap4flags", n.line, "hasflag"); err != nil {
			return nil, err
		}
		pa, err := splitArgs(n, matchTags)
		if err != nil {
			return nil, err
		}
		m, err := c.matcherOf(n, pa)
		if err != nil {
			return nil, err
		}
		if len(pa.pos) != 1 {
			return nil, errAt(n.line, "hasflag takes a list of flags (variables are not supported)")
		}
		keys, err := listArg(pa.pos[0], n.line, "flags")
		return hasflagTest{keys: keys, m: m}, err
	case "date", "currentdate":
		if err := c.need("date", n.line, n.name); err != nil {
			return nil, err
		}
		spec := withTags(matchTags, tagSpec{"zone": 1})
		if n.name == "date" {
			spec["originalzone"] = 0
		}
		pa, err := splitArgs(n, spec)
		if err != nil {
			return nil, err
		}
		m, err := c.matcherOf(n, pa)
		if err != nil {
			return nil, err
		}
		dt := dateTest{m: m, originalZone: pa.has("originalzone")}
		if pa.has("zone") {
			if dt.originalZone {
				return nil, errAt(n.line, ":zone and :originalzone together")
			}
			if dt.zone, err = stringArg(pa.tags["zone"], n.line, ":zone"); err != nil {
				return nil, err
			}
			if _, ok := parseZone(dt.zone); !ok {
				return nil, errAt(n.line, "zone %q is not +hhmm or -hhmm", dt.zone)
			}
		}
		want := 2
		if n.name == "date" {
			want = 3
		}
		if len(pa.pos) != want {
			return nil, errAt(n.line, "%s takes %d arguments", n.name, want)
		}
		if n.name == "date" {
			if dt.header, err = stringArg(pa.pos[0], n.line, "the header name"); err != nil {
				return nil, err
			}
			pa.pos = pa.pos[1:]
		}
		if dt.part, err = stringArg(pa.pos[0], n.line, "the date part"); err != nil {
			return nil, err
		}
		dt.part = strings.ToLower(dt.part)
		if !dateParts[dt.part] {
			return nil, errAt(n.line, "unknown date part %q", dt.part)
		}
		dt.keys, err = listArg(pa.pos[1], n.line, "keys")
		return dt, err
	}
	return nil, errAt(n.line, "unknown test %q", n.name)
}
