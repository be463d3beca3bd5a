package demo

import (
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"strings"

	"congvu/directory"
)

// nameGen makes realistic Vietnamese full names (surname, middle name, given
// name) from a seeded source, so that a demo seed is reproducible.
type nameGen struct{ rng *mrand.Rand }

// weighted picks from parallel lists, weights roughly following how common
// each surname is (Nguyễn is about a third of the population).
type weighted struct {
	items   []string
	weights []int
	total   int
}

func newWeighted(pairs ...any) weighted {
	var w weighted
	for i := 0; i < len(pairs); i += 2 {
		w.items = append(w.items, pairs[i].(string))
		w.weights = append(w.weights, pairs[i+1].(int))
		w.total += pairs[i+1].(int)
	}
	return w
}

func (w weighted) pick(rng *mrand.Rand) string {
	n := rng.IntN(w.total)
	for i, wt := range w.weights {
		if n < wt {
			return w.items[i]
		}
		n -= wt
	}
	return w.items[len(w.items)-1]
}

func surnames() weighted {
	return newWeighted("Nguyễn", 38, "Trần", 11, "Lê", 9, "Phạm", 7, "Hoàng", 5, "Huỳnh", 4, "Phan", 4,
		"Vũ", 3, "Võ", 4, "Đặng", 2, "Bùi", 2, "Đỗ", 2, "Hồ", 2, "Ngô", 2, "Dương", 1, "Lý", 1,
		"Trương", 1, "Đinh", 1, "Lâm", 1, "Mai", 1, "Châu", 1, "Tôn", 1)
}

func middleNames(female bool) []string {
	if female {
		return []string{"Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Minh", "Kim", "Hồng", "Thùy", "Bích", "Phương", "Mỹ", "Thị Thu", "Thị Ngọc"}
	}
	return []string{"Văn", "Văn", "Văn", "Hữu", "Đức", "Minh", "Quốc", "Ngọc", "Công", "Thanh", "Xuân", "Đình", "Quang", "Tấn", "Anh"}
}

func givenNames(female bool) []string {
	if female {
		return []string{"Anh", "Hà", "Hạnh", "Hằng", "Hoa", "Hương", "Lan", "Linh", "Loan", "Mai", "Nga", "Ngân", "Nhung",
			"Oanh", "Phương", "Quyên", "Tâm", "Thảo", "Thủy", "Trang", "Trâm", "Tuyết", "Uyên", "Vân", "Yến", "Hiền", "Dung"}
	}
	return []string{"An", "Bảo", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Đức", "Hải", "Hiếu", "Hòa", "Hùng", "Huy", "Khánh",
		"Khoa", "Long", "Minh", "Nam", "Nghĩa", "Phong", "Phúc", "Quân", "Sơn", "Tài", "Thắng", "Thành", "Thịnh", "Toàn",
		"Trung", "Tuấn", "Việt", "Vinh"}
}

func (g nameGen) name() string {
	female := g.rng.IntN(2) == 0
	mids, givens := middleNames(female), givenNames(female)
	return surnames().pick(g.rng) + " " + mids[g.rng.IntN(len(mids))] + " " + givens[g.rng.IntN(len(givens))]
}

// phone returns a Vietnamese mobile number in the usual grouping.
func (g nameGen) phone() string {
	prefixes := []string{"090", "091", "093", "094", "096", "097", "098", "083", "088", "070", "077", "035"}
	return fmt.Sprintf("%s %03d %04d", prefixes[g.rng.IntN(len(prefixes))], g.rng.IntN(1000), g.rng.IntN(10000))
}

// Password alphabets leave out look-alikes (0/O, 1/l/I) because demo
// passwords are read off a screen and typed into a mail client.
const (
	pwUpper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	pwLower   = "abcdefghijkmnopqrstuvwxyz"
	pwDigits  = "23456789"
	pwSpecial = "!@#$%&*+-=?"
	pwLength  = 14
)

// newPasswordSource returns a generator for passwords: ChaCha8 keyed from
// crypto/rand, because passwords are secrets, unlike the seeded names.
func newPasswordSource() *mrand.Rand {
	var key [32]byte
	rand.Read(key[:]) // never fails (crypto/rand, Go 1.24+)
	return mrand.New(mrand.NewChaCha8(key))
}

// newPassword returns a random password that satisfies the provincial
// policy (directory.CheckPassword) for account a. It never starts with a
// special character: a leading '-' reads as an option when pasted into
// command-line tools.
func newPassword(rng *mrand.Rand, a *directory.Account) string {
	all := pwUpper + pwLower + pwDigits + pwSpecial
	for {
		b := []byte{
			pwUpper[rng.IntN(len(pwUpper))], pwLower[rng.IntN(len(pwLower))],
			pwDigits[rng.IntN(len(pwDigits))], pwSpecial[rng.IntN(len(pwSpecial))],
		}
		for len(b) < pwLength {
			b = append(b, all[rng.IntN(len(all))])
		}
		for i := len(b) - 1; i > 0; i-- { // Fisher–Yates
			j := rng.IntN(i + 1)
			b[i], b[j] = b[j], b[i]
		}
		if pw := string(b); directory.CheckPassword(pw, a) == nil && !strings.ContainsAny(pw[:1], pwSpecial) {
			return pw
		}
	}
}
