# Warden — the tasks. `make run` and `make test` are the README's two set-up commands.
SWIFT ?= swift

.PHONY: all deps build run test test-c crash-test bench bench-store bench-load bench-c bench-smoke proto demo clean

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

# The main job on its embedded default: the sidecar on ./var/warden.sock, its database
# ./var/warden.db, until Ctrl-C (SIGINT) or SIGTERM.
run: deps
	$(SWIFT) run -c release warden serve

# The lab demo straight on the index and store (no socket): checks with their reasons.
demo: deps
	$(SWIFT) run warden demo

# Unit tests, semantic vectors, property tests and end-to-end tests (Swift Testing), then the
# C client's.
test: deps
	$(SWIFT) test
	$(MAKE) --no-print-directory test-c

# The C client (clients/c): its tests against a real debug server, then the same tests under
# valgrind memcheck and built with -fsanitize=address,undefined (about 30 s once Swift is built).
test-c: deps
	$(SWIFT) build --product warden
	$(MAKE) -C clients/c test valgrind asan

# Check p50/p99, pipelined and batched throughput from C (libwarden) against a release server.
bench-c: deps
	$(SWIFT) build -c release --product warden
	$(MAKE) -C clients/c bench-local

# The kill -9 test with 20 rounds (the test suite runs 3).
crash-test: deps
	WARDEN_CRASH_ROUNDS=$${ROUNDS:-20} $(SWIFT) test --filter ProcessTests

# The index benchmark of docs/benchmarks.md: 10k users, 200 groups, 100k objects, 1M grants.
bench: deps
	$(SWIFT) run -c release WardenBench

# The store benchmark of docs/benchmarks.md: bulk grant, cold load, durable single grants.
bench-store: deps
	$(SWIFT) run -c release WardenStoreBench

# The socket benchmark of docs/benchmarks.md: a real server, BulkGrant of the data set, Check,
# BatchCheck and lists over the socket, beside a C ping-pong floor measured in the same run.
bench-load: deps
	$(SWIFT) build -c release --product warden
	$(SWIFT) run -c release WardenLoad

# The same benchmarks on a 0.5% data set, in debug: proves they run; their figures mean nothing.
bench-smoke: deps
	$(SWIFT) run WardenBench --scale 0.005
	$(SWIFT) run WardenStoreBench --scale 0.005
	$(SWIFT) build --product warden
	$(SWIFT) run WardenLoad --scale 0.005 --seconds 0.2
	$(MAKE) -C clients/c bench-local WARDEN_SERVER=$(CURDIR)/.build/debug/warden BENCH_ARGS="--docs 10 --rounds 1000 --seconds 0.2"

# Regenerates Sources/WardenProto/Generated and clients/c/generated from proto/ (needs protoc and
# protoc-c; builds protoc-gen-swift once).
proto:
	./scripts/generate-proto.sh

clean:
	rm -rf .build
	$(MAKE) -C clients/c clean
