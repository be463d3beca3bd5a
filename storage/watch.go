package storage

import "sync"

// watchKey identifies a watched folder of a user.
type watchKey struct{ user, folder string }

// watchers is the FileStore's registry of Watch subscriptions. Each
// subscriber has a channel with a buffer of one; notify never blocks: when
// the buffer is full the pending event is replaced by the newer one, so a
// slow reader sees fewer events but always the latest MODSEQ, and misses no
// change because it diffs against its own snapshot.
type watchers struct {
	mu sync.Mutex
	m  map[watchKey]map[chan Event]struct{}
}

func (w *watchers) watch(user, folder string) (<-chan Event, func()) {
	key := watchKey{user, folder}
	ch := make(chan Event, 1)
	w.mu.Lock()
	set := w.m[key]
	if set == nil {
		set = map[chan Event]struct{}{}
		w.m[key] = set
	}
	set[ch] = struct{}{}
	w.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			delete(w.m[key], ch)
			if len(w.m[key]) == 0 {
				delete(w.m, key)
			}
		})
	}
}

func (w *watchers) notify(user, folder string, modseq uint64) {
	ev := Event{Folder: folder, ModSeq: modseq}
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.m[watchKey{user, folder}] {
		select {
		case ch <- ev:
			continue
		default:
		}
		// Full: replace the stale event (only notify sends, under w.mu,
		// so after draining the send succeeds).
		select {
		case <-ch:
		default:
		}
		select {
		case ch <- ev:
		default:
		}
	}
}
