// Package replay is flowtap's load generator: it reads pcap and pcapng captures and sends
// every frame to a mirror target the way VPC Traffic Mirroring does, as VXLAN over UDP
// (session VNI, flow-stable source port, optional PacketLength truncation).
//
// Frames that are already mirror packets (a capture taken on a mirror target: VXLAN on UDP
// 4789, GENEVE on 6081) are sent as captured, keeping their tunnel header, VNI and outer
// source port (Config.Encap).
//
// Read/ReadFile load a capture into memory (any link type is turned into Ethernet); New
// encapsulates every packet once into per-socket buffers; Run sends them with sendmmsg
// from several sockets at a given packet rate, bit rate, multiple of the capture's own
// timing, or top speed, any number of loops, and returns a Report.
//
// Budget: the send loop allocates nothing and copies nothing per packet; its cost is the
// sendmmsg system call amortized over a batch, and on Linux the kernel's UDP path
// amortized over a run of equal-size datagrams sent as one UDP GSO message
// (BenchmarkReplayLoopback; bench/replay compares it with tcpreplay sending the same
// pre-encapsulated capture to the same socket). The whole capture is held in memory, as
// with tcpreplay --preload-pcap.
package replay

//go:generate go run ./internal/mkdemo -o ../testdata/demo.pcap
