package policy

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// While one delivery reloads a stale copy of the rules, the others use
// the stale copy instead of all reading the table; without any copy, a
// delivery reads the table itself.
func TestForwardCacheOneReloaderAtATime(t *testing.T) {
	closed, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	db := &DB{ro: closed} // any query fails
	c := &forwardCache{rules: map[string]string{"a@khanhhoa.gov.vn": "b@khanhhoa.gov.vn"},
		at: time.Now().Add(-2 * forwardCacheTTL), loading: true}
	got, ok, err := c.lookup(context.Background(), db, []string{"a@khanhhoa.gov.vn", "c@khanhhoa.gov.vn"})
	if err != nil || !ok || len(got) != 1 || got["a@khanhhoa.gov.vn"] != "b@khanhhoa.gov.vn" {
		t.Fatalf("stale copy while another reloads: %v %v %v", got, ok, err)
	}
	c.loading = false
	if _, _, err := c.lookup(context.Background(), db, []string{"a@khanhhoa.gov.vn"}); err == nil {
		t.Fatal("a stale copy with nobody reloading was used without reading the table")
	}
	if c.loading {
		t.Fatal("a failed reload left the cache marked as loading")
	}
	c.changed()
	c.loading = true
	if _, _, err := c.lookup(context.Background(), db, []string{"a@khanhhoa.gov.vn"}); err == nil {
		t.Fatal("with no copy at all, the table was not read")
	}
}
