//go:build release && linux && cgo

package main

// Release builds (make release: -tags release) link libstdc++ statically so that they run
// where the system's libstdc++ is older than the build host's (Amazon Linux 2023). GCC 12's
// libstdc++.a calls arc4random for std::random_device when the build host's glibc has it
// (2.36); glibc 2.34 does not, so the binary defines it itself, from getrandom (glibc 2.25),
// and needs nothing newer than GLIBC_2.34. TestReleaseBinary checks the symbol versions.

/*
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/random.h>

uint32_t arc4random(void) {
	uint32_t v;
	for (;;) {
		ssize_t n = getrandom(&v, sizeof v, 0);
		if (n == (ssize_t)sizeof v) return v;
		if (n < 0 && errno != EINTR) abort();
	}
}
*/
import "C"
