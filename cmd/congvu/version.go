package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// printVersion prints the release (from -ldflags "-X main.version=…", as
// `make build` sets it), the module version and VCS revision the Go
// toolchain recorded, and the Go version.
func printVersion(w io.Writer) {
	rev, when, dirty := "", "", false
	modVersion := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		modVersion = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "congvu %s", version)
	if modVersion != "" && modVersion != "(devel)" {
		fmt.Fprintf(&b, " (module %s)", modVersion)
	}
	switch {
	case rev != "":
		fmt.Fprintf(&b, "\nrevision %s", rev)
		if dirty {
			b.WriteString(" (modified)")
		}
		if when != "" {
			fmt.Fprintf(&b, ", %s", when)
		}
	default:
		b.WriteString("\nrevision unknown (built without VCS information, e.g. -buildvcs=false)")
	}
	fmt.Fprintf(&b, "\n%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	io.WriteString(w, b.String())
}
