# flowtap — see README.md. `make run` starts the whole pipeline on embedded defaults;
# `make test` installs what the tests need and runs them.
SHELL := /bin/bash
GO ?= go
BIN := bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
FUZZTIME ?= 5s

# The version stamped into the binary (flowtap --version, Parquet created_by): the git tag
# or commit, unless given (make release VERSION=v1.2.0).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
VERSION_LDFLAGS := -X github.com/flowtap/flowtap/internal/version.stamped=$(VERSION)
# Release builds link libstdc++ (DuckDB is C++) statically, so that the binary needs only
# glibc ≤ 2.34 and libgcc_s's GCC_3.0–4.2 unwinder: it runs on Amazon Linux 2023 (glibc
# 2.34, GCC 11's libstdc++ lacks the GLIBCXX_3.4.30 a Debian 12 build needs) and Debian 12.
# DuckDB's cgo flags say -lstdc++, which -static-libstdc++ alone does not turn static: a
# directory holding only libstdc++.a goes first on the search path. libgcc stays shared:
# a static libgcc_eh from GCC 12 needs glibc 2.35's _dl_find_object. The `release` build
# tag supplies arc4random (libstdc++.a uses it; glibc has it from 2.36, cmd/flowtap/
# glibc_release.go). cmd/flowtap's TestReleaseBinary checks what this target builds.
RELEASE_DIR ?= dist
RELEASE_LINKDIR = $(abspath $(RELEASE_DIR))/.static-libstdc++
RELEASE_LDFLAGS = -s -w $(VERSION_LDFLAGS) -extldflags '-static-libstdc++ -L$(RELEASE_LINKDIR)'
RELEASE_BIN := $(RELEASE_DIR)/flowtap-linux-$(shell $(GO) env GOARCH)

.PHONY: build release run test test-deps fuzz bench lint clean

build:
	$(GO) build -ldflags "$(VERSION_LDFLAGS)" -o $(BIN)/flowtap ./cmd/flowtap

# The binary operators install (Terraform's user_data pins its version and SHA-256).
release:
	mkdir -p $(RELEASE_LINKDIR)
	ln -sf "$$($${CC:-gcc} -print-file-name=libstdc++.a)" $(RELEASE_LINKDIR)/libstdc++.a
	test -e $(RELEASE_LINKDIR)/libstdc++.a || { echo "release: no libstdc++.a (install libstdc++-dev)"; exit 1; }
	CGO_ENABLED=1 $(GO) build -trimpath -tags release -ldflags "$(RELEASE_LDFLAGS)" -o $(RELEASE_BIN) ./cmd/flowtap
	cd $(RELEASE_DIR) && sha256sum $(notdir $(RELEASE_BIN)) > $(notdir $(RELEASE_BIN)).sha256

run: build
	$(BIN)/flowtap up

# Test dependencies: versitygw (a real S3 server) via go install into ./bin; tshark and
# tcpreplay from Debian when apt is usable (tests that use them as oracles need them).
test-deps: $(BIN)/versitygw
	@command -v tshark >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q tshark tcpreplay >/dev/null 2>&1 || \
		echo "note: tshark not installed; the tshark oracle test will say so"; }

$(BIN)/versitygw:
	GOBIN=$(CURDIR)/$(BIN) GOFLAGS= $(GO) install github.com/versity/versitygw/cmd/versitygw@v1.8.0

test: test-deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 12m ./...
	$(MAKE) fuzz

# Each fuzz target runs briefly; `make fuzz FUZZTIME=5m` for a longer session.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		dir=$$($(GO) list -f '{{.Dir}}' $$pkg); \
		for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/func //'); do \
			echo "fuzz $$pkg $$t"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg >/dev/null || { \
				echo "fuzz $$t failed once: again, with output (a crasher it found is in testdata and fails again)"; \
				$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; }; \
		done; \
	done

# Package benchmarks as one table, then the same-run comparisons against baselines:
# collector vs a bare recvmmsg loop (and its kernel drops while its records go to Kafka),
# replay vs tcpreplay delivering the same VXLAN capture to the same socket (needs root), and
# the pipeline as processes: generate → broker → sink against generate to a pipe and a raw
# consume, then replay → collect → Kafka → lake counting packets at every hop.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./... | tee bench/last.txt
	$(GO) run ./bench/report < bench/last.txt
	$(GO) run ./bench/collector
	$(GO) run ./bench/replay
	$(GO) run ./bench/pipeline

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

clean:
	rm -rf $(BIN) data dist
