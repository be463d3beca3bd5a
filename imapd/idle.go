package imapd

import (
	"errors"
	"net"
	"os"
	"strings"
	"time"

	"congvu/storage"
)

// errClosed ends the session after the connection was closed on purpose.
var errClosed = net.ErrClosed

// cmdIdle implements IDLE (RFC 9051 §6.3.13, RFC 2177): it pushes
// EXISTS, EXPUNGE and FETCH FLAGS as soon as the store reports a change
// of the selected folder, until the client sends DONE.
func (c *conn) cmdIdle() error {
	c.w.Raw("+ idling").CRLF()
	if c.sel != nil {
		// Changes between the last command and IDLE are reported now.
		if err := c.refresh(true, true); err != nil {
			return err
		}
	}
	if err := c.flush(); err != nil {
		return err
	}
	if c.canPark() && (c.sel == nil || c.sel.wakes) {
		return c.idleWithoutBuffers()
	}
	type lineResult struct {
		line string
		err  error
	}
	lines := make(chan lineResult, 1)
	c.tcp.SetReadDeadline(time.Time{})
	go func() {
		line, err := c.r.ReadLine()
		lines <- lineResult{string(line), err}
	}()
	// end closes the connection and waits for the reader, which must be
	// done with the buffers before the session releases them.
	end := func(text string) error {
		c.sayBye(text)
		c.nc.Close()
		<-lines
		return errClosed
	}
	timeout := time.NewTimer(c.srv.cfg.IdleTimeout)
	defer timeout.Stop()
	fallback := time.NewTicker(c.srv.pollInterval)
	defer fallback.Stop()
	var events <-chan storage.Event
	if c.sel != nil {
		events = c.sel.events
	}
	for {
		select {
		case l := <-lines:
			if l.err != nil {
				if errors.Is(l.err, os.ErrDeadlineExceeded) && c.bye.Load() != nil {
					c.sayBye(*c.bye.Load())
					return errClosed
				}
				return l.err
			}
			if !strings.EqualFold(l.line, "DONE") {
				return bad("", "Expected DONE to end IDLE")
			}
			return nil
		case <-timeout.C:
			// RFC 9051 §5.4: the server may log out an inactive client.
			c.log.Info("imap idle timeout")
			return end("IDLE timed out")
		case <-events:
			c.sel.dirty = true
		case <-fallback.C:
		}
		if c.sel != nil {
			if err := c.refresh(true, false); err != nil {
				var be byeError
				if errors.As(err, &be) {
					return end(be.text)
				}
				return err
			}
		}
		if err := c.flush(); err != nil {
			return err
		}
	}
}

// idleWithoutBuffers is IDLE in the session's own goroutine with its buffers
// parked (park.go): woken by the store, the fallback poll, the idle
// timeout, BYE, or the client's DONE.
func (c *conn) idleWithoutBuffers() error {
	end := time.Now().Add(c.srv.cfg.IdleTimeout)
	for {
		wait := time.Now().Add(c.srv.pollInterval)
		if end.Before(wait) {
			wait = end
		}
		res, err := c.awaitInput(wait, true)
		switch res {
		case waitInput:
			// The rest of the line must follow promptly.
			c.tcp.SetReadDeadline(time.Now().Add(writeTimeout))
			line, err := c.r.ReadLine()
			if err != nil {
				return err
			}
			if !strings.EqualFold(string(line), "DONE") {
				return bad("", "Expected DONE to end IDLE")
			}
			return nil
		case waitBye:
			c.sayBye(*c.bye.Load())
			return errClosed
		case waitFailed:
			return err
		case waitTimeout:
			if !time.Now().Before(end) {
				// RFC 9051 §5.4: the server may log out an inactive client.
				c.log.Info("imap idle timeout")
				c.sayBye("IDLE timed out")
				return errClosed
			}
			// The fallback poll: changes made by other processes.
		case waitWoken:
			if c.sel != nil {
				c.sel.dirty = true
			}
		}
		if c.sel != nil {
			if err := c.refresh(true, false); err != nil {
				var be byeError
				if errors.As(err, &be) {
					c.sayBye(be.text)
					return errClosed
				}
				return err
			}
		}
		if err := c.flush(); err != nil {
			return err
		}
		if !c.canPark() {
			return errors.New("imapd: idle: unflushed buffers")
		}
	}
}
