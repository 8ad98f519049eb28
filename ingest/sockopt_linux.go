//go:build linux

package ingest

import (
	"encoding/binary"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// reusePort: Linux spreads the datagrams of one address over SO_REUSEPORT sockets, so
// the collector can receive on several.
const reusePort = true

// sockOpts are the receive-socket options set before bind.
type sockOpts struct {
	rcvbuf int // wanted SO_RCVBUF in bytes; 0 leaves the kernel default
}

// sockResult is what the kernel actually granted.
type sockResult struct {
	rcvbuf   int  // effective receive buffer (the kernel reports twice the requested size)
	rxqOvfl  bool // SO_RXQ_OVFL is on: every datagram carries the socket's drop counter
	forceErr error
}

// control sets SO_REUSEPORT, the receive buffer and SO_RXQ_OVFL on a socket before bind.
func (o sockOpts) control(res *sockResult) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); serr != nil {
				return
			}
			if o.rcvbuf > 0 {
				// SO_RCVBUFFORCE passes net.core.rmem_max when the process may (CAP_NET_ADMIN);
				// otherwise SO_RCVBUF is capped by rmem_max, which the caller reports.
				if res.forceErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, o.rcvbuf); res.forceErr != nil {
					_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, o.rcvbuf)
				}
			}
			res.rcvbuf, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
			res.rxqOvfl = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1) == nil
		})
		if err != nil {
			return err
		}
		return serr
	}
}

// after has nothing to do on Linux: control set everything before bind.
func (o sockOpts) after(net.PacketConn, *sockResult) {}

// oobSize is the control-message space for one SO_RXQ_OVFL counter.
var oobSize = unix.CmsgSpace(4)

// rxqOvfl returns the socket's cumulative drop counter from a datagram's control messages,
// without allocating (unix.ParseSocketControlMessage would).
func rxqOvfl(oob []byte) (uint32, bool) {
	const hdr = unix.SizeofCmsghdr
	for len(oob) >= hdr {
		var l, level, typ int
		if hdr == 16 { // 64-bit: size_t length, then level and type
			l = int(binary.NativeEndian.Uint64(oob))
			level, typ = int(int32(binary.NativeEndian.Uint32(oob[8:]))), int(int32(binary.NativeEndian.Uint32(oob[12:])))
		} else {
			l = int(binary.NativeEndian.Uint32(oob))
			level, typ = int(int32(binary.NativeEndian.Uint32(oob[4:]))), int(int32(binary.NativeEndian.Uint32(oob[8:])))
		}
		if l < hdr || l > len(oob) {
			return 0, false
		}
		if level == unix.SOL_SOCKET && typ == unix.SO_RXQ_OVFL && l >= unix.CmsgLen(4) {
			return binary.NativeEndian.Uint32(oob[unix.CmsgLen(0):]), true
		}
		oob = oob[min(len(oob), unix.CmsgSpace(l-hdr)):]
	}
	return 0, false
}
