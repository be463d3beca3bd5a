package smtpd

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"congvu/internal/mailerr"
	"congvu/storage"
)

// spoolMemory is how much of a message is kept in memory before it spills
// to a file: small messages (most official mail) never touch the disk twice,
// and a server with many sessions receiving 30 MiB attachments holds at most
// this much per session.
const spoolMemory = 256 << 10

// spool is a message as received, in memory or in a temporary file,
// behind header fields the MSA added (prefix); every reader sees the
// prefix as the start of the message.
type spool struct {
	mem    []byte
	file   *os.File
	size   int64  // prefix and received bytes
	prefix []byte // fields added on submission (Message-ID, Date)
	// nulAt is the offset in the received bytes of the first NUL (-1:
	// none) and headerEnd the offset just after the blank line ending the
	// header (-1: the message has no body), both found while receiving.
	nulAt, headerEnd int64
}

// receive reads the whole message from the client before anything is
// delivered, so that a message over the limit, a broken connection or an
// aborted BDAT never leaves a partial message in the store, and the store
// is never kept waiting on a slow client.
//
// sizeHint is the size the client announced (RFC 1870), 0 when it did
// not: the memory buffer starts at that size (at most spoolMemory), or at
// 16 KiB, instead of growing from 512 bytes by doubling (about 40 KB
// allocated for every 10 KB message, issue 16).
func receive(r io.Reader, dir string, limit, sizeHint int64) (*spool, error) {
	scan := newByteScanner(&io.LimitedReader{R: r, N: limit + 1})
	lr := io.Reader(scan)
	var buf bytes.Buffer
	if sizeHint <= 0 {
		sizeHint = 16 << 10
	}
	// One byte more than the message: bytes.Buffer reads until EOF.
	buf.Grow(int(min(sizeHint+bytes.MinRead, spoolMemory)))
	n, err := io.CopyN(&buf, lr, spoolMemory)
	if err != nil && err != io.EOF {
		return nil, err
	}
	sp := &spool{mem: buf.Bytes(), size: n}
	if err == nil { // spoolMemory bytes and maybe more: spill to disk
		sp.mem = nil
		if sp.file, err = os.CreateTemp(dir, "congvu-smtpd-*.eml"); err != nil {
			return nil, mailerr.ErrInternal.With(fmt.Errorf("spool: %w", err))
		}
		if _, err := sp.file.Write(buf.Bytes()); err != nil {
			sp.Close()
			return nil, mailerr.ErrInternal.With(fmt.Errorf("spool: %w", err))
		}
		m, err := io.Copy(spoolWriter{sp.file}, lr)
		sp.size += m
		if err != nil {
			sp.Close()
			// A write error is ours (disk full); a read error is the
			// client's, or the library's size or line limit.
			if errors.As(err, new(spoolWriteError)) {
				return nil, mailerr.ErrInternal.With(err)
			}
			return nil, err
		}
	}
	if sp.size > limit {
		sp.Close()
		return nil, mailerr.ErrTooBig.With(fmt.Errorf("message over %d bytes", limit))
	}
	sp.nulAt, sp.headerEnd = scan.nulAt, scan.headerEnd
	return sp, nil
}

// byteScanner notes, while the message streams past, where its first NUL
// byte is and where its header ends, so nothing reads it twice for that.
type byteScanner struct {
	r         io.Reader
	off       int64
	nulAt     int64
	headerEnd int64
	tail      [3]byte // the last bytes of the previous read
	tailLen   int
}

// newByteScanner starts as if a line had just ended, so a message whose
// first line is empty has an empty header.
func newByteScanner(r io.Reader) *byteScanner {
	return &byteScanner{r: r, nulAt: -1, headerEnd: -1, tail: [3]byte{'\r', '\n'}, tailLen: 2}
}

func (b *byteScanner) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	chunk := p[:n]
	if b.nulAt < 0 {
		if i := bytes.IndexByte(chunk, 0); i >= 0 {
			b.nulAt = b.off + int64(i)
		}
	}
	if b.headerEnd < 0 && n > 0 {
		// The header ends at the first empty line: CRLF CRLF, or LF LF
		// for bare-LF input, possibly split across reads. Only the header
		// is searched; it is small next to the body.
		// An empty line that starts in the previous read's tail ends
		// within the first three bytes of this one: search that seam,
		// then this read, without copying the read (it was 11 KB of
		// garbage per delivery, issue 16).
		var seam [6]byte
		edge := append(append(seam[:0], b.tail[:b.tailLen]...), chunk[:min(3, n)]...)
		if i := headerEndIn(edge); i >= 0 {
			b.headerEnd = b.off - int64(b.tailLen) + int64(i)
		} else if i := headerEndIn(chunk); i >= 0 {
			b.headerEnd = b.off + int64(i)
		}
		if n >= 3 {
			b.tailLen = copy(b.tail[:], chunk[n-3:])
		} else {
			b.tailLen = copy(b.tail[:], edge[max(0, len(edge)-3):])
		}
	}
	b.off += int64(n)
	return n, err
}

// headerEndIn returns the offset just after the first empty line in b, -1
// when there is none.
func headerEndIn(b []byte) int {
	i := bytes.Index(b, []byte("\r\n\r\n"))
	j := bytes.Index(b, []byte("\n\n"))
	switch {
	case i >= 0 && (j < 0 || i+1 <= j):
		return i + 4
	case j >= 0:
		return j + 2
	}
	return -1
}

// spoolWriter marks write errors so receive can tell them from read errors.
type spoolWriter struct{ f *os.File }

type spoolWriteError struct{ error }

func (e spoolWriteError) Unwrap() error { return e.error }

func (w spoolWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = spoolWriteError{fmt.Errorf("spool: %w", err)}
	}
	return n, err
}

// received returns the received bytes (without the prefix) from offset on.
func (sp *spool) received(offset int64) io.Reader {
	n := sp.size - int64(len(sp.prefix))
	offset = min(max(offset, 0), n)
	if sp.file == nil {
		return bytes.NewReader(sp.mem[offset:])
	}
	return io.NewSectionReader(sp.file, offset, n-offset)
}

// reader returns the message from its start; call it once per delivery.
func (sp *spool) reader() io.Reader { return sp.readerFrom(0) }

// readerFrom returns the message from offset on.
func (sp *spool) readerFrom(offset int64) io.Reader {
	p := int64(len(sp.prefix))
	if offset >= p {
		return sp.received(offset - p)
	}
	return io.MultiReader(bytes.NewReader(sp.prefix[offset:]), sp.received(0))
}

// held returns the whole message when it is one slice in memory (received
// into memory, nothing added in front), nil otherwise. Nothing writes to
// the slice after receive.
func (sp *spool) held() []byte {
	if sp.file != nil || len(sp.prefix) > 0 {
		return nil
	}
	return sp.mem
}

// addHeader puts fields (each ending in CRLF) at the top of the message.
func (sp *spool) addHeader(fields []byte) {
	sp.prefix = append(fields, sp.prefix...)
	sp.size += int64(len(fields))
}

// header returns the message's header block (at most 64 KiB), for
// delivery status notifications.
func (sp *spool) header() []byte {
	b := make([]byte, min(sp.size, 64<<10))
	n, _ := io.ReadFull(sp.reader(), b)
	b = b[:n]
	if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
		return b[:i+2]
	}
	if i := bytes.Index(b, []byte("\n\n")); i >= 0 {
		return b[:i+1]
	}
	return b
}

// Close removes the spool file, if any.
func (sp *spool) Close() error {
	if sp.file == nil {
		return nil
	}
	sp.file.Close()
	err := os.Remove(sp.file.Name())
	sp.file = nil
	return err
}

// newID returns a short random transaction id for Received and the logs.
func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// traceHeaders returns the header fields prepended to a message delivered
// locally: Return-Path (RFC 5321 4.4: added by the final delivery, from the
// reverse-path) and a Received time stamp line (RFC 5321 4.4, 4.1.1.4),
// for example
//
//	Received: from mail.bocongan.gov.vn (mail.bocongan.gov.vn [203.0.113.5])
//		(using TLS1.3 with cipher TLS_AES_128_GCM_SHA256)
//		by mail.khanhhoa.gov.vn with ESMTPS id 8F3A…
//		for <thanhnn.skhcn@khanhhoa.gov.vn>;
//		Mon, 02 Jun 2025 09:15:04 +0700
func (s *session) traceHeaders(tx transaction, id string, now time.Time) []byte {
	return append([]byte("Return-Path: <"+quotePath(tx.from)+">\r\n"), s.received(tx, id, now)...)
}

// received is the Received field alone, for a message relayed onwards
// (Return-Path belongs to the final delivery only, RFC 5321 4.4).
func (s *session) received(tx transaction, id string, now time.Time) []byte {
	var b strings.Builder
	// TCP-info: the forward-confirmed PTR name, then the address literal
	// (RFC 5321 4.1.3), which cannot be forged.
	info := addressLiteral(s.ip)
	if name := s.rdns.get(); name != "" {
		info = name + " " + info
	}
	fmt.Fprintf(&b, "Received: from %s (%s)\r\n", heloDomain(tx.helo), info)
	if tx.tls != nil {
		fmt.Fprintf(&b, "\t(using %s with cipher %s)\r\n",
			strings.ReplaceAll(tls.VersionName(tx.tls.Version), " ", ""), tls.CipherSuiteName(tx.tls.CipherSuite))
	}
	fmt.Fprintf(&b, "\tby %s with %s id %s", s.srv.cfg.Hostname, protocol(tx), id)
	// RFC 5321 7.2: the "for" clause only with a single recipient, so that
	// Bcc recipients are not disclosed to each other.
	if len(tx.rcpts) == 1 {
		fmt.Fprintf(&b, "\r\n\tfor <%s>", quotePath(tx.rcpts[0].given))
	}
	fmt.Fprintf(&b, ";\r\n\t%s\r\n", now.Format(time.RFC1123Z))
	return []byte(b.String())
}

// protocol is the "with" keyword: RFC 3848 (ESMTP, ESMTPS, ESMTPA, ESMTPSA)
// and RFC 6531 3.7.3 (UTF8SMTP…) when the client used SMTPUTF8.
func protocol(tx transaction) string {
	p := "ESMTP"
	if tx.utf8 {
		p = "UTF8SMTP"
	}
	if tx.tls != nil || tx.viaProxyTLS {
		p += "S"
	}
	if tx.authn {
		p += "A"
	}
	return p
}

// quotePath writes an address as received back into RFC 5321 4.1.2 path
// syntax: go-smtp hands over a quoted local part unquoted ("a b"@x as
// a b@x), which must be quoted again to be read back.
func quotePath(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr
	}
	local := addr[:at]
	plain := local != "" && local[0] != '.' && local[len(local)-1] != '.' && !strings.Contains(local, "..") &&
		!strings.ContainsFunc(local, func(r rune) bool {
			// RFC 5321 atext, plus UTF-8 (RFC 6531 3.3).
			return r < 0x80 && !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
				strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.", r))
		})
	if plain {
		return addr
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(local) + `"` + addr[at:]
}

// addressLiteral formats ip per RFC 5321 4.1.3.
func addressLiteral(ip net.IP) string {
	switch {
	case ip == nil:
		return "[unknown]"
	case ip.To4() != nil:
		return "[" + ip.String() + "]"
	default:
		return "[IPv6:" + ip.String() + "]"
	}
}

// heloDomain keeps the EHLO argument to the characters a domain or address
// literal may have, so a client cannot inject header syntax.
func heloDomain(helo string) string {
	clean := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			strings.ContainsRune(".-_:[]", r):
			return r
		}
		return -1
	}, helo)
	if clean == "" {
		return "unknown"
	}
	return clean
}

// deliver hands the message to the store once for all recipients and turns
// the per-recipient results into the single SMTP reply.
//
// SMTP, unlike LMTP (RFC 2033 4.2), has one reply for all recipients of a
// DATA, so a partial failure cannot be reported per recipient. The policy
// (RFC 5321 6.1: once we say 250, we are responsible):
//
//   - every recipient stored: 250;
//   - none stored: the failure itself; if any of them is temporary, a
//     temporary one, so the client retries everybody (nobody has a copy,
//     so a retry duplicates nothing); otherwise the first permanent one,
//     and the client bounces to the sender;
//   - some stored: 250, because a 4xx would make the client send the
//     message again to those who already have it and a 5xx would tell the
//     sender nobody got it. The recipients that failed are reported to the
//     sender in a delivery status notification (RFC 3464), which we can
//     deliver only to a local sender while outbound mail is disabled; for
//     a remote or null sender the failure is logged at ERROR level.
//
// Refusing over-quota and unknown recipients at RCPT (checkQuota, with
// the SIZE announced at MAIL) keeps the third case rare: it needs a mailbox
// filling up between RCPT and DATA, a message larger than announced, or a
// store fault affecting a single user.
//
// Recipients of other domains (submission only) go to the outbound queue
// first: if queueing fails nobody has the message and the client retries
// it whole; once it is queued those recipients count as served, so a
// failure of every local recipient is then a partial failure (250 + DSN).
//
// On MX, in carries the inbound authentication verdict: the
// Authentication-Results header, and the Junk folder for quarantined mail.
func (s *session) deliver(tx transaction, msg *spool, in inbound) error {
	id := newID()
	log := s.log.With("id", id, "from", tx.from, "size", msg.size)
	now := time.Now()
	local, remote := splitRecipients(tx.rcpts)
	if !s.srv.beginDelivery() {
		return errShuttingDown
	}
	defer s.srv.endDelivery()
	if len(remote) > 0 {
		if err := s.enqueue(tx, id, now, msg, remote, log); err != nil {
			return err
		}
		if len(local) == 0 {
			s.srv.metrics.MessagesAccepted.WithLabelValues(s.mode.String()).Inc()
			return nil
		}
	}
	tx.rcpts = local
	trace := append(s.traceHeaders(tx, id, now), in.header...)
	rcpts := make([]storage.Recipient, len(tx.rcpts))
	for i, r := range tx.rcpts {
		rcpts[i] = storage.Recipient{User: r.account.Address, QuotaBytes: r.account.QuotaBytes, Folder: in.folder}
	}

	ctx, cancel := opContext(deliverTimeout)
	defer cancel()
	results, err := s.storeWithRules(ctx, tx, func() io.Reader { return io.MultiReader(bytes.NewReader(trace), in.message(msg)) }, msg.size, rcpts)
	if err == nil && len(results) != len(rcpts) {
		err = mailerr.ErrInternal.With(fmt.Errorf("store returned %d results for %d recipients", len(results), len(rcpts)))
	}
	failed, replyErr := settle(results, err, len(rcpts))
	if replyErr != nil && len(remote) > 0 {
		// Queued for the remote recipients: answer 250, report these.
		failed, replyErr = allFailed(len(tx.rcpts))
	}
	for i, r := range tx.rcpts {
		rerr := err
		if err == nil {
			rerr = results[i].Err
		}
		result := "ok"
		switch {
		case errors.Is(rerr, mailerr.ErrOverQuota):
			result = "overquota"
		case rerr != nil:
			result = "error"
		}
		s.srv.metrics.Deliveries.WithLabelValues(result).Inc()
		if rerr == nil {
			log.Info("delivered", "rcpt", r.account.Address, "folder", cmpFolder(in.folder), "uid", results[i].UID)
		} else {
			log.Warn("delivery failed", "rcpt", r.account.Address, "err", rerr)
		}
	}
	if replyErr != nil {
		return replyErr
	}
	if len(failed) > 0 {
		fails := make([]failure, len(failed))
		for j, i := range failed {
			rerr := err
			if err == nil {
				rerr = results[i].Err
			}
			fails[j] = failure{rcpt: tx.rcpts[i], err: mailerr.Classify(rerr)}
		}
		s.notifyFailures(tx, id, trace, msg, fails, log)
	}
	s.srv.metrics.MessagesAccepted.WithLabelValues(s.mode.String()).Inc()
	return nil
}

// settle applies deliver's policy: it returns the indexes of the
// recipients that failed while others succeeded (to be reported in a DSN),
// or the error to answer when nobody got the message.
func settle(results []storage.DeliveryResult, err error, n int) (partial []int, reply error) {
	if err != nil {
		return nil, err
	}
	var failed []int
	var firstTemp, firstPerm error
	for i, r := range results {
		if r.Err == nil {
			continue
		}
		failed = append(failed, i)
		if mailerr.Classify(r.Err).Temporary {
			if firstTemp == nil {
				firstTemp = r.Err
			}
		} else if firstPerm == nil {
			firstPerm = r.Err
		}
	}
	switch {
	case len(failed) == 0:
		return nil, nil
	case len(failed) < n:
		return failed, nil
	case firstTemp != nil:
		return nil, firstTemp
	default:
		return nil, firstPerm
	}
}

// allFailed lists every one of n recipients as failed, for when they all
// failed but the message was queued for others.
func allFailed(n int) ([]int, error) {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out, nil
}

// splitRecipients separates local recipients from those of other domains.
func splitRecipients(rcpts []recipient) (local, remote []recipient) {
	for _, r := range rcpts {
		if r.account != nil {
			local = append(local, r)
		} else {
			remote = append(remote, r)
		}
	}
	return local, remote
}

func cmpFolder(f string) string {
	if f == "" {
		return storage.Inbox
	}
	return f
}
