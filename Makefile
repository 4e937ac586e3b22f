# sessiongate — make targets. `make test` is what CI runs.
GO ?= go
TEST_TIMEOUT ?= 20m

.PHONY: test deps vet unit build demo clean

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

## build: the sessiongate binary (Caddy + session_gate) into ./bin
build:
	$(GO) build -o bin/sessiongate ./cmd/sessiongate

clean:
	rm -rf bin
