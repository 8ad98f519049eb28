package query

import (
	"fmt"
	"sort"
	"strings"
)

// Saved is a named query shipped with flowtap (`flowtap query sql --saved NAME`).
type Saved struct {
	Name        string
	Description string // one line, for --list
	SQL         string
}

// savedQueries are written against the views only, so they run on any lake layout. Sums are
// cast to BIGINT (DuckDB sums BIGINT into HUGEINT) and every ORDER BY ends in unique keys,
// so results are deterministic.
var savedQueries = []Saved{
	{
		Name:        "top-talkers",
		Description: "the 10 source/destination address pairs that sent the most bytes (VPC)",
		SQL: `SELECT srcaddr, dstaddr,
       CAST(sum(bytes) AS BIGINT)   AS bytes,
       CAST(sum(packets) AS BIGINT) AS packets,
       count(*)                     AS flows
FROM vpc_flow_logs
WHERE log_status = 'OK'
GROUP BY srcaddr, dstaddr
ORDER BY bytes DESC, srcaddr, dstaddr
LIMIT 10`,
	},
	{
		Name:        "rejected",
		Description: "the 20 most rejected source → destination:port/protocol combinations (VPC)",
		SQL: `SELECT srcaddr, dstaddr, dstport, protocol,
       count(*)                     AS flows,
       CAST(sum(packets) AS BIGINT) AS packets
FROM vpc_flow_logs
WHERE action = 'REJECT'
GROUP BY srcaddr, dstaddr, dstport, protocol
ORDER BY flows DESC, packets DESC, srcaddr, dstaddr, dstport, protocol
LIMIT 20`,
	},
	{
		Name:        "by-port",
		Description: "traffic per destination port and protocol, largest first (VPC, top 20)",
		SQL: `SELECT dstport, protocol,
       count(*)                                          AS flows,
       CAST(sum(bytes) AS BIGINT)                        AS bytes,
       CAST(sum(packets) AS BIGINT)                      AS packets,
       count(*) FILTER (WHERE action = 'REJECT')         AS rejected_flows
FROM vpc_flow_logs
WHERE log_status = 'OK'
GROUP BY dstport, protocol
ORDER BY bytes DESC, dstport, protocol
LIMIT 20`,
	},
	{
		Name:        "tgw-drops",
		Description: "Transit Gateway attachments and flows that lost packets, by drop reason (top 20)",
		SQL: `SELECT tgw_id, tgw_attachment_id, srcaddr, dstaddr,
       CAST(sum(packets_lost_no_route) AS BIGINT)     AS no_route,
       CAST(sum(packets_lost_blackhole) AS BIGINT)    AS blackhole,
       CAST(sum(packets_lost_mtu_exceeded) AS BIGINT) AS mtu_exceeded,
       CAST(sum(packets_lost_ttl_expired) AS BIGINT)  AS ttl_expired,
       CAST(sum(coalesce(packets_lost_no_route, 0) + coalesce(packets_lost_blackhole, 0)
              + coalesce(packets_lost_mtu_exceeded, 0) + coalesce(packets_lost_ttl_expired, 0)) AS BIGINT) AS lost
FROM tgw_flow_logs
GROUP BY tgw_id, tgw_attachment_id, srcaddr, dstaddr
HAVING lost > 0
ORDER BY lost DESC, tgw_id, tgw_attachment_id, srcaddr, dstaddr
LIMIT 20`,
	},
}

// SavedQueries returns the shipped queries sorted by name.
func SavedQueries() []Saved {
	out := append([]Saved(nil), savedQueries...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LookupSaved returns the saved query called name, or an error listing the valid names.
func LookupSaved(name string) (Saved, error) {
	var names []string
	for _, s := range SavedQueries() {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return Saved{}, fmt.Errorf("no saved query %q (have %s)", name, strings.Join(names, ", "))
}
