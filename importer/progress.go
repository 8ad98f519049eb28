package importer

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress draws a one-line bar on a terminal: objects, bytes and records, redrawn in place
// at most every 200 ms.
type progress struct {
	w            io.Writer
	objects      int
	total        int64
	doneObjects  int
	doneBytes    int64 // bytes of finished objects
	readBytes    int64 // bytes read, finished objects included
	recs         int64
	start, drawn time.Time
}

func newProgress(w io.Writer, objects int, total int64) *progress {
	now := time.Now()
	return &progress{w: w, objects: objects, total: total, start: now}
}

func (p *progress) records(n, read int64) {
	p.recs += n
	p.readBytes = read
	p.draw(false)
}

func (p *progress) objectDone(size int64) {
	p.doneObjects++
	p.doneBytes += size
	p.draw(false)
}

func (p *progress) draw(force bool) {
	now := time.Now()
	if !force && now.Sub(p.drawn) < 200*time.Millisecond {
		return
	}
	p.drawn = now
	frac := 1.0
	if p.total > 0 {
		frac = min(float64(max(p.readBytes, p.doneBytes))/float64(p.total), 1)
	}
	const width = 30
	fill := int(frac * width)
	rate := float64(p.recs) / max(now.Sub(p.start).Seconds(), 1e-3)
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%%  %d/%d objects  %d records  %.0f records/s ",
		strings.Repeat("#", fill), strings.Repeat(".", width-fill), frac*100, p.doneObjects, p.objects, p.recs, rate)
}

func (p *progress) finish(st *Stats) {
	p.draw(true)
	fmt.Fprintln(p.w)
}
