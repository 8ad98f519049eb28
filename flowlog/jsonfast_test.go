package flowlog

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// TestParseJSONCopyProperty: on runs of random records of random shapes (as one producer
// sends them, so that ParseJSONCopy learns their key order and takes its fast path), some
// altered (escapes, white space, nulls, "-", numbers as strings, bad values, truncation),
// ParseJSONCopy into a few reused slots agrees with ParseJSON and with the generic decoder,
// error for error and record for record; every record of a batch still holds its values
// when the batch ends, after its message was overwritten.
func TestParseJSONCopyProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const slots = 5
	var (
		fast, generic, reusing  [slots]Record
		dirty                   [slots]Groups // what ParseJSONReusing may have set in each slot
		fastArena, genericArena Strings
		reusingArena            Strings
		want                    [slots]Record
		valid                   [slots]bool
		decoded, failed         int
		prev                    Record
	)
	for run := 0; run < 600; run++ {
		f := randomFormat(rng)
		lossless := rng.IntN(4) > 0
		for i, n := 0, 1+rng.IntN(12); i < n; i++ {
			r := randomRecord(rng, f)
			repeatValues(rng, &r, &prev)
			prev = r
			if rng.IntN(6) == 0 {
				*r.str(randomStringField(rng, f)) = randomAwkwardString(rng)
			}
			var msg []byte
			if lossless {
				msg = AppendJSON(nil, &r)
			} else {
				msg = f.AppendJSON(nil, &r)
			}
			if rng.IntN(5) == 0 {
				msg = alterJSON(rng, msg)
			}
			s := (decoded + failed) % slots
			if valid[s] && (fast[s] != want[s] || generic[s] != want[s]) {
				t.Fatalf("slot %d changed before its batch ended:\n got %+v\nwant %+v", s, fast[s], want[s])
			}
			var ref Record
			errRef := ParseJSON(msg, &ref)
			scratch := bytes.Clone(msg)
			errFast := ParseJSONCopy(scratch, &fast[s], &fastArena)
			_, errGeneric := parseJSONTo(msg, string(msg), &generic[s], &genericArena, false, AllGroups)
			set, errReusing := ParseJSONReusing(msg, &reusing[s], &reusingArena, dirty[s])
			dirty[s] |= set
			clear(scratch)
			if (errRef == nil) != (errFast == nil) || (errRef == nil) != (errGeneric == nil) || (errRef == nil) != (errReusing == nil) {
				t.Fatalf("%s\nParseJSON: %v\nParseJSONCopy: %v\ngeneric: %v\nreusing: %v", msg, errRef, errFast, errGeneric, errReusing)
			}
			valid[s] = errRef == nil
			if errRef != nil {
				failed++
				continue
			}
			decoded++
			if fast[s] != ref || generic[s] != ref || reusing[s] != ref {
				t.Fatalf("%s\nParseJSON:     %+v\nParseJSONCopy: %+v\ngeneric:       %+v\nreusing:       %+v", msg, ref, fast[s], generic[s], reusing[s])
			}
			want[s] = ref
		}
		if rng.IntN(3) == 0 { // the batch ends: its records must still be whole, then the arenas serve again
			for s := range fast {
				if valid[s] && (fast[s] != want[s] || generic[s] != want[s]) {
					t.Fatalf("slot %d changed before its batch ended:\n got %+v\nwant %+v", s, fast[s], want[s])
				}
			}
			fastArena.Reset()
			genericArena.Reset()
			reusingArena.Reset()
			valid = [slots]bool{}
		}
	}
	if decoded < 2000 || failed < 100 {
		t.Fatalf("%d messages decoded, %d refused: the test no longer covers both", decoded, failed)
	}
}

// repeatValues gives r, as a producer's next record often has, some of prev's string
// values, pkt-srcaddr and pkt-dstaddr equal to srcaddr and dstaddr, or prev's addresses
// swapped; or values that differ from those in their last byte or length only.
func repeatValues(rng *rand.Rand, r, prev *Record) {
	for f := Field(0); f < FieldIgnored; f++ {
		p, q := r.str(f), prev.str(f)
		if p == nil || *p == "" || *q == "" {
			continue
		}
		switch rng.IntN(4) {
		case 0, 1:
			*p = *q
		case 2:
			*p = (*q)[:len(*q)-1] + []string{"", "x", (*q)[len(*q)-1:] + "y"}[rng.IntN(3)]
		}
	}
	near := func(a netip.Addr) netip.Addr { // 10.0.0.1 → 10.0.0.12 and the like
		if !a.Is4() || a.As4()[3] >= 26 {
			return a
		}
		b := a.As4()
		b[3] = b[3]*10 + byte(rng.IntN(6))
		return netip.AddrFrom4(b)
	}
	if !r.SrcAddr.IsValid() || !r.DstAddr.IsValid() {
		return
	}
	switch rng.IntN(5) {
	case 0:
		r.PktSrcAddr, r.PktDstAddr = r.SrcAddr, r.DstAddr
	case 1:
		if prev.SrcAddr.IsValid() && prev.DstAddr.IsValid() {
			r.SrcAddr, r.DstAddr = prev.DstAddr, prev.SrcAddr
		}
	case 2:
		r.PktSrcAddr, r.PktDstAddr = near(r.SrcAddr), near(r.DstAddr)
	}
}

// randomStringField picks one of f's plain string fields, or account-id when f has none.
func randomStringField(rng *rand.Rand, f *Format) Field {
	var fs []Field
	for _, fd := range f.Fields() {
		if fd != FieldIgnored && new(Record).str(fd) != nil {
			fs = append(fs, fd)
		}
	}
	if len(fs) == 0 {
		return FieldAccountID
	}
	return fs[rng.IntN(len(fs))]
}

// randomAwkwardString is a value that takes the fast path's edges: escapes, control
// characters, UTF-8, lengths around its 8- and 32-byte steps, empty.
func randomAwkwardString(rng *rand.Rand) string {
	pieces := []string{"a", "-", `"`, `\`, "\n", "\x01", "é", "\u2028", "/", "0123456789abcdef"}
	var b strings.Builder
	for n := rng.IntN(40); b.Len() < n; {
		b.WriteString(pieces[rng.IntN(len(pieces))])
	}
	return b.String()
}

// alterJSON changes msg in one of the ways a producer other than AppendJSON (or a broken
// one) might: white space, a value's form, a byte, its end.
func alterJSON(rng *rand.Rand, msg []byte) []byte {
	s := string(msg)
	switch rng.IntN(10) {
	case 0:
		s = strings.ReplaceAll(s, `":`, `" : `)
	case 1:
		s = strings.ReplaceAll(s, `,"`, " ,\n\t\"")
	case 2: // a number as a string
		if i := strings.IndexAny(s, "0123456789"); i > 0 && s[i-1] == ':' {
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			s = s[:i] + `"` + s[i:j] + `"` + s[j:]
		}
	case 3: // a value (the first, or any) becomes null or "-"
		repl := []string{"null", `"-"`, `""`, "-", "1e3", "007", "99999999999999999999", "true", "[1]"}[rng.IntN(9)]
		i := strings.Index(s, `":`)
		if n := strings.Count(s, `":`); n > 1 && rng.IntN(2) == 0 {
			for k := rng.IntN(n); k > 0 && i >= 0; k-- {
				if j := strings.Index(s[i+2:], `":`); j >= 0 {
					i += 2 + j
				}
			}
		}
		if i > 0 && i+2 < len(s) {
			j := i + 2
			if s[j] == '"' {
				j = j + 1 + strings.IndexByte(s[j+1:], '"') + 1
			} else {
				for j < len(s) && s[j] != ',' && s[j] != '}' {
					j++
				}
			}
			s = s[:i+2] + repl + s[j:]
		}
	case 4: // an address in another spelling
		for _, a := range []string{"010.0.0.1", "10.0.0.256", "1.2.3", "::ffff:1.2.3.4", "fe80::1%eth0", "1.2.3.4.5", "0.0.0.0", "255.255.255.255"} {
			if i := strings.Index(s, `"srcaddr":"`); i >= 0 {
				j := i + len(`"srcaddr":"`)
				k := j + strings.IndexByte(s[j:], '"')
				s = s[:j] + a + s[k:]
				if rng.IntN(2) == 0 {
					break
				}
			}
		}
	case 5: // truncated
		s = s[:rng.IntN(len(s))]
	case 6: // one byte changed
		b := []byte(s)
		b[rng.IntN(len(b))] = `"\:,{}[] -0aé`[rng.IntN(14)]
		s = string(b)
	case 7: // an unknown key first and last
		s = `{"future-field":"x",` + s[1:len(s)-1] + `,"other-field":[1,{"a":"}"}]}`
	case 9: // a member at a limit of its field's range, first or last
		m := []string{`"version":0`, `"version":255`, `"start":1418530010123`, `"end":2147483647`, `"end":2147483648`,
			`"end":2147483647999`, `"srcport":65535`, `"dstport":65536`, `"tcp-flags":256`, `"packets":9223372036854775807`,
			`"bytes":9223372036854775808`, `"tgw-id":"-"`, `"type":"IPv6"`, `"action":"accept"`}[rng.IntN(14)]
		if rng.IntN(2) == 0 {
			s = "{" + m + "," + s[1:]
		} else {
			s = s[:len(s)-1] + "," + m + "}"
		}
	case 8: // a key twice
		if i := strings.IndexByte(s, ','); i > 0 {
			s = s[:len(s)-1] + "," + s[1:i] + "}"
		}
	}
	return []byte(s)
}

// TestParseJSONCopySlotReuse: a slot that held a record with every field set and then gets
// a message with few keys keeps nothing of the record before, on the fast path (the key
// order learnt) as on the first parse.
func TestParseJSONCopySlotReuse(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	full := randomRecord(rng, AllVPC)
	for _, fd := range AllVPC.Fields() { // every field present
		if p := full.str(fd); p != nil && *p == "" {
			*p = "v"
		}
	}
	full.SrcAddr, full.Kind = netip.MustParseAddr("10.1.2.3"), KindVPC
	small := []byte(`{"interface-id":"eni-1","srcport":443}`)
	var arena Strings
	var slot, want Record
	if err := ParseJSON(small, &want); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := ParseJSONCopy(AppendJSON(nil, &full), &slot, &arena); err != nil {
			t.Fatal(err)
		}
		if err := ParseJSONCopy(small, &slot, &arena); err != nil {
			t.Fatal(err)
		}
		if slot != want {
			t.Fatalf("round %d: slot kept values of its record before:\n got %+v\nwant %+v", i, slot, want)
		}
	}
}

// TestStringStop checks the word-wise scan of stringStop against its byte-wise definition:
// every byte value at every position, then random mixes of stop and other bytes.
func TestStringStop(t *testing.T) {
	byteWise := func(b []byte) int {
		for i, c := range b {
			if c == '"' || c == '\\' || c < 0x20 {
				return i
			}
		}
		return len(b)
	}
	for pos := 0; pos < 40; pos++ {
		for c := 0; c < 256; c++ {
			b := bytes.Repeat([]byte{'a'}, 40)
			b[pos] = byte(c)
			for n := pos; n <= 40; n++ {
				if got, want := stringStop(b[:n]), byteWise(b[:n]); got != want {
					t.Fatalf("byte %#x at %d of %d: stop at %d, want %d", c, pos, n, got, want)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 20000; i++ {
		b := make([]byte, rng.IntN(70))
		for j := range b {
			b[j] = []byte{'"', '\\', 0, 0x1f, 0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff, 'x'}[rng.IntN(14)]
			if rng.IntN(3) > 0 {
				b[j] = byte(rng.IntN(256))
			}
		}
		if got, want := stringStop(b), byteWise(b); got != want {
			t.Fatalf("%q: stop at %d, want %d", b, got, want)
		}
	}
}

// TestFastIntegers: integers of every length up to 20 digits, followed by every kind of
// byte, read by ParseJSONCopy's fast path (eight digits at a time, the key order learnt)
// as ParseJSON reads them, with and without 16 bytes after them.
func TestFastIntegers(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	var arena Strings
	for i := 0; i < 20000; i++ {
		var num []byte
		for n := rng.IntN(21); len(num) < n; {
			num = append(num, byte('0'+rng.IntN(10)))
		}
		num = append(num, []string{"", ".5", "e3", "-", "0", `"`, " "}[rng.IntN(7)]...)
		key := []string{"bytes", "srcport", "version", "start", "tcp-flags"}[rng.IntN(5)]
		msg := []byte(`{"` + key + `":` + string(num))
		if rng.IntN(2) == 0 {
			msg = append(msg, `,"srcaddr":"10.0.0.1"}`...)
		} else {
			msg = append(msg, '}')
		}
		var want, got Record
		errWant := ParseJSON(msg, &want)
		for range 2 { // the second time with the key order learnt
			if err := ParseJSONCopy(msg, &got, &arena); (err == nil) != (errWant == nil) || got != want && err == nil {
				t.Fatalf("%s: ParseJSONCopy %v, %+v; ParseJSON %v, %+v", msg, err, got, errWant, want)
			}
		}
	}
}

// TestIPv4At: ipv4At reads every canonical dotted address netip reads, the same, and
// declines anything else it is given (leading zeros, octets above 255, missing or extra
// dots, other bytes, no closing quote), whatever follows the string.
func TestIPv4At(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	for i := 0; i < 100000; i++ {
		var s string
		if rng.IntN(2) == 0 {
			s = netip.AddrFrom4([4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}).String()
		} else { // octets of zero to four digits, not always four of them, a byte changed
			octets := make([]string, 2+rng.IntN(4))
			for k := range octets {
				for n := rng.IntN(5); len(octets[k]) < n; {
					octets[k] += string(rune('0' + rng.IntN(10)))
				}
			}
			s = strings.Join(octets, ".")
			if rng.IntN(4) == 0 && s != "" {
				b := []byte(s)
				b[rng.IntN(len(b))] = "0.-a:/ "[rng.IntN(7)]
				s = string(b)
			}
		}
		msg := []byte(`"` + s + `"` + []string{`}`, `,"srcport":443,"dstport":80}`, `1.2.3.4"`}[rng.IntN(3)])
		a, end, ok := ipv4At(msg, 0)
		want, err := netip.ParseAddr(s)
		canonical := err == nil && want.Is4() && want.String() == s
		if fits := len(msg) >= 18; canonical && fits != ok || ok && (!canonical || a != want || end != len(s)+2) {
			t.Fatalf("%q: ipv4At = %v, %d, %v; netip %v, %v", msg, a, end, ok, want, err)
		}
	}
}

// TestParseJSONCopySharesRepeats: a string value equal to the record before's shares that
// record's copy in the arena (what keeps a batch's arena small); a value that differs only
// after the other's end gets its own.
func TestParseJSONCopySharesRepeats(t *testing.T) {
	var arena Strings
	var a, b, c Record
	msg := func(account string) []byte {
		return []byte(`{"account-id":"` + account + `","interface-id":"eni-0123456789abcdef0","srcaddr":"10.0.0.1","dstaddr":"10.0.0.12","srcport":443}`)
	}
	for _, step := range []struct {
		r       *Record
		account string
	}{{&a, "123456789012"}, {&a, "123456789012"}, {&b, "123456789012"}, {&c, "1234567890123"}} {
		if err := ParseJSONCopy(msg(step.account), step.r, &arena); err != nil || step.r.AccountID != step.account {
			t.Fatalf("%s: %v, %+v", msg(step.account), err, step.r)
		}
	}
	if unsafe.StringData(a.AccountID) != unsafe.StringData(b.AccountID) || unsafe.StringData(a.InterfaceID) != unsafe.StringData(b.InterfaceID) {
		t.Fatal("a repeated value was copied again")
	}
	if c.AccountID != "1234567890123" || c.DstAddr != netip.MustParseAddr("10.0.0.12") {
		t.Fatalf("a longer value read as the shorter one before: %+v", c)
	}
	// The bytes of a value read before, but not a string: refused, as ParseJSON does.
	for _, bad := range []string{
		`{"account-id":"123456789012","interface-id":xeni-0123456789abcdef0","srcaddr":"10.0.0.1","dstaddr":"10.0.0.12","srcport":443}`,
		`{"account-id":"123456789012","interface-id":"eni-0123456789abcdef0","srcaddr":"10.0.0.1","dstaddr":110.0.0.1","srcport":443}`,
		`{"account-id":"123456789012","interface-id":"eni-0123456789abcdef0","srcaddr":"10.0.0.1","dstaddr":"10.0.0.1`,
	} {
		for range 2 {
			if err := ParseJSONCopy([]byte(bad), &c, &arena); err == nil {
				t.Fatalf("%s: no error", bad)
			}
		}
	}
}

// TestParseJSONCopyDashAndTail: a string value "-" (absent) is read on the fast path as
// ParseJSON reads it, whether it repeats the record before's or follows a real value, in
// the middle of a message or among its last members (read from a copy of its end); so are
// messages shorter than that copy and values cut by the message's end.
func TestParseJSONCopyDashAndTail(t *testing.T) {
	var arena Strings
	var slot Record
	var dirty Groups
	instances := []string{"-", "-", "i-0123456789abcdef0", "-", "i-0123456789abcdef0", "i-0123456789abcdef0", "-"}
	var msgs []string
	for k, inst := range instances {
		pad := strings.Repeat("x", k*7) // moves the members across the tail's start
		msgs = append(msgs,
			`{"account-id":"123456789012","interface-id":"eni-0`+pad+`","instance-id":"`+inst+`","srcport":443,"action":"ACCEPT","az-id":"use1-az1"}`,
			`{"account-id":"123456789012","srcaddr":"10.0.0.1","vpc-id":"vpc-1","instance-id":"`+inst+`","az-id":"`+inst+`"}`,
			`{"instance-id":"`+inst+`"}`,
			`{"srcport":1,"instance-id":"`+inst+`","dstport":2`,
			`{"account-id":"1","instance-id":"`+inst+`","az-id":"-`,
			`{"account-id":"1","instance-id":"`+inst+`","action":"ACC`,
		)
	}
	for _, m := range msgs {
		var want Record
		errWant := ParseJSON([]byte(m), &want)
		scratch := []byte(m)
		set, err := ParseJSONReusing(scratch, &slot, &arena, dirty)
		dirty |= set
		clear(scratch)
		if (err == nil) != (errWant == nil) || err == nil && slot != want {
			t.Fatalf("%s\nParseJSON:        %v %+v\nParseJSONReusing: %v %+v", m, errWant, want, err, slot)
		}
		if errWant != nil && err.Error() != errWant.Error() {
			t.Fatalf("%s: error %q, ParseJSON's %q", m, err, errWant)
		}
	}
}

// TestParseJSONCopyTwoShapes: records of two shapes in turns (NODATA ones without
// addresses and ports among the others) parse as ParseJSON parses them, and the arena
// keeps both keys that follow interface-id, so that neither shape is looked up again.
func TestParseJSONCopyTwoShapes(t *testing.T) {
	full := `{"account-id":"123456789012","interface-id":"eni-0123456789abcdef0","srcaddr":"10.0.0.1","dstaddr":"10.0.0.12","srcport":443,"dstport":49152,"protocol":6,"packets":3,"bytes":180,"start":1714521600,"end":1714521659,"action":"ACCEPT","log-status":"OK","vpc-id":"vpc-1","az-id":"use1-az1"}`
	nodata := `{"account-id":"123456789012","interface-id":"eni-0123456789abcdef1","start":1714521600,"end":1714521659,"log-status":"NODATA","vpc-id":"vpc-1","az-id":"use1-az1","interface-type":"nat_gateway"}`
	var arena Strings
	var slot Record
	var dirty Groups
	for k := range 6 {
		msg := []byte(full)
		if k%2 == 1 {
			msg = []byte(nodata)
		}
		var want Record
		if err := ParseJSON(msg, &want); err != nil {
			t.Fatal(err)
		}
		set, err := ParseJSONReusing(msg, &slot, &arena, dirty)
		dirty |= set
		if err != nil || slot != want {
			t.Fatalf("%s\nParseJSON:        %+v\nParseJSONReusing: %v %+v", msg, want, err, slot)
		}
	}
	got := []Field{Field(arena.next[FieldInterfaceID] - 1), Field(arena.alt[FieldInterfaceID] - 1)}
	if !slices.Contains(got, FieldSrcAddr) || !slices.Contains(got, FieldStart) {
		t.Fatalf("keys kept after interface-id: %v, want srcaddr and start", got)
	}
}
