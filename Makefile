# Warden — the tasks. `make run` and `make test` are the README's two set-up commands.
SWIFT ?= swift

.PHONY: all deps browser-deps build run test lint format test-c test-python python-venv crash-test soak fuzz tsan bench bench-store bench-load bench-growth bench-hosts bench-c bench-python bench-django bench-smoke proto demo clean

all: build

# Debian packages the build needs; installs only what is missing (root, or sudo). libpq (with
# pkg-config, which SwiftPM asks for its flags) is the PostgreSQL backend's client; the tests'
# PostgreSQL server comes from scripts/postgres-cluster.sh, which installs `postgresql` itself.
# curl: the tests scrape `warden serve --http-address` with it (`make test`, `make tsan`).
DEBS := libsqlite3-dev libpq-dev pkg-config curl
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

# Unit tests, semantic vectors, property tests, end-to-end, hostile-client, kill -9 and soak
# tests (Swift Testing), then the C client's, then the Python client's and the Django app's.
test: deps
	$(MAKE) --no-print-directory lint
	$(SWIFT) test
	$(MAKE) --no-print-directory test-c
	$(MAKE) --no-print-directory test-python

# The code's style, written down in .swift-format (swift-nio's: 4 spaces, 120 columns) and
# checked over Sources, Tests, Benchmarks and Fuzz; `make format` rewrites the files to it.
# Generated protobuf code stays as protoc-gen-swift writes it. Also refuses Synchronization's
# Mutex, which ThreadSanitizer cannot see (Sources/WardenSync/Locked.swift says why).
SWIFT_FILES = $(shell find Sources Tests Benchmarks Fuzz -name '*.swift' -not -path '*/Generated/*' | sort)
lint:
	@echo "swift format lint --strict: $(words $(SWIFT_FILES)) files"
	@$(SWIFT) format lint --strict --parallel $(SWIFT_FILES)
	@! grep -rnE --include='*.swift' '(=|:|\() *Mutex[<(]' Sources Tests Benchmarks Fuzz \
		|| { echo "lint: use Locked (WardenSync), not Synchronization.Mutex: TSan cannot see it" >&2; exit 1; }
	@echo "lint: OK"

format:
	$(SWIFT) format format --in-place --parallel $(SWIFT_FILES)

# The Python client (clients/python) and its Django app, against a real debug server; each
# script makes clients/python/.venv on its first run (python3 -m venv, packages from PyPI).
# Then django-guardian's own test suite through Warden (the compatibility switch; docs/django.md).
# The Django admin's browser test drives Debian's chromium through chromium-driver.
BROWSER_DEBS := chromium chromium-driver
browser-deps:
	@missing=$$(for p in $(BROWSER_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$sudo apt-get update -qq && $$sudo apt-get install -y -qq $$missing; \
	fi

test-python: deps browser-deps
	$(SWIFT) build --product warden
	WARDEN_BIN=$(CURDIR)/.build/debug/warden clients/python/run-tests.sh
	WARDEN_BIN=$(CURDIR)/.build/debug/warden clients/python/run-django-tests.sh
	WARDEN_BIN=$(CURDIR)/.build/debug/warden clients/python/run-guardian-suite.sh

# The C client (clients/c): its tests against a real debug server, then the same tests under
# valgrind memcheck and built with -fsanitize=address,undefined (about 30 s once Swift is built).
test-c: deps
	$(SWIFT) build --product warden
	$(MAKE) -C clients/c test valgrind asan

# Check p50/p99, pipelined and batched throughput from C (libwarden) against a release server.
bench-c: deps
	$(SWIFT) build -c release --product warden
	$(MAKE) -C clients/c bench-local

# The kill -9 tests with 20 rounds each (the test suite runs 3): a store writer process, and
# `warden serve` under concurrent writers (docs/reliability.md).
ROUNDS ?= 20
# The server's runs twice, on SQLite and on PostgreSQL: the cluster WARDEN_TEST_POSTGRES names,
# else a throwaway one of scripts/postgres-cluster.sh, started here and removed at the end.
CRASH_TEST := WARDEN_CRASH_ROUNDS=$(ROUNDS) WARDEN_SERVER_CRASH_ROUNDS=$(ROUNDS) $(SWIFT) test --filter 'ProcessTests|ServerCrashTests'
crash-test: deps
	@if [ -n "$$WARDEN_TEST_POSTGRES" ]; then \
		echo "$(CRASH_TEST)"; $(CRASH_TEST); \
	else \
		dir=$$(mktemp -d) && trap 'scripts/postgres-cluster.sh stop "$$dir"' EXIT && scripts/postgres-cluster.sh start "$$dir" && \
		export WARDEN_TEST_POSTGRES=$$(scripts/postgres-cluster.sh uri "$$dir") WARDEN_TEST_POSTGRES_DIR=$$dir WARDEN_REQUIRE_POSTGRES=1 && \
		echo "PostgreSQL for the crash test: $$WARDEN_TEST_POSTGRES" && echo "$(CRASH_TEST)" && $(CRASH_TEST); \
	fi

# Mixed read/write load on a real server for SECONDS (the test suite runs 10, CI 60): no
# errors, no leaked descriptors, memory flat after warm-up; RSS and fds printed each second.
SECONDS ?= 600
soak: deps
	WARDEN_SOAK_SECONDS=$(SECONDS) $(SWIFT) test --filter SoakTests

# ThreadSanitizer (docs/reliability.md): the store, index concurrency and server suites built
# with -sanitize=thread in .build-tsan. The server tests start the warden binary of that build,
# so the daemon (service, replica, event hub, socket server) runs under TSan too; a race in it
# halts it (halt_on_error) and fails the test that was talking to it; a race in the test process
# halts the whole run. scripts/tsan-suppressions.txt lists the reports judged false positives
# (one, in Swift concurrency's continuations). The soak runs 5 s and
# the kill -9 tests one round each here, the bulks of the several-hosts tests 20,000 grants; CI
# runs this target (with its PostgreSQL cluster, so the PostgreSQL cases run under TSan too).
TSAN_SUITES ?= WardenStoreTests|WardenServerTests|WardenIndexTests.ConcurrencyTests|WardenIndexTests.WriterProgressTests|WardenIndexTests.ReloadTests
# The hostile-client resource tests (thousands of connections, 300,000 pipelined checks) take
# 8 minutes under TSan and drive the same connection code the other server suites do.
# MemoryReleaseTests test glibc's allocator, which TSan replaces with its own (mallinfo2 says 0,
# malloc_trim returns nothing); they run in `make test`.
TSAN_SKIP ?= HostileClientTests|MemoryReleaseTests
TSAN_ENV := TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4 suppressions=$(CURDIR)/scripts/tsan-suppressions.txt" WARDEN_SOAK_SECONDS=5 \
	WARDEN_CRASH_ROUNDS=1 WARDEN_SERVER_CRASH_ROUNDS=1 WARDEN_MULTIHOST_BULK=20000 WARDEN_FOLLOW_GRANTS=20000
tsan: deps
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	$(TSAN_ENV) $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan --filter '$(TSAN_SUITES)' --skip '$(TSAN_SKIP)'

# libFuzzer on the frame decoder, request decoding and the import parser, FUZZ_SECONDS each
# (docs/fuzzing.md); builds in .build-fuzz with -sanitize=fuzzer.
FUZZ_SECONDS ?= 60
fuzz: deps
	scripts/fuzz.sh $(FUZZ_SECONDS)

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

# How every cost grows with the data (issue 20): the index, store and socket benchmarks at 1M,
# 5M and 10M grants in both shapes (SIZES=, SHAPES= to choose), JSON and a plot into
# docs/benchmarks/growth; about 25 minutes and 6 GB.
bench-growth: deps
	scripts/bench-growth.sh

# The several-hosts benchmark of docs/benchmarks.md (issue 17): two sidecars on one PostgreSQL
# database (a throwaway cluster in .build-pg-bench) beside one on SQLite, in one run.
BENCH_PG := $(CURDIR)/.build-pg-bench
bench-hosts: deps
	$(SWIFT) build -c release --product warden
	$(SWIFT) build -c release --product WardenHostsBench
	scripts/postgres-cluster.sh start $(BENCH_PG)
	.build/release/WardenHostsBench --postgres "$$(scripts/postgres-cluster.sh uri $(BENCH_PG))" $(BENCH_ARGS); \
		status=$$?; scripts/postgres-cluster.sh stop $(BENCH_PG); exit $$status

# The Python client against a release server: check latency, pipelined checks (threads,
# asyncio), BatchCheck, bulk grant (figures in docs/benchmarks.md).
BENCH_WARDEN ?= $(CURDIR)/.build/release/warden
PYTHON_VENV := clients/python/.venv
bench-python: deps python-venv
	$(SWIFT) build -c release --product warden
	$(PYTHON_VENV)/bin/python clients/python/bench/client_bench.py --warden $(BENCH_WARDEN) $(BENCH_ARGS)

# django-guardian on SQLite beside Warden on one data set (10k users, 200 groups, 100k objects,
# 1M grants; SCALE=0.1 for a tenth), side by side with ratios; about 10 minutes at full scale.
bench-django: deps python-venv
	$(SWIFT) build -c release --product warden
	$(PYTHON_VENV)/bin/python clients/python/bench/django_bench.py --warden-bin $(BENCH_WARDEN) $(if $(SCALE),--scale $(SCALE))

# The virtualenv the Python benchmarks use (the test scripts make and fill the same one).
python-venv:
	test -x $(PYTHON_VENV)/bin/python || python3 -m venv $(PYTHON_VENV)
	$(PYTHON_VENV)/bin/pip install -q --disable-pip-version-check -r clients/python/requirements-django-test.txt -e clients/python

# The same benchmarks on a 0.5% data set, in debug: proves they run; their figures mean nothing.
bench-smoke: deps
	$(SWIFT) run WardenBench --scale 0.005
	$(SWIFT) run WardenStoreBench --scale 0.005
	$(SWIFT) build --product warden
	$(SWIFT) run WardenLoad --scale 0.005 --seconds 0.2
	CONFIGURATION=debug SIZES=20k SECONDS_PER_PHASE=0.2 scripts/bench-growth.sh .build/growth-smoke
	$(MAKE) -C clients/c bench-local WARDEN_SERVER=$(CURDIR)/.build/debug/warden BENCH_ARGS="--docs 10 --rounds 1000 --seconds 0.2"
	$(MAKE) --no-print-directory python-venv
	$(PYTHON_VENV)/bin/python clients/python/bench/client_bench.py --warden $(CURDIR)/.build/debug/warden --checks 200 --bulk 2000
	$(PYTHON_VENV)/bin/python clients/python/bench/django_bench.py --warden-bin $(CURDIR)/.build/debug/warden --scale 0.002 --checks 50

# Regenerates Sources/WardenProto/Generated and clients/c/generated from proto/ (needs protoc and
# protoc-c; builds protoc-gen-swift once).
proto:
	./scripts/generate-proto.sh

clean:
	rm -rf .build
	$(MAKE) -C clients/c clean
