package storage

import (
	"container/list"
	"context"
	"os"
	"slices"
	"strings"
	"sync"
)

// CachedLister is implemented by mailboxes that read the cached data of
// many messages in one index query (FETCH of a range, header SEARCH).
// Type-assert a Mailbox to use it; Mailbox.Cached is the one-message form.
type CachedLister interface {
	// CachedMany returns the cached data of uids (any order) in folder,
	// keyed by UID; UIDs not in the folder are absent. With headerOnly
	// only Header is set (no envelope or body structure is decoded).
	// Returned values are shared: callers must not modify them.
	CachedMany(ctx context.Context, folder string, uids []uint32, headerOnly bool) (map[uint32]*Cached, error)
}

var _ CachedLister = (*mailbox)(nil)

// decodedCacheBytes bounds the store's memory cache of decoded cache rows:
// the envelopes and body structures that clients fetch again and again
// (the latest messages of a folder, every time it is opened).
const decodedCacheBytes = 32 << 20

// decodedKey names a message for ever: folder ids are never reused within
// a user and a UID always names the same message file.
type decodedKey struct {
	user   string
	folder int64
	uid    uint32
}

// decodedCache is a byte-bounded LRU of decoded cache rows. Entries never
// go stale (see decodedKey), so nothing needs invalidating; expunged
// messages simply age out.
type decodedCache struct {
	mu    sync.Mutex
	max   int
	size  int
	items map[decodedKey]*list.Element
	lru   list.List // front = most recently used
}

type decodedEntry struct {
	key  decodedKey
	c    *Cached
	cost int
}

func newDecodedCache(maxBytes int) *decodedCache {
	return &decodedCache{max: maxBytes, items: map[decodedKey]*list.Element{}}
}

func (d *decodedCache) get(k decodedKey) *Cached {
	d.mu.Lock()
	defer d.mu.Unlock()
	el, ok := d.items[k]
	if !ok {
		return nil
	}
	d.lru.MoveToFront(el)
	return el.Value.(*decodedEntry).c
}

// put stores c; cost approximates its memory (the decoded structures take
// about twice their JSON size).
func (d *decodedCache) put(k decodedKey, c *Cached, cost int) {
	if cost > d.max/16 {
		return // one huge header must not flush everything else
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if el, ok := d.items[k]; ok {
		d.lru.MoveToFront(el)
		return
	}
	d.items[k] = d.lru.PushFront(&decodedEntry{key: k, c: c, cost: cost})
	d.size += cost
	for d.size > d.max {
		el := d.lru.Back()
		e := el.Value.(*decodedEntry)
		d.lru.Remove(el)
		delete(d.items, e.key)
		d.size -= e.cost
	}
}

// decodeRow turns one cache row into a Cached, through the memory cache;
// a row that cannot be decoded (older format, damage) is parsed again from
// the message file.
func (u *userState) decodeRow(folderID int64, uid uint32, header, parsed []byte) (*Cached, error) {
	k := decodedKey{user: u.key, folder: folderID, uid: uid}
	if c := u.s.decoded.get(k); c != nil {
		return c, nil
	}
	c, err := decodeCached(header, parsed)
	if err != nil {
		u.log.Warn("storage: cached structure unreadable, parsing the message file", "folder", folderID, "uid", uid, "err", err)
		file, err := os.Open(u.messagePath(folderID, uid))
		if err != nil {
			return nil, err
		}
		defer file.Close()
		p := parseMessage(file)
		if parsed, err = encodeParsed(p); err != nil {
			return nil, err
		}
		if c, err = decodeCached(p.Header, parsed); err != nil {
			return nil, err
		}
		header = p.Header
	}
	u.s.decoded.put(k, c, len(header)+2*len(parsed)+256)
	return c, nil
}

// cachedChunk bounds the UIDs read by one CachedMany query.
const cachedChunk = 512

func (m *mailbox) CachedMany(ctx context.Context, folder string, uids []uint32, headerOnly bool) (map[uint32]*Cached, error) {
	name, err := normalizeFolder(folder)
	if err != nil {
		return nil, err
	}
	out := make(map[uint32]*Cached, len(uids))
	err = m.with(ctx, func(u *userState) error {
		f, err := getFolder(ctx, u.db, name)
		if err != nil {
			return err
		}
		want := make(map[uint32]bool, len(uids))
		var missing []uint32
		for _, uid := range uids {
			if !headerOnly {
				if c := u.s.decoded.get(decodedKey{u.key, f.id, uid}); c != nil {
					out[uid] = c
					continue
				}
			}
			if !want[uid] {
				want[uid] = true
				missing = append(missing, uid)
			}
		}
		// One query per chunk of sorted UIDs.
		slices.Sort(missing)
		for len(missing) > 0 {
			n := min(len(missing), cachedChunk)
			chunk := missing[:n]
			missing = missing[n:]
			if err := u.readCached(ctx, f.id, chunk, want, headerOnly, out); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readCached reads the cache rows of chunk (sorted UIDs): a range scan when
// they are dense (rows in the range not asked for are skipped), else by
// UID list.
func (u *userState) readCached(ctx context.Context, folderID int64, chunk []uint32, want map[uint32]bool, headerOnly bool, out map[uint32]*Cached) error {
	cols := "id, header, parsed"
	if headerOnly {
		cols = "id, header, NULL"
	}
	lo, hi := chunk[0], chunk[len(chunk)-1]
	query := "SELECT " + cols + " FROM cache WHERE id BETWEEN ? AND ?"
	args := []any{cacheKey(folderID, lo), cacheKey(folderID, hi)}
	if int64(hi-lo) >= 2*int64(len(chunk)) {
		query = "SELECT " + cols + " FROM cache WHERE id IN (?" + strings.Repeat(", ?", len(chunk)-1) + ")"
		args = args[:0]
		for _, uid := range chunk {
			args = append(args, cacheKey(folderID, uid))
		}
	}
	rows, err := u.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var key int64
		var header, parsed []byte
		if err := rows.Scan(&key, &header, &parsed); err != nil {
			return err
		}
		uid := uint32(key) // cacheKey's low half
		if !want[uid] {
			continue
		}
		if headerOnly {
			out[uid] = &Cached{Header: header}
			continue
		}
		c, err := u.decodeRow(folderID, uid, header, parsed)
		if err != nil {
			return err
		}
		out[uid] = c
	}
	return rows.Err()
}
