//go:build !linux

package replay

import "net"

// UDP GSO (UDP_SEGMENT) is Linux's; elsewhere every datagram is sent on its own.

const gsoMaxSegments = 1

func gsoSegmentLimit(*net.UDPConn, bool) int { return 0 }

func newGSOControl() []byte { return nil }

func setGSOSize([]byte, int) {}

func gsoRefused(error) bool { return false }
