package mail

// The compose form as it travels: its fields, the files uploaded with it
// (spooled to disk, within the message size limit) and the attachments it
// carries over from its draft or from the message it forwards.

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/mail"
	"os"
	"slices"
	"strconv"
	"strings"

	"congvu/internal/mailerr"
)

// Bounds of one compose form.
const (
	maxFieldBytes   = 1 << 20 // the text of the message, or any other field
	maxFormFields   = 200
	maxRecipients   = 100 // To, Cc and Bcc together; smtpd's default too
	maxUploads      = 50
	maxAddressBytes = 8 << 10 // one of To, Cc, Bcc
)

// composeForm is what the compose page submits.
type composeForm struct {
	Action     string // "send", "save" or "autosave"
	ComposeID  string
	DraftUID   uint32 // the draft this form was last saved as (0: none)
	To, Cc     string
	Bcc        string
	Subject    string
	Body       string
	InReplyTo  string
	References string // space separated, without angle brackets
	Orig       string // "answered:uid:folder" or "forwarded:uid:folder"
	Carry      []string
	// Checked are the carried attachments the official kept.
	Checked    []string
	ExternalOK string
	// Sign: "Ký số bằng chứng thư của đơn vị" was ticked.
	Sign bool
}

// upload is one file sent with the form, spooled to disk.
type upload struct {
	Name, Type string
	Path       string
	Size       int64
}

// formProblem says why a form could not be read whole.
type formProblem struct {
	TooBig string // name of the file that did not fit
	Broken bool   // the request ended early
}

// readComposeForm reads the multipart form after its CSRF token: fields
// into f, files into spool files under dir, at most budget bytes of files
// in all. A file beyond the budget is named in the problem, and reading
// stops there (the fields before it are kept: the form puts them first).
func readComposeForm(mr *multipart.Reader, dir string, budget int64) (f composeForm, files []upload, problem *formProblem) {
	fields := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return f, files, problem
		}
		if err != nil {
			return f, files, &formProblem{Broken: true}
		}
		name := p.FormName()
		if p.FileName() != "" || name == "files" {
			if p.FileName() == "" {
				continue // an empty file input
			}
			if len(files) >= maxUploads {
				return f, files, &formProblem{TooBig: cleanFileName(p.FileName())}
			}
			u, err := spoolUpload(p, dir, budget)
			if err != nil {
				var tooBig *formProblem
				if errors.As(err, &tooBig) {
					return f, files, tooBig
				}
				return f, files, &formProblem{Broken: true}
			}
			budget -= u.Size
			files = append(files, u)
			continue
		}
		if fields++; fields > maxFormFields {
			return f, files, &formProblem{Broken: true}
		}
		b, err := io.ReadAll(io.LimitReader(p, maxFieldBytes+1))
		if err != nil || len(b) > maxFieldBytes {
			return f, files, &formProblem{Broken: true}
		}
		f.set(name, string(b))
	}
}

func (p *formProblem) Error() string { return "compose form: " + p.TooBig }

// spoolUpload copies one file to disk, refusing more than budget bytes.
func spoolUpload(p *multipart.Part, dir string, budget int64) (upload, error) {
	u := upload{Name: cleanFileName(p.FileName()), Type: p.Header.Get("Content-Type")}
	tmp, err := os.CreateTemp(dir, "congvu-upload-*")
	if err != nil {
		return u, err
	}
	u.Path = tmp.Name()
	n, err := io.Copy(tmp, io.LimitReader(p, max(budget, 0)+1))
	u.Size = n
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > budget {
		err = &formProblem{TooBig: u.Name}
	}
	if err != nil {
		os.Remove(u.Path)
		return u, err
	}
	return u, nil
}

func removeUploads(files []upload) {
	for _, u := range files {
		os.Remove(u.Path)
	}
}

func (f *composeForm) set(name, v string) {
	switch name {
	case "action":
		f.Action = v
	case "compose":
		f.ComposeID = v
	case "draft":
		if n, err := strconv.ParseUint(v, 10, 32); err == nil {
			f.DraftUID = uint32(n)
		}
	case "to":
		f.To = v
	case "cc":
		f.Cc = v
	case "bcc":
		f.Bcc = v
	case "subject":
		f.Subject = v
	case "body":
		f.Body = v
	case "inreplyto":
		f.InReplyTo = v
	case "references":
		f.References = v
	case "orig":
		f.Orig = v
	case "carry":
		f.Carry = append(f.Carry, v)
	case "keep":
		f.Checked = append(f.Checked, v)
	case "external_ok":
		f.ExternalOK = v
	case "sign":
		f.Sign = v == "yes"
	}
}

// validComposeID: the compose id is ours (rand.Text), so anything else is
// dropped rather than written into a header.
func validComposeID(s string) bool {
	if len(s) < 16 || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// addressInputError names an address the official typed that is not one.
type addressInputError struct {
	Field, Value string
}

func (e *addressInputError) Error() string { return e.Field + ": " + e.Value }

// parseAddressInput reads a To, Cc or Bcc field: addresses separated by
// commas, semicolons (as Outlook users type them) or line breaks, each a
// bare address or "Name <address>".
func parseAddressInput(field, s string) ([]*mail.Address, error) {
	if len(s) > maxAddressBytes {
		return nil, &addressInputError{Field: field, Value: s[:64] + "…"}
	}
	var out []*mail.Address
	for _, item := range splitAddresses(s) {
		a, err := mail.ParseAddress(item)
		if err != nil || !strings.Contains(a.Address, "@") || strings.HasPrefix(a.Address, "@") || strings.HasSuffix(a.Address, "@") {
			return nil, &addressInputError{Field: field, Value: item}
		}
		a.Name = cleanText(a.Name, maxShownNameRunes)
		a.Address = strings.ToLower(a.Address)
		if !slices.ContainsFunc(out, func(o *mail.Address) bool { return o.Address == a.Address }) {
			out = append(out, a)
		}
	}
	return out, nil
}

// splitAddresses splits at commas, semicolons and line breaks outside
// quotes and angle brackets.
func splitAddresses(s string) []string {
	var out []string
	var cur strings.Builder
	quoted, angle := false, false
	flush := func() {
		if t := strings.TrimSpace(cur.String()); t != "" {
			out = append(out, t)
		}
		cur.Reset()
	}
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case r == '<' && !quoted:
			angle = true
		case r == '>' && !quoted:
			angle = false
		case (r == ',' || r == ';' || r == '\n' || r == '\r') && !quoted && !angle:
			flush()
			continue
		}
		cur.WriteRune(r)
	}
	flush()
	return out
}

// errNoRecipient: a send without anybody to send to.
var errNoRecipient = &mailerr.Error{SMTPCode: 554, Enhanced: [3]int{5, 5, 1}, HTTPStatus: 422,
	Message: "Enter at least one recipient", MessageVI: "Hãy nhập ít nhất một người nhận"}

// errTooManyRecipients: more than one message may carry.
var errTooManyRecipients = &mailerr.Error{SMTPCode: 452, Enhanced: [3]int{4, 5, 3}, HTTPStatus: 422,
	Message:   fmt.Sprintf("At most %d recipients in one message", maxRecipients),
	MessageVI: fmt.Sprintf("Một thư gửi được tối đa %d người nhận", maxRecipients)}
