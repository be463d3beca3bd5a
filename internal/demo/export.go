package demo

import (
	mrand "math/rand/v2"

	"congvu/directory"
)

// Names is the demo's seeded generator of realistic Vietnamese full names
// and phone numbers, exported for the province generator of
// directory/importer. It is not safe for concurrent use.
type Names struct{ g nameGen }

// NewNames returns a generator that gives the same sequence for the same
// seed.
func NewNames(seed int64) *Names {
	return &Names{nameGen{rng: mrand.New(mrand.NewPCG(uint64(seed), 0x636f6e677675))}}
}

// Name returns a full name: surname, middle name(s), given name.
func (n *Names) Name() string { return n.g.name() }

// Phone returns a mobile number in the usual grouping ("091 234 5678").
func (n *Names) Phone() string { return n.g.phone() }

// Intn returns a seeded number in [0, n), for choices that must follow the
// same seed as the names.
func (n *Names) Intn(k int) int { return n.g.rng.IntN(k) }

// PasswordSource makes random initial passwords that satisfy the provincial
// policy (directory.CheckPassword). Keyed from crypto/rand; not safe for
// concurrent use.
type PasswordSource struct{ rng *mrand.Rand }

// NewPasswordSource returns a fresh source of initial passwords.
func NewPasswordSource() *PasswordSource { return &PasswordSource{newPasswordSource()} }

// Password returns a random password valid for account a.
func (p *PasswordSource) Password(a *directory.Account) string { return newPassword(p.rng, a) }
