package sieve

import (
	"context"
	"fmt"
	"strings"
	"time"

	"congvu/internal/mailerr"
)

// The webmail's vacation page reads and writes a marked block of the
// user's active script, so ManageSieve clients see (and may edit) the same
// rule, and delivery applies it like any other:
//
//	# congvu-vacation-begin …
//	require ["vacation", "date", "relational"];
//	if allof (currentdate :zone "+0700" :value "ge" "date" "2025-06-01",
//	          currentdate :zone "+0700" :value "le" "date" "2025-06-15") {
//	    vacation :days 7 :subject "…" text:
//	…
//	.
//	;
//	}
//	# congvu-vacation-end
//
// A turned-off vacation keeps its text under "if false", so turning it on
// again finds it. With no active script, one named ManagedScript is made.

const (
	blockBegin = "# congvu-vacation-begin (trang Trả lời tự động / the web's vacation settings)"
	blockEnd   = "# congvu-vacation-end"
	// ManagedScript is the script created for a user who has none.
	ManagedScript = "congvu"
)

// vacationZone is the zone of the web's dates (Asia/Ho_Chi_Minh, no DST).
const vacationZone = "+0700"

var _ Settings = (*Store)(nil)

// Vacation returns the vacation the web set in the active script.
func (s *Store) Vacation(ctx context.Context, user string) (Vacation, error) {
	name, _, err := s.Active(user)
	if err != nil && name == "" {
		return Vacation{}, err
	}
	if name == "" {
		return Vacation{}, nil
	}
	src, err := s.Get(user, name)
	if err != nil {
		return Vacation{}, err
	}
	block, _, _, ok := findBlock(src)
	if !ok {
		return Vacation{}, nil
	}
	return parseBlock(block)
}

// SetVacation writes v into the active script (creating one if needed)
// and makes it active.
func (s *Store) SetVacation(ctx context.Context, user string, v Vacation) error {
	v.Subject = sanitizeLine(v.Subject)
	v.Body = strings.ReplaceAll(v.Body, "\r\n", "\n")
	if v.Enabled && strings.TrimSpace(v.Body) == "" {
		return mailerr.ErrCannotDo.WithMessage("The vacation message is empty", "Chưa có nội dung thư trả lời tự động")
	}
	if !v.Start.IsZero() && !v.End.IsZero() && v.End.Before(v.Start) {
		return mailerr.ErrCannotDo.WithMessage("The end date is before the start date", "Ngày kết thúc trước ngày bắt đầu")
	}
	if len(v.Body) > s.limits.MaxScriptBytes/2 {
		return ErrScriptTooBig
	}
	unlock := s.settingsLock(user)
	defer unlock()
	name, _, _ := s.Active(user)
	src := ""
	if name == "" {
		name = ManagedScript
		if existing, err := s.Get(user, name); err == nil {
			src = existing
		}
	} else {
		var err error
		if src, err = s.Get(user, name); err != nil {
			return err
		}
	}
	if _, start, end, ok := findBlock(src); ok {
		src = src[:start] + strings.TrimPrefix(src[end:], "\n")
	}
	at, err := insertionPoint(src)
	if err != nil {
		return ErrBadScript.With(err)
	}
	block := renderBlock(v)
	prefix := src[:at]
	if prefix != "" && !strings.HasSuffix(prefix, "\n") {
		prefix += "\n"
	}
	out := prefix + block + strings.TrimPrefix(src[at:], "\n")
	if err := s.Put(user, name, out); err != nil {
		return err
	}
	return s.SetActive(user, name)
}

// settingsLock serialises read-modify-write of one user's vacation.
func (s *Store) settingsLock(user string) func() {
	// The store's own per-user lock is taken by Put and SetActive; a
	// second stripe set keeps this one from deadlocking with them.
	return s.lockSettings(user)
}

// findBlock locates the marked block: its text and byte range.
func findBlock(src string) (block string, start, end int, ok bool) {
	start = strings.Index(src, blockBegin)
	if start < 0 {
		return "", 0, 0, false
	}
	rel := strings.Index(src[start:], blockEnd)
	if rel < 0 {
		return "", 0, 0, false
	}
	end = start + rel + len(blockEnd)
	return src[start:end], start, end, true
}

// insertionPoint is the offset after the script's leading require
// commands (RFC 5228 3.2: require comes first).
func insertionPoint(src string) (int, error) {
	nodes, err := parse(src)
	if err != nil {
		return 0, err
	}
	at := 0
	for _, n := range nodes {
		if n.name != "require" {
			break
		}
		at = n.end
	}
	return at, nil
}

func quoteString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// multilineString writes s as a text: string, dot-stuffed (RFC 5228 2.4.2).
func multilineString(s string) string {
	var b strings.Builder
	b.WriteString("text:\n")
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if strings.HasPrefix(line, ".") {
			b.WriteByte('.')
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	b.WriteString(".\n")
	return b.String()
}

func renderBlock(v Vacation) string {
	var cond string
	var parts []string
	if !v.Start.IsZero() {
		parts = append(parts, fmt.Sprintf(`currentdate :zone %q :value "ge" "date" %q`, vacationZone, v.Start.Format("2006-01-02")))
	}
	if !v.End.IsZero() {
		parts = append(parts, fmt.Sprintf(`currentdate :zone %q :value "le" "date" %q`, vacationZone, v.End.Format("2006-01-02")))
	}
	switch {
	case !v.Enabled:
		cond = "false"
	case len(parts) == 0:
		cond = "true"
	case len(parts) == 1:
		cond = parts[0]
	default:
		cond = "allof (" + strings.Join(parts, ",\n          ") + ")"
	}
	var b strings.Builder
	b.WriteString(blockBegin + "\n")
	b.WriteString(`require ["vacation", "date", "relational"];` + "\n")
	b.WriteString("if " + cond + " {\n    vacation")
	if v.Days > 0 {
		fmt.Fprintf(&b, " :days %d", v.Days)
	}
	if v.Subject != "" {
		b.WriteString(" :subject " + quoteString(v.Subject))
	}
	body := v.Body
	if body == "" {
		body = " "
	}
	b.WriteString(" " + multilineString(body) + ";\n}\n" + blockEnd + "\n")
	return b.String()
}

// parseBlock reads a Vacation back from the block the web wrote (or a
// client edited): the first if with a vacation inside it.
func parseBlock(block string) (Vacation, error) {
	sc, err := Compile(block)
	if err != nil {
		return Vacation{}, ErrBadScript.With(err)
	}
	var v Vacation
	for _, c := range sc.cmds {
		ic, ok := c.(*ifCommand)
		if !ok || len(ic.tests) == 0 || len(ic.blocks[0]) == 0 {
			continue
		}
		vc, ok := ic.blocks[0][0].(vacationCommand)
		if !ok {
			continue
		}
		v.Subject, v.Body, v.Days = vc.subject, strings.TrimRight(strings.ReplaceAll(vc.reason, "\r\n", "\n"), "\n"), vc.days
		if v.Body == " " {
			v.Body = ""
		}
		t := ic.tests[0]
		if bt, ok := t.(boolTest); ok {
			v.Enabled = bt.value
			return v, nil
		}
		v.Enabled = true
		var dates []test
		switch t := t.(type) {
		case allofTest:
			dates = t.tests
		default:
			dates = []test{t}
		}
		for _, dt := range dates {
			d, ok := dt.(dateTest)
			if !ok || d.header != "" || d.part != "date" || len(d.keys) != 1 || d.m.typ != "value" {
				continue
			}
			day, err := time.ParseInLocation("2006-01-02", d.keys[0], time.FixedZone("ICT", 7*3600))
			if err != nil {
				continue
			}
			switch d.m.rel {
			case "ge":
				v.Start = day
			case "le":
				v.End = day
			}
		}
		return v, nil
	}
	return v, nil
}
