//go:build !linux

package ingest

import (
	"net"
	"syscall"
)

// reusePort: other kernels do not spread one address's UDP datagrams over SO_REUSEPORT
// sockets as Linux does, so the collector receives on one socket there.
const reusePort = false

// sockOpts are the receive-socket options.
type sockOpts struct {
	rcvbuf int // wanted receive buffer in bytes; 0 leaves the kernel default
}

// sockResult is what the kernel granted; rxqOvfl is never available here, so kernel drops
// are not counted.
type sockResult struct {
	rcvbuf   int
	rxqOvfl  bool
	forceErr error
}

// control sets nothing before bind: the portable receive-buffer call needs the bound socket.
func (o sockOpts) control(*sockResult) func(network, address string, c syscall.RawConn) error {
	return nil
}

// after sets the receive buffer. The kernel does not say what it granted; the result is
// written the way Linux reports it (twice the size set), so that a successful call does
// not warn.
func (o sockOpts) after(pc net.PacketConn, res *sockResult) {
	if o.rcvbuf <= 0 {
		return
	}
	if u, ok := pc.(*net.UDPConn); ok && u.SetReadBuffer(o.rcvbuf) == nil {
		res.rcvbuf = 2 * o.rcvbuf
	}
}

// oobSize is zero: no control messages are read.
const oobSize = 0

// rxqOvfl finds no drop counter: SO_RXQ_OVFL is Linux only.
func rxqOvfl([]byte) (uint32, bool) { return 0, false }
