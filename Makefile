# sessiongate — make targets. `make test` is what CI runs.
GO ?= go
TEST_TIMEOUT ?= 20m

.PHONY: test deps vet unit build demo bench clean

## test: install test dependencies (redis-server, chromium), vet, then run every test with the race detector
test: deps vet
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

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
