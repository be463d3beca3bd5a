package storage

import (
	"cmp"
	"container/list"
	"slices"
	"sync"
	"unsafe"
)

// listCacheBytes bounds the store's memory cache of folder listings
// (Messages): SELECT, IMAP's re-check after every change, POP3 logins and
// several devices of one user list the same folders again and again.
const listCacheBytes = 64 << 20

// listStamp identifies a folder's contents: every change a listing shows
// (a message added or expunged, flags changed) raises HIGHESTMODSEQ in the
// same transaction (RFC 7162 3.1), in this process or any other, so a
// listing taken at the same stamp is the same listing.
type listStamp struct {
	uidValidity, uidNext uint32
	modseq               uint64
	messages             int64
}

func stampOf(f *folderRow) listStamp {
	return listStamp{f.uidValidity, f.uidNext, f.highestModSeq, f.counts.messages}
}

type listKey struct {
	user   string
	folder int64
}

type listEntry struct {
	key   listKey
	stamp listStamp
	msgs  []MessageInfo
	cost  int
}

// listCache is a byte-bounded LRU of listings, validated against the
// folder row's stamp on every use.
type listCache struct {
	mu    sync.Mutex
	max   int
	size  int
	items map[listKey]*list.Element
	lru   list.List
}

func newListCache(maxBytes int) *listCache {
	return &listCache{max: maxBytes, items: map[listKey]*list.Element{}}
}

// get returns the listing of k if it was taken at stamp st.
func (c *listCache) get(k listKey, st listStamp) []MessageInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil
	}
	e := el.Value.(*listEntry)
	if e.stamp != st {
		c.remove(el)
		return nil
	}
	c.lru.MoveToFront(el)
	return e.msgs
}

// update applies a flag change to the listing of k taken at from and
// keeps it as the listing at to, so that reading a message (\Seen) does
// not cost the next list page a full reload of a large folder. Listings
// are shared with callers, so the change goes into a copy. A listing at
// another stamp, or one missing a changed UID, is dropped instead.
func (c *listCache) update(k listKey, from, to listStamp, changed []MessageInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return
	}
	e := el.Value.(*listEntry)
	if e.stamp != from {
		c.remove(el)
		return
	}
	msgs := slices.Clone(e.msgs)
	for _, m := range changed {
		i, found := slices.BinarySearchFunc(msgs, m.UID, func(x MessageInfo, uid uint32) int { return cmp.Compare(x.UID, uid) })
		if !found {
			c.remove(el)
			return
		}
		msgs[i] = m
	}
	e.msgs, e.stamp = msgs, to
	c.lru.MoveToFront(el)
}

func (c *listCache) put(k listKey, st listStamp, msgs []MessageInfo) {
	cost := len(msgs)*int(unsafe.Sizeof(MessageInfo{})) + 64
	if cost > c.max/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.remove(el)
	}
	c.items[k] = c.lru.PushFront(&listEntry{key: k, stamp: st, msgs: msgs, cost: cost})
	c.size += cost
	for c.size > c.max {
		c.remove(c.lru.Back())
	}
}

func (c *listCache) remove(el *list.Element) {
	e := el.Value.(*listEntry)
	c.lru.Remove(el)
	delete(c.items, e.key)
	c.size -= e.cost
}

// purgeUser forgets a user's listings (after a rebuild, whose folder rows
// may repeat a stamp with other flags).
func (c *listCache) purgeUser(user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, el := range c.items {
		if k.user == user {
			c.remove(el)
		}
	}
}
