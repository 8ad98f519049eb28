package pipeline

import (
	"encoding/json"
	"net/http"
	"time"
)

// ComponentHealth is one component's entry in /healthz.
type ComponentHealth struct {
	State    State  `json:"state"`
	Since    string `json:"since"`
	Restarts int    `json:"restarts"`
	// Degraded says what is wrong: the last failure of a component that restarts or
	// failed, or the condition a running component reports.
	Degraded string `json:"degraded,omitempty"`
}

// Health is the /healthz document.
type Health struct {
	// Status is "ok" when every component runs without a reported condition, else
	// "degraded".
	Status string `json:"status"`
	// Degraded names the components that need attention, in start order.
	Degraded   []string                   `json:"degraded,omitempty"`
	Components map[string]ComponentHealth `json:"components"`
	// Serving is false while the serving component (the collector) does not receive.
	Serving bool `json:"serving"`
}

// Health reports every component's state.
func (s *Supervisor) Health() Health {
	s.mu.Lock()
	comps := append([]*supervised(nil), s.comps...)
	reported := make(map[string]error, len(s.reported))
	for k, v := range s.reported {
		reported[k] = v
	}
	s.mu.Unlock()
	h := Health{Status: "ok", Components: map[string]ComponentHealth{}, Serving: true}
	for _, c := range comps {
		c.mu.Lock()
		ch := ComponentHealth{State: c.state, Since: c.since.UTC().Format(time.RFC3339), Restarts: c.restarts}
		lastErr := c.lastErr
		c.mu.Unlock()
		switch ch.State {
		case StateRestarting, StateFailed:
			if lastErr != nil {
				ch.Degraded = lastErr.Error()
			} else {
				ch.Degraded = string(ch.State)
			}
		case StateRunning:
			if c.Check != nil {
				if err := c.Check(); err != nil {
					ch.Degraded = err.Error()
				}
			}
			if err := reported[c.Name]; err != nil && ch.Degraded == "" {
				ch.Degraded = err.Error()
			}
		}
		if c.Serving != nil && !c.Serving() {
			h.Serving = false
		}
		if ch.Degraded != "" {
			h.Degraded = append(h.Degraded, c.Name)
		}
		h.Components[c.Name] = ch
	}
	if len(h.Degraded) > 0 {
		h.Status = "degraded"
	}
	return h
}

// HealthHandler answers GET /healthz with the Health document: 200 while the serving
// component receives (a degraded component elsewhere does not take the collector out of
// its load balancer), 503 while it does not.
func (s *Supervisor) HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := s.Health()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !h.Serving {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(h)
	})
}
