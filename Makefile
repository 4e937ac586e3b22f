# sessiongate — make targets. `make test` is what CI runs.
GO ?= go
TEST_TIMEOUT ?= 20m
FUZZTIME_SHORT ?= 5s
FUZZTIME ?= 2m
SOAK ?= 5m
FAILOVER_ROUNDS ?= 5

.PHONY: test check-install deps vet unit build demo bench fuzz soak failover clean

## test: install test dependencies (redis-server, chromium), vet, run every test with the race detector,
## then every fuzz target for FUZZTIME_SHORT
test: deps vet
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...
	FUZZTIME=$(FUZZTIME_SHORT) GO=$(GO) ./scripts/fuzz.sh

## check-install: run the README's build commands as printed (go build, go install xcaddy, xcaddy build)
## and check that both binaries list session_gate and validate the example Caddyfile (CI runs it)
check-install:
	./scripts/check-install.sh

## fuzz: every fuzz target for FUZZTIME (default 2m each)
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) ./scripts/fuzz.sh

## soak: the soak test for SOAK (default 5m, at most 10m): thousands of sessions, mixed traffic
soak:
	SESSIONGATE_SOAK=$(SOAK) $(GO) test -count=1 -run '^TestSoakMixedTraffic$$' -timeout 15m -v ./caddymodule/

## failover: the failover tests, each failover repeated FAILOVER_ROUNDS times (default 5): Sentinel (graceful,
## then hard) and Cluster, two gateway nodes behind Caddy's load balancer, under traffic
failover: deps
	SESSIONGATE_FAILOVER_ROUNDS=$(FAILOVER_ROUNDS) $(GO) test -count=1 -run '^TestFailover' -timeout 30m -v ./caddymodule/

## deps: install redis-server and chromium from Debian packages if missing
deps:
	./scripts/install-test-deps.sh

vet:
	$(GO) vet ./...

## demo: the whole flow on http://localhost:8080 (development sign-in, sample app)
demo:
	$(GO) run ./cmd/sessiongate demo

## bench: gateway vs plain reverse_proxy end to end, Redis cost per request and per session, hot-path
## micro-benchmarks → stdout and the bench section of docs/benchmarks.md (a few minutes; not part of `make test`)
bench:
	$(GO) run ./internal/bench/cmd/sessiongate-bench -go $(GO) -out docs/benchmarks.md $(BENCH_FLAGS)

## build: the sessiongate binary (Caddy + session_gate) into ./bin
build:
	$(GO) build -o bin/sessiongate ./cmd/sessiongate

clean:
	rm -rf bin
