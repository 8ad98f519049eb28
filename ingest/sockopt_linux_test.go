package ingest

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestRxqOvflParse(t *testing.T) {
	oob := make([]byte, oobSize)
	// A SOL_SOCKET/SO_RXQ_OVFL control message carrying 7 (64-bit layout).
	putCmsg(oob, 7)
	if v, ok := rxqOvfl(oob); !ok || v != 7 {
		t.Fatalf("got %d %v", v, ok)
	}
	if _, ok := rxqOvfl(oob[:5]); ok {
		t.Fatal("short control message accepted")
	}
}

// putCmsg writes a SOL_SOCKET/SO_RXQ_OVFL control message carrying v, through the kernel's
// struct layout (unix.Cmsghdr), to check rxqOvfl's hand parsing.
func putCmsg(b []byte, v uint32) {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = unix.SOL_SOCKET, unix.SO_RXQ_OVFL
	h.SetLen(unix.CmsgLen(4))
	binary.NativeEndian.PutUint32(b[unix.CmsgLen(0):], v)
}
