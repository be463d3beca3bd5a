//go:build !linux

package frontend

import "net"

// quickAcker: TCP_QUICKACK is Linux's (quickack_linux.go); elsewhere the
// proxy's pieces wait for the ordinary delayed acknowledgement.
func quickAcker(net.Conn) func() { return func() {} }
