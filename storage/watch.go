package storage

import "sync"

// watchKey identifies a watched folder of a user.
type watchKey struct{ user, folder string }

// watchers is the FileStore's registry of Watch subscriptions. Each
// subscriber has a channel with a buffer of one; notify never blocks: when
// the buffer is full the pending event is replaced by the newer one, so a
// slow reader sees fewer events but always the latest MODSEQ, and misses no
// change because it diffs against its own snapshot. A subscriber may also
// have a function, called after each event is queued (WatchNotify).
type watchers struct {
	mu sync.Mutex
	m  map[watchKey]map[chan Event]func()
}

func (w *watchers) watch(user, folder string, fn func()) (<-chan Event, func()) {
	key := watchKey{user, folder}
	ch := make(chan Event, 1)
	w.mu.Lock()
	set := w.m[key]
	if set == nil {
		set = map[chan Event]func(){}
		w.m[key] = set
	}
	set[ch] = fn
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
	for ch, fn := range w.m[watchKey{user, folder}] {
		w.send(ch, ev)
		if fn != nil {
			fn()
		}
	}
}

// send queues ev on ch; w.mu is held.
func (w *watchers) send(ch chan Event, ev Event) {
	select {
	case ch <- ev:
		return
	default:
	}
	// Full: replace the stale event (only notify sends, under w.mu, so
	// after draining the send succeeds).
	select {
	case <-ch:
	default:
	}
	select {
	case ch <- ev:
	default:
	}
}
