package carddav

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/emersion/go-vcard"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/carddav"

	"congvu/internal/durable"
)

// PersonalStore keeps each official's personal contacts, one .vcf file per
// card under <dir>/<domain>/<local part>/, written crash-safely.
type PersonalStore struct {
	dir      string
	maxCards int
	mu       sync.Mutex // serialises writes (count and conditional checks)
}

// OpenPersonal opens (creating) the store.
func OpenPersonal(dir string, maxCards int) (*PersonalStore, error) {
	if err := durable.MkdirAll(dir); err != nil {
		return nil, err
	}
	if maxCards <= 0 {
		maxCards = 5000
	}
	return &PersonalStore{dir: dir, maxCards: maxCards}, nil
}

func (s *PersonalStore) userDir(user string) (string, error) {
	local, domain, ok := strings.Cut(strings.ToLower(user), "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(user, "/\\\x00") || strings.Contains(user, "..") ||
		strings.HasPrefix(local, ".") || strings.HasPrefix(domain, ".") {
		return "", httpErr(http.StatusForbidden, "invalid user")
	}
	return filepath.Join(s.dir, domain, local), nil
}

// validObject accepts names clients generate (UUIDs, "x.vcf").
func validObject(name string) bool {
	if name == "" || len(name) > 200 || name[0] == '.' || !strings.HasSuffix(name, ".vcf") {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.@+=", r)) {
			return false
		}
	}
	return true
}

func (s *PersonalStore) read(dir, name, dirPath string, v4 bool) (*carddav.AddressObject, error) {
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, noCard()
	}
	if err != nil {
		return nil, err
	}
	card, err := vcard.NewDecoder(bytes.NewReader(b)).Decode()
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	_, etag, err := encode(card)
	if err != nil {
		return nil, err
	}
	if v4 && card.Value(vcard.FieldVersion) != "4.0" {
		vcard.ToV4(card)
	} else if !v4 && card.Value(vcard.FieldVersion) == "4.0" {
		toV3(card)
	}
	data, _, err := encode(card)
	if err != nil {
		return nil, err
	}
	return &carddav.AddressObject{Path: dirPath + name, ModTime: fi.ModTime(), ContentLength: int64(len(data)), ETag: etag, Card: card}, nil
}

// toV3 writes a 4.0 card as 3.0 for clients that only read 3.0: the
// version, and tel: URIs back to text.
func toV3(c vcard.Card) {
	c.SetValue(vcard.FieldVersion, "3.0")
	for _, f := range c[vcard.FieldTelephone] {
		f.Value = strings.TrimPrefix(f.Value, "tel:")
		delete(f.Params, vcard.ParamValue)
	}
	if c.Value(vcard.FieldKind) == "group" || c.Value(vcard.FieldKind) == "org" {
		c.SetValue("X-ADDRESSBOOKSERVER-KIND", "group")
	}
	delete(c, vcard.FieldKind)
}

func (s *PersonalStore) get(ctx context.Context, user, name, dirPath string) (*carddav.AddressObject, error) {
	dir, err := s.userDir(user)
	if err != nil {
		return nil, err
	}
	if !validObject(name) {
		return nil, noCard()
	}
	return s.read(dir, name, dirPath, wantV4(ctx))
}

func (s *PersonalStore) list(ctx context.Context, user, dirPath string) ([]carddav.AddressObject, error) {
	dir, err := s.userDir(user)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if validObject(e.Name()) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	out := make([]carddav.AddressObject, 0, len(names))
	for _, n := range names {
		ao, err := s.read(dir, n, dirPath, wantV4(ctx))
		if err != nil {
			continue // a damaged file is skipped, not fatal to the book
		}
		out = append(out, *ao)
	}
	return out, nil
}

func (s *PersonalStore) put(ctx context.Context, user, name, dirPath string, card vcard.Card, opts *carddav.PutAddressObjectOptions) (*carddav.AddressObject, error) {
	dir, err := s.userDir(user)
	if err != nil {
		return nil, err
	}
	if !validObject(name) {
		return nil, httpErr(http.StatusBadRequest, "tên liên hệ không hợp lệ / invalid card name (letters, digits, -_.@ and .vcf)")
	}
	// RFC 6352 5.1: a card has a UID; vCard needs FN (RFC 6350 6.2.1).
	if card.Value(vcard.FieldUID) == "" || card.Value(vcard.FieldFormattedName) == "" {
		return nil, carddav.NewPreconditionError(carddav.PreconditionValidAddressData)
	}
	data, etag, err := encode(card)
	if err != nil || len(data) > maxCardBytes {
		return nil, carddav.NewPreconditionError(carddav.PreconditionMaxResourceSize)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	current, err := s.read(dir, name, dirPath, false)
	exists := err == nil
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	if opts != nil {
		if opts.IfNoneMatch.IsWildcard() && exists {
			return nil, httpErr(http.StatusPreconditionFailed, "the card exists")
		}
		if opts.IfMatch.IsSet() {
			want, _ := opts.IfMatch.ETag()
			if !exists || (!opts.IfMatch.IsWildcard() && want != current.ETag) {
				return nil, httpErr(http.StatusPreconditionFailed, "the card changed")
			}
		}
	}
	if !exists {
		entries, _ := os.ReadDir(dir)
		if len(entries) >= s.maxCards {
			return nil, httpErr(http.StatusInsufficientStorage, "quá nhiều liên hệ / too many contacts")
		}
	}
	if err := durable.WriteFile(dir, name, data); err != nil {
		return nil, err
	}
	return &carddav.AddressObject{Path: dirPath + name, ContentLength: int64(len(data)), ETag: etag, Card: card}, nil
}

func (s *PersonalStore) delete(_ context.Context, user, name string) error {
	dir, err := s.userDir(user)
	if err != nil {
		return err
	}
	if !validObject(name) {
		return noCard()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.Remove(filepath.Join(dir, name)); errors.Is(err, fs.ErrNotExist) {
		return noCard()
	} else if err != nil {
		return err
	}
	return durable.SyncDir(dir)
}

// errNoCard is the cause of a 404 for a missing card.
var errNoCard = errors.New("no such card")

func noCard() error { return webdav.NewHTTPError(http.StatusNotFound, errNoCard) }

func isNotFound(err error) bool { return errors.Is(err, errNoCard) }
