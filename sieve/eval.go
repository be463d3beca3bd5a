package sieve

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"

	"congvu/internal/maildate"
)

// Running a compiled script against one message for one recipient (RFC
// 5228 2.10): the result is the list of actions to take, with the implicit
// keep (2.10.2) already decided.

// Message is a message as a script sees it: its header, its size and its
// envelope.
type Message struct {
	Header textproto.Header
	Size   int64
	// EnvelopeFrom is the reverse-path, "" for the null sender.
	EnvelopeFrom string
	// EnvelopeTo is the recipient's address as given in RCPT TO.
	EnvelopeTo string
	// Received is the delivery time (for currentdate).
	Received time.Time
}

// maxHeaderBytes bounds the header block a script looks at.
const maxHeaderBytes = 256 << 10

// ParseMessage reads the header block at the start of r.
func ParseMessage(r io.Reader, size int64, from, to string) (*Message, error) {
	br := bufio.NewReader(io.LimitReader(r, maxHeaderBytes))
	h, err := textproto.ReadHeader(br)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		// A malformed header still gets the rules it can: the fields
		// read so far.
		h = textproto.Header{}
	}
	return &Message{Header: h, Size: size, EnvelopeFrom: from, EnvelopeTo: to, Received: time.Now()}, nil
}

// ActionKind says what an action does.
type ActionKind int

const (
	ActionKeep     ActionKind = iota // store in the default folder (INBOX or Junk)
	ActionFileInto                   // store in Folder
	ActionRedirect                   // send to Address
	ActionVacation                   // consider an auto-reply
)

// Action is one thing delivery must do.
type Action struct {
	Kind     ActionKind
	Folder   string   // fileinto
	Create   bool     // fileinto :create
	Flags    []string // keep and fileinto
	Address  string   // redirect
	Vacation *VacationRequest
}

// VacationRequest is a vacation action as the script gave it (RFC 5230 4).
type VacationRequest struct {
	Days      int // 0: the configured default
	Subject   string
	From      string
	Addresses []string
	MIME      bool
	Handle    string
	Reason    string
}

// Result is the outcome of running a script.
type Result struct {
	Actions []Action
	// Err is a run-time error (RFC 5228 2.10.6): Actions then holds only
	// the implicit keep.
	Err error
}

// Options bound a run.
type Options struct {
	MaxRedirects int
	// Location is the default zone of date tests; nil is UTC.
	Location *time.Location
}

type run struct {
	msg     *Message
	opts    Options
	flags   []string // the imap4flags internal variable
	actions []Action
	// keepCancelled is set by fileinto, redirect (without :copy) and
	// discard (RFC 5228 2.10.2).
	keepCancelled bool
	explicitKeep  bool
	stopped       bool
	redirects     int
	vacation      bool
	headerCache   map[string][]string
}

// Run executes s for msg.
func (s *Script) Run(msg *Message, opts Options) Result {
	r := &run{msg: msg, opts: opts, headerCache: map[string][]string{}}
	if r.opts.Location == nil {
		r.opts.Location = time.UTC
	}
	err := r.block(s.cmds)
	if err != nil {
		// RFC 5228 2.10.6: on a run-time error, keep the message and
		// take no other action.
		return Result{Actions: []Action{{Kind: ActionKeep, Flags: r.flags}}, Err: err}
	}
	if !r.keepCancelled && !r.explicitKeep {
		r.actions = append(r.actions, Action{Kind: ActionKeep, Flags: r.flags})
	}
	return Result{Actions: dedupe(r.actions)}
}

// dedupe drops a second store into the same folder (RFC 5228 2.10.3) and
// a second redirect to the same address.
func dedupe(in []Action) []Action {
	seen := map[string]bool{}
	var out []Action
	for _, a := range in {
		var key string
		switch a.Kind {
		case ActionKeep:
			key = "store\x00"
		case ActionFileInto:
			key = "store\x00" + a.Folder
			if strings.EqualFold(a.Folder, "INBOX") {
				key = "store\x00inbox"
			}
		case ActionRedirect:
			key = "redirect\x00" + a.Address
		}
		if key != "" {
			if seen[key] {
				continue
			}
			seen[key] = true
		}
		out = append(out, a)
	}
	return out
}

func (r *run) block(cmds []command) error {
	for _, c := range cmds {
		if r.stopped {
			return nil
		}
		if err := r.command(c); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) currentFlags(explicit *[]string) []string {
	if explicit != nil {
		return append([]string(nil), (*explicit)...)
	}
	return append([]string(nil), r.flags...)
}

func (r *run) command(c command) error {
	switch c := c.(type) {
	case *ifCommand:
		for i, t := range c.tests {
			if r.test(t) {
				return r.block(c.blocks[i])
			}
		}
		if c.orElse != nil {
			return r.block(c.orElse)
		}
	case stopCommand:
		r.stopped = true
	case discardCommand:
		r.keepCancelled = true
	case keepCommand:
		r.explicitKeep = true
		r.actions = append(r.actions, Action{Kind: ActionKeep, Flags: r.currentFlags(c.flags)})
	case fileintoCommand:
		if err := checkFolderName(c.folder); err != nil {
			return err
		}
		if !c.copy {
			r.keepCancelled = true
		}
		r.actions = append(r.actions, Action{Kind: ActionFileInto, Folder: c.folder, Create: c.create, Flags: r.currentFlags(c.flags)})
	case redirectCommand:
		r.redirects++
		if r.redirects > r.opts.MaxRedirects {
			return fmt.Errorf("more than %d redirects", r.opts.MaxRedirects)
		}
		if !c.copy {
			r.keepCancelled = true
		}
		r.actions = append(r.actions, Action{Kind: ActionRedirect, Address: c.address})
	case flagCommand:
		switch c.op {
		case flagSet:
			r.flags = append([]string(nil), c.flags...)
		case flagAdd:
			r.flags = normalizeFlags(append(append([]string(nil), r.flags...), c.flags...))
		case flagRemove:
			var keep []string
			for _, f := range r.flags {
				drop := false
				for _, x := range c.flags {
					if strings.EqualFold(f, x) {
						drop = true
					}
				}
				if !drop {
					keep = append(keep, f)
				}
			}
			r.flags = keep
		}
	case vacationCommand:
		// RFC 5230 4.7: vacation is incompatible with itself.
		if r.vacation {
			return errors.New("more than one vacation action")
		}
		r.vacation = true
		r.actions = append(r.actions, Action{Kind: ActionVacation, Vacation: &VacationRequest{
			Days: c.days, Subject: c.subject, From: c.from, Addresses: c.addresses, MIME: c.mime,
			Handle: c.handle, Reason: c.reason}})
	}
	return nil
}

// checkFolderName refuses names the store cannot hold; a run-time error
// keeps the message in INBOX.
func checkFolderName(f string) error {
	if len(f) > 255 || strings.ContainsAny(f, "\x00\r\n*%") || strings.HasPrefix(f, "/") || strings.Contains(f, "//") || strings.Contains(f, "..") {
		return fmt.Errorf("invalid folder name %q", f)
	}
	return nil
}

func (r *run) test(t test) bool {
	switch t := t.(type) {
	case boolTest:
		return t.value
	case notTest:
		return !r.test(t.t)
	case allofTest:
		for _, s := range t.tests {
			if !r.test(s) {
				return false
			}
		}
		return true
	case anyofTest:
		for _, s := range t.tests {
			if r.test(s) {
				return true
			}
		}
		return false
	case sizeTest:
		if t.over {
			return r.msg.Size > t.limit
		}
		return r.msg.Size < t.limit
	case existsTest:
		for _, n := range t.names {
			if !r.msg.Header.Has(n) {
				return false
			}
		}
		return true
	case headerTest:
		var values []string
		for _, n := range t.names {
			values = append(values, r.headerValues(n)...)
		}
		return t.m.match(values, t.keys)
	case addressTest:
		var values []string
		for _, n := range t.names {
			values = append(values, r.addressValues(t.envelope, n, t.part)...)
		}
		return t.m.match(values, t.keys)
	case hasflagTest:
		return t.m.match(r.flags, t.keys)
	case dateTest:
		v, ok := r.dateValue(t)
		if !ok {
			return false
		}
		return t.m.match([]string{v}, t.keys)
	}
	return false
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// maxValueBytes bounds one header value a test compares.
const maxValueBytes = 16 << 10

// headerValues are the decoded values of a header field (RFC 5228 2.7.2:
// MIME encoded words are decoded; folding is removed).
func (r *run) headerValues(name string) []string {
	key := strings.ToLower(name)
	if v, ok := r.headerCache[key]; ok {
		return v
	}
	var out []string
	for _, raw := range r.msg.Header.Values(name) {
		v := strings.TrimSpace(unfold(raw))
		if d, err := wordDecoder.DecodeHeader(v); err == nil {
			v = d
		}
		if len(v) > maxValueBytes {
			v = v[:maxValueBytes]
		}
		out = append(out, v)
	}
	r.headerCache[key] = out
	return out
}

func unfold(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "")
	return strings.ReplaceAll(s, "\n", "")
}

// addressValues are the address parts of a header (address test) or of
// the envelope (RFC 5228 5.1, 5.4, 2.7.4).
func (r *run) addressValues(envelope bool, name, part string) []string {
	if envelope {
		var a string
		switch name {
		case "from":
			a = r.msg.EnvelopeFrom
			if a == "" {
				return []string{""} // the null reverse-path matches "" whatever the part
			}
		case "to":
			a = r.msg.EnvelopeTo
		}
		return []string{addressPart(a, part)}
	}
	var out []string
	for _, raw := range r.msg.Header.Values(name) {
		list, err := mail.ParseAddressList(unfold(raw))
		if err != nil {
			// Not an address list: only :all sees the raw text.
			if part == "all" {
				out = append(out, strings.TrimSpace(unfold(raw)))
			}
			continue
		}
		for _, a := range list {
			out = append(out, addressPart(a.Address, part))
		}
	}
	return out
}

func addressPart(addr, part string) string {
	at := strings.LastIndexByte(addr, '@')
	switch part {
	case "localpart":
		if at < 0 {
			return addr
		}
		return addr[:at]
	case "domain":
		if at < 0 {
			return ""
		}
		return addr[at+1:]
	}
	return addr
}

func (r *run) dateValue(t dateTest) (string, bool) {
	var when time.Time
	if t.header == "" {
		when = r.msg.Received
		if when.IsZero() {
			when = time.Now()
		}
		when = when.In(r.opts.Location)
	} else {
		vals := r.headerValues(t.header)
		if len(vals) == 0 {
			return "", false
		}
		parsed, err := maildate.Parse(vals[0])
		if err != nil {
			return "", false // RFC 5260 5: an unparsable date fails the test
		}
		when = parsed
		if !t.originalZone {
			when = when.In(r.opts.Location)
		}
	}
	if t.zone != "" {
		loc, _ := parseZone(t.zone)
		when = when.In(loc)
	}
	return datePart(when, t.part), true
}

// headerBytes writes the header back, for tests and vacation.
func headerBytes(h textproto.Header) []byte {
	var b bytes.Buffer
	textproto.WriteHeader(&b, h)
	return b.Bytes()
}
