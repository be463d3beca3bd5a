package main

import (
	"runtime/debug"
	"testing"
)

// The operator's GOGC wins; without it the collector's target is raised.
func TestRaiseGCPercent(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)

	t.Setenv("GOGC", "50")
	if _, raised := raiseGCPercent(); raised {
		t.Fatal("raised the target although GOGC is set")
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("target %d after GOGC was set, want it left at 100", got)
	}

	t.Setenv("GOGC", "")
	if p, raised := raiseGCPercent(); !raised || p != gcPercent {
		t.Fatalf("raiseGCPercent() = %d, %v", p, raised)
	}
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Fatalf("target %d, want %d", got, gcPercent)
	}
}
