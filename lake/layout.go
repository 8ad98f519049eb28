// Package lake writes and reads AWS's S3 key layout for flow log files: the prefix (plain,
// hive-compatible, per-hour) and the file name bucketed by the records' end time are computed
// here for the sinks (Style.Prefix, Naming) and parsed back here for queries (ParsePartition),
// so the two cannot drift. Object storage (a directory or an S3 bucket) is in lake/objstore.
package lake

import (
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flowtap/flowtap/flowlog"
)

// Style selects one of AWS's key prefix layouts.
type Style uint8

const (
	Plain       Style = iota // AWSLogs/{account}/vpcflowlogs/{region}/{yyyy}/{MM}/{dd}/
	PlainHourly              // Plain + {HH}/
	Hive                     // AWSLogs/aws-account-id=…/aws-service=vpcflowlogs/aws-region=…/year=…/month=…/day=…/
	HiveHourly               // Hive + hour=…/
)

// ParseStyle accepts the names used on the command line: plain, hourly, hive, hive-hourly.
func ParseStyle(s string) (Style, error) {
	switch s {
	case "plain", "":
		return Plain, nil
	case "hourly", "plain-hourly":
		return PlainHourly, nil
	case "hive":
		return Hive, nil
	case "hive-hourly":
		return HiveHourly, nil
	}
	return 0, fmt.Errorf("layout: unknown layout %q (want plain, hourly, hive or hive-hourly)", s)
}

func (s Style) String() string {
	return [...]string{"plain", "hourly", "hive", "hive-hourly"}[s]
}

// BucketSeconds is AWS's file cadence: one file per 5 minutes of record end times.
const BucketSeconds = 300

// Bucket returns the start of the 5-minute UTC bucket holding end (epoch seconds).
func Bucket(end int64) time.Time {
	return time.Unix(end-end%BucketSeconds, 0).UTC()
}

// Prefix returns the key prefix (ending in "/") for files of account and region whose
// records end in bucket t. base is the user's folder ("" or "my-logs"), without slashes at
// either end.
func Prefix(base string, s Style, account, region string, t time.Time) string {
	t = t.UTC()
	var b strings.Builder
	if base = strings.Trim(base, "/"); base != "" {
		b.WriteString(base)
		b.WriteByte('/')
	}
	switch s {
	case Plain, PlainHourly:
		fmt.Fprintf(&b, "AWSLogs/%s/vpcflowlogs/%s/%04d/%02d/%02d/", account, region, t.Year(), t.Month(), t.Day())
		if s == PlainHourly {
			fmt.Fprintf(&b, "%02d/", t.Hour())
		}
	default:
		fmt.Fprintf(&b, "AWSLogs/aws-account-id=%s/aws-service=vpcflowlogs/aws-region=%s/year=%04d/month=%02d/day=%02d/",
			account, region, t.Year(), t.Month(), t.Day())
		if s == HiveHourly {
			fmt.Fprintf(&b, "hour=%02d/", t.Hour())
		}
	}
	return b.String()
}

// FileName returns AWS's file name: {account}_vpcflowlogs_{region}_{flowLogID}_{YYYYMMDDTHHmmZ}_{hash}{ext},
// where ext is ".log.gz" or ".log.parquet". The 8-hex hash is derived from identity, so the
// same content identity (e.g. topic, partition and offsets) always gets the same name.
func FileName(account, region, flowLogID string, bucket time.Time, identity, ext string) string {
	return fmt.Sprintf("%s_vpcflowlogs_%s_%s_%s_%s%s", account, region, flowLogID,
		bucket.UTC().Format("20060102T1504Z"), Hash(identity), ext)
}

// Hash is the 8 lowercase hex digits used in file names.
func Hash(identity string) string {
	h := fnv.New32a()
	h.Write([]byte(identity))
	return fmt.Sprintf("%08x", h.Sum32())
}

// Key is Prefix + FileName.
func Key(base string, s Style, account, region, flowLogID string, end int64, identity, ext string) string {
	b := Bucket(end)
	return Prefix(base, s, account, region, b) + FileName(account, region, flowLogID, b, identity, ext)
}

// Group is the part of a batch of records that belongs in one object: one log kind, one
// account, one region and one 5-minute bucket of end times.
type Group struct {
	Kind    flowlog.Kind
	Account string
	Region  string
	Bucket  time.Time
	Index   []int // positions of the group's records in the batch, in batch order
	// Extras reports whether some record of the group has unknown columns (Record.Extra),
	// as Split found while reading the records anyway: without, ExtraNames is empty and a
	// caller need not read every record once more to learn it.
	Extras bool
}

// ExtraNames lists the unknown column names (flowlog.Record.Extra) of the group's records in
// recs, first seen first: the columns its object adds after the configured format's.
func (g Group) ExtraNames(recs []flowlog.Record) []string {
	var names []string
	for _, i := range g.Index {
		if recs[i].Extra == "" {
			continue
		}
		for _, n := range recs[i].ExtraNames() {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return names
}

// BatchIdentity is the exactly-once identity of a consumed batch, "topic/partition/first-last":
// the part of object names that makes a redelivered batch land on the same keys. Every
// sink names its objects from it (see Group.Identity).
func BatchIdentity(topic string, partition int, first, last int64) string {
	return topic + "/" + strconv.Itoa(partition) + "/" + strconv.FormatInt(first, 10) + "-" + strconv.FormatInt(last, 10)
}

// Identity extends a batch identity (e.g. "topic/partition/first-last") with the group's
// coordinates, so that every object of a batch gets its own deterministic name.
func (g *Group) Identity(batch string) string {
	return fmt.Sprintf("%s/%s/%s/%s/%d", batch, g.Kind, g.Account, g.Region, g.Bucket.Unix())
}

// Split groups recs by (kind, account, region, bucket of end) and returns the groups sorted
// by those coordinates. Records without an account or region use defAccount and defRegion
// (AWS writes "unknown" for service-owned ENIs).
func Split(recs []flowlog.Record, defAccount, defRegion string) []Group {
	type gk struct {
		kind            flowlog.Kind
		account, region string
		bucket          int64
	}
	idx := make(map[gk]int)
	var out []Group
	var counts []int
	// The records' groups are found first and their indexes laid out after, in one array
	// carved per group: appending to each group's own slice cost a growslice per doubling
	// of every group and about three times the memory.
	of := make([]int32, len(recs))
	// Consecutive records mostly share their group: compare with the last one before
	// hashing the key.
	var last gk
	lastJ := -1
	for i := range recs {
		r := &recs[i]
		k := gk{r.Kind, r.AccountID, r.Region, r.End - mod(r.End, BucketSeconds)}
		if k.account == "" {
			k.account = defAccount
		}
		if k.region == "" {
			k.region = defRegion
		}
		j := lastJ
		if j < 0 || k != last {
			var ok bool
			if j, ok = idx[k]; !ok {
				j = len(out)
				idx[k] = j
				out = append(out, Group{Kind: k.kind, Account: k.account, Region: k.region, Bucket: time.Unix(k.bucket, 0).UTC()})
				counts = append(counts, 0)
			}
			last, lastJ = k, j
		}
		of[i] = int32(j)
		counts[j]++
		if r.Extra != "" {
			out[j].Extras = true
		}
	}
	all := make([]int, len(recs))
	for j, n := range counts {
		out[j].Index, all = all[:0:n], all[n:]
	}
	for i, j := range of {
		out[j].Index = append(out[j].Index, i)
	}
	sort.Slice(out, func(a, b int) bool {
		x, y := &out[a], &out[b]
		if x.Kind != y.Kind {
			return x.Kind < y.Kind
		}
		if x.Account != y.Account {
			return x.Account < y.Account
		}
		if x.Region != y.Region {
			return x.Region < y.Region
		}
		return x.Bucket.Before(y.Bucket)
	})
	return out
}

// mod is a floored modulo, so that (rare, bogus) negative times still bucket consistently.
func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
