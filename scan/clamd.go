// Package scan asks real content scanners about a message before it is
// accepted: ClamAV's clamd (viruses, malicious attachments) over its
// INSTREAM protocol, and rspamd (spam and phishing scores) over its HTTP
// /checkv2 protocol. Both are optional; when configured, their answer is
// needed before the 250 (issue 15).
package scan

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// ClamAV talks to clamd. Addr is "host:port" (TCPSocket) or the path of
// its Unix socket (LocalSocket).
type ClamAV struct {
	Addr    string
	Timeout time.Duration // whole scan; default 60 s
}

// ErrUnavailable wraps every failure to get an answer from a scanner.
var ErrUnavailable = errors.New("scanner unavailable")

// chunkSize is what one INSTREAM chunk carries.
const chunkSize = 64 << 10

// Scan streams r to clamd (INSTREAM: 4-byte big-endian length, data,
// and a zero length to end) and returns the signature name when clamd
// finds something, "" when the message is clean.
func (c *ClamAV) Scan(ctx context.Context, r io.Reader) (virus string, err error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	network := "tcp"
	if strings.HasPrefix(c.Addr, "/") {
		network = "unix"
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, c.Addr)
	if err != nil {
		return "", fmt.Errorf("%w: clamd %s: %v", ErrUnavailable, c.Addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	// "z" prefix: NUL-terminated commands and replies.
	if _, err := conn.Write([]byte("zINSTREAM\x00")); err != nil {
		return "", fmt.Errorf("%w: clamd: %v", ErrUnavailable, err)
	}
	buf := make([]byte, 4+chunkSize)
	for {
		n, rerr := io.ReadFull(r, buf[4:])
		if n > 0 {
			binary.BigEndian.PutUint32(buf[:4], uint32(n))
			if _, err := conn.Write(buf[:4+n]); err != nil {
				// clamd closes the stream when it is over its
				// StreamMaxLength; its reply says so.
				break
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return "", fmt.Errorf("reading message: %w", rerr)
		}
	}
	conn.Write([]byte{0, 0, 0, 0})
	reply, err := bufio.NewReader(conn).ReadString(0)
	if err != nil && reply == "" {
		return "", fmt.Errorf("%w: clamd reply: %v", ErrUnavailable, err)
	}
	return parseClamdReply(strings.TrimRight(reply, "\x00\n"))
}

// parseClamdReply reads "stream: OK", "stream: NAME FOUND" or an error
// ("INSTREAM size limit exceeded. ERROR").
func parseClamdReply(reply string) (string, error) {
	body := strings.TrimPrefix(reply, "stream: ")
	switch {
	case body == "OK":
		return "", nil
	case strings.HasSuffix(body, " FOUND"):
		name := strings.TrimSpace(strings.TrimSuffix(body, " FOUND"))
		if name == "" {
			name = "unknown"
		}
		return name, nil
	}
	return "", fmt.Errorf("%w: clamd answered %q", ErrUnavailable, reply)
}

// Ping checks that clamd answers (for start-up logs and health).
func (c *ClamAV) Ping(ctx context.Context) error {
	network := "tcp"
	if strings.HasPrefix(c.Addr, "/") {
		network = "unix"
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, c.Addr)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("zPING\x00")); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	reply, err := bufio.NewReader(conn).ReadString(0)
	if strings.TrimRight(reply, "\x00") != "PONG" {
		return fmt.Errorf("%w: clamd PING: %q %v", ErrUnavailable, reply, err)
	}
	return nil
}
