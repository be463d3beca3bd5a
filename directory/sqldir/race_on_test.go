//go:build race

package sqldir

const raceEnabled = true
