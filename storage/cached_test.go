package storage

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestCachedMany answers like Cached for dense and sparse UID sets, leaves
// out UIDs that are not in the folder, and with headerOnly returns the same
// header without decoding the rest.
func TestCachedMany(t *testing.T) {
	s, _ := newStore(t)
	mb := mailboxOf(t, s, testUser)
	ctx := context.Background()
	var uids []uint32
	for name, raw := range readTestMessages(t) {
		for range 3 {
			res, err := mb.Append(ctx, Inbox, bytes.NewReader(raw), nil, time.Time{})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			uids = append(uids, res.UID)
		}
	}
	expunged := uids[1]
	mb.SetFlags(ctx, Inbox, []uint32{expunged}, FlagsAdd, []string{`\Deleted`}, 0)
	mb.Expunge(ctx, Inbox, nil)

	lister := mb.(CachedLister)
	for _, set := range [][]uint32{
		uids,                                // dense: one range scan
		{uids[len(uids)-1], uids[0], 99999}, // sparse and unordered, one unknown
	} {
		got, err := lister.CachedMany(ctx, Inbox, set, false)
		if err != nil {
			t.Fatal(err)
		}
		heads, err := lister.CachedMany(ctx, Inbox, set, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, uid := range set {
			want, werr := mb.Cached(ctx, Inbox, uid)
			c, ok := got[uid]
			if werr != nil {
				if ok || heads[uid] != nil {
					t.Errorf("UID %d (%v) is in the answer", uid, werr)
				}
				continue
			}
			if !ok || !reflect.DeepEqual(c, want) {
				t.Errorf("UID %d: CachedMany %+v, Cached %+v", uid, c, want)
			}
			if h := heads[uid]; h == nil || !bytes.Equal(h.Header, want.Header) || h.Envelope != nil {
				t.Errorf("UID %d header only: %+v", uid, h)
			}
		}
		if _, ok := got[expunged]; ok {
			t.Errorf("expunged UID %d returned", expunged)
		}
	}
	if _, err := lister.CachedMany(ctx, "Nowhere", uids, false); err == nil {
		t.Error("unknown folder accepted")
	}
}

// TestCachedDamagedRow: a cache row that no longer decodes is rebuilt from
// the message file, through Cached and CachedMany alike.
func TestCachedDamagedRow(t *testing.T) {
	s, dir := newStore(t)
	mb := mailboxOf(t, s, testUser)
	ctx := context.Background()
	raw := readTestMessages(t)["multipart-attachment.eml"]
	res, err := mb.Append(ctx, Inbox, bytes.NewReader(raw), nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := mb.Cached(ctx, Inbox, res.UID)
	if err != nil {
		t.Fatal(err)
	}
	// A second store process sees the damage (the first one's memory
	// cache would keep answering from the good copy, which is fine).
	db, err := sql.Open("sqlite3", filepath.Join(dir, usersDir, "angiang.gov.vn", "nva", indexFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE cache SET parsed = '{\"v\":99}'"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s.Close()
	s2 := openStore(t, dir)
	mb2 := mailboxOf(t, s2, testUser)
	got, err := mb2.Cached(ctx, Inbox, res.UID)
	if err != nil || !reflect.DeepEqual(got.BodyStructure, want.BodyStructure) {
		t.Fatalf("Cached of a damaged row: %v %+v", err, got)
	}
	many, err := mb2.(CachedLister).CachedMany(ctx, Inbox, []uint32{res.UID}, false)
	if err != nil || !reflect.DeepEqual(many[res.UID].Envelope, want.Envelope) {
		t.Fatalf("CachedMany of a damaged row: %v %+v", err, many)
	}
}

func TestDecodedCacheBound(t *testing.T) {
	d := newDecodedCache(16000)
	for i := range 50 {
		d.put(decodedKey{"u", 1, uint32(i)}, &Cached{}, 1000)
	}
	if d.size > 16000 || len(d.items) != 16 {
		t.Fatalf("size %d, %d items", d.size, len(d.items))
	}
	if d.get(decodedKey{"u", 1, 49}) == nil || d.get(decodedKey{"u", 1, 0}) != nil {
		t.Error("not least-recently-used eviction")
	}
	d.put(decodedKey{"u", 1, 999}, &Cached{}, 1500) // more than 1/16 of the budget
	if d.get(decodedKey{"u", 1, 999}) != nil {
		t.Error("oversized entry cached")
	}
}
