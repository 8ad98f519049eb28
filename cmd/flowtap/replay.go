package main

import (
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/flowtap/flowtap/replay"
)

func newReplayCmd() *cobra.Command {
	cfg := replay.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "replay --target HOST:PORT [flags] FILE.pcap[ng]...",
		Short: "Replay pcap/pcapng files as AWS Traffic Mirroring VXLAN (load generator)",
		Long: `replay sends every frame of the given captures to a mirror target the way VPC Traffic
Mirroring does: inside VXLAN over UDP, with the session's VNI, an outer source port that is
stable per inner flow, and optionally cut to a PacketLength. Use it to load-test
'flowtap collect' (or 'flowtap up') or anything else that listens on UDP 4789.

Captures taken on a mirror target (tcpdump -i eth0 udp port 4789 or 6081) already hold
mirror packets. With --encap auto (the default) every frame that is UDP to port 4789 with a
VXLAN header, or to 6081 with a GENEVE header, is sent as captured: its UDP payload goes
out unchanged (tunnel header, VNI, inner frame), from its captured outer source port, so a
collector reports the mirrored flows, not the tunnel; GENEVE frames go to --geneve-target.
Other frames are wrapped as above. --encap wrap wraps every frame (to mirror a capture of
tunnel traffic itself); --encap captured sends only tunnel frames and skips the rest. --vni
and --packet-length apply to wrapped frames only. A captured port that cannot be bound
(in use, below 1024 without privileges) is replaced by an ephemeral one and counted in
the report.

Captures may be pcap (also gzipped) or pcapng; Ethernet, raw IP, Linux cooked and loopback
link types are accepted (non-Ethernet frames get a synthetic Ethernet header). Files are
sent one after another, all of them once per loop.

Pacing: choose at most one of --pps, --mbps, --speed and --topspeed. Without any, the
capture's own timing is kept (--speed 1).

Sockets: each inner flow is sent from one of --sockets UDP sockets, chosen by a hash of its
5-tuple, so one flow keeps one outer source port and flows spread over the sockets.

Sending: each socket sends --batch datagrams per sendmmsg call, and a batch runs on across
loops. On Linux, a batch's runs of equal-size datagrams go as one UDP GSO message each,
which the kernel cuts up again before the wire (or the local receiving socket): the target
gets the same datagrams in the same order, for much less CPU per datagram (--no-gso turns
it off). --threads N sends from N goroutines, each over a share of the sockets; on the
target's own host, --threads 1 leaves the other CPUs to the receiver.

A progress bar is drawn on stderr when it is a terminal; the final report (packets, bytes,
pps, Mbps, errors) always goes to stderr.`,
		Example: `  flowtap up &
  flowtap replay --target 127.0.0.1:4789 testdata/demo.pcap
  flowtap replay --target 10.0.0.5:4789 --vni 42 --pps 50000 --loop 100 --unique-loops big.pcapng
  tcpdump -i eth0 -w target.pcap udp port 4789   # on a mirror target
  flowtap replay --target 127.0.0.1:4789 --encap captured target.pcap`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			if err := cfg.Validate(); err != nil {
				return flagError(err)
			}
			var caps []*replay.Capture
			for _, f := range files {
				c, err := replay.ReadFile(f)
				if err != nil {
					return err
				}
				if n := c.SkippedTotal(); n > 0 {
					slog.Warn("replay: records skipped", "file", f, "count", n, "reasons", c.SkippedString())
				}
				caps = append(caps, c)
			}
			if term.IsTerminal(int(os.Stderr.Fd())) {
				cfg.Progress = os.Stderr
			}
			r, err := replay.New(cfg, caps...)
			if err != nil {
				return flagError(err)
			}
			rep, err := r.Run(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintln(os.Stderr, rep)
			if rep.Packets == 0 && rep.Errors > 0 {
				return exitCode(1)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Target, "target", "", "mirror target HOST:PORT, e.g. 127.0.0.1:4789 (required)")
	f.Uint32Var(&cfg.VNI, "vni", cfg.VNI, "VXLAN network identifier of the mirror session, 0–16777215")
	f.Float64Var(&cfg.PPS, "pps", 0, "send this many packets per second (all sockets together)")
	f.Float64Var(&cfg.Mbps, "mbps", 0, "send this many megabits per second of UDP payload (VXLAN header + frame)")
	f.Float64Var(&cfg.Speed, "speed", 0, "multiply the capture's own timing: 2 = twice as fast, 0.5 = half (default 1 when no pacing flag is given)")
	f.BoolVar(&cfg.TopSpeed, "topspeed", false, "send as fast as the sockets take packets")
	f.IntVar(&cfg.Loop, "loop", cfg.Loop, "send the captures this many times; 0 = until interrupted")
	f.BoolVar(&cfg.UniqueLoops, "unique-loops", false, "add the loop number to inner IPv4/IPv6 source and destination addresses (checksums fixed), so every loop is a new set of flows")
	f.IntVar(&cfg.PacketLength, "packet-length", 0, "cut each frame to this many bytes after the VXLAN header, like a session's PacketLength (1–8500; 0 = whole frames)")
	f.IntVar(&cfg.Sockets, "sockets", cfg.Sockets, "number of UDP sockets (outer source ports) that wrapped frames are spread over, by flow")
	f.IntVar(&cfg.Batch, "batch", cfg.Batch, "packets per sendmmsg system call")
	f.BoolVar(&cfg.NoGSO, "no-gso", false, "send every datagram on its own, not runs of equal-size datagrams as one UDP GSO message that the kernel cuts up (Linux)")
	f.IntVar(&cfg.Threads, "threads", 0, "send from this many threads, each over a share of the sockets (0 = one per socket); 1 on the receiver's own host leaves it the other CPUs")
	f.StringVar(&cfg.Encap, "encap", cfg.Encap, "frames already VXLAN (UDP 4789) or GENEVE (6081): auto = send those as captured and wrap the rest, wrap = wrap every frame, captured = send only those")
	f.StringVar(&cfg.GENEVETarget, "geneve-target", "", "where captured GENEVE frames go, HOST:PORT (default: --target's host, port 6081)")
	return cmd
}

var pacingFlag = regexp.MustCompile(`\b(pps|mbps|speed|topspeed)\b`)

// flagError rewords a configuration error in terms of the command's flags.
func flagError(err error) error {
	msg := err.Error()
	for _, name := range []string{"pps", "mbps", "speed", "topspeed", "target", "vni", "loop", "packet-length", "sockets", "batch", "threads", "encap", "geneve-target"} {
		msg = strings.ReplaceAll(msg, "replay: "+name+" ", "replay: --"+name+" ")
		msg = strings.ReplaceAll(msg, "replay: "+name+":", "replay: --"+name+":")
	}
	if strings.Contains(msg, "exclude each other") {
		msg = pacingFlag.ReplaceAllString(msg, "--$1")
	}
	return fmt.Errorf("%s", msg)
}
