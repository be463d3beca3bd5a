package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// smtpSession is the load's SMTP client. Unlike go-smtp's client it
// pipelines (RFC 2920) when the server offers PIPELINING, as Postfix's
// and Exim's SMTP clients do: MAIL, RCPT and DATA go in one write and the
// body in the next, two round trips per message instead of four. Every
// server in the comparison offers it (congvu, Postfix, smtp-sink, nginx).
type smtpSession struct {
	conn       net.Conn
	r          *bufio.Reader
	w          *bufio.Writer
	pipelining bool
}

// Timeouts of one command's reply and of the reply after the body.
const (
	smtpCommandTimeout = 60 * time.Second
	smtpDataTimeout    = 120 * time.Second
)

// dialLoadSMTP connects (with TLS when tlsConf is set: implicit TLS),
// says EHLO and logs in with AUTH PLAIN when u is set.
func dialLoadSMTP(addr string, tlsConf *tls.Config, u *benchUser) (*smtpSession, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	var conn net.Conn
	var err error
	if tlsConf != nil {
		conn, err = tls.DialWithDialer(d, "tcp", addr, tlsConf)
	} else {
		conn, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	s := &smtpSession{conn: conn, r: bufio.NewReader(conn), w: bufio.NewWriterSize(conn, 16<<10)}
	if err := s.hello(u); err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

func (s *smtpSession) hello(u *benchUser) error {
	s.conn.SetDeadline(time.Now().Add(smtpCommandTimeout))
	if _, _, err := s.expect(220); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	text, err := s.cmd("EHLO bench.example", 250)
	if err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	for _, l := range strings.Split(text, "\n") {
		if strings.EqualFold(strings.TrimSpace(l), "PIPELINING") {
			s.pipelining = true
		}
	}
	if u != nil {
		creds := base64.StdEncoding.EncodeToString([]byte("\x00" + u.Address + "\x00" + u.Password))
		if _, err := s.cmd("AUTH PLAIN "+creds, 235); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	return nil
}

// reply reads one reply, all its lines; text has one line per line.
func (s *smtpSession) reply() (int, string, error) {
	var lines []string
	for {
		l, err := s.r.ReadString('\n')
		if err != nil {
			return 0, "", err
		}
		l = strings.TrimRight(l, "\r\n")
		if len(l) < 3 {
			return 0, "", fmt.Errorf("malformed reply %q", l)
		}
		code, err := strconv.Atoi(l[:3])
		if err != nil {
			return 0, "", fmt.Errorf("malformed reply %q", l)
		}
		if len(l) > 4 {
			lines = append(lines, l[4:])
		}
		if len(l) == 3 || l[3] != '-' {
			return code, strings.Join(lines, "\n"), nil
		}
	}
}

// cmd sends one command line and reads its reply, which must be want.
func (s *smtpSession) cmd(line string, want int) (string, error) {
	s.w.WriteString(line + "\r\n")
	if err := s.w.Flush(); err != nil {
		return "", err
	}
	_, text, err := s.expect(want)
	return text, err
}

func (s *smtpSession) expect(want int) (int, string, error) {
	code, text, err := s.reply()
	if err == nil && code != want {
		err = fmt.Errorf("%d %s", code, text)
	}
	return code, text, err
}

// send runs one transaction; nil means 250 after the body.
func (s *smtpSession) send(from, to string, msg []byte) error {
	s.conn.SetDeadline(time.Now().Add(smtpCommandTimeout))
	cmds := []string{"MAIL FROM:<" + from + ">", "RCPT TO:<" + to + ">", "DATA"}
	wants := []int{250, 250, 354}
	var firstErr error
	if s.pipelining {
		for _, c := range cmds {
			s.w.WriteString(c + "\r\n")
		}
		if err := s.w.Flush(); err != nil {
			return err
		}
		// RFC 2920 §3.1: read every reply, in order.
		for i, want := range wants {
			code, text, err := s.reply()
			if err != nil {
				return err
			}
			if code != want && firstErr == nil {
				firstErr = fmt.Errorf("%s: %d %s", cmds[i], code, text)
			}
			if i == 2 && code == 354 && firstErr != nil {
				// DATA went ahead although MAIL or RCPT failed: end it empty.
				s.cmd(".", 250)
			}
		}
	} else {
		for i, c := range cmds {
			if _, err := s.cmd(c, wants[i]); err != nil {
				firstErr = fmt.Errorf("%s: %w", c, err)
				break
			}
		}
	}
	if firstErr != nil {
		s.cmd("RSET", 250)
		return firstErr
	}
	s.conn.SetDeadline(time.Now().Add(smtpDataTimeout))
	writeDotStuffed(s.w, msg)
	if err := s.w.Flush(); err != nil {
		return err
	}
	_, _, err := s.expect(250)
	return err
}

// writeDotStuffed writes msg as a DATA body (RFC 5321 4.5.2) and the
// final dot.
func writeDotStuffed(w *bufio.Writer, msg []byte) {
	if len(msg) > 0 && msg[0] == '.' {
		w.WriteByte('.')
	}
	for {
		i := bytes.Index(msg, []byte("\n."))
		if i < 0 {
			break
		}
		w.Write(msg[:i+1])
		w.WriteByte('.')
		msg = msg[i+1:]
	}
	w.Write(msg)
	if len(msg) > 0 && msg[len(msg)-1] != '\n' {
		w.WriteString("\r\n")
	}
	w.WriteString(".\r\n")
}

func (s *smtpSession) quit() {
	s.conn.SetDeadline(time.Now().Add(smtpCommandTimeout))
	s.cmd("QUIT", 221)
	s.conn.Close()
}

func (s *smtpSession) Close() error { return s.conn.Close() }
