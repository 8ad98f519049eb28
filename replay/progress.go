package replay

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// progressEvery is how often the progress bar is redrawn.
const progressEvery = 250 * time.Millisecond

// startProgress draws a progress bar on cfg.Progress until the returned stop is called,
// which draws the final state and ends the line.
func (r *Replayer) startProgress(start time.Time) (stop func()) {
	w := r.cfg.Progress
	if w == nil {
		return func() {}
	}
	total := uint64(r.perLoop) * uint64(r.cfg.Loop) // 0 when looping forever
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-quit:
				fmt.Fprintf(w, "\r%s\n", r.progressLine(start, total))
				return
			case <-t.C:
				fmt.Fprintf(w, "\r%s", r.progressLine(start, total))
			}
		}
	}()
	return func() {
		close(quit)
		wg.Wait()
	}
}

// progressLine is "[=====>     ]  45% 12345/27000 pkts  85.3 kpps  92.10 Mbps  0 errors".
func (r *Replayer) progressLine(start time.Time, total uint64) string {
	const width = 30
	pkts := r.sentStats.packets.Load()
	errs := r.sentStats.errors.Load()
	secs := time.Since(start).Seconds()
	var pps, mbps float64
	if secs > 0 {
		pps = float64(pkts) / secs
		mbps = float64(r.sentStats.bytes.Load()) * 8 / 1e6 / secs
	}
	var b strings.Builder
	if total > 0 {
		done := pkts + errs
		frac := min(float64(done)/float64(total), 1)
		fill := int(frac * width)
		b.WriteByte('[')
		b.WriteString(strings.Repeat("=", fill))
		if fill < width {
			b.WriteByte('>')
			b.WriteString(strings.Repeat(" ", width-fill-1))
		}
		fmt.Fprintf(&b, "] %3.0f%% %d/%d pkts", frac*100, done, total)
	} else {
		fmt.Fprintf(&b, "%d pkts (looping)", pkts)
	}
	fmt.Fprintf(&b, "  %.1f kpps  %.2f Mbps  %d errors ", pps/1e3, mbps, errs)
	return b.String()
}
