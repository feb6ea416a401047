# livedash: the two commands are `make run` and `make test` (see README.md).
#
# Everything builds with plain cargo: the server natively, the browser bundle for wasm32, then
# wasm-bindgen (pinned to the crate's version) and npm's wasm-opt. No cargo-leptos is needed,
# which saves a newcomer its ~18 minute source install.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := run

WASM_BINDGEN_VERSION := 0.2.130
WASM_TARGET := wasm32-unknown-unknown
SITE := target/site
PKG := $(SITE)/pkg
OUTPUT_NAME := livedash
NODE_MODULES := end2end/node_modules/.installed
# apt-get needs root; use sudo when we are not.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

.PHONY: help check run demo test build site server tools test-tools lint unit test-cluster clients e2e fuzz fuzz-build fuzz-smoke fault-test soak trace-browser bench-live bench-alerts bench-cluster bench-ingest bench-events bench-ingest-memory bench-storage bench-browser screenshots clean

## help: list the targets, and what each does
help:
	@awk '/^## [a-z0-9%-]+( \/ [a-z0-9-]+)*:/ { sub(/^## /, ""); print; next } \
		/^## / { sub(/^## /, "    "); print }' $(MAKEFILE_LIST)

## run: install what is missing, build in release mode, serve on http://127.0.0.1:3000
run: tools build
	LIVEDASH_SITE_ROOT="$${LIVEDASH_SITE_ROOT:-$(SITE)}" ./target/release/livedash

## demo: as run, with simulated services and product traffic (livedash --demo)
demo: tools build
	LIVEDASH_SITE_ROOT="$${LIVEDASH_SITE_ROOT:-$(SITE)}" ./target/release/livedash --demo

## test: install what is missing (Chromium, Prometheus too), then lint, Rust tests, the client
## check and Playwright tests (the clients and Playwright run the livedash that the Rust tests
## built, so the server is compiled once); `make fuzz-smoke` is the short fuzz run, on its own
test: tools test-tools lint unit site clients e2e

## check: the fast loop for development: format check, clippy, Rust unit and integration
## tests (no browser, no fuzzing)
check: tools lint unit

build: site server

server:
	cargo build --release -p server --bin livedash

# The browser bundle: wasm32 build; split into the main bundle and the chunks each page loads on
# first visit (the linker keeps relocations for the splitter; its manifest tells the server which
# chunks a page needs, to preload them); JS glue; size optimisation of every module; CSS and
# static assets. Then what each page downloads. `wasm-opt` repeats its passes until they gain
# nothing more (`--converge`: about 0.2 % of the main bundle, for 20 s).
#
# A panic in the browser aborts at once, without formatting a message: the standard library is
# compiled with the bundle (from rustup's rust-src) so that its panics do too, which leaves every
# panic message and most of the formatting machinery out (about 6 % of the bundle). Both are
# unstable flags, which RUSTC_BOOTSTRAP lets the machine's one (stable) toolchain take, as for
# fuzzing. `make site WASM_PANIC_MESSAGES=1` builds with messages, which the browser's console
# then shows (console_error_panic_hook), for debugging.
# `make site WASM_NAMES=1` keeps the functions' names in every module (several times larger),
# so that a browser profile names Rust functions (`make trace-browser TRACE_PROFILE=1`).
WASM_OUT := target/$(WASM_TARGET)/wasm-release/frontend.wasm
WASM_SPLIT_DIR := frontend/wasm-split
WASM_SPLIT := target/tools/release/livedash-wasm-split
ifeq ($(WASM_PANIC_MESSAGES),1)
WASM_BUILD := cargo build
WASM_RUSTFLAGS := -Clink-args=--emit-relocs
else
WASM_BUILD := RUSTC_BOOTSTRAP=1 cargo build -Zbuild-std=std,panic_abort
WASM_RUSTFLAGS := -Clink-args=--emit-relocs -Zunstable-options -Cpanic=immediate-abort
endif
ifeq ($(WASM_NAMES),1)
WASM_BINDGEN_NAMES := --keep-debug
WASM_OPT_NAMES := -g
endif
site: $(NODE_MODULES) $(WASM_SPLIT)
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$(WASM_RUSTFLAGS)" \
		$(WASM_BUILD) -p frontend --lib --target $(WASM_TARGET) --profile wasm-release
	rm -rf $(PKG)
	mkdir -p $(PKG)
	$(WASM_SPLIT) split $(WASM_OUT) $(PKG) $(OUTPUT_NAME)
	wasm-bindgen --target web --no-typescript --keep-lld-exports $(WASM_BINDGEN_NAMES) --out-dir $(PKG) \
		--out-name $(OUTPUT_NAME) $(PKG)/$(OUTPUT_NAME).wasm
	rm $(PKG)/$(OUTPUT_NAME).wasm
	for module in $(PKG)/*.wasm; do \
		wasm-opt -Oz --converge $(WASM_OPT_NAMES) --enable-bulk-memory --enable-nontrapping-float-to-int $$module -o $$module \
			|| exit 1; \
	done
	cp style/main.css $(PKG)/$(OUTPUT_NAME).css
	cp -r public/. $(SITE)/
	@$(WASM_SPLIT) sizes $(PKG) $(OUTPUT_NAME)

$(WASM_SPLIT): $(WASM_SPLIT_DIR)/Cargo.toml $(WASM_SPLIT_DIR)/Cargo.lock $(WASM_SPLIT_DIR)/src/main.rs
	cargo build --release --locked --manifest-path $(WASM_SPLIT_DIR)/Cargo.toml --target-dir target/tools

## tools: the wasm32 target and the standard library's source, wasm-bindgen, redis-server and
## npm packages (wasm-opt), if missing
tools: $(NODE_MODULES)
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	@rustup component list --installed | grep -q '^rust-src' || rustup component add rust-src
	@wasm-bindgen --version 2>/dev/null | grep -qF "$(WASM_BINDGEN_VERSION)" \
		|| cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	@command -v redis-server >/dev/null \
		|| { $(SUDO) apt-get update && $(SUDO) apt-get install -y redis-server; }

# Installing nginx must not leave a system nginx running: the tests start their own. Debian's
# packages start their service unless policy-rc.d refuses.
NO_SERVICE_START := printf '\#!/bin/sh\nexit 101\n' | $(SUDO) tee /usr/sbin/policy-rc.d >/dev/null \
	&& $(SUDO) chmod +x /usr/sbin/policy-rc.d &&

## test-tools: Chromium for the Playwright tests, Python's venv for the client check, nginx (two
## livedash processes behind it in a Playwright test),
## Prometheus (promtool and a server scrape livedash's /metrics) and Alertmanager (alerts are
## posted to a real one), if missing
test-tools:
	@command -v promtool >/dev/null && command -v prometheus >/dev/null \
		|| { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends prometheus; }
	@command -v prometheus-alertmanager >/dev/null \
		|| { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends prometheus-alertmanager; }
	@command -v nginx >/dev/null || command -v /usr/sbin/nginx >/dev/null \
		|| { $(SUDO) apt-get update && $(NO_SERVICE_START) $(SUDO) apt-get install -y --no-install-recommends nginx; \
			$(SUDO) rm -f /usr/sbin/policy-rc.d; }
	@command -v chromium >/dev/null \
		|| { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }
	@python3 -c 'import venv, ensurepip' 2>/dev/null \
		|| { $(SUDO) apt-get update && $(SUDO) apt-get install -y python3-venv; }

$(NODE_MODULES): end2end/package.json end2end/package-lock.json
	cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	touch $@

lint:
	cargo fmt --all -- --check
	cargo fmt --manifest-path $(FUZZ_DIR)/Cargo.toml -- --check
	cargo fmt --manifest-path $(WASM_SPLIT_DIR)/Cargo.toml -- --check
	cargo clippy --release -p app -p server --all-targets -- -D warnings
	cargo clippy --release -p frontend --target $(WASM_TARGET) -- -D warnings
	cargo clippy --release --locked --manifest-path $(WASM_SPLIT_DIR)/Cargo.toml \
		--target-dir target/tools -- -D warnings

PYENV := target/clients-venv

## unit: Rust unit and integration tests (they start their own redis-server on free ports, and
## an SMTP server from the Python environment); the integration tests run again on a one-node
## Redis Cluster, which refuses every cross-slot command, and a subset on three masters
unit: $(PYENV)/.installed
	cargo test --release -p app -p server
	LIVEDASH_TEST_TOPOLOGY=cluster1 cargo test --release -p app -p server $(TOPOLOGY_SUITES)
	LIVEDASH_TEST_TOPOLOGY=cluster3 cargo test --release -p app -p server $(CLUSTER3_SUBSET)

# The suites whose Redis the topology decides (those that start a `RedisServer`); the others
# (unit tests, suites on a managed Redis or on clusters of their own) run once, above. Every
# pass names the same packages: with `-p server` alone, cargo builds both crates again.
TOPOLOGY_SUITES := $(patsubst server/tests/%.rs,--test %,$(shell grep -l 'RedisServer::start' server/tests/*.rs))
# What `make unit` runs on three masters (`make test-cluster` runs every suite there).
CLUSTER3_SUBSET := --test processes --test live_push --test live_path --test share_links --test analytics \
	--test visits --test visitors --test retention --test web_analytics --test people

## test-cluster: every integration suite on a three-master Redis Cluster, and the failover and
## resharding tests
test-cluster: $(PYENV)/.installed
	LIVEDASH_TEST_TOPOLOGY=cluster3 cargo test --release -p app -p server $(TOPOLOGY_SUITES) --test cluster

## clients: third-party client libraries (pinned in server/tests/clients) write to the release build
clients: $(PYENV)/.installed
	$(PYENV)/bin/python server/tests/clients/check_clients.py "$(CURDIR)/target/release/livedash"

$(PYENV)/.installed: server/tests/clients/requirements.txt
	python3 -m venv $(PYENV)
	$(PYENV)/bin/pip install --quiet --disable-pip-version-check -r $<
	touch $@

## fuzz-smoke: every fuzz target for FUZZ_SMOKE_RUNS inputs (200 000) from a fixed seed, starting
## from the corpus kept in the repo (new inputs go to a scratch directory, so the tree stays
## clean). The same commit always fuzzes the same inputs, so a finding fails the run that made
## it and every run after, never a later, unrelated commit by chance; `make fuzz` searches anew.
FUZZ_DIR := server/fuzz
FUZZ_TARGETS := line_protocol statsd json_ingest live_client live_frame query_params server_fn_args
FUZZ_SMOKE_RUNS ?= 200000
FUZZ_SMOKE_SEED ?= 1
FUZZ_SECONDS ?= 600
# cargo fuzz's sanitizer and coverage flags are unstable; RUSTC_BOOTSTRAP lets the machine's one
# (stable) toolchain take them. Built optimised with debug assertions (overflow checks on).
FUZZ := RUSTC_BOOTSTRAP=1 cargo fuzz
FUZZ_FLAGS := --fuzz-dir $(FUZZ_DIR) --target-dir target/fuzz -O -a
FUZZ_ARTIFACTS := $(CURDIR)/target/fuzz/artifacts

fuzz-build:
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
	$(FUZZ) build $(FUZZ_FLAGS)
	mkdir -p $(FUZZ_ARTIFACTS)

fuzz-smoke: fuzz-build
	for target in $(FUZZ_TARGETS); do \
		scratch=$$(mktemp -d); \
		$(FUZZ) run $(FUZZ_FLAGS) $$target $$scratch $(FUZZ_DIR)/corpus/$$target -- \
			-runs=$(FUZZ_SMOKE_RUNS) -seed=$(FUZZ_SMOKE_SEED) -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_ARTIFACTS)/$$target- || exit 1; \
		rm -rf $$scratch; \
	done

## fuzz: every target for FUZZ_SECONDS (600) each (`make -j2 fuzz` runs two at once); what
## finds new coverage joins the corpus in the repo, which is then minimised
fuzz: $(addprefix fuzz-run-,$(FUZZ_TARGETS))

fuzz-run-%: fuzz-build
	$(FUZZ) run $(FUZZ_FLAGS) $* $(FUZZ_DIR)/corpus/$* -- \
		-max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=$(FUZZ_ARTIFACTS)/$*-
	$(FUZZ) cmin $(FUZZ_FLAGS) $* $(FUZZ_DIR)/corpus/$*

## fault-test: the Redis fault test alone, with its counts printed (it is part of `make unit`)
fault-test:
	cargo test --release -p server --test redis_faults -- --nocapture 2>&1 | grep -v '^livedash: '

## e2e: Playwright in Chromium against the release build (it starts livedash and Redis itself)
e2e:
	cd end2end && LIVEDASH_BIN="$(CURDIR)/target/release/livedash" \
		LIVEDASH_SITE_ROOT="$(CURDIR)/$(SITE)" npx playwright test

## bench-live: live push latency (1 to 10 000 viewers) and memory per viewer
bench-live: tools server
	cargo run --release -p server --example bench_live -- $${SECONDS_PER_CASE:-8} $${VIEWERS:-1,100,1000,10000}

## screenshots: the README's screenshots (docs/screenshots/), taken in Chromium
screenshots: tools test-tools build
	mkdir -p docs/screenshots
	cd end2end && npx playwright test --config playwright.docs.config.ts screenshots

## bench-browser: a 20-widget dashboard in Chromium: time to draw, main-thread time per second
bench-browser: tools test-tools build
	cd end2end && npx playwright test --config playwright.docs.config.ts browser-bench

## trace-browser: where the main thread's time goes under bench-browser's live load, by kind of
## work (Chrome tracing); TRACE_PROFILE=1 samples functions instead, named with WASM_NAMES=1
trace-browser: tools test-tools build
	cd end2end && npx playwright test --config playwright.docs.config.ts browser-trace

## soak: 30 minutes of mixed ingest, 1 000 live viewers and dashboard editing (SOAK_MINUTES,
## SAMPLE_SECONDS change it): memory and latency over time, report in docs/soak.md
soak: tools server
	cargo run --release -p server --example soak

## bench-alerts: time from a write to the webhook it causes (1 000 rules, 10 000 points/s, one
## and three processes), and ingest throughput with those rules against none; BENCH_ALERT_FN=sum
## for rules that every write has evaluated
bench-alerts: tools server
	cargo run --release -p server --example bench_alerts -- $${SECONDS_PER_CASE:-10} $${PROCESSES:-1,3} $${ROUNDS:-5}

## bench-cluster: one Redis against a 3-master Redis Cluster, one and three processes: ingest
## points/s, live latency with 1 000 viewers, Redis CPU per point per master, classic against
## sharded pub/sub
bench-cluster: tools server
	cargo run --release -p server --example bench_cluster -- $${SECONDS_PER_CASE:-10}

## bench-ingest / bench-storage: benchmarks on demand (each starts its own redis-server)
bench-ingest: tools
	cargo run --release -p server --example bench_ingest -- $${SECONDS_PER_CASE:-10}

bench-events: tools
	cargo run --release -p server --example bench_events -- $${SECONDS_PER_CASE:-10}

## bench-ingest-memory: livedash's resident memory around maximal ingest requests of each kind,
## one and ten at once (the release binary, its own redis-server); report in docs/benchmarks.md
bench-ingest-memory: tools server
	cargo run --release -p server --example bench_ingest_memory

bench-storage: tools
	cargo run --release -p server --example bench_storage

clean:
	cargo clean
	rm -rf end2end/node_modules
