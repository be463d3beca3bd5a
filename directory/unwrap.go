package directory

// Wrapper is implemented by a directory that decorates another one — a
// login-ticket check, app passwords, the store's address resolution — so
// that the optional capabilities of what it wraps (alias domains,
// published certificates, renames) stay reachable through it without a
// pass-through method on every wrapper.
type Wrapper interface {
	Unwrap() Directory
}

// maxWrapDepth bounds the walk: wrapper chains are two or three deep, and a
// cycle must not hang a delivery.
const maxWrapDepth = 16

// As returns the first directory in dir's wrapper chain (dir itself, then
// what each Wrapper unwraps to) that implements T. It is for optional
// capabilities only: asking it for a Directory or Writer would skip the
// wrappers' own Authenticate and Lookup, which are the point of them.
func As[T any](dir Directory) (T, bool) {
	for depth := 0; dir != nil && depth < maxWrapDepth; depth++ {
		if t, ok := dir.(T); ok {
			return t, true
		}
		w, ok := dir.(Wrapper)
		if !ok {
			break
		}
		dir = w.Unwrap()
	}
	var zero T
	return zero, false
}
