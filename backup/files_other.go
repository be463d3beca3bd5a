//go:build !linux

package backup

import "errors"

func syncFS(string) error { return errors.New("backup: syncfs is only implemented on Linux") }
