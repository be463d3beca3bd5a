package smtpd

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/textproto"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"congvu/directory"
	"congvu/directory/sqldir"
	"congvu/internal/authcache"
	"congvu/internal/mailerr"
	"congvu/internal/metrics"
	"congvu/internal/tlsutil"
	"congvu/policy"
	"congvu/storage"
)

// The fixture: a few officials of Sở KH&CN Khánh Hòa.
const (
	testHost   = "mail.khanhhoa.gov.vn"
	domain     = "khanhhoa.gov.vn"
	thanh      = "thanhnn.skhcn@" + domain
	thanhAlias = "thanh.nguyen@" + domain
	thanhPass  = "Khanh-Hoa#2025a"
	mai        = "maitt.skhcn@" + domain
	maiPass    = "Tr@ngSa.9x"
	locked     = "khoalv.skhcn@" + domain
	lockedPass = "Kh0a!Tam#thoi"
	retired    = "huunv.skhcn@" + domain
	small      = "vanthu.skhcn@" + domain // 20 000-byte quota
	smallQuota = 20000
	remote     = "vanthu@bocongan.gov.vn"
)

type envOptions struct {
	maxMessageBytes    int64
	maxAttachmentBytes int64
	maxRecipients      int
	// wrapDir lets a test put a failure-injecting Directory in front.
	wrapDir func(directory.Directory) directory.Directory
	// policy builds the policy hooks from the fixture; nil means none.
	policy func(dir *sqldir.DB, store *storage.FileStore) policy.Hooks
	// mail are the optional outbound queue, signer and inbound checker.
	outbound Outbound
	signer   Signer
	inbound  InboundChecker
	// storeDir puts the store (and the spool) elsewhere, e.g. on a small
	// file system; "" is under the test's temporary directory.
	storeDir string
	// sendAs lets accounts write as shared mailboxes.
	sendAs SendAs
	// groups builds the distribution lists from the fixture; nil: none.
	groups func(dir *sqldir.DB) Groups
	// credentials remembers verified passwords; nil: none.
	credentials *authcache.Cache
	// wrapListener sees every listener before the server does.
	wrapListener func(net.Listener) net.Listener
}

type env struct {
	t       testing.TB
	srv     *Server
	store   *storage.FileStore
	dir     *sqldir.DB
	metrics *metrics.Metrics
	mx      string // listener addresses
	sub     string
	subs    string
	client  *tls.Config // trusts the test certificate
}

func newEnv(t testing.TB, opts envOptions) *env {
	t.Helper()
	tmp := t.TempDir()
	log := slog.New(slog.NewTextHandler(newTestWriter(t), &slog.HandlerOptions{Level: slog.LevelDebug}))
	if _, fuzzing := t.(*testing.F); fuzzing {
		// f.Log may not be called from inside the fuzz target.
		log = slog.New(slog.DiscardHandler)
	}
	dir, err := sqldir.Open(filepath.Join(tmp, "dir.db"), sqldir.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, a := range []struct {
		acct directory.Account
		pass string
	}{
		{directory.Account{Address: thanh, Aliases: []string{thanhAlias}, DisplayName: "Nguyễn Ngọc Thành"}, thanhPass},
		{directory.Account{Address: mai, DisplayName: "Trần Thị Mai"}, maiPass},
		{directory.Account{Address: locked, DisplayName: "Lê Văn Khoa", State: directory.StateLocked}, lockedPass},
		{directory.Account{Address: retired, DisplayName: "Nguyễn Văn Hữu", State: directory.StateRetired}, ""},
		{directory.Account{Address: small, DisplayName: "Văn thư", Role: directory.RoleClerk, QuotaBytes: smallQuota}, ""},
	} {
		if err := dir.PutAccount(ctx, a.acct, a.pass); err != nil {
			t.Fatal(err)
		}
	}
	storeDir, spoolDir := filepath.Join(tmp, "store"), tmp
	if opts.storeDir != "" {
		storeDir, spoolDir = filepath.Join(opts.storeDir, "store"), opts.storeDir
	}
	store, err := storage.Open(storeDir, storage.Options{DefaultQuotaBytes: 1 << 30, Logger: log})
	if err != nil {
		t.Fatal(err)
	}

	certPEM, keyPEM, err := tlsutil.SelfSigned([]string{testHost, "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)

	var d directory.Directory = dir
	if opts.wrapDir != nil {
		d = opts.wrapDir(dir)
	}
	e := &env{t: t, store: store, dir: dir, metrics: metrics.New(),
		client: &tls.Config{RootCAs: pool, ServerName: testHost}}
	var hooks policy.Hooks
	if opts.policy != nil {
		hooks = opts.policy(dir, store)
	}
	var groups Groups
	if opts.groups != nil {
		groups = opts.groups(dir)
	}
	e.srv = New(Config{
		Hostname:           testHost,
		LocalDomains:       []string{"KhanhHoa.gov.vn"}, // compared case-insensitively
		MaxMessageBytes:    opts.maxMessageBytes,
		MaxAttachmentBytes: opts.maxAttachmentBytes,
		MaxRecipients:      opts.maxRecipients,
		TLS:                &tls.Config{Certificates: []tls.Certificate{cert}},
		SpoolDir:           spoolDir,
	}, Deps{Store: store, Dir: d, Logger: log, Metrics: e.metrics, Policy: hooks,
		Outbound: opts.outbound, Signer: opts.signer, Inbound: opts.inbound, SendAs: opts.sendAs, Groups: groups,
		Credentials: opts.credentials})

	done := make(chan error, 3)
	for _, l := range []struct {
		addr  *string
		serve func(net.Listener) error
	}{{&e.mx, e.srv.ServeMX}, {&e.sub, e.srv.ServeSubmission}, {&e.subs, e.srv.ServeSubmissions}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		*l.addr = ln.Addr().String()
		if opts.wrapListener != nil {
			ln = opts.wrapListener(ln)
		}
		go func() { done <- l.serve(ln) }()
	}
	t.Cleanup(func() {
		if err := e.srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		for range 3 {
			// net.ErrClosed: Close came before that Serve started.
			if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
				t.Errorf("Serve returned %v after Close", err)
			}
		}
		store.Close()
		dir.Close()
	})
	return e
}

// testWriter sends server logs to the test log until the test ends
// (connection goroutines may still log after Close returns).
type testWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func newTestWriter(t testing.TB) *testWriter {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return w
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// inbox returns the raw messages in a user's INBOX, oldest first.
func (e *env) inbox(user string) [][]byte {
	e.t.Helper()
	return e.folder(user, storage.Inbox)
}

func (e *env) folder(user, folder string) [][]byte {
	e.t.Helper()
	ctx := context.Background()
	mb, err := e.store.Mailbox(ctx, user, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	infos, err := mb.Messages(ctx, folder)
	if err != nil {
		e.t.Fatal(err)
	}
	var out [][]byte
	for _, mi := range infos {
		rc, err := mb.Open(ctx, folder, mi.UID)
		if err != nil {
			e.t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// counter reads a counter from the env's registry (0 when absent).
func (e *env) counter(name string, labels ...string) float64 {
	e.t.Helper()
	mfs, err := e.metrics.Registry.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// message builds a small RFC 5322 message with CRLF line ends.
func message(from, to, subject, body string) []byte {
	return []byte(strings.ReplaceAll(fmt.Sprintf("From: <%s>\nTo: <%s>\nSubject: %s\n"+
		"Date: Mon, 02 Jun 2025 09:15:04 +0700\nMessage-ID: <%d@test>\nMIME-Version: 1.0\n"+
		"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n%s\n",
		from, to, subject, time.Now().UnixNano(), body), "\n", "\r\n"))
}

// filler returns about n bytes of text in 76-character lines (SMTP lines
// are limited, RFC 5321 4.5.3.1.6).
func filler(c byte, n int) string {
	line := strings.Repeat(string(c), 76) + "\n"
	return strings.Repeat(line, n/len(line)+1)
}

// traceRE matches what smtpd prepends: Return-Path, then one Received
// field with its continuation lines.
var traceRE = regexp.MustCompile(`^Return-Path: <([^>]*)>\r\nReceived: from [^\r]*\r\n(?:\t[^\r]*\r\n)*`)

// checkStored asserts that stored is sent with only the trace header
// fields in front, and returns the trace block.
func checkStored(t *testing.T, stored, sent []byte, from string) string {
	t.Helper()
	if !bytes.HasSuffix(stored, sent) {
		t.Fatalf("stored message does not end with the sent bytes:\n%q", stored)
	}
	trace := stored[:len(stored)-len(sent)]
	m := traceRE.FindSubmatch(trace)
	if m == nil || len(m[0]) != len(trace) {
		t.Fatalf("unexpected header block in front of the message:\n%s", trace)
	}
	if string(m[1]) != from {
		t.Errorf("Return-Path <%s>, want <%s>", m[1], from)
	}
	return string(trace)
}

// raw is a hand-driven SMTP conversation, to assert exact replies.
type raw struct {
	t  testing.TB
	c  net.Conn
	tp *textproto.Conn
}

func dialRaw(t testing.TB, addr string, implicit *tls.Config) *raw {
	t.Helper()
	var c net.Conn
	var err error
	if implicit != nil {
		c, err = tls.Dial("tcp", addr, implicit)
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := &raw{t: t, c: c, tp: textproto.NewConn(c)}
	t.Cleanup(func() { c.Close() })
	r.read(220, "")
	return r
}

// read reads one reply and checks its code and enhanced code (if given).
func (r *raw) read(code int, enh string) string {
	r.t.Helper()
	got, msg, err := r.tp.ReadResponse(0)
	if err != nil {
		r.t.Fatalf("reading reply: %v", err)
	}
	if got != code || (enh != "" && !strings.HasPrefix(msg, enh+" ")) {
		r.t.Fatalf("reply %d %s, want %d %s", got, msg, code, enh)
	}
	return msg
}

// cmd sends a command and checks the reply.
func (r *raw) cmd(code int, enh, format string, args ...any) string {
	r.t.Helper()
	if err := r.tp.PrintfLine(format, args...); err != nil {
		r.t.Fatal(err)
	}
	return r.read(code, enh)
}

// ehlo returns the extension keywords (upper case, with parameters).
func (r *raw) ehlo() []string {
	r.t.Helper()
	msg := r.cmd(250, "", "EHLO client.bocongan.gov.vn")
	return strings.Split(msg, "\n")[1:]
}

func (r *raw) startTLS(cfg *tls.Config) {
	r.t.Helper()
	r.cmd(220, "", "STARTTLS")
	tc := tls.Client(r.c, cfg)
	if err := tc.Handshake(); err != nil {
		r.t.Fatal(err)
	}
	r.c, r.tp = tc, textproto.NewConn(tc)
}

func (r *raw) authPlain(code int, enh, user, pass string) {
	r.t.Helper()
	r.cmd(code, enh, "AUTH PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)))
}

// data sends DATA and the message, and checks the final reply.
func (r *raw) data(code int, enh string, msg []byte) string {
	r.t.Helper()
	r.cmd(354, "", "DATA")
	w := r.tp.DotWriter()
	w.Write(msg)
	if err := w.Close(); err != nil {
		r.t.Fatal(err)
	}
	return r.read(code, enh)
}

// bdat sends one BDAT chunk (RFC 3030) and checks the reply.
func (r *raw) bdat(code int, enh string, chunk []byte, last bool) string {
	r.t.Helper()
	suffix := ""
	if last {
		suffix = " LAST"
	}
	fmt.Fprintf(r.c, "BDAT %d%s\r\n", len(chunk), suffix)
	r.c.Write(chunk)
	return r.read(code, enh)
}

// failingDir is a Directory whose backend can be switched off: the test
// double for an unreachable directory.
type failingDir struct {
	directory.Directory
	down atomic.Bool
}

func (d *failingDir) Lookup(ctx context.Context, address string) (*directory.Account, error) {
	if d.down.Load() {
		return nil, mailerr.ErrDirectoryUnavailable.With(fmt.Errorf("test: directory down"))
	}
	return d.Directory.Lookup(ctx, address)
}

func (d *failingDir) Authenticate(ctx context.Context, login, password string) (*directory.Account, error) {
	if d.down.Load() {
		return nil, mailerr.ErrDirectoryUnavailable.With(fmt.Errorf("test: directory down"))
	}
	return d.Directory.Authenticate(ctx, login, password)
}
