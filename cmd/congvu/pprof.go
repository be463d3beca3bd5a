//go:build pprof

// A profiling build (go build -tags pprof ./cmd/congvu) serves
// net/http/pprof on CONGVU_PPROF_ADDR (e.g. 127.0.0.1:6060), so the CPU of
// the delivery path can be profiled under the bench's load. Never in a
// release build: the tag is off by default.
package main

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if addr := os.Getenv("CONGVU_PPROF_ADDR"); addr != "" {
		go http.ListenAndServe(addr, nil)
	}
}
