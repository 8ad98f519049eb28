# flowtap — see README.md. `make run` starts the whole pipeline on embedded defaults;
# `make test` installs what the tests need and runs them.
SHELL := /bin/bash
GO ?= go
BIN := bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
FUZZTIME ?= 5s

.PHONY: build run test test-deps fuzz bench lint clean

build:
	$(GO) build -o $(BIN)/flowtap ./cmd/flowtap

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
				$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; exit 1; }; \
		done; \
	done

# Package benchmarks as one table, then the same-run comparisons against baselines:
# collector vs a bare recvmmsg loop, replay vs tcpreplay --topspeed (needs root).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./... | tee bench/last.txt
	$(GO) run ./bench/report < bench/last.txt
	$(GO) run ./bench/collector
	$(GO) run ./bench/replay

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

clean:
	rm -rf $(BIN) data
