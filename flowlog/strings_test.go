package flowlog

import (
	"strings"
	"testing"
)

// TestStringsReuse fills an arena over several chunks, checks every copy, and checks that
// after Reset the same chunks serve again instead of new ones.
func TestStringsReuse(t *testing.T) {
	var a Strings
	var want, got []string
	for i := 0; i < 3*stringsChunk/20; i++ {
		s := strings.Repeat(string(rune('a'+i%26)), 1+i%40)
		want = append(want, s)
		got = append(got, a.Copy(s))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("copy %d = %q, want %q", i, got[i], want[i])
		}
	}
	size := a.Size()
	if size < 2*stringsChunk {
		t.Fatalf("arena holds %d bytes for more than two chunks of strings", size)
	}
	a.Reset()
	for i := range want {
		a.Copy(want[i])
	}
	if a.Size() != size {
		t.Fatalf("after Reset the same strings took %d bytes of chunks, before %d", a.Size(), size)
	}
	if long := strings.Repeat("x", stringsChunk); a.Copy(long) != long || a.Size() != size {
		t.Fatal("a string longer than a chunk must be copied on its own")
	}
}
