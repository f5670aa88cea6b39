# Developer shortcuts. CI runs .ci/run; `make test` is the same test command.

GO ?= go
# Extra flags for the proxy benchmark, e.g. BENCH_FLAGS="-bench-proxy-duration=10s -bench-proxy-rounds=5".
BENCH_FLAGS ?=
# Extra flags for the attacker benchmark, e.g. FIDELITY_FLAGS="-fidelity-rate=4000 -fidelity-search-step=10s".
FIDELITY_FLAGS ?=
# Extra flags for the soak benchmark, e.g. SOAK_FLAGS="-soak-duration=3m -soak-rate=800 -soak-profiles=/tmp/soak".
SOAK_FLAGS ?=
# Extra flags for the analysis benchmarks, e.g. ANALYSIS_FLAGS="-bench-analyze-dir=/tmp/run -bench-analyze-cpuprofile=/tmp/prof"
# (keep or reuse the synthetic run; write each side's CPU profile).
ANALYSIS_FLAGS ?=
# How long each fuzz target runs.
FUZZTIME ?= 30s

.PHONY: test static bench-proxy bench-attack bench-analysis bench-analysis-dense bench-node bench-soak bench-retry bench-streams fuzz

test:
	$(GO) test -race ./...

# A static binary (no cgo, no libc), as the Dockerfile builds it: for a
# container image or a machine without Go.
static:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o gatecrash .

# The proxy benchmark of issue 3: throughput and added latency of the fault
# proxy (mode tcp and mode http, no fault active) against a direct
# connection to a minimal upstream. It prints figures; it never fails on them.
bench-proxy:
	$(GO) test ./faults -run '^TestBenchProxy$$' -count=1 -v -timeout=30m -bench-proxy $(BENCH_FLAGS)

# The attacker fidelity benchmark: on the built-in stub upstream the
# attacker holds 2,000/s for 20s (achieved/offered >= 0.99, send lag p99
# < 5ms), then it searches for the highest rate this machine holds that
# way. It prints figures; it never fails on them.
bench-attack:
	$(GO) test -run '^$$' -bench BenchmarkAttackerFidelity -benchtime 1x -timeout 20m ./attack $(FIDELITY_FLAGS)

# The analysis benchmark: on a large synthetic run, the time and peak
# memory of gatecrash's analysis against vegeta's Metrics over the same
# results. It prints figures; it never fails on them.
bench-analysis:
	$(GO) test -run '^$$' -bench BenchmarkAnalyze -benchtime 1x -timeout 30m -v ./run $(ANALYSIS_FLAGS)

# The same on 1,000,000 requests with an event on every one (216 MB of
# events), the goal of issue 16: the analysis at most 1.5x vegeta's time
# and under 150 MB, explain --seq under a second.
bench-analysis-dense:
	$(GO) test -run '^$$' -bench BenchmarkAnalyze -benchtime 1x -timeout 30m -v ./run -bench-analyze-results=1000000 -bench-analyze-dense $(ANALYSIS_FLAGS)

# Node.js behind nginx, with and without the fault proxy: the 502 rates of
# node's own keep-alive race, measured in blocks of A (direct) B (proxied)
# B A with one node process and compared by Welch's t-test on the
# per-measurement rates (fails when they differ at p < 0.001; skips the
# comparison when the machine was oversubscribed). About 30 s a run.
# NODE_FLAGS: -node-rounds (ABBA blocks, 3), -node-sweep (each measurement,
# 2s), -node-compare-busy (compare even on an oversubscribed machine).
NODE_FLAGS ?=
bench-node:
	$(GO) test -run '^TestNodeUpstreamKeepAliveRace$$' -count=5 -v -node-compare-rates $(NODE_FLAGS) .

# The soak benchmark of issue 13: a whole run on the built-in target, 10
# minutes at 1,000/s by default, with the resident memory, the live heap
# and the goroutines printed every 10s, then the live heap's growth per
# request; it stays flat once the proxy's retry horizon (2 minutes) has
# passed twice. It prints figures; it never fails on them.
bench-soak:
	$(GO) test -run '^$$' -bench BenchmarkSoak -benchtime 1x -timeout 2h -v ./run $(SOAK_FLAGS)

# The retrying attacker's benchmark (issue 14): 2,000 first tries/s with
# 20% of tries failing and max_attempts 3 against a loopback server; it
# prints the first-try rate held, send lag and tries/s, never fails on them.
# RETRY_FLAGS="-retry-rate 2000 -retry-duration 10s -retry-fail 0.2".
RETRY_FLAGS ?=
bench-retry:
	$(GO) test -run '^$$' -bench BenchmarkAttackerRetries -benchtime 1x -timeout 10m ./attack $(RETRY_FLAGS)

# The streaming benchmark (issue 15): first the attacker's stream reader
# alone (ns/token and B/token parsed vs read plain, live bytes per stream
# being read), then 200 concurrent streams of 500 tokens at 10ms per token
# through the built-in gateway, read as text/event-stream and as
# text/plain (CPU per token and peak heap per stream, the difference
# being the stream reading; TTFT and ITL as measured). It prints figures;
# it never fails on them. STREAMS_FLAGS="-streams-n 200 -streams-tokens 500 -streams-itl 10ms".
STREAMS_FLAGS ?=
bench-streams:
	$(GO) test -run '^$$' -bench 'BenchmarkStreamsParse' ./attack
	$(GO) test -run '^$$' -bench 'BenchmarkStreams$$' -benchtime 1x -timeout 10m ./attack $(STREAMS_FLAGS)

# Every fuzz target of every package, one after the other, FUZZTIME each.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; \
	    $(GO) test $$pkg -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME); \
	  done; \
	done
