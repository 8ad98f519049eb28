package flowlog

import (
	"math/rand/v2"
	"testing"
)

// TestFieldGroups: every field lies in exactly one group, and clearing that group (with
// the head) after setting the field to any value SetValue takes leaves a zero record.
func TestFieldGroups(t *testing.T) {
	samples := []string{"x", "0", "1", "65535", "4294967296", "10.0.0.1", "2001:db8::1", "ACCEPT", "REJECT", "NODATA",
		"SKIPDATA", "OK", "ingress", "egress", "IPv6", "EFA", "vpc-0abc", "-"}
	for f := Field(0); f < Field(numFields); f++ {
		g := GroupOf(f)
		if g == 0 || g&(g-1) != 0 {
			t.Fatalf("%s: groups %b, want exactly one", f, g)
		}
		set := 0
		for _, v := range samples {
			var r Record
			if r.SetValue(f, v) != nil {
				continue
			}
			set++
			r.ResetGroups(g)
			if r != (Record{}) {
				t.Fatalf("%s = %q: ResetGroups(%b) left %+v", f, v, g, r)
			}
		}
		if set == 0 {
			t.Fatalf("%s: no sample value was taken", f)
		}
	}
	var r Record
	r.SetExtra("future-field", "v")
	r.ResetGroups(GroupExtra)
	if r != (Record{}) {
		t.Fatalf("ResetGroups(GroupExtra) left %+v", r)
	}
}

// TestResetGroupsKeepsOtherGroups: ResetGroups clears the head and the groups asked, and
// nothing of the others.
func TestResetGroupsKeepsOtherGroups(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for run := 0; run < 200; run++ {
		r := randomRecord(rng, randomFormat(rng))
		r.SetExtra("future-field", "v")
		g := Groups(rng.IntN(int(AllGroups) + 1))
		got := r
		got.ResetGroups(g)
		if got.Null != (FieldSet{}) || got.Kind != 0 || got.Version != 0 {
			t.Fatalf("groups %b: the head is not cleared: %+v", g, got)
		}
		kept := got
		kept.Null = r.Null // Null, in the head, says which integers of the other groups are "-"
		var zero Record
		for f := Field(0); f < Field(numFields); f++ {
			if GroupOf(f)&(g|GroupHead) != 0 {
				if got.Value(f) != zero.Value(f) {
					t.Fatalf("groups %b: %s is %q, not cleared", g, f, got.Value(f))
				}
			} else if kept.Value(f) != r.Value(f) {
				t.Fatalf("groups %b: %s is %q, was %q", g, f, kept.Value(f), r.Value(f))
			}
		}
		if (got.Extra == "") != (g&GroupExtra != 0) {
			t.Fatalf("groups %b: Extra %q", g, got.Extra)
		}
	}
}

// TestFullRecordJSON: the fuzz target's used slot holds a value in every group.
func TestFullRecordJSON(t *testing.T) {
	var r Record
	var a Strings
	var all Groups
	for _, msg := range fullRecordJSON {
		set, err := ParseJSONReusing(msg, &r, &a, all)
		if err != nil {
			t.Fatalf("%s: %v", msg, err)
		}
		all |= set
	}
	if all != AllGroups {
		t.Fatalf("groups %b; want %b", all, AllGroups)
	}
}
