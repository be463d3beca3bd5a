package outbound

import (
	"sync"
	"time"
)

// maxIdlePerKey bounds the idle connections kept per destination.
const maxIdlePerKey = 4

// pool keeps sessions open after a transaction so the next message to the
// same destination skips connect, EHLO and TLS (RFC 5321 4.5.4.1 invites
// several transactions per connection).
type pool struct {
	timeout time.Duration
	mu      sync.Mutex
	idle    map[string][]*idleSession
	closed  bool
}

type idleSession struct {
	s     *session
	timer *time.Timer
}

func newPool(timeout time.Duration) *pool {
	return &pool{timeout: timeout, idle: map[string][]*idleSession{}}
}

// get takes an idle session for key, or nil.
func (p *pool) get(key string) *session {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.idle[key]
	if len(list) == 0 {
		return nil
	}
	is := list[len(list)-1]
	p.idle[key] = list[:len(list)-1]
	is.timer.Stop()
	return is.s
}

// put keeps s for key until the idle timeout, then says QUIT.
func (p *pool) put(key string, s *session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.idle[key]) >= maxIdlePerKey || p.timeout <= 0 {
		go s.quit()
		return
	}
	is := &idleSession{s: s}
	is.timer = time.AfterFunc(p.timeout, func() {
		p.mu.Lock()
		list := p.idle[key]
		found := false
		for i, x := range list {
			if x == is {
				p.idle[key] = append(list[:i], list[i+1:]...)
				found = true
				break
			}
		}
		p.mu.Unlock()
		if found {
			s.quit()
		}
	})
	p.idle[key] = append(p.idle[key], is)
}

func (p *pool) closeAll() {
	p.mu.Lock()
	p.closed = true
	var all []*session
	for _, list := range p.idle {
		for _, is := range list {
			is.timer.Stop()
			all = append(all, is.s)
		}
	}
	p.idle = map[string][]*idleSession{}
	p.mu.Unlock()
	for _, s := range all {
		s.quit()
	}
}

// quit ends a session politely (RFC 5321 4.1.1.10).
func (s *session) quit() {
	s.client.CommandTimeout = 5 * time.Second // never hold up shutdown
	s.client.Quit()
	s.client.Close()
}
