# Warden — the tasks. `make run` and `make test` are the README's two set-up commands.
SWIFT ?= swift

.PHONY: all deps build run test crash-test bench bench-store bench-smoke clean

all: build

# Debian packages the build needs; installs only what is missing (root, or sudo).
DEBS := libsqlite3-dev
deps:
	@missing=$$(for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$sudo apt-get update -qq && $$sudo apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

# The main job, on its embedded default. Today: the evaluator's demo (docs/semantics.md).
run: deps
	$(SWIFT) run warden demo

# Unit tests, semantic vectors and property tests (Swift Testing and XCTest).
test: deps
	$(SWIFT) test

# The kill -9 test with 20 rounds (the test suite runs 3).
crash-test: deps
	WARDEN_CRASH_ROUNDS=$${ROUNDS:-20} $(SWIFT) test --filter ProcessTests

# The index benchmark of docs/benchmarks.md: 10k users, 200 groups, 100k objects, 1M grants.
bench: deps
	$(SWIFT) run -c release WardenBench

# The store benchmark of docs/benchmarks.md: bulk grant, cold load, durable single grants.
bench-store: deps
	$(SWIFT) run -c release WardenStoreBench

# The same benchmark on a 0.5% data set, in debug: proves it runs; its figures mean nothing.
bench-smoke: deps
	$(SWIFT) run WardenBench --scale 0.005
	$(SWIFT) run WardenStoreBench --scale 0.005

clean:
	rm -rf .build
