# Warden — the tasks. `make run` and `make test` are the README's two set-up commands.
SWIFT ?= swift

.PHONY: all build run test bench bench-smoke clean

all: build

build:
	$(SWIFT) build

# The main job, on its embedded default. Today: the evaluator's demo (docs/semantics.md).
run:
	$(SWIFT) run warden demo

# Unit tests, semantic vectors and property tests (Swift Testing and XCTest).
test:
	$(SWIFT) test

# The index benchmark of docs/benchmarks.md: 10k users, 200 groups, 100k objects, 1M grants.
bench:
	$(SWIFT) run -c release WardenBench

# The same benchmark on a 0.5% data set, in debug: proves it runs; its figures mean nothing.
bench-smoke:
	$(SWIFT) run WardenBench --scale 0.005

clean:
	rm -rf .build
