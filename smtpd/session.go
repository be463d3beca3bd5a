package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/storage"
)

// Time limits of single backend calls.
const (
	lookupTimeout  = 30 * time.Second
	deliverTimeout = 2 * time.Minute
	rdnsTimeout    = 3 * time.Second
)

// session is one SMTP session (go-smtp makes a new one after every EHLO
// that follows STARTTLS, so TLS and AUTH state never leak across).
//
// Commands run on the connection's goroutine, but with CHUNKING go-smtp runs
// Data on a goroutine of its own while it keeps reading BDAT, RSET and QUIT
// commands; mu guards the transaction against that.
type session struct {
	srv  *Server
	conn *smtp.Conn
	mode mode
	log  *slog.Logger
	ip   net.IP // nil when the remote address is not TCP
	rdns *rdnsLookup
	// account is the authenticated account (submission), set once by AUTH.
	account *directory.Account
	// via names the front end of a session without a connection (Submit).
	via string

	mu sync.Mutex
	tx transaction
}

// transaction is the state of one MAIL … DATA/BDAT transaction.
type transaction struct {
	from  string // reverse-path as given, "" for the null sender
	utf8  bool   // SMTPUTF8 parameter (RFC 6531)
	size  int64  // SIZE parameter (RFC 1870), 0 when not given
	authn bool   // sent by an authenticated client
	helo  string
	tls   *tls.ConnectionState
	// viaProxyTLS: the client's TLS ended at nginx in front; its
	// version and cipher are not known here.
	viaProxyTLS bool
	rcpts       []recipient
}

// recipient is an accepted RCPT, resolved to its account, or (submission
// only) an address of another domain for the outbound queue.
type recipient struct {
	given   string // as written in RCPT TO, for trace and reports
	account *directory.Account
	remote  string // normalized address when account is nil
}

func (s *Server) newSession(c *smtp.Conn, m mode) *session {
	sess := &session{srv: s, conn: c, mode: m}
	remote := c.Conn().RemoteAddr()
	if ta, ok := remote.(*net.TCPAddr); ok {
		sess.ip = ta.IP
	}
	sess.log = s.log.With("listener", m.String(), "remote", remote.String())
	sess.rdns = startRDNS(sess.ip)
	return sess
}

// Reset discards the current transaction (RSET, EHLO, after DATA).
func (s *session) Reset() {
	s.mu.Lock()
	s.tx = transaction{}
	s.mu.Unlock()
}

// Logout frees the session; there is nothing to free.
func (s *session) Logout() error { return nil }

// Mail starts a transaction (RFC 5321 4.1.1.2). The library has already
// refused a SIZE parameter above MaxMessageBytes with 552 5.3.4 (RFC 1870 6).
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	s.Reset()
	if err := checkCommand("EHLO", s.heloName()); err != nil {
		return s.reply(phaseMail, err)
	}
	if err := checkCommand("MAIL", from); err != nil {
		return s.reply(phaseMail, err)
	}
	if s.mode == modeSubmission {
		// RFC 4954 6 / RFC 6409 4.3: submission only after authentication.
		if s.account == nil {
			return s.reply(phaseMail, errAuthRequired)
		}
		if from == "" {
			return s.reply(phaseMail, errNullSender)
		}
		// RFC 6409 6.1: the MSA may refuse a reverse-path the user does
		// not own. Officials send as themselves (or their aliases), clerks
		// also as their unit's mailbox.
		if !owns(s.account, from) && !s.sendsAs(from) {
			return s.reply(phaseMail, mailerr.ErrSenderNotOwned.With(
				fmt.Errorf("%s tried MAIL FROM:<%s>", s.account.Address, from)))
		}
	}
	if err := s.policyMail(from); err != nil {
		return s.reply(phaseMail, err)
	}
	tx := transaction{from: from, authn: s.account != nil, helo: s.heloName()}
	if opts != nil {
		tx.utf8, tx.size = opts.UTF8, opts.Size
	}
	if st, ok := s.tlsState(); ok {
		tx.tls = &st
	} else if s.conn != nil && s.secure() {
		tx.viaProxyTLS = true
	}
	s.mu.Lock()
	s.tx = tx
	s.mu.Unlock()
	return nil
}

// sendsAs reports whether the account may write as address, another
// account's (its unit's shared mailbox), and records it when so.
func (s *session) sendsAs(address string) bool {
	sa := s.srv.sendAs
	if sa == nil || !sa.MaySendAs(context.Background(), s.account, directory.NormalizeAddress(address)) {
		return false
	}
	s.log.Info("smtp sending as a shared mailbox", "account", s.account.Address, "as", address)
	return true
}

// owns reports whether address is the account's primary address or alias.
func owns(a *directory.Account, address string) bool {
	address = directory.NormalizeAddress(address)
	return address == a.Address || slices.Contains(a.Aliases, address)
}

// Rcpt accepts a recipient (RFC 5321 4.1.1.3) after resolving it in the
// directory, so that refusals happen here, one per recipient, rather than at
// DATA where SMTP has only one reply for all of them.
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.mode == modeSubmission && s.account == nil {
		return s.reply(phaseRcpt, errAuthRequired)
	}
	if err := checkCommand("RCPT", to); err != nil {
		return s.reply(phaseRcpt, err)
	}
	address := directory.NormalizeAddress(to)
	if !s.srv.acceptsDomain(directory.Domain(address)) {
		if s.mode == modeMX {
			// RFC 5321 3.9 / RFC 2505: an MX is not an open relay.
			return s.reply(phaseRcpt, mailerr.ErrRelayDenied.With(fmt.Errorf("RCPT TO:<%s>", to)))
		}
		if isIPDestination(directory.Domain(address)) {
			// Issue 15 §10: submission is not a port-25 probe of the
			// government network; internal relays go through a smarthost
			// or a DNS name (outbound.allow_internal_networks).
			return s.reply(phaseRcpt, errAddressLiteral.With(fmt.Errorf("RCPT TO:<%s>", to)))
		}
		if s.srv.mail.outbound != nil {
			if err := s.policyRcpt(s.from(), address, nil); err != nil {
				return s.reply(phaseRcpt, err)
			}
		}
		return s.reply(phaseRcpt, s.addRemote(to, address))
	}

	ctx, cancel := opContext(lookupTimeout)
	defer cancel()
	acct, err := s.srv.dir.Lookup(ctx, address)
	if errors.Is(err, mailerr.ErrUnknownUser) && s.srv.groups != nil {
		if members, ok, gerr := s.srv.groups.ExpandGroup(ctx, address, s.from()); ok || gerr != nil {
			return s.reply(phaseRcpt, s.addGroup(ctx, to, members, gerr))
		}
	}
	if err == nil && acct == nil {
		err = fmt.Errorf("directory returned no account and no error for %s", address)
	}
	if err != nil {
		// Anything but a classified answer is a directory failure: it must
		// give a temporary 451 4.4.3, never a bounce (550).
		if mailerr.As(err) == nil {
			err = mailerr.ErrDirectoryUnavailable.With(err)
		}
		return s.reply(phaseRcpt, fmt.Errorf("RCPT TO:<%s>: %w", to, err))
	}
	switch acct.State {
	case directory.StateRetired:
		return s.reply(phaseRcpt, errMailboxDisabled.With(fmt.Errorf("RCPT TO:<%s>: account retired", to)))
	case directory.StateLocked:
		// A locked official cannot log in or send, but mail for the
		// office keeps arriving.
	}

	s.mu.Lock()
	size := s.tx.size
	dup := slices.ContainsFunc(s.tx.rcpts, func(r recipient) bool { return r.account != nil && r.account.Address == acct.Address })
	s.mu.Unlock()
	if dup {
		// An alias and its primary (or the same address twice): one copy.
		// The library still counts it towards MaxRecipients.
		return nil
	}
	if err := s.checkQuota(ctx, acct, size); err != nil {
		return s.reply(phaseRcpt, err)
	}
	if err := s.policyRcpt(s.from(), address, acct); err != nil {
		return s.reply(phaseRcpt, err)
	}
	s.mu.Lock()
	s.tx.rcpts = append(s.tx.rcpts, recipient{given: to, account: acct})
	s.mu.Unlock()
	return nil
}

// checkQuota refuses a recipient whose mailbox is full, or would overflow
// with the size announced at MAIL (RFC 1870 6.2). It is advisory: if the
// store cannot say, the recipient is accepted and Deliver decides.
func (s *session) checkQuota(ctx context.Context, acct *directory.Account, size int64) error {
	mb, err := s.srv.store.Mailbox(ctx, acct.Address, acct.QuotaBytes)
	if err != nil {
		s.log.Warn("quota check skipped", "rcpt", acct.Address, "err", err)
		return nil
	}
	used, limit, err := mb.Quota(ctx)
	if err != nil {
		s.log.Warn("quota check skipped", "rcpt", acct.Address, "err", err)
		return nil
	}
	if limit > 0 && (used >= limit || used+size > limit) {
		return mailerr.ErrOverQuota.With(fmt.Errorf("%s: %d of %d bytes used, %d announced", acct.Address, used, limit, size))
	}
	return nil
}

// Data receives the message (DATA or the BDAT chunks, RFC 3030), then
// delivers it. It answers only after the store has made the message durable.
func (s *session) Data(r io.Reader) (err error) {
	start := time.Now()
	defer func() {
		result := "accepted"
		if err != nil {
			result = "refused"
		}
		s.srv.metrics.SMTPDataSeconds.WithLabelValues(s.mode.String(), result).Observe(time.Since(start).Seconds())
	}()
	s.mu.Lock()
	tx := s.tx
	tx.rcpts = slices.Clone(tx.rcpts)
	s.mu.Unlock()
	if len(tx.rcpts) == 0 {
		// Only when RSET races with the first BDAT chunk: go-smtp refuses
		// DATA without an accepted RCPT. It also drains what is left.
		return s.reply(phaseData, errNoRecipients)
	}

	msg, err := receive(r, s.srv.cfg.SpoolDir, s.srv.cfg.MaxMessageBytes, tx.size)
	if err != nil {
		// Over the limit: 552 5.3.4 (RFC 1870 6.3), nothing was stored.
		// Otherwise the client went away or broke the transfer.
		if mailerr.As(err) == nil && !errors.Is(err, smtp.ErrDataTooLarge) && !errors.Is(err, smtp.ErrTooLongLine) {
			err = errTransferAborted.With(err)
		}
		return s.reply(phaseData, err)
	}
	defer msg.Close()
	if err := s.checkNUL(msg); err != nil {
		return s.reply(phaseData, err)
	}
	// Before anything parses the MIME structure (issue 15 §1).
	br := s.srv.readers.Get(msg.reader())
	err = storage.CheckMIMEStructureFrom(br)
	s.srv.readers.Put(br)
	if err != nil {
		return s.reply(phaseData, err)
	}
	attachment, err := s.checkAttachments(msg)
	if err != nil {
		return s.reply(phaseData, err)
	}
	if err := s.checkAuthor(msg); err != nil {
		return s.reply(phaseData, err)
	}
	in, err := s.checkInbound(tx, msg)
	if err != nil {
		return s.reply(phaseData, err)
	}
	if err := s.scanContent(tx, msg, &in); err != nil {
		return s.reply(phaseData, err)
	}
	pm := s.policyMessage(tx, msg)
	pm.Attachment = attachment
	if err := s.policyData(pm); err != nil {
		return s.reply(phaseData, err)
	}
	if quarantined, err := s.checkDocuments(msg, &in, pm); err != nil || quarantined {
		return s.reply(phaseData, err)
	}
	if err := s.deliver(tx, msg, in); err != nil {
		return s.reply(phaseData, err)
	}
	s.policyDelivered(pm)
	return nil
}

// rdnsLookup is a reverse DNS lookup started when the session begins and
// used in the Received header field; it never takes longer than rdnsTimeout.
type rdnsLookup struct {
	done chan struct{}
	name string
}

// startRDNS looks up the forward-confirmed name of ip: the PTR name is used
// only if it resolves back to ip, so the trace never shows a name the
// client's owner merely claims.
func startRDNS(ip net.IP) *rdnsLookup {
	l := &rdnsLookup{done: make(chan struct{})}
	if ip == nil {
		close(l.done)
		return l
	}
	go func() {
		defer close(l.done)
		ctx, cancel := context.WithTimeout(context.Background(), rdnsTimeout)
		defer cancel()
		names, err := net.DefaultResolver.LookupAddr(ctx, ip.String())
		if err != nil || len(names) == 0 {
			return
		}
		name := strings.TrimSuffix(names[0], ".")
		addrs, err := net.DefaultResolver.LookupIPAddr(ctx, name)
		if err != nil {
			return
		}
		for _, a := range addrs {
			if a.IP.Equal(ip) {
				l.name = name
				return
			}
		}
	}()
	return l
}

// get waits for the lookup and returns the name, "" when unknown.
func (l *rdnsLookup) get() string {
	<-l.done
	return l.name
}
