package kafka

import "cmp"

// orDefault sets *v to def when it is zero or negative: the unset values of a Config.
func orDefault[T cmp.Ordered](v *T, def T) {
	var zero T
	if *v <= zero {
		*v = def
	}
}
