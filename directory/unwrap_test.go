package directory_test

import (
	"testing"

	"congvu/directory"
)

// aliasing is a backend with an optional capability.
type aliasing struct{ directory.Directory }

func (aliasing) IsAliasDomain(d string) bool { return d == "ninhthuan.gov.vn" }

// wrapping decorates a directory the way the ticket and app-password
// wrappers do.
type wrapping struct{ directory.Directory }

func (w wrapping) Unwrap() directory.Directory { return w.Directory }

// opaque decorates without Unwrap: capabilities behind it are hidden.
type opaque struct{ directory.Directory }

type aliasDomains interface{ IsAliasDomain(string) bool }

func TestAsFindsCapabilityThroughWrappers(t *testing.T) {
	dir := wrapping{wrapping{aliasing{}}}
	ad, ok := directory.As[aliasDomains](dir)
	if !ok || !ad.IsAliasDomain("ninhthuan.gov.vn") {
		t.Fatalf("As through two wrappers = %v, %v", ad, ok)
	}
	if _, ok := directory.As[directory.Certificates](dir); ok {
		t.Error("As found a capability no layer has")
	}
	if _, ok := directory.As[aliasDomains](wrapping{opaque{aliasing{}}}); ok {
		t.Error("As went through a layer without Unwrap")
	}
	if _, ok := directory.As[aliasDomains](nil); ok {
		t.Error("As(nil) found something")
	}
}

// cyclic unwraps to itself: As must stop rather than hang a delivery.
type cyclic struct{ directory.Directory }

func (c *cyclic) Unwrap() directory.Directory { return c }

func TestAsStopsOnCycle(t *testing.T) {
	if _, ok := directory.As[aliasDomains](&cyclic{}); ok {
		t.Error("found a capability in a cycle without one")
	}
}
