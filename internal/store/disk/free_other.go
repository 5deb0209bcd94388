//go:build !(linux || darwin || freebsd)

package disk

import "errors"

// freeSpace cannot tell on this system.
func freeSpace(string) (int64, error) { return 0, errors.ErrUnsupported }
