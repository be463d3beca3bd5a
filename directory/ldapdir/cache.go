package ldapdir

import (
	"container/list"
	"slices"
	"sync"
	"time"

	"congvu/directory"
)

// cache is a bounded LRU of Lookup results with a TTL, and a shorter TTL for
// unknown addresses, so delivery does not ask LDAP for every message. Writes
// through this Directory purge it; a generation counter keeps a lookup that
// raced with a write from storing what it read before the write.
type cache struct {
	ttl, negTTL time.Duration
	max         int

	mu    sync.Mutex
	gen   uint64
	items map[string]*list.Element
	lru   list.List // front = most recently used
}

type cacheItem struct {
	key     string
	account *directory.Account // nil: unknown address
	expires time.Time
}

func newCache(size int, ttl, negTTL time.Duration) *cache {
	return &cache{ttl: ttl, negTTL: negTTL, max: size, items: make(map[string]*list.Element)}
}

// get returns a copy of the cached account (nil, true for a cached unknown
// address) and the generation to pass to put.
func (c *cache) get(key string, now time.Time) (a *directory.Account, found bool, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false, c.gen
	}
	it := el.Value.(*cacheItem)
	if now.After(it.expires) {
		c.lru.Remove(el)
		delete(c.items, key)
		return nil, false, c.gen
	}
	c.lru.MoveToFront(el)
	return clone(it.account), true, c.gen
}

// put stores a result read at generation gen (nil account: unknown).
func (c *cache) put(key string, a *directory.Account, gen uint64, now time.Time) {
	ttl := c.ttl
	if a == nil {
		ttl = c.negTTL
	}
	if ttl <= 0 || c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	it := &cacheItem{key: key, account: clone(a), expires: now.Add(ttl)}
	if el, ok := c.items[key]; ok {
		el.Value = it
		c.lru.MoveToFront(el)
		return
	}
	c.items[key] = c.lru.PushFront(it)
	for c.lru.Len() > c.max {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.items, old.Value.(*cacheItem).key)
	}
}

// purge forgets everything: called after every write of this process.
// Writes are rare admin actions, so precise invalidation is not worth its
// risk (an alias moved between accounts touches several keys).
func (c *cache) purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.items)
	c.lru.Init()
}

// clone copies an account so callers cannot change the cached one.
func clone(a *directory.Account) *directory.Account {
	if a == nil {
		return nil
	}
	c := *a
	c.Aliases = slices.Clone(a.Aliases)
	return &c
}
