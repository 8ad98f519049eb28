package lake

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestKeyRoundTrip: every key the sinks write (Key) parses back (ParsePartition) to the
// account, region and day or hour it was written for, in every style, under any base folder.
func TestKeyRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	accounts := []string{"111111111111", "123456789012", "unknown"}
	regions := []string{"us-east-1", "eu-west-1", "ap-southeast-2"}
	bases := []string{"", "logs", "a/b/c", "/x/"}
	for i := 0; i < 2000; i++ {
		st := Style(rng.IntN(4))
		acct, region, base := accounts[rng.IntN(3)], regions[rng.IntN(3)], bases[rng.IntN(4)]
		end := int64(1_500_000_000 + rng.IntN(400_000_000))
		key := Key(base, st, acct, region, "fl-0123456789abcdef0", end, "topic/0/1-2", ".log.parquet")
		p, ok := ParsePartition(key)
		if !ok {
			t.Fatalf("%s key %q: not parsed", st, key)
		}
		hourly := st == PlainHourly || st == HiveHourly
		span := 24 * time.Hour
		if hourly {
			span = time.Hour
		}
		want := time.Unix(end, 0).UTC().Truncate(span)
		if p.Account != acct || p.Region != region || !p.Start.Equal(want) || p.Span != span ||
			p.Hive() != (st == Hive || st == HiveHourly) {
			t.Fatalf("%s key %q parsed to %+v; want account %s region %s start %s span %s",
				st, key, p, acct, region, want, span)
		}
		if !p.Overlaps(time.Unix(end, 0), time.Unix(end+1, 0)) {
			t.Fatalf("%s key %q: partition %+v does not hold its own record end %d", st, key, p, end)
		}
	}
}
