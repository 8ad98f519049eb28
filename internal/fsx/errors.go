package fsx

import "errors"

// ErrLocked is wrapped by LockDir when another process holds the directory.
var ErrLocked = errors.New("directory locked")
