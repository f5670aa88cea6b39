# Developer shortcuts. CI runs .ci/run; `make test` is the same test command.

GO ?= go
# Extra flags for the proxy benchmark, e.g. BENCH_FLAGS="-bench-proxy-duration=10s -bench-proxy-rounds=5".
BENCH_FLAGS ?=
# How long each fuzz target runs.
FUZZTIME ?= 30s

.PHONY: test bench-proxy fuzz

test:
	$(GO) test -race ./...

# The proxy benchmark of issue 3: throughput and added latency of the fault
# proxy (mode tcp and mode http, no fault active) against a direct
# connection to a minimal upstream. It prints figures; it never fails on them.
bench-proxy:
	$(GO) test ./faults -run '^TestBenchProxy$$' -count=1 -v -timeout=30m -bench-proxy $(BENCH_FLAGS)

# Every fuzz target of every package, one after the other, FUZZTIME each.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; \
	    $(GO) test $$pkg -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME); \
	  done; \
	done
