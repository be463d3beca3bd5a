package ldapdir

import (
	"fmt"
	"testing"
	"time"

	"congvu/directory"
)

func TestCache(t *testing.T) {
	now := time.Now()
	c := newCache(3, time.Minute, 10*time.Second)
	_, _, gen := c.get("a", now)
	for i := range 4 {
		c.put(fmt.Sprintf("k%d", i), &directory.Account{Address: fmt.Sprintf("k%d", i), Aliases: []string{"x"}}, gen, now)
	}
	if _, found, _ := c.get("k0", now); found {
		t.Error("oldest entry not evicted beyond the bound")
	}
	a, found, _ := c.get("k3", now)
	if !found || a.Address != "k3" {
		t.Fatalf("k3 = %v, %v", a, found)
	}
	a.Aliases[0] = "changed"
	if b, _, _ := c.get("k3", now); b.Aliases[0] != "x" {
		t.Error("caller changed the cached account")
	}
	if _, found, _ := c.get("k3", now.Add(2*time.Minute)); found {
		t.Error("expired entry returned")
	}
	c.put("unknown", nil, gen, now)
	if a, found, _ := c.get("unknown", now.Add(5*time.Second)); !found || a != nil {
		t.Errorf("negative entry = %v, %v", a, found)
	}
	if _, found, _ := c.get("unknown", now.Add(11*time.Second)); found {
		t.Error("negative entry outlived its TTL")
	}
	// A write between a miss and its put: the stale result is dropped.
	_, _, gen = c.get("late", now)
	c.purge()
	c.put("late", &directory.Account{Address: "late"}, gen, now)
	if _, found, _ := c.get("late", now); found {
		t.Error("result read before a write was cached after it")
	}
	if _, found, _ := c.get("k2", now); found {
		t.Error("purge kept entries")
	}
	off := newCache(10, -1, -1)
	off.put("a", &directory.Account{}, 0, now)
	off.put("b", nil, 0, now)
	if _, found, _ := off.get("a", now); found {
		t.Error("disabled cache stored an entry")
	}
}
