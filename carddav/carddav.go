// Package carddav serves the danh bạ and each official's personal
// contacts over CardDAV (RFC 6352), with github.com/emersion/go-webdav:
//
//	/.well-known/carddav                       → the signed-in official's principal
//	/carddav/<address>/                        principal
//	/carddav/<address>/books/                  address book home set
//	/carddav/<address>/books/tinh/             the whole province (read-only)
//	/carddav/<address>/books/donvi/            the official's own unit and its sub-units (read-only)
//	/carddav/<address>/books/canhan/           personal contacts (read-write)
//
// Officials sign in with HTTP Basic over HTTPS (address and mail password,
// through the policy engine's login hooks). Cards are vCard 3.0 unless the
// client asks for 4.0 (address-data version="4.0" in a REPORT, or an
// Accept header on GET). Published books hold only what /danhba publishes.
package carddav

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-vcard"
	"github.com/emersion/go-webdav/carddav"

	"congvu/addressbook"
	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/policy"
)

// Protocol names CardDAV sign-ins in the policy engine's records.
const Protocol policy.Protocol = "carddav"

// Prefix is where the books live.
const Prefix = "/carddav"

// Options configure a Handler.
type Options struct {
	Book   *addressbook.Book
	Dir    directory.Directory
	Policy policy.Hooks
	// Personal stores each official's own contacts.
	Personal *PersonalStore
	// SizeLimit bounds the cards one query returns.
	SizeLimit int
	Logger    *slog.Logger
}

// Handler serves CardDAV.
type Handler struct {
	o      Options
	policy policy.Hooks
	dav    *carddav.Handler
	auth   *authCache
}

// New returns the CardDAV handler; mount it on /.well-known/carddav and
// /carddav/.
func New(o Options) *Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.SizeLimit <= 0 {
		o.SizeLimit = 500
	}
	h := &Handler{o: o, policy: policy.OrNop(o.Policy), auth: newAuthCache()}
	h.dav = &carddav.Handler{Backend: &backend{h: h}, Prefix: Prefix}
	return h
}

type ctxKey int

const (
	accountKey ctxKey = iota
	versionKey
)

func accountFrom(ctx context.Context) *directory.Account {
	a, _ := ctx.Value(accountKey).(*directory.Account)
	return a
}

// wantV4 says whether the client asked for vCard 4.0.
func wantV4(ctx context.Context) bool {
	v, _ := ctx.Value(versionKey).(bool)
	return v
}

// maxRequestBody bounds a PROPFIND/REPORT/PUT body.
const maxRequestBody = 1 << 20

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.TLS == nil {
		// Passwords only over TLS: the plain listener sends clients to HTTPS.
		http.Error(w, "CardDAV chỉ qua HTTPS / CardDAV is served over HTTPS only", http.StatusForbidden)
		return
	}
	acct, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	ctx := context.WithValue(r.Context(), accountKey, acct)
	// vCard version negotiation (RFC 6352 6.3.2 and 10.4).
	v4 := strings.Contains(r.Header.Get("Accept"), "version=4.0")
	if r.Body != nil && (r.Method == "REPORT" || r.Method == "PROPFIND") {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
		if err != nil || len(body) > maxRequestBody {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		if bytes.Contains(body, []byte(`version="4.0"`)) || bytes.Contains(body, []byte(`version='4.0'`)) {
			v4 = true
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	} else if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
	}
	ctx = context.WithValue(ctx, versionKey, v4)
	if (r.Method == "REPORT" || r.Method == "PROPFIND") && r.Body != nil {
		// RFC 6578 (sync.go): go-webdav has no server side of it.
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if h.syncRequest(w, r.WithContext(ctx), body) {
			return
		}
	}
	h.dav.ServeHTTP(w, r.WithContext(ctx))
}

// authenticate checks HTTP Basic credentials (RFC 7617) through the policy
// engine, caching a success briefly: CardDAV clients send the password
// with every request and the password hash is deliberately slow.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (*directory.Account, bool) {
	challenge := func() {
		w.Header().Set("WWW-Authenticate", `Basic realm="congvu", charset="UTF-8"`)
		http.Error(w, "Hãy đăng nhập bằng địa chỉ thư và mật khẩu / sign in with your address and password", http.StatusUnauthorized)
	}
	login, password, ok := r.BasicAuth()
	if !ok || login == "" {
		challenge()
		return nil, false
	}
	login = directory.NormalizeAddress(login)
	if acct := h.auth.get(login, password); acct != nil {
		return acct, true
	}
	ip := policy.AddrIP(r.RemoteAddr)
	attempt := policy.AuthAttempt{Protocol: Protocol, IP: ip, Login: login}
	if d := h.policy.BeforeAuth(r.Context(), attempt); d.Refused() {
		writeErr(w, d.Err())
		return nil, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	acct, err := h.o.Dir.Authenticate(ctx, login, password)
	o := policy.AuthOutcome{AuthAttempt: attempt, Result: policy.ClassifyAuth(err), Account: acct}
	if d := h.policy.AfterAuth(ctx, o); d.Refused() {
		err = d.Err()
	}
	switch {
	case err == nil && acct != nil:
		h.auth.put(login, password, acct)
		return acct, true
	case o.Result == policy.AuthUnavailable:
		writeErr(w, mailerr.ErrDirectoryUnavailable)
		return nil, false
	case o.Result == policy.AuthDisabled:
		writeErr(w, err)
		return nil, false
	}
	challenge()
	return nil, false
}

func writeErr(w http.ResponseWriter, err error) {
	me := mailerr.Classify(err)
	http.Error(w, me.MessageVI+" / "+me.Message, me.HTTP())
}

// authCache remembers successful sign-ins for a few minutes, keyed by a
// hash of the login and password (the password itself is never kept).
type authCache struct {
	mu sync.Mutex
	m  map[[32]byte]authEntry
}

type authEntry struct {
	acct    *directory.Account
	expires time.Time
}

const (
	authTTL     = 5 * time.Minute
	authEntries = 10000
)

func newAuthCache() *authCache { return &authCache{m: map[[32]byte]authEntry{}} }

func authKey(login, password string) [32]byte {
	return sha256.Sum256([]byte(login + "\x00" + password))
}

func (c *authCache) get(login, password string) *directory.Account {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[authKey(login, password)]
	if !ok || time.Now().After(e.expires) {
		return nil
	}
	return e.acct
}

func (c *authCache) put(login, password string, acct *directory.Account) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= authEntries {
		clear(c.m)
	}
	c.m[authKey(login, password)] = authEntry{acct: acct, expires: time.Now().Add(authTTL)}
}

// publishedCard is a danh bạ entry as a vCard of the wanted version.
func publishedCard(e addressbook.Entry, v4 bool) vcard.Card {
	c := vcard.Card{}
	c.SetValue(vcard.FieldVersion, "3.0")
	c.SetValue(vcard.FieldUID, "urn:uuid:"+uuidFor(e.Address))
	c.SetValue(vcard.FieldFormattedName, e.Name)
	given, family := e.GivenName, e.Surname
	middle := ""
	if w := strings.Fields(e.Name); !e.IsUnit && !e.IsGroup && len(w) > 2 {
		middle = strings.Join(w[1:len(w)-1], " ")
	}
	if e.IsUnit || e.IsGroup {
		family = e.Name
	}
	c.SetName(&vcard.Name{FamilyName: family, GivenName: given, AdditionalName: middle})
	c.Add(vcard.FieldEmail, &vcard.Field{Value: e.Address, Params: vcard.Params{vcard.ParamType: {"INTERNET", "WORK"}}})
	if e.Phone != "" {
		c.Add(vcard.FieldTelephone, &vcard.Field{Value: e.Phone, Params: vcard.Params{vcard.ParamType: {"WORK", "VOICE"}}})
	}
	if e.Title != "" {
		c.SetValue(vcard.FieldTitle, e.Title)
	}
	if e.Unit != "" {
		c.SetValue(vcard.FieldOrganization, e.Unit)
	}
	if e.IsUnit || e.IsGroup {
		c.SetValue("X-ADDRESSBOOKSERVER-KIND", "group")
	}
	if e.Certificate != nil && !v4 {
		// RFC 2426 §3.7.2: the certificate, base64 with TYPE=X509.
		c.Add(vcard.FieldKey, &vcard.Field{Value: base64.StdEncoding.EncodeToString(e.Certificate),
			Params: vcard.Params{"ENCODING": {"b"}, vcard.ParamType: {"X509"}}})
	}
	if v4 {
		vcard.ToV4(c)
		if e.Certificate != nil {
			// RFC 6350 §6.8.1: a data: URI.
			c.SetValue(vcard.FieldKey, "data:application/pkix-cert;base64,"+base64.StdEncoding.EncodeToString(e.Certificate))
		}
		if e.IsUnit || e.IsGroup {
			delete(c, "X-ADDRESSBOOKSERVER-KIND")
			c.SetKind(vcard.KindOrganization)
			if e.IsGroup {
				c.SetKind(vcard.KindGroup) // RFC 6350 6.1.4
			}
		}
		// RFC 6350 6.1.4/6.4.2: lower-case TYPE values in 4.0.
		for _, f := range append(c[vcard.FieldEmail], c[vcard.FieldTelephone]...) {
			types := f.Params.Types()
			var keep []string
			for _, t := range types {
				if t = strings.ToLower(t); t != "internet" && t != "voice" {
					keep = append(keep, t)
				}
			}
			f.Params[vcard.ParamType] = keep
		}
	}
	return c
}

// uuidFor is a stable name-based UUID for a published entry.
func uuidFor(address string) string {
	h := sha256.Sum256([]byte("congvu danh ba\x00" + strings.ToLower(address)))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// encode writes a card; its hash is the ETag.
func encode(c vcard.Card) ([]byte, string, error) {
	var b bytes.Buffer
	if err := vcard.NewEncoder(&b).Encode(c); err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(b.Bytes())
	return b.Bytes(), hex.EncodeToString(sum[:12]), nil
}

var errForbidden = errors.New("forbidden")
