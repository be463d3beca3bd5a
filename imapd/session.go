package imapd

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/internal/metrics"
	"congvu/policy"
	"congvu/storage"
)

// delim is the hierarchy separator of storage folder names.
const delim = '/'

// session is one IMAP connection. The library calls its methods from the
// connection goroutine, except Idle which runs on a second goroutine while
// the connection waits for DONE; mu serialises access to the selected state.
type session struct {
	srv    *Server
	conn   *imapserver.Conn
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	acct *directory.Account // nil before login
	mbox storage.Mailbox    // nil before login

	mu     sync.Mutex
	sel    *selected // nil unless a folder is selected
	closed bool
	// untrack ends the policy engine's tracking of this signed-in session.
	untrack func()
}

// UNAUTHENTICATE (RFC 8437) is not offered.
var (
	_ imapserver.SessionIMAP4rev2   = (*session)(nil)
	_ imapserver.SessionAppendLimit = (*session)(nil)
)

func newSession(srv *Server, conn *imapserver.Conn) *session {
	ctx, cancel := context.WithCancel(srv.baseCtx)
	remote := ""
	if nc := conn.NetConn(); nc != nil {
		remote = nc.RemoteAddr().String()
	}
	return &session{
		srv:    srv,
		conn:   conn,
		log:    srv.log.With("remote", remote),
		ctx:    ctx,
		cancel: cancel,
	}
}

// Close is called once by the library when the connection ends.
func (s *session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.untrack != nil {
		s.untrack()
	}
	if s.sel != nil {
		s.sel.close()
		s.sel = nil
	}
	s.cancel()
	s.srv.sessions.Done()
	return nil
}

// revoke ends a signed-in session from another goroutine because its
// account was locked, retired or its password reset (issue 15 §8): an
// untagged BYE with the reason (RFC 9051 §7.1.5), then the connection
// closes, whatever command or IDLE was running.
func (s *session) revoke(reason *mailerr.Error) {
	s.log.Info("imap session ended by account change", "reason", reason.Message)
	// English, as every IMAP response text here: RFC 3501 text is 7-bit.
	s.conn.Bye(reason.Message)
}

// recoverPanic turns a panic in a session method into a SERVERBUG answer
// and logs it with its stack, so one bad message does not kill the
// connection. Methods that hold a response writer open close it first
// (see fetch.go); the library's own per-connection recover stays the last
// resort.
func (s *session) recoverPanic(op string, err *error) {
	if v := recover(); v != nil {
		s.log.Error("panic in imap command", "op", op, "panic", v, "stack", string(debug.Stack()))
		*err = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeServerBug,
			Text: mailerr.ErrInternal.Message}
	}
}

func (s *session) fail(op string, err error) error {
	return imapError(s.log, op, err)
}

// AppendLimit implements imapserver.SessionAppendLimit (RFC 7889). The
// library refuses larger APPEND literals with NO [TOOBIG] before sending
// the continuation request, so they are never read.
func (s *session) AppendLimit() uint32 { return s.srv.appendLimit }

// Login implements LOGIN and AUTHENTICATE PLAIN (the library refuses both
// before TLS, RFC 9051 6.2.3). Passwords are never logged.
func (s *session) Login(username, password string) (err error) {
	defer s.recoverPanic("LOGIN", &err)
	if err := s.policyBeforeAuth(username); err != nil {
		s.srv.count(func(m *metrics.Metrics) { m.Logins.WithLabelValues("imap", "throttled").Inc() })
		return s.fail("LOGIN", err)
	}
	acct, err := s.srv.deps.Dir.Authenticate(s.ctx, username, password)
	err = s.policyAfterAuth(username, acct, err)
	if err == nil && acct != nil && acct.State != directory.StateActive {
		err = mailerr.ErrAccountDisabled
	}
	if err == nil && acct == nil {
		err = mailerr.ErrAuthFailed
	}
	if err != nil {
		result := "failed"
		switch {
		case errors.Is(err, mailerr.ErrAccountDisabled):
			result = "locked"
		case errors.Is(err, mailerr.ErrAuthFailed), errors.Is(err, mailerr.ErrUnknownUser):
			// Unknown users look exactly like wrong passwords (RFC 9051 11.1).
			err = mailerr.ErrAuthFailed
		default:
			result = "unavailable"
			if mailerr.As(err) == nil {
				err = mailerr.ErrDirectoryUnavailable.With(err)
			}
		}
		s.srv.count(func(m *metrics.Metrics) { m.Logins.WithLabelValues("imap", result).Inc() })
		s.log.Info("imap login refused", "user", username, "result", result)
		if result == "failed" && s.srv.authFailDelay > 0 {
			select {
			case <-time.After(s.srv.authFailDelay):
			case <-s.ctx.Done():
			}
		}
		return s.fail("LOGIN", err)
	}
	mbox, err := s.srv.deps.Store.Mailbox(s.ctx, acct.Address, acct.QuotaBytes)
	if err != nil {
		s.srv.count(func(m *metrics.Metrics) { m.Logins.WithLabelValues("imap", "unavailable").Inc() })
		return s.fail("LOGIN", err)
	}
	s.srv.count(func(m *metrics.Metrics) { m.Logins.WithLabelValues("imap", "ok").Inc() })
	s.acct, s.mbox = acct, mbox
	s.log = s.log.With("user", acct.Address)
	s.log.Info("imap login")
	s.mu.Lock()
	s.untrack = s.srv.policy.TrackSession(policy.Session{Protocol: policy.IMAP, Account: acct, End: s.revoke})
	s.mu.Unlock()
	return nil
}

// Namespace implements RFC 9051 6.3.10: one personal namespace, no others.
func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{
		Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: delim}},
	}, nil
}

// cleanFolder strips a trailing hierarchy separator (RFC 9051 6.3.4 allows
// it on CREATE as a hint) and canonicalises INBOX.
func cleanFolder(name string) string {
	name = strings.TrimRight(name, string(delim))
	if strings.EqualFold(name, storage.Inbox) {
		return storage.Inbox
	}
	if len(name) > len(storage.Inbox) && strings.EqualFold(name[:len(storage.Inbox)+1], storage.Inbox+string(delim)) {
		return storage.Inbox + name[len(storage.Inbox):]
	}
	return name
}

// Create implements RFC 9051 6.3.4.
func (s *session) Create(name string, options *imap.CreateOptions) (err error) {
	defer s.recoverPanic("CREATE", &err)
	if options != nil && len(options.SpecialUse) > 0 {
		// CREATE-SPECIAL-USE is not advertised; the store fixes the set.
		return errNoUseAttr
	}
	name = cleanFolder(name)
	if name == "" {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Invalid folder name"}
	}
	return s.fail("CREATE", s.mbox.Create(s.ctx, name))
}

// Delete implements RFC 9051 6.3.5.
func (s *session) Delete(name string) (err error) {
	defer s.recoverPanic("DELETE", &err)
	return s.fail("DELETE", s.mbox.Delete(s.ctx, cleanFolder(name)))
}

// Rename implements RFC 9051 6.3.6.
func (s *session) Rename(from, to string, _ *imap.RenameOptions) (err error) {
	defer s.recoverPanic("RENAME", &err)
	return s.fail("RENAME", s.mbox.Rename(s.ctx, cleanFolder(from), cleanFolder(to)))
}

// Subscribe implements RFC 9051 6.3.7.
func (s *session) Subscribe(name string) (err error) {
	defer s.recoverPanic("SUBSCRIBE", &err)
	return s.fail("SUBSCRIBE", s.mbox.Subscribe(s.ctx, cleanFolder(name), true))
}

// Unsubscribe implements RFC 9051 6.3.8.
func (s *session) Unsubscribe(name string) (err error) {
	defer s.recoverPanic("UNSUBSCRIBE", &err)
	return s.fail("UNSUBSCRIBE", s.mbox.Subscribe(s.ctx, cleanFolder(name), false))
}

// Status implements RFC 9051 6.3.11 (with STATUS=SIZE, RFC 8438, and
// APPENDLIMIT, RFC 7889).
func (s *session) Status(name string, options *imap.StatusOptions) (data *imap.StatusData, err error) {
	defer s.recoverPanic("STATUS", &err)
	st, err := s.mbox.Status(s.ctx, cleanFolder(name))
	if err != nil {
		return nil, s.fail("STATUS", err)
	}
	data = s.statusData(st, options)
	if options.DeletedStorage {
		// RFC 9208 4.1.5: bytes that EXPUNGE would free.
		msgs, err := s.mbox.Messages(s.ctx, st.Name)
		if err != nil {
			return nil, s.fail("STATUS", err)
		}
		var n int64
		for _, m := range msgs {
			if hasFlag(m.Flags, imap.FlagDeleted) {
				n += m.Size
			}
		}
		data.DeletedStorage = &n
	}
	return data, nil
}

// statusData fills every item the library will print for options; it
// dereferences the pointers it was asked for.
func (s *session) statusData(st storage.FolderStatus, options *imap.StatusOptions) *imap.StatusData {
	messages, unseen, deleted, size, recent := st.Messages, st.Unseen, st.Deleted, st.Size, uint32(0)
	limit := s.srv.appendLimit
	var zero int64
	return &imap.StatusData{
		Mailbox:        st.Name,
		NumMessages:    &messages,
		NumRecent:      &recent, // \Recent is not kept (RFC 9051 removed it)
		UIDNext:        imap.UID(st.UIDNext),
		UIDValidity:    st.UIDValidity,
		NumUnseen:      &unseen,
		NumDeleted:     &deleted,
		Size:           &size,
		AppendLimit:    &limit,
		DeletedStorage: &zero,
		HighestModSeq:  st.HighestModSeq,
	}
}

// Append implements RFC 9051 6.3.12 with APPENDUID (RFC 4315). The literal
// is streamed into the store, which writes it durably before we answer.
func (s *session) Append(name string, r imap.LiteralReader, options *imap.AppendOptions) (data *imap.AppendData, err error) {
	defer s.recoverPanic("APPEND", &err)
	date := options.Time
	if date.IsZero() {
		date = time.Now()
	}
	if err := s.policyAppend(cleanFolder(name)); err != nil {
		return nil, s.fail(opAppend, err)
	}
	res, err := s.mbox.Append(s.ctx, cleanFolder(name), r, storeFlags(options.Flags), date)
	if err == nil {
		err = res.Err
	}
	result := "ok"
	switch {
	case err == nil:
	case errors.Is(err, mailerr.ErrOverQuota):
		result = "overquota"
	case errors.Is(err, mailerr.ErrTooBig):
		result = "toobig"
	default:
		result = "error"
	}
	s.srv.count(func(m *metrics.Metrics) { m.Appends.WithLabelValues(result).Inc() })
	if err != nil {
		return nil, s.fail(opAppend, err)
	}
	return &imap.AppendData{UID: imap.UID(res.UID), UIDValidity: res.UIDValidity}, nil
}

// Poll reports changes of the selected folder after each command
// (RFC 9051 7: unilateral responses).
func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) (err error) {
	defer s.recoverPanic("POLL", &err)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sel == nil {
		return nil
	}
	return s.refresh(w, allowExpunge)
}

// Idle implements RFC 9051 6.3.13 (RFC 2177): it pushes EXISTS, EXPUNGE and
// FETCH FLAGS as soon as the store reports a change of the selected folder.
func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) (err error) {
	defer s.recoverPanic("IDLE", &err)
	timeout := time.NewTimer(s.srv.cfg.IdleTimeout)
	defer timeout.Stop()
	fallback := time.NewTicker(s.srv.pollInterval)
	defer fallback.Stop()

	s.mu.Lock()
	var events <-chan storage.Event
	if s.sel != nil {
		events = s.sel.events
		// Changes between the last command and IDLE are reported now.
		err = s.refresh(w, true)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	for {
		select {
		case <-stop:
			return nil
		case <-s.ctx.Done():
			return nil
		case <-timeout.C:
			// RFC 9051 5.4: the server may log out an inactive client.
			s.log.Info("imap idle timeout")
			return s.conn.Bye("IDLE timed out")
		case _, ok := <-events:
			if !ok {
				events = nil
				continue
			}
		case <-fallback.C:
		}
		s.mu.Lock()
		if s.sel != nil {
			err = s.refresh(w, true)
		}
		s.mu.Unlock()
		if err != nil {
			return err
		}
	}
}
