// Package addressbook is the published danh bạ as mail clients see it:
// what /danhba publishes (name, title, unit, address and phone of every
// mailbox that is not retired), fetched from whatever directory backs
// congvu (SQLite or OpenLDAP) and cached briefly. The LDAP endpoint
// (package ldapd) and CardDAV (package carddav) serve it.
package addressbook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
	"time"

	"congvu/directory"
	"congvu/directory/addr"
	"congvu/directory/orgdb"
)

// Entry is one published mailbox: only public attributes.
type Entry struct {
	Address   string
	Name      string // "Nguyễn Ngọc Thành", or the unit's name for its mailbox
	Surname   string // họ: the first word of a person's name
	GivenName string // tên: the last word
	Title     string
	Unit      string // unit name
	UnitCode  string
	Phone     string
	IsUnit    bool // the unit's shared mailbox
	// IsGroup: a distribution list (package groups); Members are a
	// custom group's member addresses (a unit group's come from the
	// directory at delivery and are not listed).
	IsGroup bool
	Members []string
	Updated time.Time

	// Certificate is the official's published S/MIME certificate (DER,
	// RFC 2798 userSMIMECertificate), nil when none: clients encrypt to it.
	Certificate []byte

	// Folded copies for diacritic- and case-insensitive matching.
	FoldedName, FoldedTitle, FoldedUnit string
}

// Snapshot is the danh bạ at one moment; immutable and shared.
type Snapshot struct {
	*directory.Tree
	Entries   []Entry // in unit tree order
	byAddress map[string]int
	// Fetched is when the snapshot was read from the directory.
	Fetched time.Time
	// Generation goes up whenever a fetched snapshot publishes something
	// else than the one before (changes.go); Epoch names the Book (the
	// process) the generations count in. CardDAV sync tokens are both.
	Generation int64
	Epoch      string
}

// Lookup returns the entry of an address.
func (s *Snapshot) Lookup(address string) (Entry, bool) {
	i, ok := s.byAddress[strings.ToLower(address)]
	if !ok {
		return Entry{}, false
	}
	return s.Entries[i], true
}

// Options tune a Book.
type Options struct {
	// TTL is how long a snapshot is served; default 60 s. Failures are
	// remembered for at most 5 s.
	TTL    time.Duration
	Logger *slog.Logger
	Now    func() time.Time
	// Controls are the publishing controls and groups (orgdb.DB); nil
	// publishes everything and no group. A change there is seen by the
	// next request (its generation is read each time), not after TTL.
	Controls Controls
}

// Controls is where publishing controls and groups are kept.
type Controls interface {
	// PublishGeneration changes whenever a control or a group changes.
	PublishGeneration(ctx context.Context) (int64, error)
	WithheldAll(ctx context.Context) ([]orgdb.Withheld, error)
	Groups(ctx context.Context) ([]orgdb.Group, error)
}

// Book fetches and caches snapshots.
type Book struct {
	dir  directory.Directory
	opts Options

	mu      sync.Mutex // held during a fetch: one fetch for many waiting requests
	snap    *Snapshot
	err     error
	expires time.Time
	gen     int64 // the controls' generation snap was built with
	epoch   string
	log     changeLog
}

// New returns a Book over dir.
func New(dir directory.Directory, opts Options) *Book {
	if opts.TTL <= 0 {
		opts.TTL = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var id [8]byte
	rand.Read(id[:])
	return &Book{dir: dir, opts: opts, epoch: hex.EncodeToString(id[:])}
}

// ChangesSince is what changed in the danh bạ after generation gen of
// epoch up to snapshot s (which this Book returned): ok=false when that
// can no longer be told (another epoch, a generation older than the log),
// and the client must sync in full.
func (b *Book) ChangesSince(s *Snapshot, epoch string, gen int64) (Changes, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if epoch != b.epoch || s == nil {
		return Changes{}, false
	}
	return b.log.between(gen, s.Generation)
}

// Forget drops the cached snapshot: the next request reads the directory.
func (b *Book) Forget() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.snap, b.err, b.expires = nil, nil, time.Time{}
}

// fetchTimeout bounds one fetch of the whole directory.
const fetchTimeout = 20 * time.Second

// Snapshot returns the current snapshot, fetching it when expired.
func (b *Book) Snapshot(ctx context.Context) (*Snapshot, error) {
	// The generation is read before taking the lock: every danh bạ, LDAP
	// and CardDAV request asks, and orgdb's read pool answers them side by
	// side instead of one after another behind the mutex.
	gen, genErr := b.generation(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.opts.Now()
	if now.Before(b.expires) && genErr == nil && gen != b.gen {
		// Another request may have fetched since the read: ask again
		// under the lock before fetching the whole directory.
		gen, genErr = b.generation(ctx)
	}
	if now.Before(b.expires) && (genErr != nil || gen == b.gen) {
		return b.snap, b.err
	}
	// Not the request's context: a client going away must not become a
	// cached failure for everybody else.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	snap, err := fetch(fctx, b.dir, b.opts.Controls, now, b.opts.Logger)
	if err != nil {
		b.opts.Logger.Warn("addressbook: directory fetch failed", "err", err)
		b.snap, b.err, b.expires = nil, err, now.Add(min(b.opts.TTL, 5*time.Second))
		return nil, err
	}
	b.log.record(snap)
	snap.Epoch = b.epoch
	b.snap, b.err, b.expires, b.gen = snap, nil, now.Add(b.opts.TTL), gen
	return snap, nil
}

// generation reads the controls' generation; a failure keeps serving
// the cached snapshot until it expires.
func (b *Book) generation(ctx context.Context) (int64, error) {
	if b.opts.Controls == nil {
		return 0, nil
	}
	gen, err := b.opts.Controls.PublishGeneration(ctx)
	if err != nil {
		b.opts.Logger.Warn("addressbook: publishing controls not read", "err", err)
	}
	return gen, err
}

func fetch(ctx context.Context, dir directory.Directory, ctl Controls, now time.Time, log *slog.Logger) (*Snapshot, error) {
	units, err := dir.Units(ctx)
	if err != nil {
		return nil, err
	}
	accounts, err := dir.Accounts(ctx, "")
	if err != nil {
		return nil, err
	}
	rules, groups, err := readControls(ctx, ctl)
	if err != nil {
		// Publishing more than allowed is worse than publishing late.
		return nil, err
	}
	units = rules.visibleUnits(units)
	// Without certificates the address book still lists everybody.
	certs, err := directory.PublishedCertificates(ctx, dir)
	if err != nil {
		log.Warn("addressbook: certificates not read", "err", err)
	}
	s := &Snapshot{Tree: directory.NewTree(units), byAddress: map[string]int{}, Fetched: now}
	rank := map[string]int{}
	s.Walk("", func(u directory.Unit, _ int) { rank[u.Code] = len(rank) })
	byUnit := map[string][]Entry{}
	var orphans []Entry
	for _, a := range accounts {
		if a.State == directory.StateRetired {
			continue // locked accounts stay listed: they still receive mail
		}
		if rules.hiddenUnit[a.UnitCode] {
			continue
		}
		if rules.withheld(a.Address, a.UnitCode, orgdb.AttrEntry) {
			continue
		}
		if rules.withheld(a.Address, a.UnitCode, orgdb.AttrPhone) {
			a.Phone = ""
		}
		if rules.withheld(a.Address, a.UnitCode, orgdb.AttrTitle) {
			a.Title = ""
		}
		e := Entry{Address: a.Address, Name: a.DisplayName, Title: a.Title, UnitCode: a.UnitCode, Phone: a.Phone,
			IsUnit: a.Role == directory.RoleUnit, Updated: a.StateChanged, Certificate: certs[a.Address]}
		if u, ok := s.Units[a.UnitCode]; ok {
			e.Unit = u.Name
			if e.IsUnit && e.Name == "" {
				e.Name = u.Name
			}
		}
		if e.Name == "" {
			e.Name = a.Address
		}
		if !e.IsUnit {
			if w := strings.Fields(e.Name); len(w) > 1 {
				e.Surname, e.GivenName = w[0], w[len(w)-1]
			}
		}
		e.FoldedName, e.FoldedTitle, e.FoldedUnit = addr.Fold(e.Name), addr.Fold(e.Title), addr.Fold(e.Unit)
		if _, ok := rank[a.UnitCode]; ok {
			byUnit[a.UnitCode] = append(byUnit[a.UnitCode], e)
		} else {
			orphans = append(orphans, e)
		}
	}
	for _, g := range groups {
		if g.UnitCode != "" && rules.hiddenUnit[g.UnitCode] {
			continue
		}
		e := Entry{Address: g.Address, Name: g.Name, UnitCode: g.UnitCode, IsGroup: true, Members: g.Members,
			Updated: g.Created, Title: "Nhóm thư / mailing list"}
		if u, ok := s.Units[g.UnitCode]; ok {
			e.Unit = u.Name
		}
		e.FoldedName, e.FoldedTitle, e.FoldedUnit = addr.Fold(e.Name), addr.Fold(e.Title), addr.Fold(e.Unit)
		if _, ok := rank[g.UnitCode]; ok {
			byUnit[g.UnitCode] = append(byUnit[g.UnitCode], e)
		} else {
			orphans = append(orphans, e)
		}
	}
	s.Walk("", func(u directory.Unit, _ int) {
		list := byUnit[u.Code]
		// The unit's own mailbox first, then its groups, then people by
		// address.
		for _, e := range list {
			if e.IsUnit {
				s.add(e)
			}
		}
		for _, e := range list {
			if e.IsGroup {
				s.add(e)
			}
		}
		for _, e := range list {
			if !e.IsUnit && !e.IsGroup {
				s.add(e)
			}
		}
	})
	for _, e := range orphans {
		s.add(e)
	}
	return s, nil
}

func (s *Snapshot) add(e Entry) {
	s.byAddress[e.Address] = len(s.Entries)
	s.Entries = append(s.Entries, e)
}

// Fold is the matching form of a string: lower case, without diacritics
// (đ becomes d), as the danh bạ compares names.
func Fold(s string) string { return addr.Fold(s) }
