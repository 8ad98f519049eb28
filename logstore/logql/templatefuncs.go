package logql

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// templateFuncs are the functions line_format and label_format templates may call:
// Loki's documented list with its argument order and conversions (numbers given as
// strings are parsed, unparsable ones count as 0; integer division by zero is a
// template error that sets __error__=TemplateFormatErr).
var templateFuncs = template.FuncMap{
	// Loki's own
	"ToLower": strings.ToLower, "ToUpper": strings.ToUpper, "Replace": strings.Replace,
	"Trim": strings.Trim, "TrimLeft": strings.TrimLeft, "TrimRight": strings.TrimRight,
	"TrimPrefix": strings.TrimPrefix, "TrimSuffix": strings.TrimSuffix, "TrimSpace": strings.TrimSpace,
	"regexReplaceAll": func(re, s, repl string) (string, error) {
		r, err := regexp.Compile(re)
		if err != nil {
			return "", err
		}
		return r.ReplaceAllString(s, repl), nil
	},
	"regexReplaceAllLiteral": func(re, s, repl string) (string, error) {
		r, err := regexp.Compile(re)
		if err != nil {
			return "", err
		}
		return r.ReplaceAllLiteralString(s, repl), nil
	},
	"count": func(re, s string) (int, error) {
		r, err := regexp.Compile(re)
		if err != nil {
			return 0, err
		}
		return len(r.FindAllStringIndex(s, -1)), nil
	},
	"urldecode": url.QueryUnescape, "urlencode": url.QueryEscape,
	"bytes": func(s string) (float64, error) {
		n, err := parseBytes(s)
		return float64(n), err
	},
	"duration": durationSeconds, "duration_seconds": durationSeconds,
	"unixEpochMillis": func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) },
	"unixEpochNanos":  func(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) },
	"toDateInZone": func(layout, zone, s string) time.Time {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			loc = time.UTC
		}
		t, _ := time.ParseInLocation(layout, s, loc)
		return t
	},
	"unixToTime": unixToTime,
	"alignLeft":  func(n int, s string) string { return align(n, s, false) },
	"alignRight": func(n int, s string) string { return align(n, s, true) },

	// the general-purpose ones Loki documents (sprig's names and argument order)
	"b64enc": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	"b64dec": func(s string) string {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return err.Error()
		}
		return string(b)
	},
	"lower": strings.ToLower, "upper": strings.ToUpper, "title": strings.Title, //nolint:staticcheck // Loki's semantics
	"trunc": func(n int, s string) string {
		switch {
		case n < 0 && len(s)+n > 0:
			return s[len(s)+n:]
		case n >= 0 && len(s) > n:
			return s[:n]
		}
		return s
	},
	"substr": func(start, end int, s string) string {
		// out-of-range bounds panic, which the template reports as an error, as in Loki
		if start < 0 {
			return s[:end]
		}
		if end < 0 || end > len(s) {
			return s[start:]
		}
		return s[start:end]
	},
	"contains":   func(sub, s string) bool { return strings.Contains(s, sub) },
	"hasPrefix":  func(p, s string) bool { return strings.HasPrefix(s, p) },
	"hasSuffix":  func(p, s string) bool { return strings.HasSuffix(s, p) },
	"indent":     indent,
	"nindent":    func(n int, s string) string { return "\n" + indent(n, s) },
	"replace":    func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
	"repeat":     func(n int, s string) string { return strings.Repeat(s, n) },
	"trim":       strings.TrimSpace,
	"trimAll":    func(cut, s string) string { return strings.Trim(s, cut) },
	"trimSuffix": func(suf, s string) string { return strings.TrimSuffix(s, suf) },
	"trimPrefix": func(pre, s string) string { return strings.TrimPrefix(s, pre) },
	"int":        func(v any) int { return int(toInt64(v)) },
	"float64":    toFloat64,
	"add": func(vs ...any) int64 {
		var n int64
		for _, v := range vs {
			n += toInt64(v)
		}
		return n
	},
	"sub": func(a, b any) int64 { return toInt64(a) - toInt64(b) },
	"mul": func(a any, vs ...any) int64 {
		n := toInt64(a)
		for _, v := range vs {
			n *= toInt64(v)
		}
		return n
	},
	"div": func(a, b any) int64 { return toInt64(a) / toInt64(b) },
	"mod": func(a, b any) int64 { return toInt64(a) % toInt64(b) },
	"addf": func(vs ...any) float64 {
		return decimalOp(0.0, vs, func(z, x, y *big.Rat) *big.Rat { return z.Add(x, y) })
	},
	"subf": func(a any, vs ...any) float64 {
		return decimalOp(a, vs, func(z, x, y *big.Rat) *big.Rat { return z.Sub(x, y) })
	},
	"mulf": func(a any, vs ...any) float64 {
		return decimalOp(a, vs, func(z, x, y *big.Rat) *big.Rat { return z.Mul(x, y) })
	},
	"divf": func(a any, vs ...any) float64 {
		return decimalOp(a, vs, func(z, x, y *big.Rat) *big.Rat {
			if y.Sign() == 0 {
				panic("decimal division by 0")
			}
			return roundDecimal(z.Quo(x, y), 16)
		})
	},
	"max": func(a any, vs ...any) int64 {
		m := toInt64(a)
		for _, v := range vs {
			m = max(m, toInt64(v))
		}
		return m
	},
	"min": func(a any, vs ...any) int64 {
		m := toInt64(a)
		for _, v := range vs {
			m = min(m, toInt64(v))
		}
		return m
	},
	"maxf": func(a any, vs ...any) float64 {
		m := toFloat64(a)
		for _, v := range vs {
			m = math.Max(m, toFloat64(v))
		}
		return m
	},
	"minf": func(a any, vs ...any) float64 {
		m := toFloat64(a)
		for _, v := range vs {
			m = math.Min(m, toFloat64(v))
		}
		return m
	},
	"ceil":  func(a any) float64 { return math.Ceil(toFloat64(a)) },
	"floor": func(a any) float64 { return math.Floor(toFloat64(a)) },
	"round": func(a any, places int, on ...float64) float64 {
		roundOn := 0.5
		if len(on) > 0 {
			roundOn = on[0]
		}
		pow := math.Pow(10, float64(places))
		digit := pow * toFloat64(a)
		if _, frac := math.Modf(digit); frac >= roundOn {
			return math.Ceil(digit) / pow
		}
		return math.Floor(digit) / pow
	},
	"fromJson": func(s string) any {
		var v any
		_ = json.Unmarshal([]byte(s), &v) // invalid JSON gives nil, as in Loki
		return v
	},
	"date": func(layout string, v any) string {
		var t time.Time
		switch v := v.(type) {
		case time.Time:
			t = v
		case *time.Time:
			t = *v
		case int64:
			t = time.Unix(v, 0)
		case int:
			t = time.Unix(int64(v), 0)
		case int32:
			t = time.Unix(int64(v), 0)
		default:
			t = time.Now()
		}
		return t.Local().Format(layout)
	},
	"toDate": func(layout, s string) time.Time {
		t, _ := time.ParseInLocation(layout, s, time.Local)
		return t
	},
	"now":       time.Now,
	"unixEpoch": func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) },
	"default": func(d any, given ...any) any {
		if len(given) == 0 || isEmpty(given[0]) {
			return d
		}
		return given[0]
	},
}

func durationSeconds(s string) (float64, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	return d.Seconds(), nil
}

// unixToTime reads Unix days, seconds, milliseconds, microseconds or nanoseconds,
// told apart by the number of digits as Loki does.
func unixToTime(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("unable to parse time '%v': %w", s, err)
	}
	switch len(s) {
	case 5:
		return time.Unix(n*86400, 0), nil
	case 10:
		return time.Unix(n, 0), nil
	case 13:
		return time.Unix(0, n*1e6), nil
	case 16:
		return time.Unix(0, n*1e3), nil
	case 19:
		return time.Unix(0, n), nil
	}
	return time.Time{}, fmt.Errorf("unable to parse time '%v': %w", s, errors.New("unsupported length"))
}

// align pads s with spaces to n runes, or cuts it to n runes (keeping the end when right).
func align(n int, s string, right bool) string {
	r := []rune(s)
	if n < 0 || n == len(r) {
		return s
	}
	if pad := n - len(r); pad > 0 {
		if right {
			return strings.Repeat(" ", pad) + s
		}
		return s + strings.Repeat(" ", pad)
	}
	if right {
		return string(r[len(r)-n:])
	}
	return string(r[:n])
}

func indent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

// toInt64 converts like Loki's templates: numbers of any type, numeric strings (base
// prefixes allowed, a zero fraction ignored), bools; anything else is 0.
func toInt64(v any) int64 {
	return toNumber(v, func(s string) int64 {
		n, err := strconv.ParseInt(trimZeroFraction(s), 0, 0)
		if err != nil {
			return 0
		}
		return n
	})
}

func toFloat64(v any) float64 {
	return toNumber(v, func(s string) float64 {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0
		}
		return f
	})
}

// toNumber converts numbers of any type and bools to T, and strings (json.Number too)
// with parse; anything else is 0.
func toNumber[T int64 | float64](v any, parse func(string) T) T {
	switch v := v.(type) {
	case bool:
		if v {
			return 1
		}
		return 0
	case string:
		return parse(v)
	case json.Number:
		return parse(string(v))
	}
	switch n := reflect.ValueOf(v); {
	case n.CanInt():
		return T(n.Int())
	case n.CanUint():
		return T(n.Uint())
	case n.CanFloat():
		return T(n.Float())
	}
	return 0
}

// trimZeroFraction turns "12.000" into "12"; any other text is returned as is.
func trimZeroFraction(s string) string {
	zero := false
	for i := len(s); i > 0; i-- {
		switch s[i-1] {
		case '.':
			if zero {
				return s[:i-1]
			}
			return s
		case '0':
			zero = true
		default:
			return s
		}
	}
	return s
}

// decimalOp folds vs into a with op in exact decimal arithmetic (each operand taken at
// the shortest decimal that round-trips), so that addf 0.1 0.2 is 0.3 as in Loki.
func decimalOp(a any, vs []any, op func(z, x, y *big.Rat) *big.Rat) float64 {
	acc := exactDecimal(toFloat64(a))
	for _, v := range vs {
		acc = op(new(big.Rat), acc, exactDecimal(toFloat64(v)))
	}
	f, _ := acc.Float64()
	return f
}

func exactDecimal(f float64) *big.Rat {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		panic("cannot create a decimal from " + strconv.FormatFloat(f, 'g', -1, 64))
	}
	r, _ := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, 64))
	return r
}

// roundDecimal rounds r to places decimal digits, halves away from zero.
func roundDecimal(r *big.Rat, places int) *big.Rat {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)
	num := new(big.Int).Mul(r.Num(), scale)
	q, m := new(big.Int).QuoRem(num, r.Denom(), new(big.Int))
	if new(big.Int).Mul(new(big.Int).Abs(m), big.NewInt(2)).Cmp(r.Denom()) >= 0 {
		if r.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return new(big.Rat).SetFrac(q, scale)
}

// isEmpty is the template notion of an unset value: nil, zero, false or empty.
func isEmpty(v any) bool {
	g := reflect.ValueOf(v)
	if !g.IsValid() {
		return true
	}
	switch g.Kind() {
	case reflect.Array, reflect.Slice, reflect.Map, reflect.String:
		return g.Len() == 0
	case reflect.Bool:
		return !g.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return g.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return g.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return g.Float() == 0
	case reflect.Struct:
		return false
	case reflect.Complex64, reflect.Complex128:
		return g.Complex() == 0
	}
	return g.IsNil()
}
