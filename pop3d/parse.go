package pop3d

import (
	"bufio"
	"bytes"
	"errors"
	"strconv"
)

const (
	// maxLine is the longest command line accepted, CRLF included. RFC 2449
	// section 4 limits commands to 255 octets; clients sending long AUTH
	// PLAIN responses or addresses exceed that, so be lenient up to 1 KiB.
	maxLine = 1024
	// maxDiscard is how much of an over-long line is skipped before the
	// connection is dropped: a client streaming garbage gets cut off.
	maxDiscard = 64 << 10
	// maxKeyword is the longest keyword (RFC 2449 section 3: "keywords may
	// be up to four characters").
	maxKeyword = 4
)

var (
	errEmptyLine   = errors.New("empty command line")
	errBadKeyword  = errors.New("command keyword must be 1-4 letters")
	errBadChar     = errors.New("control character in command line")
	errLineTooLong = errors.New("command line too long")
	errGarbage     = errors.New("too much data without a line end")
)

// parseCommand splits one command line (RFC 1939 section 3) into an upper-case
// keyword and its arguments. A trailing CRLF (or bare LF) is removed.
// Arguments are separated by spaces; extra spaces are tolerated. PASS is the
// exception: RFC 1939 section 7 lets the server take the whole rest of the
// line as the single argument so passwords may contain spaces.
func parseCommand(line []byte) (cmd string, args []string, err error) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) > maxLine-2 {
		return "", nil, errLineTooLong
	}
	for _, c := range line {
		// CR, LF, NUL and other controls inside a line are never valid and
		// could smuggle a second command past logging or the parser.
		if c < 0x20 || c == 0x7f {
			return "", nil, errBadChar
		}
	}
	kw, rest, hasRest := bytes.Cut(line, []byte(" "))
	if len(kw) == 0 && !hasRest {
		return "", nil, errEmptyLine
	}
	if len(kw) == 0 || len(kw) > maxKeyword {
		return "", nil, errBadKeyword
	}
	for _, c := range kw {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return "", nil, errBadKeyword
		}
	}
	cmd = string(bytes.ToUpper(kw))
	if !hasRest {
		return cmd, nil, nil
	}
	if cmd == "PASS" {
		if len(rest) == 0 {
			return cmd, nil, nil
		}
		return cmd, []string{string(rest)}, nil
	}
	for _, f := range bytes.Split(rest, []byte(" ")) {
		if len(f) > 0 {
			args = append(args, string(f))
		}
	}
	return cmd, args, nil
}

// readLine reads one line including its LF. A line longer than maxLine is
// consumed and reported as errLineTooLong, so the session can answer -ERR and
// go on; past maxDiscard octets without LF it gives errGarbage.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	discarded := 0
	for {
		chunk, err := r.ReadSlice('\n')
		switch {
		case discarded > 0 || len(line)+len(chunk) > maxLine:
			discarded += len(chunk)
			line = nil
			if err == nil {
				return nil, errLineTooLong
			}
			if discarded > maxDiscard {
				return nil, errGarbage
			}
		default:
			line = append(line, chunk...)
			if err == nil {
				return line, nil
			}
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
	}
}

// parseMsgNumber parses a message-number argument (RFC 1939 section 5:
// "a message-number ... refers to a message in the maildrop"), 1-based.
func parseMsgNumber(s string) (int, bool) {
	if len(s) == 0 || len(s) > 10 || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}

// parseLineCount parses TOP's non-negative line count (RFC 1939 section 7).
func parseLineCount(s string) (int, bool) {
	if len(s) == 0 || len(s) > 10 || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}
