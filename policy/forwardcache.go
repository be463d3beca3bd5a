package policy

import (
	"context"
	"sync"
	"time"
)

const (
	// forwardCacheTTL bounds how long delivery trusts its copy of the
	// forwarding rules: a rule changed by another process (a CLI command)
	// takes effect within it; one changed through this process at once.
	forwardCacheTTL = 5 * time.Second
	// maxCachedForwards is the most rules kept in memory; with more,
	// delivery queries its recipients' rules as before.
	maxCachedForwards = 10000
)

// forwardCache is the forwards table in memory. Every delivered message
// asked the database for its recipients' rules, which few accounts have:
// 2.4 % of a delivery's CPU (issue 16). gen keeps a reload that raced a
// change from storing what it read before it.
type forwardCache struct {
	mu      sync.Mutex
	gen     uint64
	rules   map[string]string // address → target
	tooMany bool              // more than maxCachedForwards: not cached
	at      time.Time         // zero: not loaded
	// loading is set while one delivery reloads a stale copy; the others
	// go on with the stale one instead of all reading the table at once.
	loading bool
}

// changed forgets the cache after a write to the forwards table.
func (c *forwardCache) changed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.rules, c.tooMany, c.at = nil, false, time.Time{}
}

// lookup returns the targets of addresses from the cache, loading it when
// it is stale; ok is false when the rules are too many to cache.
func (c *forwardCache) lookup(ctx context.Context, db *DB, addresses []string) (out map[string]string, ok bool, err error) {
	now := time.Now()
	c.mu.Lock()
	fresh := !c.at.IsZero() && (now.Sub(c.at) < forwardCacheTTL || c.loading)
	rules, tooMany, gen := c.rules, c.tooMany, c.gen
	if !fresh {
		c.loading = true
	}
	c.mu.Unlock()
	if !fresh {
		rules, tooMany, err = db.loadForwards(ctx)
		c.mu.Lock()
		c.loading = false
		if err == nil && c.gen == gen {
			c.rules, c.tooMany, c.at = rules, tooMany, now
		}
		c.mu.Unlock()
		if err != nil {
			return nil, false, err
		}
	}
	if tooMany {
		return nil, false, nil
	}
	out = map[string]string{}
	for _, a := range addresses {
		if t, ok := rules[a]; ok {
			out[a] = t
		}
	}
	return out, true, nil
}

// loadForwards reads every rule, or reports that there are more than
// maxCachedForwards.
func (db *DB) loadForwards(ctx context.Context) (map[string]string, bool, error) {
	rows, err := db.ro.QueryContext(ctx, `SELECT address, target FROM forwards LIMIT ?`, maxCachedForwards+1)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	rules := map[string]string{}
	for rows.Next() {
		var a, t string
		if err := rows.Scan(&a, &t); err != nil {
			return nil, false, err
		}
		rules[a] = t
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if len(rules) > maxCachedForwards {
		return nil, true, nil
	}
	return rules, false, nil
}
