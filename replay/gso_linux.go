//go:build linux

package replay

import (
	"encoding/binary"
	"errors"
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// gsoMaxSegments is the most datagrams one UDP GSO send may carry: UDP_MAX_SEGMENTS of
// kernels before 6.12 (later ones take 128).
const gsoMaxSegments = 64

// gsoSegmentLimit is the largest datagram the kernel may cut a GSO send into for this
// connected socket: each segment must fit the path MTU unfragmented. 0 when the kernel
// cannot say (GSO is then not used).
func gsoSegmentLimit(c *net.UDPConn, v6 bool) int {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	mtu := 0
	_ = rc.Control(func(fd uintptr) {
		if v6 {
			mtu, err = unix.GetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_MTU)
		} else {
			mtu, err = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU)
		}
	})
	hdr := 20 + 8
	if v6 {
		hdr = 40 + 8
	}
	if err != nil || mtu <= hdr {
		return 0
	}
	return mtu - hdr
}

// newGSOControl returns a UDP_SEGMENT control message; setGSOSize fills in its size.
func newGSOControl() []byte {
	b := make([]byte, unix.CmsgSpace(2))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = unix.SOL_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	return b
}

func setGSOSize(control []byte, size int) {
	binary.NativeEndian.PutUint16(control[unix.CmsgLen(0):], uint16(size))
}

// gsoRefused reports whether err is the kernel (or the path's device) declining a GSO
// send, rather than the target refusing datagrams: the sender then sends them one by one.
func gsoRefused(err error) bool {
	return errors.Is(err, unix.EIO) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) ||
		errors.Is(err, unix.ENOPROTOOPT)
}
