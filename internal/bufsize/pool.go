package bufsize

import (
	"bufio"
	"io"
	"sync"
)

// Pool lends bufio.Readers of one size to a parser that reads through a
// message once and keeps none of the buffer (it copies what it keeps).
// Sized readers (Reader) still allocated the message's size on every pass
// of every delivery; with a pool the passes of one delivery cost nothing
// (issue 16). The zero Pool is not usable: use NewPool. A nil *Pool lends
// a new sized reader, so callers without one need no second path.
type Pool struct {
	size int
	p    sync.Pool
}

// NewPool returns a pool of readers of size bytes.
func NewPool(size int) *Pool { return &Pool{size: size} }

// Get returns a reader of r. Give it back with Put once nothing refers to
// what it returned.
func (p *Pool) Get(r io.Reader) *bufio.Reader {
	if p == nil {
		return Reader(r, 16<<10)
	}
	if br, ok := p.p.Get().(*bufio.Reader); ok {
		br.Reset(r)
		return br
	}
	// Not bufio.NewReaderSize(r, …): that returns r itself when r is a
	// large enough bufio.Reader, and Put would then pool the caller's.
	br := bufio.NewReaderSize(nil, p.size)
	br.Reset(r)
	return br
}

// Put takes back a reader from Get; it must not be used afterwards.
func (p *Pool) Put(br *bufio.Reader) {
	if p == nil || br == nil || br.Size() != p.size {
		return
	}
	br.Reset(nil)
	p.p.Put(br)
}
