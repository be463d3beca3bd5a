package core

// The webmail of a cluster ([cluster]): any node serves the web, but a
// mailbox lives on one node only. When the signed-in official's mailbox
// is on another node, the pages that touch it (/mail…, /settings) are
// forwarded to that node's web listener over TLS. The node that holds
// the session checks it (and the CSRF token of a POST) as for any page,
// then adds a ticket to the forwarded request: an HMAC with the secret
// every node shares over the account, the session's CSRF token, the
// method, the path, the target node and a one-minute expiry, usable once.
// The home node accepts that ticket in place of a session cookie; a
// request carrying a ticket that fails the check (a client that made one
// up, a replay, another path) is refused with 403. Sessions stay in each
// node's own web.db: nothing to replicate.

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"congvu/directory"
)

const (
	// HomeTicketHeader carries the ticket of a forwarded request.
	HomeTicketHeader = "X-Congvu-Node-Ticket"
	// homeFlashHeader carries the home node's one-time notice back to
	// the node that holds the session (never to the browser).
	homeFlashHeader = "X-Congvu-Node-Flash"
	homeTicketTTL   = time.Minute
	homeClockSkew   = 5 * time.Second
	// maxHomeTicket bounds the header (a notice with its items fits).
	maxHomeTicket = 8 << 10
	// homeTicketDomain separates these MACs from the other uses of the
	// cluster secret (relay, nginx login tickets, moves).
	homeTicketDomain = "congvu-web-node-ticket-v1\x00"
)

// HomeConfig configures the forwarding of mailbox pages to home nodes.
type HomeConfig struct {
	Self   string // this node's name
	Secret []byte // the secret every node shares (cluster.secret_file)
	// TLS trusts the nodes' certificates (cluster.ca_file).
	TLS *tls.Config
	// HomeOf is the node that stores acct's mailbox.
	HomeOf func(acct *directory.Account) string
	// WebAddr is a node's web listener (host:port) and the name its
	// certificate carries; ok is false for a node without one.
	WebAddr func(node string) (addr, serverName string, ok bool)
}

// HomeProxy forwards the mailbox pages of officials whose mailbox is on
// another node, and accepts the pages other nodes forward here.
type HomeProxy struct {
	cfg HomeConfig
	now func() time.Time

	mu         sync.Mutex
	used       map[string]time.Time       // nonce → when it may be forgotten
	transports map[string]*http.Transport // by addr|serverName
}

// NewHomeProxy returns the forwarding of one node of a cluster.
func NewHomeProxy(cfg HomeConfig) (*HomeProxy, error) {
	if len(cfg.Secret) < 16 || cfg.Self == "" || cfg.HomeOf == nil || cfg.WebAddr == nil {
		return nil, errors.New("web: forwarding to home nodes needs the node's name, the cluster secret (16 bytes or more) and the node table")
	}
	if cfg.TLS == nil {
		cfg.TLS = &tls.Config{}
	}
	return &HomeProxy{cfg: cfg, now: time.Now, used: map[string]time.Time{}, transports: map[string]*http.Transport{}}, nil
}

// homeTicket is what a ticket vouches for.
type homeTicket struct {
	Address string  `json:"a"`
	CSRF    string  `json:"c"`
	Method  string  `json:"m"`
	Path    string  `json:"p"` // path?query
	Node    string  `json:"h"` // the node it is for
	IP      string  `json:"i"` // the browser's address, for logs and audit
	Expires int64   `json:"e"` // Unix seconds
	Nonce   string  `json:"n"`
	Notice  *Notice `json:"f,omitempty"` // the session's one-time notice
}

// forwards tells whether path touches the mailbox: the webmail (and the
// mailbox download under it) and the settings of delivery (signature,
// vacation, forwarding), which the home node applies.
func forwards(path string) bool {
	return path == "/mail" || strings.HasPrefix(path, "/mail/") || path == "/settings"
}

func requestTarget(u *url.URL) string { return u.Path + "?" + u.RawQuery }

func (p *HomeProxy) mac(payload string) string {
	m := hmac.New(sha256.New, p.cfg.Secret)
	m.Write([]byte(homeTicketDomain))
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (p *HomeProxy) issue(t homeTicket) (string, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return "", err
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + p.mac(payload), nil
}

// errBadTicket is every reason a ticket is refused; the log says which.
var errBadTicket = errors.New("invalid node ticket")

// verify checks the ticket of r: its MAC, that it is for this node, this
// method and path, not expired, and not seen before.
func (p *HomeProxy) verify(r *http.Request) (homeTicket, error) {
	var t homeTicket
	raw := r.Header.Get(HomeTicketHeader)
	if len(raw) > maxHomeTicket {
		return t, fmt.Errorf("%w: %d bytes", errBadTicket, len(raw))
	}
	payload, mac, ok := strings.Cut(raw, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(p.mac(payload))) {
		return t, fmt.Errorf("%w: signature", errBadTicket)
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || json.Unmarshal(b, &t) != nil {
		return t, fmt.Errorf("%w: malformed", errBadTicket)
	}
	now := p.now()
	exp := time.Unix(t.Expires, 0)
	switch {
	case t.Node != p.cfg.Self:
		return t, fmt.Errorf("%w: for node %q", errBadTicket, t.Node)
	case t.Method != r.Method || t.Path != requestTarget(r.URL):
		return t, fmt.Errorf("%w: for %s %s", errBadTicket, t.Method, t.Path)
	case now.After(exp.Add(homeClockSkew)) || exp.After(now.Add(homeTicketTTL+homeClockSkew)):
		return t, fmt.Errorf("%w: expired", errBadTicket)
	case t.Address == "" || t.CSRF == "" || t.Nonce == "":
		return t, fmt.Errorf("%w: incomplete", errBadTicket)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for n, until := range p.used {
		if now.After(until) {
			delete(p.used, n)
		}
	}
	if _, seen := p.used[t.Nonce]; seen {
		return t, fmt.Errorf("%w: used before", errBadTicket)
	}
	p.used[t.Nonce] = exp.Add(homeClockSkew)
	return t, nil
}

// transport is the HTTP client of one node's web listener, trusting the
// cluster's certificates under the node's certificate name.
func (p *HomeProxy) transport(addr, serverName string) *http.Transport {
	key := addr + "|" + serverName
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.transports[key]; ok {
		return t
	}
	tc := p.cfg.TLS.Clone()
	tc.ServerName = serverName
	tc.MinVersion = max(tc.MinVersion, tls.VersionTLS12)
	t := &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second, ResponseHeaderTimeout: 2 * time.Minute,
		IdleConnTimeout: 90 * time.Second, MaxIdleConnsPerHost: 16}
	p.transports[key] = t
	return t
}

// Close drops the idle connections to other nodes.
func (p *HomeProxy) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.transports {
		t.CloseIdleConnections()
	}
}

// elsewhere is the home node of acct when r is a mailbox page and the
// mailbox is on another node; "" otherwise.
func (p *HomeProxy) elsewhere(r *http.Request, acct *directory.Account) string {
	if p == nil || !forwards(r.URL.Path) {
		return ""
	}
	if home := p.cfg.HomeOf(acct); home != "" && home != p.cfg.Self {
		return home
	}
	return ""
}

// forward serves r on node, the home of c's mailbox.
func (s *Site) forward(w http.ResponseWriter, r *http.Request, c *Ctx, node string) {
	p := s.opts.Home
	addr, serverName, ok := p.cfg.WebAddr(node)
	if !ok {
		s.homeUnavailable(w, r, node, fmt.Errorf("cluster.nodes.%s has no web address", node))
		return
	}
	var nonce [12]byte
	rand.Read(nonce[:])
	t := homeTicket{Address: c.Acct.Address, CSRF: c.Session.CSRF, Method: r.Method, Path: requestTarget(r.URL),
		Node: node, IP: ClientIP(r).String(), Expires: s.opts.Now().Add(homeTicketTTL).Unix(),
		Nonce: base64.RawURLEncoding.EncodeToString(nonce[:])}
	if r.Method == http.MethodGet {
		t.Notice = s.sessions.takeFlash(c.Session.key) // shown by the page the home node renders
	}
	ticket, err := p.issue(t)
	if err != nil {
		s.Fail(w, "node ticket", err)
		return
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "https", Host: addr})
			pr.Out.Host = pr.In.Host // the same origin checks and redirects as here
			pr.Out.Header.Del("Cookie")
			for k := range pr.Out.Header {
				if strings.HasPrefix(http.CanonicalHeaderKey(k), "X-Congvu-") {
					pr.Out.Header.Del(k)
				}
			}
			pr.Out.Header.Set(HomeTicketHeader, ticket)
		},
		Transport: p.transport(addr, serverName),
		ModifyResponse: func(res *http.Response) error {
			if v := res.Header.Get(homeFlashHeader); v != "" && len(v) <= maxHomeTicket {
				var n Notice
				if b, err := base64.RawURLEncoding.DecodeString(v); err == nil && json.Unmarshal(b, &n) == nil {
					s.SetFlash(c, &n)
				}
			}
			res.Header.Del(homeFlashHeader)
			res.Header.Del("Set-Cookie") // the session is this node's
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the browser went away
			}
			s.homeUnavailable(w, r, node, err)
		},
	}
	// The home node's answer brings its own headers (a page with scripts
	// widens the CSP): none of those set here may double them.
	clear(w.Header())
	rp.ServeHTTP(&deadlineWriter{ResponseWriter: w}, r)
}

// homeUnavailable answers when the home node cannot be reached.
func (s *Site) homeUnavailable(w http.ResponseWriter, r *http.Request, node string, err error) {
	s.Log.Warn("web: the home node of the mailbox is unreachable", "node", node, "err", err)
	SetPrivateHeaders(w.Header(), r)
	w.Header().Set("Retry-After", "60")
	s.Message(w, http.StatusServiceUnavailable,
		"Hộp thư của bạn tạm thời không truy cập được: máy chủ lưu hộp thư đang bảo trì hoặc gặp sự cố. Thư gửi đến bạn không bị mất. Vui lòng thử lại sau ít phút.",
		"Your mailbox is temporarily unavailable: the server that stores it is down for maintenance or has a problem. No mail sent to you is lost. Please try again in a few minutes.")
}

// forwardedCtx is the request state of a page forwarded here by another
// node.
type forwardedCtx struct {
	notice *Notice             // the session's notice, to show
	w      http.ResponseWriter // SetFlash sends a new notice back in it
}

// authedForwarded serves a page another node forwarded for the home
// mailbox here: its ticket stands for the session.
func (s *Site) authedForwarded(w http.ResponseWriter, r *http.Request, h func(http.ResponseWriter, *http.Request, *Ctx)) {
	refuse := func(err error) {
		s.Log.Warn("web: request with a node ticket refused", "path", r.URL.Path, "ip", ClientIP(r), "err", err)
		s.Message(w, http.StatusForbidden, "Yêu cầu bị từ chối: phiếu xác thực giữa các máy chủ không hợp lệ.",
			"Request refused: invalid node-to-node ticket.")
	}
	if s.opts.Home == nil {
		refuse(errors.New("this node is not in a cluster"))
		return
	}
	t, err := s.opts.Home.verify(r)
	if err != nil {
		refuse(err)
		return
	}
	acct, err := s.opts.Dir.Lookup(r.Context(), t.Address)
	switch {
	case err != nil:
		s.Fail(w, "lookup", err)
		return
	case acct.State != directory.StateActive:
		refuse(fmt.Errorf("account %s is not active", acct.Address))
		return
	}
	if r.Method == http.MethodPost {
		// The node that holds the session checked the token; the form's
		// token is read here all the same (a multipart form starts with
		// it), and must be the session's.
		var token string
		token, r = postToken(r)
		if !sameToken(token, t.CSRF) {
			s.csrfRefused(w)
			return
		}
	}
	if ip := net.ParseIP(t.IP); ip != nil {
		r = r.WithContext(r.Context())
		r.RemoteAddr = net.JoinHostPort(ip.String(), "0")
	}
	c := &Ctx{Session: Session{Address: acct.Address, CSRF: t.CSRF}, Acct: acct, Forced: s.forcedReason(acct),
		fwd: &forwardedCtx{notice: t.Notice, w: w}}
	if c.Forced != "" && !allowedWhileForced(r.URL.Path) {
		http.Redirect(w, r, "/password", http.StatusSeeOther)
		return
	}
	h(w, r, c)
}

// sendFlashBack hands a notice set on a forwarded page to the node that
// holds the session.
func sendFlashBack(f *forwardedCtx, n *Notice) {
	b, err := json.Marshal(n)
	if err == nil {
		f.w.Header().Set(homeFlashHeader, base64.RawURLEncoding.EncodeToString(b))
	}
}

// bodyRecorder keeps what was read of a request body, so that the CSRF
// check can read a form and the body still be forwarded whole.
type bodyRecorder struct {
	body io.ReadCloser
	read []byte
}

func (b *bodyRecorder) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	b.read = append(b.read, p[:n]...)
	return n, err
}

func (b *bodyRecorder) Close() error { return b.body.Close() }

// checkTokenKeepingBody is the CSRF check of a POST that will be
// forwarded: the token is read as for any POST (a multipart form's first
// part, or the whole small form), and r's body then starts again from
// its first byte.
func checkTokenKeepingBody(r *http.Request, want string) bool {
	rec := &bodyRecorder{body: r.Body}
	r.Body = rec
	token, _ := postToken(r)
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(rec.read), rec.body), rec.body}
	return sameToken(token, want)
}

// deadlineWriter moves the write deadline before each write of a
// forwarded answer, so that a long download (the mailbox as mbox) is not
// cut by the listener's write timeout while it keeps moving.
type deadlineWriter struct {
	http.ResponseWriter
}

func (d *deadlineWriter) Write(b []byte) (int, error) {
	http.NewResponseController(d.ResponseWriter).SetWriteDeadline(time.Now().Add(time.Minute))
	return d.ResponseWriter.Write(b)
}

func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }
