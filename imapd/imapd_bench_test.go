package imapd

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/quotedprintable"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"congvu/directory"
	"congvu/directory/sqldir"
	"congvu/internal/tlsutil"
	"congvu/storage"
)

// The benchmarks below run a real server on loopback TLS and drive it with
// go-imap's client, one command per iteration, on an INBOX of
// benchMessages realistic messages: the per-command cost that
// bench/cmd/congvu-bench measures under load, in a form that pprof can
// profile (go test ./imapd -run '^$' -bench . -benchmem -cpuprofile cpu.out).

const benchMessages = 500

// benchWords is Vietnamese administrative prose for message bodies.
var benchWords = strings.Fields(`ủy ban nhân dân tỉnh sở nội vụ tài chính kế hoạch văn phòng cán bộ công chức
	triển khai thực hiện báo cáo kết quả đề nghị phối hợp kiểm tra hướng dẫn quy định nghị định thông tư quyết
	định công văn giấy mời cuộc họp giao ban thời gian địa điểm nội dung dự toán ngân sách kinh phí hồ sơ thủ
	tục hành chính chuyển đổi số dịch vụ công trực tuyến người dân doanh nghiệp xã phường trân trọng kính gửi`)

// benchMessage is message i: plain, quoted-printable, alternative or with
// an attachment, 2–30 KB; message 250 contains the word "hiemgap4711".
func benchMessage(i int) string {
	r := rand.New(rand.NewPCG(7, uint64(i)))
	var text strings.Builder
	for text.Len() < 1500+r.IntN(4000) {
		text.WriteString(benchWords[r.IntN(len(benchWords))])
		if r.IntN(12) == 0 {
			text.WriteString("\r\n")
		} else {
			text.WriteByte(' ')
		}
	}
	if i == 250 {
		text.WriteString("\r\nhiemgap4711\r\n")
	}
	qp := func(s string) string {
		var b strings.Builder
		w := quotedprintable.NewWriter(&b)
		io.WriteString(w, s)
		w.Close()
		return b.String()
	}
	date := time.Date(2025, 1, 1, 8, 0, 0, 0, time.FixedZone("", 7*3600)).Add(time.Duration(i) * time.Hour)
	h := fmt.Sprintf("From: =?utf-8?B?%s?= <vanthu@sonv.gov.vn>\r\nTo: <%s>\r\nSubject: =?utf-8?B?%s?=\r\nDate: %s\r\nMessage-ID: <b%d@sonv.gov.vn>\r\nMIME-Version: 1.0\r\n",
		base64.StdEncoding.EncodeToString([]byte("Văn thư Sở Nội vụ")), userAddr,
		base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("Giấy mời họp giao ban số %d", i))), date.Format(time.RFC1123Z), i)
	switch i % 4 {
	case 0:
		return h + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + text.String()
	case 1:
		return h + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + qp(text.String())
	case 2:
		return h + "Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n" +
			"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + qp(text.String()) + "\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n" +
			"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + qp("<p>"+text.String()+"</p>") + "\r\n--b--\r\n"
	default:
		att := make([]byte, 4000+r.IntN(16000))
		for j := range att {
			att[j] = byte(r.Uint32())
		}
		return h + "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
			text.String() + "\r\n--m\r\nContent-Type: application/pdf; name=\"cv.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
			base64.StdEncoding.EncodeToString(att) + "\r\n--m--\r\n"
	}
}

// benchServer starts a server with one user whose INBOX holds
// benchMessages messages and returns a logged-in client with INBOX
// selected.
func benchServer(b *testing.B) *imapclient.Client {
	b.Helper()
	tmp := b.TempDir()
	logger := slog.New(slog.DiscardHandler)
	dir, err := sqldir.Open(filepath.Join(tmp, "directory.db"), sqldir.Options{Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { dir.Close() })
	store, err := storage.Open(filepath.Join(tmp, "mail"), storage.Options{Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	ctx := context.Background()
	if err := dir.PutAccount(ctx, directory.Account{Address: userAddr, DisplayName: "Nguyễn Văn An"}, userPass); err != nil {
		b.Fatal(err)
	}
	mb, err := store.Mailbox(ctx, userAddr, 0)
	if err != nil {
		b.Fatal(err)
	}
	msgs := make([]storage.NewMessage, benchMessages)
	for i := range msgs {
		raw := benchMessage(i)
		msgs[i] = storage.NewMessage{Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(raw)), nil }}
		if i%3 != 0 {
			msgs[i].Flags = []string{`\Seen`}
		}
	}
	if _, err := mb.(storage.BulkAppender).AppendMany(ctx, storage.Inbox, msgs, 8); err != nil {
		b.Fatal(err)
	}
	certPEM, keyPEM, err := tlsutil.SelfSigned([]string{"localhost"})
	if err != nil {
		b.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		b.Fatal(err)
	}
	srv := New(Config{TLS: tlsutil.ServerConfig(cert)}, Deps{Store: store, Dir: dir, Logger: logger})
	b.Cleanup(func() { srv.Close() })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.ServeTLS(l)
	c, err := imapclient.DialTLS(l.Addr().String(), &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	if err := c.Login(userAddr, userPass).Wait(); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Select(storage.Inbox, nil).Wait(); err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkSelect(b *testing.B) {
	c := benchServer(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Select(storage.Inbox, nil).Wait(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFetchHeaders50 is what a client sends when it opens a folder:
// flags, size, envelope and a few header fields of the latest 50 messages.
func BenchmarkFetchHeaders50(b *testing.B) {
	c := benchServer(b)
	var set imap.SeqSet
	set.AddRange(benchMessages-49, benchMessages)
	opts := &imap.FetchOptions{UID: true, Flags: true, RFC822Size: true, InternalDate: true, Envelope: true,
		BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierHeader, Peek: true,
			HeaderFields: []string{"Date", "From", "To", "Cc", "Subject", "Message-ID", "Content-Type", "References"}}}}
	b.ReportAllocs()
	for b.Loop() {
		msgs, err := c.Fetch(set, opts).Collect()
		if err != nil || len(msgs) != 50 {
			b.Fatal(err, len(msgs))
		}
	}
}

func BenchmarkFetchBodyStructure50(b *testing.B) {
	c := benchServer(b)
	var set imap.SeqSet
	set.AddRange(benchMessages-49, benchMessages)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Fetch(set, &imap.FetchOptions{UID: true, BodyStructure: &imap.FetchItemBodyStructure{Extended: true}}).Collect(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFetchFullBody(b *testing.B) {
	c := benchServer(b)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		if _, err := c.Fetch(imap.SeqSetNum(uint32(1+i%benchMessages)), &imap.FetchOptions{
			BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStoreFlags(b *testing.B) {
	c := benchServer(b)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		op := imap.StoreFlagsAdd
		if i%2 == 0 {
			op = imap.StoreFlagsDel
		}
		if _, err := c.Store(imap.SeqSetNum(uint32(1+i%benchMessages)), &imap.StoreFlags{Op: op, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Collect(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSearchSubject searches a header over the whole INBOX (served
// from the index's cached headers).
func BenchmarkSearchSubject(b *testing.B) {
	c := benchServer(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "giao ban số 4"}}}, nil).Wait(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSearchBody searches decoded text of every message for a word
// found in one.
func BenchmarkSearchBody(b *testing.B) {
	c := benchServer(b)
	b.ReportAllocs()
	for b.Loop() {
		d, err := c.UIDSearch(&imap.SearchCriteria{Body: []string{"hiemgap4711"}}, nil).Wait()
		if err != nil || len(d.AllUIDs()) != 1 {
			b.Fatal(err, d.AllUIDs())
		}
	}
}

func BenchmarkAppendExpunge(b *testing.B) {
	c := benchServer(b)
	msg := []byte(benchMessage(1))
	b.ReportAllocs()
	for b.Loop() {
		cmd := c.Append(storage.Inbox, int64(len(msg)), nil)
		cmd.Write(msg)
		cmd.Close()
		d, err := cmd.Wait()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Store(imap.UIDSetNum(d.UID), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect(); err != nil {
			b.Fatal(err)
		}
		if _, err := c.UIDExpunge(imap.UIDSetNum(d.UID)).Collect(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIdleDone(b *testing.B) {
	c := benchServer(b)
	b.ReportAllocs()
	for b.Loop() {
		cmd, err := c.Idle()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			b.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMixedCycle is one round of congvu-bench's mixed workload on
// one connection: LIST, STATUS, SELECT, FETCH 50 headers, FETCH a body,
// STORE, SEARCH, APPEND, STORE \Deleted, UID EXPUNGE, IDLE+DONE.
func BenchmarkMixedCycle(b *testing.B) {
	c := benchServer(b)
	msg := []byte(benchMessage(3)[:10<<10])
	var set imap.SeqSet
	set.AddRange(benchMessages-49, benchMessages)
	headers := &imap.FetchOptions{UID: true, Flags: true, RFC822Size: true, InternalDate: true, Envelope: true,
		BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierHeader, Peek: true,
			HeaderFields: []string{"Date", "From", "To", "Cc", "Subject", "Message-ID", "Content-Type", "References"}}}}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		check := func(err error) {
			if err != nil {
				b.Fatal(err)
			}
		}
		_, err := c.List("", "*", nil).Collect()
		check(err)
		_, err = c.Status(storage.Inbox, &imap.StatusOptions{NumMessages: true, UIDNext: true, NumUnseen: true}).Wait()
		check(err)
		_, err = c.Select(storage.Inbox, nil).Wait()
		check(err)
		_, err = c.Fetch(set, headers).Collect()
		check(err)
		_, err = c.Fetch(imap.SeqSetNum(uint32(1+i%benchMessages)), &imap.FetchOptions{UID: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		check(err)
		_, err = c.Store(imap.SeqSetNum(uint32(1+i%benchMessages)), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Collect()
		check(err)
		_, err = c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
		check(err)
		cmd := c.Append(storage.Inbox, int64(len(msg)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}})
		cmd.Write(msg)
		cmd.Close()
		d, err := cmd.Wait()
		check(err)
		_, err = c.Store(imap.UIDSetNum(d.UID), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect()
		check(err)
		_, err = c.UIDExpunge(imap.UIDSetNum(d.UID)).Collect()
		check(err)
		idle, err := c.Idle()
		check(err)
		check(idle.Close())
		check(idle.Wait())
	}
}
