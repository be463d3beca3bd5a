package reorg

import (
	"bufio"
	"bytes"
	"congvu/internal/autoreply"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"congvu/directory"
	"congvu/directory/orgdb"
	"congvu/policy"
)

// NoticeConfig configures what OldAddresses does beyond counting.
type NoticeConfig struct {
	// Notify tells the sender of mail to an old address the new one
	// ([directory] old_address_notice).
	Notify bool
	// Period: at most one notice per sender and old address within it
	// (old_address_notice_days; default 30 days).
	Period time.Duration
	// Hostname names the server in the notices' Message-IDs.
	Hostname string
}

// SendFunc sends a message the server writes itself: DKIM-signed, through
// the outbound queue, or delivered locally (internal/server).
type SendFunc func(ctx context.Context, from string, rcpts []string, msg io.Reader) error

// OldAddresses follows the mail delivered through old addresses (a
// transitional address after a transfer or merger, or any address at an
// alias domain): it counts it per address, day and sender for the
// per-domain traffic report, and optionally tells the sender the new
// address. The delivery hook only queues; a goroutine does the rest, so
// the SMTP reply never waits for it.
type OldAddresses struct {
	org  *orgdb.DB
	cfg  NoticeConfig
	send SendFunc
	log  *slog.Logger
	now  func() time.Time

	queue chan arrival
	done  chan struct{}
	once  sync.Once
}

// arrival is one delivered message through a possibly old address.
type arrival struct {
	given, account, sender string
	header                 textproto.MIMEHeader
	at                     time.Time
}

// maxNoticeHeader bounds how much of a message's header is read to decide
// whether it may be answered.
const maxNoticeHeader = 64 << 10

// NewOldAddresses starts the follower; send may be nil (no notices).
func NewOldAddresses(cfg NoticeConfig, org *orgdb.DB, send SendFunc, log *slog.Logger, now func() time.Time) *OldAddresses {
	if cfg.Period <= 0 {
		cfg.Period = 30 * 24 * time.Hour
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	o := &OldAddresses{org: org, cfg: cfg, send: send, log: log, now: now,
		queue: make(chan arrival, 1024), done: make(chan struct{})}
	go o.run()
	return o
}

// Delivered is the delivery hook (policy.Hooks.Delivered): it notes each
// local recipient written under another address than the account's.
func (o *OldAddresses) Delivered(_ context.Context, m *policy.Message) {
	var hdr textproto.MIMEHeader
	for _, r := range m.Rcpts {
		if r.Account == nil || r.Given == "" || directory.NormalizeAddress(r.Given) == r.Account.Address {
			continue
		}
		if hdr == nil {
			hdr = readHeader(m.Open)
		}
		a := arrival{given: directory.NormalizeAddress(r.Given), account: r.Account.Address, sender: m.From, header: hdr, at: o.now()}
		select {
		case o.queue <- a:
		default:
			o.log.Warn("reorg: too many messages to old addresses waiting, one not counted", "address", a.given)
		}
	}
}

// readHeader reads a message's header fields (nil open: none).
func readHeader(open func() io.Reader) textproto.MIMEHeader {
	if open == nil {
		return textproto.MIMEHeader{}
	}
	h, err := textproto.NewReader(bufio.NewReader(io.LimitReader(open(), maxNoticeHeader))).ReadMIMEHeader()
	if err != nil && h == nil {
		return textproto.MIMEHeader{}
	}
	return h
}

// Close stops the follower after the queued arrivals are handled.
func (o *OldAddresses) Close() error {
	o.once.Do(func() { close(o.queue) })
	<-o.done
	return nil
}

func (o *OldAddresses) run() {
	defer close(o.done)
	for a := range o.queue {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := o.handle(ctx, a); err != nil {
			o.log.Warn("reorg: mail to an old address", "address", a.given, "err", err)
		}
		cancel()
	}
}

// handle counts one arrival and sends the notice it calls for.
func (o *OldAddresses) handle(ctx context.Context, a arrival) error {
	old, expires, err := o.oldAddress(ctx, a)
	if err != nil || !old {
		return err
	}
	if err := o.org.RecordArrivals(ctx, []orgdb.Arrival{{Address: a.given, Sender: a.sender, At: a.at}}); err != nil {
		return err
	}
	if !o.cfg.Notify || o.send == nil || !Answerable(a.sender, a.header) ||
		directory.NormalizeAddress(a.sender) == a.account || directory.NormalizeAddress(a.sender) == a.given {
		return nil
	}
	ok, err := o.org.ClaimNotice(ctx, a.given, a.sender, a.at, o.cfg.Period)
	if err != nil || !ok {
		return err
	}
	msg := NoticeMessage(a.given, a.account, a.sender, expires, a.header.Get("Message-Id"), o.cfg.Hostname, a.at)
	// RFC 3834 §3.3: responses go back with the null reverse-path, so
	// nothing ever answers them.
	if err := o.send(ctx, "", []string{a.sender}, bytes.NewReader(msg)); err != nil {
		// Not sent (outbound delivery off, queue full): a later message
		// may try again.
		if rerr := o.org.ReleaseNotice(ctx, a.given, a.sender, a.at); rerr != nil {
			o.log.Warn("reorg: releasing a notice", "err", rerr)
		}
		return fmt.Errorf("notice to %s: %w", a.sender, err)
	}
	o.log.Info("reorg: sender told the new address", "old", a.given, "new", a.account, "sender", a.sender)
	return nil
}

// oldAddress reports whether a.given is an old address of a.account: a
// transitional address (with its expiry) or one at an alias domain (no
// expiry). A permanent alias is not.
func (o *OldAddresses) oldAddress(ctx context.Context, a arrival) (bool, time.Time, error) {
	tr, ok, err := o.org.TransitionalAddress(ctx, a.given)
	if err != nil {
		return false, time.Time{}, err
	}
	if ok && tr.Account == a.account {
		return true, tr.Expires, nil
	}
	_, ok, err = o.org.AliasDomainTarget(ctx, directory.Domain(a.given))
	return ok, time.Time{}, err
}

// Answerable reports whether a message from sender with header h may get
// an automatic answer: the one rule of package autoreply, which vacation
// replies follow too.
func Answerable(sender string, h textproto.MIMEHeader) bool {
	return autoreply.Skip(sender, h) == ""
}

// NoticeMessage is the notice telling sender that old is now new, in
// Vietnamese and English (RFC 3834 §3: Auto-Submitted: auto-replied,
// In-Reply-To and References the original).
func NoticeMessage(old, new, sender string, expires time.Time, inReplyTo, hostname string, now time.Time) []byte {
	var b bytes.Buffer
	from := "postmaster@" + directory.Domain(new)
	subject := fmt.Sprintf("Địa chỉ thư đã thay đổi / Address changed: %s → %s", old, new)
	id := make([]byte, 12)
	rand.Read(id)
	if hostname == "" {
		hostname = directory.Domain(new)
	}
	fmt.Fprintf(&b, "From: %s <%s>\r\n", mime.QEncoding.Encode("utf-8", "Hệ thống thư công vụ"), from)
	fmt.Fprintf(&b, "To: <%s>\r\n", sender)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s.notice@%s>\r\n", hex.EncodeToString(id), hostname)
	if id := strings.TrimSpace(inReplyTo); id != "" && len(id) < 998 && !strings.ContainsAny(id, "\r\n") {
		fmt.Fprintf(&b, "In-Reply-To: %s\r\nReferences: %s\r\n", id, id)
	}
	b.WriteString("Auto-Submitted: auto-replied\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	until, untilEN := "", ""
	if !expires.IsZero() {
		until = fmt.Sprintf(" Địa chỉ cũ chỉ còn nhận thư đến ngày %s.", expires.Format("02/01/2006"))
		untilEN = fmt.Sprintf(" The old address receives mail until %s.", expires.Format(time.DateOnly))
	}
	text := fmt.Sprintf(`Kính gửi Quý cơ quan, Quý vị,

Địa chỉ thư %s đã chuyển thành %s (sắp xếp tổ chức bộ máy, chuyển công tác). Thư của Quý vị đã được chuyển đến người nhận; xin cập nhật sổ địa chỉ và gửi các thư sau đến địa chỉ mới.%s

Đây là thư tự động, xin không trả lời thư này.

---
The address %s has changed to %s (reorganisation or transfer). Your message has been delivered; please update your address book and write to the new address from now on.%s

This is an automatic message; please do not reply.
`, old, new, until, old, new, untilEN)
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n")))
	qp.Close()
	return b.Bytes()
}
