package importer

import (
	"fmt"
	"strconv"
	"strings"
)

// maxHeadcount bounds the biên chế of one unit (a province's largest
// department is in the thousands).
const maxHeadcount = 1_000_000

// parseHeadcount reads the optional biên chế cell ("" is 0); the reason
// is set when the cell is not a whole number of people.
func parseHeadcount(cell string) (int, string) {
	cell = strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(cell), ".", ""), " ", "")
	if cell == "" {
		return 0, ""
	}
	n, err := strconv.Atoi(cell)
	if err != nil || n < 0 || n > maxHeadcount {
		return 0, fmt.Sprintf("biên chế không hợp lệ / invalid headcount %q", cell)
	}
	return n, ""
}
