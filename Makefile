# hlwarn — the two commands a fresh machine needs are `make demo` and `make test`.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN         := bin/hlwarn
DEMO_DATA   ?= demo-data
BENCHTIME   ?= 1x
# The daily-run growth is measured on a district year (about 25 minutes);
# HLWARN_BENCH_SCALE=small for a quick look.
HLWARN_BENCH_SCALE ?= district
export HLWARN_BENCH_SCALE

export CGO_ENABLED := 1

.PHONY: all build demo test bench lint clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/hlwarn

## demo: the main job end to end on the embedded simulator (small scale, a few weeks)
demo: build
	./$(BIN) demo --data $(DEMO_DATA)

## test: vet and every test, nothing cached
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...

## bench: the targets of DESIGN.md, measured side by side in one run
bench:
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -benchmem -timeout 120m ./...

## lint: formatting, vet and staticcheck
lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

clean:
	rm -rf bin $(DEMO_DATA)
