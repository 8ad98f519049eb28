package flowlog

import "testing"

// jsonKeys finds every field by its name and nothing else.
func TestJSONKeyTable(t *testing.T) {
	most := 0
	for name, f := range fieldByName {
		got, ok := jsonKeys.lookup([]byte(name))
		if !ok || got != f {
			t.Errorf("lookup(%q) = %v, %v; want %v", name, got, ok, f)
		}
		if _, ok := jsonKeys.lookup([]byte(name + "x")); ok {
			t.Errorf("lookup(%q) found a field", name+"x")
		}
		most = max(most, len(jsonKeys[keySlot([]byte(name))]))
	}
	if _, ok := jsonKeys.lookup(nil); ok {
		t.Error("the empty key found a field")
	}
	if most > 4 {
		t.Errorf("a slot lists %d fields: the table no longer spreads the names", most)
	}
}
