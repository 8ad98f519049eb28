package lake

import (
	"strconv"
	"strings"
	"time"
)

// Partition is where one lake file sits in AWS's key layout: the account, region and the
// UTC day (or hour) of its records' end times.
type Partition struct {
	Account string
	Region  string
	Start   time.Time     // first instant of the day or hour
	Span    time.Duration // 24h for daily partitions, 1h for hourly ones
	// HiveKeys are the key names of a hive-compatible path in order ("aws-account-id",
	// "aws-service", …); nil for the plain lake.
	HiveKeys []string
}

// Hive reports whether the file sits in a hive-compatible (key=value) path.
func (p Partition) Hive() bool { return p.HiveKeys != nil }

// Hourly reports whether the partition is one hour (PerHourPartition).
func (p Partition) Hourly() bool { return p.Span == time.Hour }

// End is the first instant after the partition.
func (p Partition) End() time.Time { return p.Start.Add(p.Span) }

// Overlaps reports whether some instant of the partition lies in [from, to); a zero from
// or to leaves that side open.
func (p Partition) Overlaps(from, to time.Time) bool {
	if !from.IsZero() && !p.End().After(from) {
		return false
	}
	if !to.IsZero() && !p.Start.Before(to) {
		return false
	}
	return true
}

// Shape names the shape a file's path gives its partition columns ("hive:<keys>",
// "plain-hourly" or "plain"); files of one shape can be read by one read_parquet call.
func (p Partition) Shape() string {
	if p.Hive() {
		return "hive:" + strings.Join(p.HiveKeys, "/")
	}
	if p.Hourly() {
		return "plain-hourly"
	}
	return "plain"
}

// ParsePartition reads the partition of a lake key or path such as
// "logs/AWSLogs/111/vpcflowlogs/us-east-1/2023/01/21/f.log.parquet" or
// "AWSLogs/aws-account-id=111/aws-service=vpcflowlogs/aws-region=us-east-1/year=2023/month=01/day=21/hour=05/f.log.parquet".
// Keys of S3 event notifications must be URL-decoded first. It reports false for paths
// outside the lake.
func ParsePartition(key string) (Partition, bool) {
	segs := strings.Split(key, "/")
	i := len(segs) - 2 // AWSLogs is a folder: never the last segment
	for i >= 0 && segs[i] != "AWSLogs" {
		i--
	}
	if i < 0 {
		return Partition{}, false
	}
	dirs := segs[i+1 : len(segs)-1] // drop AWSLogs and the file name
	if len(dirs) == 0 || segs[len(segs)-1] == "" {
		return Partition{}, false
	}
	if len(dirs) != 6 && len(dirs) != 7 {
		return Partition{}, false
	}
	if strings.Contains(dirs[0], "=") {
		return parseHive(dirs)
	}
	return partitionOf(dirs)
}

// parseHive reads aws-account-id=…/aws-service=vpcflowlogs/aws-region=…/year=…/month=…/day=…[/hour=…].
// One AWS document writes "service=" for "aws-service=", so both are accepted.
func parseHive(d []string) (Partition, bool) {
	keys := make([]string, len(d))
	vals := make([]string, len(d))
	want := []string{"aws-account-id", "aws-service", "aws-region", "year", "month", "day", "hour"}
	for i, s := range d {
		k, v, ok := strings.Cut(s, "=")
		if !ok || v == "" || (k != want[i] && !(i == 1 && k == "service")) {
			return Partition{}, false
		}
		keys[i], vals[i] = k, v
	}
	p, ok := partitionOf(vals)
	if ok {
		p.HiveKeys = keys
	}
	return p, ok
}

// partitionOf reads the folder values of a plain or Hive key, in the order both write
// them: {account}/vpcflowlogs/{region}/{yyyy}/{MM}/{dd}[/{HH}].
func partitionOf(v []string) (Partition, bool) {
	if v[1] != "vpcflowlogs" || v[0] == "" || v[2] == "" {
		return Partition{}, false
	}
	hour := ""
	if len(v) == 7 {
		hour = v[6]
	}
	start, span, ok := partitionTime(v[3], v[4], v[5], hour)
	if !ok {
		return Partition{}, false
	}
	return Partition{Account: v[0], Region: v[2], Start: start, Span: span}, true
}

func partitionTime(y, m, d, h string) (time.Time, time.Duration, bool) {
	num := func(s string, width, lo, hi int) (int, bool) {
		if len(s) != width {
			return 0, false
		}
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= lo && n <= hi
	}
	year, ok1 := num(y, 4, 1970, 9999)
	month, ok2 := num(m, 2, 1, 12)
	day, ok3 := num(d, 2, 1, 31)
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, 0, false
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day { // 2023/02/30
		return time.Time{}, 0, false
	}
	if h == "" {
		return t, 24 * time.Hour, true
	}
	hour, ok := num(h, 2, 0, 23)
	if !ok {
		return time.Time{}, 0, false
	}
	return t.Add(time.Duration(hour) * time.Hour), time.Hour, true
}
