package logstore

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowtap/flowtap/internal/jsonstr"
	"github.com/flowtap/flowtap/logstore/logql"
)

// Patterns (/loki/api/v1/patterns) cluster each stream's lines the way the Drain log
// parser does (He et al., "Drain: An Online Log Parsing Approach with Fixed Depth Tree",
// ICWS 2017), which Loki's pattern ingester also follows: lines are split into tokens at
// blanks and routed down a tree by their token count and then their first tokens, one
// level a token (a token with a digit, or one beyond a node's drainMaxChildren, takes
// the node's <_> branch; a logfmt key=value token routes by its key); at the leaf a line
// joins the cluster whose template has the most tokens equal to the line's (key=value
// tokens of the same key count as equal), if at least drainSimilarity of them are, and
// the template turns the positions that differ into <_> (key=<_> for a value). Otherwise
// the line starts a cluster. Patterns of equal text from different streams are added up.

const (
	// drainSimilarity is the share of a line's tokens that must equal a template's for
	// the line to join its cluster (the paper's default).
	drainSimilarity = 0.4
	// drainDepth is how many leading tokens route a line: lines that differ in a word
	// among them never share a pattern.
	drainDepth = 28
	// drainMaxChildren bounds a tree node's branches.
	drainMaxChildren = 100
	// drainMaxClusters bounds the clusters of one stream; lines that would start
	// another are not counted, so memory stays bounded on any data.
	drainMaxClusters = 300
	// maxPatterns bounds the patterns of one answer.
	maxPatterns = 300
	// drainWildcard is the variable part of a pattern, as Loki prints it.
	drainWildcard = "<_>"
)

// drainCluster is one pattern: its template tokens and its lines per step.
type drainCluster struct {
	tokens  []string
	samples map[int64]int64 // step start (Unix s) -> lines
}

// drainNode is a node of the routing tree; leaves hold clusters.
type drainNode struct {
	children map[string]*drainNode
	clusters []*drainCluster
}

// drain clusters the lines of one stream.
type drain struct {
	byLength map[int]*drainNode
	clusters int
}

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

// keyOf is "key=" of a key=value token (logfmt), or "".
func keyOf(tok string) string {
	if i := strings.IndexByte(tok, '='); i > 0 {
		return tok[:i+1]
	}
	return ""
}

// sameToken reports whether a template token and a line's token agree: equal, or the
// same key of key=value (the template's value may already be <_>).
func sameToken(t, tok string) bool {
	if t == tok {
		return true
	}
	k := keyOf(tok)
	return k != "" && strings.HasPrefix(t, k)
}

// leaf routes a line's tokens to their leaf, growing the tree as needed.
func (d *drain) leaf(toks []string) *drainNode {
	if d.byLength == nil {
		d.byLength = map[int]*drainNode{}
	}
	node := d.byLength[len(toks)]
	if node == nil {
		node = &drainNode{}
		d.byLength[len(toks)] = node
	}
	for _, tok := range toks[:min(len(toks), drainDepth)] {
		if k := keyOf(tok); k != "" {
			tok = k // key=value routes by its key: the value is the variable part
		} else if hasDigit(tok) {
			tok = drainWildcard
		}
		child := node.children[tok]
		if child == nil && tok != drainWildcard && len(node.children) >= drainMaxChildren {
			tok = drainWildcard
			child = node.children[tok]
		}
		if child == nil {
			if node.children == nil {
				node.children = map[string]*drainNode{}
			}
			child = &drainNode{}
			node.children[tok] = child
		}
		node = child
	}
	return node
}

// add files a line and returns its cluster, or nil when the stream has too many.
func (d *drain) add(line string) *drainCluster {
	toks := strings.Fields(line)
	if len(toks) == 0 {
		return nil
	}
	leaf := d.leaf(toks)
	var best *drainCluster
	bestEqual := -1
	for _, c := range leaf.clusters {
		equal := 0
		for i, t := range c.tokens {
			if sameToken(t, toks[i]) {
				equal++
			}
		}
		if equal > bestEqual {
			best, bestEqual = c, equal
		}
	}
	if best != nil && float64(bestEqual) >= drainSimilarity*float64(len(toks)) {
		for i, t := range best.tokens {
			switch {
			case t == toks[i]:
			case sameToken(t, toks[i]):
				best.tokens[i] = keyOf(toks[i]) + drainWildcard // key=<_>
			default:
				best.tokens[i] = drainWildcard
			}
		}
		return best
	}
	if d.clusters >= drainMaxClusters {
		return nil
	}
	c := &drainCluster{tokens: toks, samples: map[int64]int64{}}
	leaf.clusters = append(leaf.clusters, c)
	d.clusters++
	return c
}

// each calls fn for every cluster.
func (d *drain) each(fn func(*drainCluster)) {
	var walk func(n *drainNode)
	walk = func(n *drainNode) {
		for _, c := range n.clusters {
			fn(c)
		}
		for _, ch := range n.children {
			walk(ch)
		}
	}
	for _, n := range d.byLength {
		walk(n)
	}
}

func (s *Store) handlePatterns(w http.ResponseWriter, r *http.Request, tenantID string) error {
	start, end, ms, err := spanAndSelector(r)
	if err != nil {
		return err
	}
	step := defaultStep(time.Unix(0, start), time.Unix(0, end))
	if v := r.Form.Get("step"); v != "" {
		if step, err = ParseDuration(v); err != nil || step <= 0 {
			return badRequest("invalid step %q", v)
		}
	}
	stepNs := step.Nanoseconds()
	drains := map[*stream]*drain{}
	err = s.eachEntry(r.Context(), tenantID, ms, start, end, func(st *stream, e logql.Entry) {
		d := drains[st]
		if d == nil {
			d = &drain{}
			drains[st] = d
		}
		if c := d.add(e.Line); c != nil {
			c.samples[e.Timestamp/stepNs*stepNs/1e9]++
		}
	})
	if err != nil {
		return err
	}
	// patterns of equal text from different streams add up
	type pattern struct {
		text    string
		total   int64
		samples map[int64]int64
	}
	byText := map[string]*pattern{}
	for _, d := range drains {
		d.each(func(c *drainCluster) {
			text := strings.Join(c.tokens, " ")
			p := byText[text]
			if p == nil {
				p = &pattern{text: text, samples: map[int64]int64{}}
				byText[text] = p
			}
			for t, n := range c.samples {
				p.samples[t] += n
				p.total += n
			}
		})
	}
	list := largestFirst(byText, func(p *pattern) int64 { return p.total }, maxPatterns)
	b := []byte(`{"status":"success","data":[`)
	for i, p := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"pattern":`...)
		b = jsonstr.Append(b, p.text)
		b = append(b, `,"samples":[`...)
		ts := make([]int64, 0, len(p.samples))
		for t := range p.samples {
			ts = append(ts, t)
		}
		slices.Sort(ts)
		for j, t := range ts {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = strconv.AppendInt(b, t, 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, p.samples[t], 10)
			b = append(b, ']')
		}
		b = append(b, "]}"...)
	}
	writeJSON(w, append(b, "]}"...))
	return nil
}
